"""Every request our HighLevel client sends (OAuth code exchange and refresh, Voice AI agents,
call logs, the recording) is recorded by the fake and checked against HighLevel's own OpenAPI
documents (contracts/highlevel.json, distilled from github:GoHighLevel/highlevel-api-docs): a
parameter they do not define, a value outside its enum, a missing or wrong Version fails. And
the rate-limit headers are honoured: a burst waits the interval, a spent daily quota stops the
user's sync as rate_limited (no retry against it) and the next run resumes."""
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from testenv import highlevel as hl
from testenv.contracts import HL_CONTRACT, check_highlevel_request, highlevel_endpoint
from testenv.fake_provider import parse_timestamp_ms

LOC = "loc_contract_hl_01"
DAY = 86_400_000
HL_PREFIXES = ("/oauth/", "/voice-ai/", "/conversations/")


def now_ms():
    return int(time.time() * 1000)


def hl_requests(fake):
    with fake.lock:
        return [r for r in fake.requests if r["path"].startswith(HL_PREFIXES)]


@pytest.fixture
def highlevel_location(clean, fake):
    stack = clean
    user, admin = stack.make_user("client"), stack.make_user("admin")
    fake.hl_redirect_uri = "http://127.0.0.1/oauth/callback"
    for name in ("hl_contract_a", "hl_contract_b"):
        fake.add_hl_agent(LOC, agent_id=name)
    start = now_ms() - 3 * DAY
    for i in range(60):
        fake.add_hl_call(LOC, fake.make_hl_call(LOC, "hl_contract_a" if i % 2 else "hl_contract_b",
                                                created_at_ms=start + i * 60_000, duration=30 + i))
    return {"stack": stack, "user": user, "admin": admin}


def connect_by_oauth(http, stack, user, fake):
    r = hl.start_flow(http, stack, user)
    assert r.status_code == 200, r.text
    started = r.json()
    r = hl.complete_flow(http, stack, fake.hl_issue_code(LOC), started["state"], user)
    assert r.status_code == 200, r.text
    return started["authorize_url"]


def plant_agents(stack, fake, user, *names, extra_logs=0, agent=None):
    """A connected location whose agents `names` are assigned to user, with extra_logs more call
    logs of `agent` in the last day."""
    hl.connect(stack, fake, user, LOC)
    for name in names:
        stack.sql("""INSERT INTO agents (name, source_platform, highlevel_agent_id, location_id)
                     VALUES (%s, 'highlevel', %s, %s)""", (name, name, LOC))
    assign_all(stack, user)
    for i in range(extra_logs):
        fake.add_hl_call(LOC, fake.make_hl_call(LOC, agent, created_at_ms=now_ms() - DAY + i * 1000))


def assign_all(stack, user):
    for row in stack.sql("SELECT id FROM agents WHERE source_platform = 'highlevel'"):
        stack.sql("""INSERT INTO user_agents (user_id, agent_id, source_platform)
                     VALUES (%s, %s, 'highlevel') ON CONFLICT DO NOTHING""", (user, row["id"]))


def sync(http, stack):
    return http.post(stack.url("sync-highlevel-calls"), headers=stack.service_headers(), timeout=600)


def test_every_request_conforms_to_the_documents(highlevel_location, fake, http):
    stack, user, admin = highlevel_location["stack"], highlevel_location["user"], highlevel_location["admin"]
    authorize = connect_by_oauth(http, stack, user, fake)
    # the token is due: the agents call refreshes it first
    stack.sql("UPDATE api_keys SET token_expires_at = now() + interval '1 minute' WHERE user_id = %s", (user,))
    r = http.post(stack.url("fetch-available-agents"), headers=stack.auth(admin), json={"user_id": user})
    assert r.status_code == 200, r.text
    assign_all(stack, user)
    r = sync(http, stack)
    assert r.status_code == 200 and r.json()["calls_inserted"] == 60, r.text
    call_id = stack.sql("SELECT id FROM calls WHERE source_platform = 'highlevel' LIMIT 1")[0]["id"]
    r = http.get(stack.url("get-call-recording"), params={"call_id": str(call_id)}, headers=stack.auth(user))
    assert r.status_code == 200 and r.content[:4] == b"RIFF", r.text[:200]

    sent = hl_requests(fake)
    problems = [p for req in sent for p in check_highlevel_request(req)]
    assert problems == []
    called = {(e["method"], e["path"]) for e in map(highlevel_endpoint, sent)}
    assert called == {("POST", "/oauth/token"), ("GET", "/voice-ai/agents"),
                      ("GET", "/voice-ai/dashboard/call-logs"),
                      ("GET", "/conversations/messages/{messageId}/locations/{locationId}/recording")}
    grants = {parse_qs(r["body"].decode())["grant_type"][0] for r in fake.requests_for("/oauth/token")}
    assert grants == {"authorization_code", "refresh_token"}
    url = urlsplit(authorize)
    assert f"{url.scheme}://{url.netloc}{url.path}" in HL_CONTRACT["authorize_urls"]


