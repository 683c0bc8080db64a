"""Every request our Retell client sends (testing and storing a key, listing agents and their
details, the call sync with its per-call details) is recorded by the fake and checked against
retell-sdk's own parameter types (node/check-requests.mjs reads the installed SDK): a parameter
the SDK does not define, a value outside its type, or one sent in the wrong place fails. And
fetch-retell-agents offers voice agents only, with the details of GET /get-agent/{agent_id}."""
import time

import pytest

from testenv.contracts import check_retell_requests, retell_endpoint

KEY = "key_contract_retell_0123456789abc"


def retell_requests(fake):
    with fake.lock:
        return [r for r in fake.requests if not r["path"].startswith(("/oauth/", "/voice-ai/", "/conversations/",
                                                                      "/recordings/"))]


@pytest.fixture
def retell_workspace(clean, fake):
    stack = clean
    admin, user = stack.make_user("admin"), stack.make_user("client")
    for i in range(3):
        fake.add_retell_agent(KEY, agent_id=f"agent_voice_{i}", name=f"Voice {i}", version=i + 2,
                              is_published=i != 1, voice_id=f"11labs-Voice{i}", language="en-GB")
    fake.add_retell_agent(KEY, agent_id="agent_chat_0", name="Chat 0", channel="chat")
    return {"stack": stack, "admin": admin, "user": user}


def post(http, stack, fn, body, caller):
    return http.post(stack.url(fn), json=body, headers=stack.auth(caller), timeout=600)


def test_every_request_conforms_to_the_sdk(retell_workspace, fake, http):
    stack, admin, user = retell_workspace["stack"], retell_workspace["admin"], retell_workspace["user"]
    assert post(http, stack, "retell-connection", {"user_id": user, "api_key": KEY}, admin).status_code == 200
    r = post(http, stack, "fetch-retell-agents", {"user_id": user}, admin)
    assert r.status_code == 200, r.text
    ids = [a["id"] for a in r.json()["agents"]]
    r = post(http, stack, "assign-agents", {"user_id": user, "source_platform": "retell", "agent_ids": ids}, admin)
    assert r.status_code == 200, r.text
    now = int(time.time() * 1000)
    for i in range(30):
        fake.add_retell_call(KEY, fake.make_retell_call(f"agent_voice_{i % 3}", start_ms=now - 3_600_000 + i * 1000))
    r = http.post(stack.url("sync-retell-calls"), headers=stack.service_headers(), timeout=600)
    assert r.status_code == 200 and r.json()["calls_inserted"] == 30, r.text

    sent = retell_requests(fake)
    problems = [p for errors in check_retell_requests(sent) for p in errors]
    assert problems == []
    called = {retell_endpoint(req)[0] for req in sent}
    assert called == {("POST", "/v2/list-agents"), ("GET", "/get-agent/{agent_id}"), ("POST", "/v3/list-calls"),
                      ("GET", "/v2/get-call/{call_id}")}


def test_the_checker_refuses_what_the_sdk_does_not_define():
    """The check itself can fail: parameters the SDK does not know or puts elsewhere."""
    def req(method, path, query=None, body=None):
        import json
        raw = json.dumps(body).encode() if body is not None else b""
        return {"method": method, "path": path, "query": {k: [v] for k, v in (query or {}).items()},
                "headers": {"authorization": "Bearer k"}, "body": raw, "json": body}
    answers = check_retell_requests([
        req("POST", "/v2/list-agents", {"limit": "1000"}, {"limit": 1000}),
        req("POST", "/v3/list-calls", None, {"sort_order": "asc", "filter_criteria": {"agent_id": ["a"]}}),
        req("POST", "/v2/list-agents", {"limit": "1000"}, {"filter_criteria": {"channel": {
            "type": "string", "op": "eq", "value": "voice"}}}),
    ])
    assert any("sent in the body" in e for e in answers[0])
    assert any("sort_order" in e for e in answers[1]) and any("agent_id" in e for e in answers[1])
    assert answers[2] == []


def test_only_voice_agents_are_offered_with_their_details(retell_workspace, fake, http):
    stack, admin, user = retell_workspace["stack"], retell_workspace["admin"], retell_workspace["user"]
    assert post(http, stack, "retell-connection", {"user_id": user, "api_key": KEY}, admin).status_code == 200
    r = post(http, stack, "fetch-retell-agents", {"user_id": user}, admin)
    assert r.status_code == 200, r.text
    agents = {a["retell_agent_id"]: a for a in r.json()["agents"]}
    assert set(agents) == {"agent_voice_0", "agent_voice_1", "agent_voice_2"}
    for i in range(3):
        a = agents[f"agent_voice_{i}"]
        assert (a["voice_id"], a["language"], a["is_published"], a["version"]) == \
            (f"11labs-Voice{i}", "en-GB", i != 1, i + 2)
    rows = stack.sql("SELECT retell_agent_id FROM agents WHERE source_platform = 'retell'")
    assert {r["retell_agent_id"] for r in rows} == set(agents)
    lists = fake.requests_for("/v2/list-agents")
    assert lists and all(r["json"]["filter_criteria"]["channel"]["value"] == "voice" for r in lists)
