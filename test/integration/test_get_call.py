"""get-call: one call whole for the dashboard's call page (transcript, word timings, analysis,
latency, disconnection reason, cost, the provider's label), for whoever list-calls shows it to;
admins also get source_platform and the provider's call id."""
import json

import pytest

from testenv import highlevel as hl
from testenv.openapi import assert_matches

WORDS = [{"role": "agent", "content": "Hello there",
          "words": [{"word": "Hello", "start": 0.41, "end": 0.73}, {"word": "there", "start": 0.75, "end": 1.02}]}]
ANALYSIS = {"call_summary": "Booked a table", "user_sentiment": "Positive", "call_successful": True,
            "custom_analysis_data": {"party_size": 4}}
LATENCY = {"e2e": {"p50": 812.5, "p90": 1200}, "llm": {"p50": 401}}


@pytest.fixture
def billed_call(clean, retell_agent):
    stack = clean
    owner, other, admin = stack.make_user("client"), stack.make_user("client"), stack.make_user("admin")
    agent = retell_agent("agent_detail", assign_to=owner, name="Front desk")
    # 125 s billed as 3 started minutes at 0.50
    stack.sql("INSERT INTO billing_accounts (user_id, inbound_rate_per_minute) VALUES (%s, 0.5)", (owner,))
    call = stack.sql("""INSERT INTO calls (user_id, agent_id, source_platform, retell_call_id, started_at,
                            ended_at, duration_seconds, cost, direction, call_type, call_status,
                            disconnection_reason, sentiment, call_successful, summary, transcript,
                            transcript_object, call_analysis, latency, recording_url, in_voicemail)
                        VALUES (%s, %s, 'retell', 'call_detail_0001', '2024-05-01T10:00:00Z',
                            '2024-05-01T10:02:05Z', 125, NULL, 'inbound', 'phone_call', 'ended',
                            'user_hangup', 'Positive', true, 'Booked a table', 'Agent: Hello there',
                            %s, %s, %s, 'http://127.0.0.1:1/recordings/retell/x.wav', false)
                        RETURNING id::text""",
                     (owner, agent, json.dumps(WORDS), json.dumps(ANALYSIS), json.dumps(LATENCY)))[0]["id"]
    return {"stack": stack, "owner": owner, "other": other, "admin": admin, "agent": str(agent),
            "call": call}


def get(http, w, who, **params):
    headers = w["stack"].auth(w[who]) if who else {}
    return http.get(w["stack"].url("get-call"), headers=headers, params=params)


def test_the_owner_gets_the_whole_call_labelled(billed_call, http):
    r = get(http, billed_call, "owner", id=billed_call["call"])
    call = assert_matches(r, "/get-call", "get")
    assert r.headers["Cache-Control"] == "private, no-store"
    assert call["id"] == billed_call["call"] and call["provider"] == "Provider B"
    assert call["transcript"] == "Agent: Hello there"
    assert call["word_timings"] == WORDS and call["analysis"] == ANALYSIS and call["latency"] == LATENCY
    assert call["disconnection_reason"] == "user_hangup" and call["cost"] == "1.5000"
    assert call["duration_seconds"] == 125 and call["call_successful"] is True
    assert call["agent"] == {"id": billed_call["agent"], "name": "Front desk"}
    assert call["has_recording"] is True and call["in_voicemail"] is False
    assert call["started_at"] == "2024-05-01T10:00:00.000000Z"
    # white label: no provider name, id or URL anywhere in a client's answer
    assert "source_platform" not in call and "provider_call_id" not in call
    hl.assert_no_provider_words(r.text)
    assert "call_detail_0001" not in r.text and "recordings" not in r.text


def test_admins_also_get_the_platform_and_the_providers_call_id(billed_call, http):
    r = get(http, billed_call, "admin", id=billed_call["call"])
    call = assert_matches(r, "/get-call", "get")
    assert call["source_platform"] == "retell" and call["provider"] == "Retell"
    assert call["provider_call_id"] == "call_detail_0001"
    assert "recordings" not in r.text  # the stored URL stays ours: playback goes through us
    service = billed_call["stack"].service_headers()
    assert http.get(billed_call["stack"].url("get-call"), headers=service,
                    params={"id": billed_call["call"]}).json()["provider_call_id"] == "call_detail_0001"


def test_highlevel_call_gives_its_call_id_and_nulls(billed_call, http):
    stack = billed_call["stack"]
    h_agent = stack.sql("""INSERT INTO agents (name, source_platform, highlevel_agent_id, location_id)
                           VALUES ('HL', 'highlevel', 'hl_agent_detail', 'loc_d') RETURNING id""")[0]["id"]
    stack.sql("INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES (%s, %s, 'highlevel')",
              (billed_call["owner"], h_agent))
    call = stack.sql("""INSERT INTO calls (agent_id, source_platform, highlevel_call_id, started_at)
                        VALUES (%s, 'highlevel', 'hl_call_detail', now()) RETURNING id::text""",
                     (h_agent,))[0]["id"]
    c = assert_matches(get(http, billed_call, "owner", id=call), "/get-call", "get")
    assert c["provider"] == "Provider A" and c["word_timings"] is None and c["analysis"] is None
    assert c["has_recording"] is False and c["transcript"] is None
    a = get(http, billed_call, "admin", id=call).json()
    assert a["provider_call_id"] == "hl_call_detail" and a["source_platform"] == "highlevel"


def test_who_may_see_it_is_as_in_list_calls(billed_call, http):
    stack = billed_call["stack"]
    for who in ("other", "owner"):
        listed = http.get(stack.url("list-calls"), headers=stack.auth(billed_call[who])).json()["calls"]
        r = get(http, billed_call, who, id=billed_call["call"])
        assert (r.status_code == 200) == (billed_call["call"] in [c["id"] for c in listed]), who
    r = get(http, billed_call, "other", id=billed_call["call"])
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert_matches(r, "/get-call", "get")
    # a call that does not exist looks the same
    assert get(http, billed_call, "owner", id="00000000-0000-4000-8000-000000000000").status_code == 404
    # unassigning the agent takes the call away
    stack.sql("DELETE FROM user_agents WHERE user_id = %s", (billed_call["owner"],))
    assert get(http, billed_call, "owner", id=billed_call["call"]).status_code == 404
    assert get(http, billed_call, "admin", id=billed_call["call"]).status_code == 200


def test_bad_requests(billed_call, http):
    stack = billed_call["stack"]
    assert get(http, billed_call, None, id=billed_call["call"]).status_code == 401
    for params, needle in (({}, "id"), ({"id": "nope"}, "uuid"), ({"id": ""}, "id")):
        r = get(http, billed_call, "owner", **params)
        assert r.status_code == 400 and needle in r.json()["message"], (params, r.text)
        assert_matches(r, "/get-call", "get")
    r = get(http, billed_call, "owner", id=billed_call["call"], call_id=billed_call["call"])
    assert r.status_code == 400 and r.json()["error"] == "unknown_parameter"
    assert "call_id" in r.json()["message"]
    r = http.post(stack.url("get-call"), headers=stack.auth(billed_call["owner"]), params={"id": billed_call["call"]})
    assert r.status_code == 405