def test_the_incremental_cursor_walks_oldest_first(highlevel_location, fake, http):
    """With sort=ascend the pages come oldest first, so a sync that stops after a page keeps a
    cursor it can resume from; the fake sorts the way the documents say."""
    stack, user = highlevel_location["stack"], highlevel_location["user"]
    plant_agents(stack, fake, user, "hl_contract_a", "hl_contract_b")
    assert sync(http, stack).status_code == 200
    queries = [{k: v[0] for k, v in r["query"].items()} for r in fake.requests_for("/voice-ai/dashboard/call-logs")]
    assert queries and all(q["sortBy"] == "createdAt" and q["sort"] == "ascend" for q in queries)
    newest = max(parse_timestamp_ms(log["createdAt"]) for log in fake.hl_call_logs[LOC])
    cursor = stack.sql("SELECT cursor_ms FROM sync_state WHERE user_id = %s AND provider = 'highlevel'", (user,))
    assert cursor and cursor[0]["cursor_ms"] == newest


def test_a_burst_limit_waits_the_interval(highlevel_location, fake, http):
    stack, user = highlevel_location["stack"], highlevel_location["user"]
    plant_agents(stack, fake, user, "hl_contract_a", "hl_contract_b", extra_logs=100, agent="hl_contract_a")
    # one request per second: every page after the first is refused once and must wait the
    # interval; a blind backoff (250 ms base, 2 retries) gives up before it lifts
    fake.hl_burst_max, fake.hl_interval_ms = 1, 1000
    began = time.monotonic()
    r = sync(http, stack)
    assert r.status_code == 200 and r.json()["calls_inserted"] == 160, r.text
    assert r.json()["failed_users"] == 0
    assert fake.hl_rate_limited <= 3, "at most one refused request per page: it waited the interval"
    assert time.monotonic() - began >= 3 * 1.0


def test_a_spent_daily_quota_stops_the_sync_as_rate_limited_and_the_next_run_resumes(highlevel_location, fake, http):
    stack, user = highlevel_location["stack"], highlevel_location["user"]
    plant_agents(stack, fake, user, "hl_contract_a", "hl_contract_b", extra_logs=100, agent="hl_contract_b")
    fake.hl_daily_limit = 2   # two of the four pages today
    r = sync(http, stack)
    assert r.status_code == 200, r.text
    report = r.json()["users"][0]
    assert report["status"] == "rate_limited", report
    inserted = stack.sql("SELECT count(*) AS n FROM calls")[0]["n"]
    assert inserted == 100
    assert fake.hl_rate_limited == 1, "no retry against a spent daily quota"
    fake.hl_daily_used.clear()   # a new day
    r = sync(http, stack)
    assert r.status_code == 200 and r.json()["users"][0]["status"] != "rate_limited", r.text
    assert stack.sql("SELECT count(*) AS n FROM calls")[0]["n"] == 160


def test_an_unknown_direction_stays_null(highlevel_location, fake, http):
    """Call logs carry no direction: the stored call says nothing rather than a guess."""
    stack, user = highlevel_location["stack"], highlevel_location["user"]
    plant_agents(stack, fake, user, "hl_contract_a")
    assert sync(http, stack).status_code == 200
    directions = {r["direction"] for r in stack.sql("SELECT direction FROM calls")}
    assert directions == {None}
