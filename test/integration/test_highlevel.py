"""The HighLevel connection: the OAuth code flow (state bound to the user, single use, expiry),
tokens refreshed ahead of expiry with rotation under a row lock (two processes at once refresh
once), a refused refresh ending the connection without loops, and Voice AI agents listed over
every page and upserted."""
import concurrent.futures
import datetime
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from testenv import highlevel as hl
from testenv.stack import wait_until

LOC = "loc_hl_test_0001"


def start_flow(http, stack, as_user, body=None):
    return http.post(stack.url("highlevel-oauth"), headers=stack.auth(as_user), json=body)


def complete_flow(http, stack, code, state):
    return http.get(stack.url("highlevel-oauth"), params={"code": code, "state": state})


def token_requests(fake):
    return fake.requests_for("/oauth/token")


def form(req):
    return {k: v[0] for k, v in parse_qs(req["body"].decode()).items()}


def audits(stack, user, service="highlevel"):
    return [r["purpose"] for r in stack.sql(
        "SELECT purpose FROM key_usage_audit WHERE user_id = %s AND service = %s ORDER BY id",
        (user, service))]


# ------------------------------------------------------------------ OAuth code flow

def test_code_flow_stores_sealed_tokens_and_location(clean, fake, http):
    stack = clean
    user = stack.make_user("client")
    r = http.post(stack.url("highlevel-oauth"), headers=stack.auth(user))  # no body: themselves
    assert r.status_code == 200, r.text
    started = r.json()
    url = urlsplit(started["authorize_url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == \
        "https://marketplace.leadconnectorhq.com/v2/oauth/chooselocation"
    assert query == {"response_type": "code", "redirect_uri": "http://127.0.0.1/oauth/callback",
                     "client_id": "fake-hl-client-id", "state": started["state"],
                     "scope": "voice-ai-agents.readonly voice-ai-dashboard.readonly"
                              " conversations/message.readonly"}
    assert len(started["state"]) >= 43 and started["expires_in"] == 600
    state_row = stack.sql("SELECT * FROM oauth_states WHERE state = %s", (started["state"],))[0]
    assert str(state_row["user_id"]) == user and str(state_row["created_by"]) == user

    fake.hl_redirect_uri = "http://127.0.0.1/oauth/callback"  # the exchange must send it back
    code = fake.hl_issue_code(LOC)
    r = complete_flow(http, stack, code, started["state"])
    assert r.status_code == 200, r.text
    assert r.json() == {"connected": True, "user_id": user, "location_id": LOC}
    hl.assert_no_provider_words(r.text)

    sent = form(token_requests(fake)[0])
    assert sent["grant_type"] == "authorization_code" and sent["code"] == code
    assert sent["user_type"] == "Location" and sent["client_secret"] == "fake-hl-client-secret"
    row, tokens = hl.stored_tokens(stack, user)
    assert row["is_active"] and row["status"] == "connected" and row["location_id"] == LOC
    # sealed at rest, and what was sealed is the pair the provider issued
    assert tokens["access_token"] in fake.hl_tokens
    assert tokens["refresh_token"] in fake.hl_refresh_tokens
    assert tokens["access_token"] not in row["access_token"]
    left = (row["token_expires_at"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 86300 < left <= 86400
    assert audits(stack, user) == ["store the tokens of a new authorization"]

    # single use: the same redirect again is refused and changes nothing
    r = complete_flow(http, stack, fake.hl_issue_code(LOC), started["state"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_state"
    assert "already" in r.json()["message"]
    assert len(token_requests(fake)) == 1


def test_unknown_expired_and_missing_states_are_400_and_spend_no_code(clean, fake, http):
    stack = clean
    user = stack.make_user("client")
    code = fake.hl_issue_code(LOC)
    for state in ("not-a-state-we-issued", ""):
        r = complete_flow(http, stack, code, state)
        assert r.status_code == 400 and r.json()["error"] == "invalid_state"
    state = start_flow(http, stack, user).json()["state"]
    stack.sql("UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE state = %s", (state,))
    r = complete_flow(http, stack, code, state)
    assert r.status_code == 400 and "expired" in r.json()["message"]
    assert token_requests(fake) == [] and code in fake.hl_codes
    assert stack.sql("SELECT count(*) AS n FROM api_keys")[0]["n"] == 0


def test_state_is_bound_to_the_user_it_was_started_for(clean, fake, http):
    stack = clean
    admin = stack.make_user("admin")
    alice, bob = stack.make_user("client"), stack.make_user("client")
    r = start_flow(http, stack, admin, {"user_id": alice})
    assert r.status_code == 200 and r.json()["user_id"] == alice
    state = r.json()["state"]
    # bob's browser completing alice's state connects alice, never bob
    r = complete_flow(http, stack, fake.hl_issue_code(LOC), state)
    assert r.status_code == 200 and r.json()["user_id"] == alice
    assert [str(r["user_id"]) for r in stack.sql("SELECT user_id FROM api_keys")] == [alice]
    assert str(stack.sql("SELECT created_by FROM oauth_states")[0]["created_by"]) == admin
    assert bob not in {str(r["user_id"]) for r in stack.sql("SELECT user_id FROM oauth_states")}


def test_who_may_start_a_connection(clean, http):
    stack = clean
    admin = stack.make_user("admin")
    alice, bob = stack.make_user("client"), stack.make_user("client")
    assert http.post(stack.url("highlevel-oauth")).status_code == 401
    assert start_flow(http, stack, alice, {"user_id": bob}).status_code == 403
    assert start_flow(http, stack, alice, {"user_id": alice}).status_code == 200
    r = start_flow(http, stack, admin, {})
    assert r.status_code == 400 and r.json()["error"] == "missing_field"
    assert start_flow(http, stack, admin, {"user_id": "not-a-uuid"}).status_code == 400
    assert start_flow(http, stack, admin, {"user_id": "00000000-0000-4000-8000-000000000000"}).status_code == 404
    assert http.delete(stack.url("highlevel-oauth"), headers=stack.auth(admin)).status_code == 405


def test_refused_code_and_denied_access_spend_the_state(clean, fake, http):
    stack = clean
    user = stack.make_user("client")
    state = start_flow(http, stack, user).json()["state"]
    r = complete_flow(http, stack, "hlcode_never_issued", state)
    assert r.status_code == 400 and r.json()["error"] == "invalid_code"
    hl.assert_no_provider_words(r.text)
    assert complete_flow(http, stack, fake.hl_issue_code(LOC), state).status_code == 400
    state = start_flow(http, stack, user).json()["state"]
    r = http.get(stack.url("highlevel-oauth"), params={"error": "access_denied", "state": state})
    assert r.status_code == 400 and r.json()["error"] == "authorization_denied"
    assert stack.sql("SELECT count(*) AS n FROM api_keys")[0]["n"] == 0


def test_missing_app_configuration_is_503(stack, tmp_path):
    """The handler run alone, without HIGHLEVEL_CLIENT_ID, spoken to over FastCGI (cgi-fcgi)."""
    env = {k: v for k, v in stack.env.items() if not k.startswith(("HIGHLEVEL_CLIENT", "STACK_"))}
    env.update(DATABASE_URL=stack.database_url, JWT_SECRET=stack.jwt_secret,
               SECRETS_KEYS=stack.secrets_keys)
    sock = tmp_path / "oauth.sock"
    proc = subprocess.Popen([str(Path(stack.build) / "highlevel-oauth"), "--socket", str(sock)],
                            env=env, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(sock.exists)
        cgi = dict(env, REQUEST_METHOD="GET", QUERY_STRING="code=x&state=y",
                   DOCUMENT_URI="/functions/v1/highlevel-oauth", SERVER_PROTOCOL="HTTP/1.1")
        out = subprocess.run(["cgi-fcgi", "-bind", "-connect", str(sock)], env=cgi,
                             capture_output=True, timeout=30).stdout.decode()
        assert out.startswith("Status: 503")
        assert '"error":"not_configured"' in out and "client id" in out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


# ------------------------------------------------------------------ token refresh

@pytest.fixture
def admin(clean):
    return clean.make_user("admin")


def list_agents(http, stack, admin, user):
    return http.post(stack.url("fetch-available-agents"), headers=stack.auth(admin),
                     json={"user_id": user})


def test_token_due_within_five_minutes_is_refreshed_and_rotated(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    fake.add_hl_agent(LOC, agent_id="hl_agent_1", name="Front desk")
    old_access, old_refresh = hl.connect(stack, fake, user, LOC, expires_in_s=240)
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 200, r.text
    assert fake.hl_refresh_count == 1
    sent = form(token_requests(fake)[0])
    assert sent["grant_type"] == "refresh_token" and sent["refresh_token"] == old_refresh
    assert sent["user_type"] == "Location"
    row, tokens = hl.stored_tokens(stack, user)
    # the rotated pair is what is stored; the spent refresh token is gone at the provider
    assert tokens["refresh_token"] != old_refresh and tokens["refresh_token"] in fake.hl_refresh_tokens
    assert old_refresh not in fake.hl_refresh_tokens
    assert tokens["access_token"] != old_access and tokens["access_token"] in fake.hl_tokens
    assert row["status"] == "connected" and row["token_refreshed_at"] is not None
    left = (row["token_expires_at"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert left > 86000
    # the agents call used the new token
    assert fake.requests_for("/voice-ai/agents")[-1]["headers"]["authorization"] == \
        "Bearer " + tokens["access_token"]
    assert audits(stack, user) == ["token refresh", "list voice agents"]
    # fresh now: no second refresh
    assert list_agents(http, stack, admin, user).status_code == 200
    assert fake.hl_refresh_count == 1


def test_a_token_with_time_left_is_not_refreshed(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    hl.connect(stack, fake, user, LOC, expires_in_s=301 + 60)
    assert list_agents(http, stack, admin, user).status_code == 200
    assert fake.hl_refresh_count == 0 and token_requests(fake) == []


def test_concurrent_users_of_an_expiring_token_refresh_once(clean, fake, http, admin):
    """Three processes (two recording workers and the agents function) need the token at once
    while the provider takes a second to answer the refresh: one refreshes, the others wait for
    the row and use the new token."""
    stack = clean
    user = stack.make_user("client")
    agent = stack.sql("""INSERT INTO agents (name, source_platform, highlevel_agent_id, location_id)
                         VALUES ('A', 'highlevel', 'hl_agent_c', %s) RETURNING id""", (LOC,))[0]["id"]
    stack.sql("INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES (%s, %s, 'highlevel')",
              (user, agent))
    fake.add_hl_agent(LOC, agent_id="hl_agent_c")
    calls = []
    for i in range(2):
        log = fake.add_hl_call(LOC, fake.make_hl_call(LOC, "hl_agent_c"))
        calls.append((stack.sql("""INSERT INTO calls (highlevel_call_id, highlevel_message_id,
                                       source_platform, user_id, agent_id)
                                   VALUES (%s, %s, 'highlevel', %s, %s) RETURNING id""",
                                (log["id"], log["messageId"], user, agent))[0]["id"], log["messageId"]))
    hl.connect(stack, fake, user, LOC, expires_in_s=30)
    fake.add_fault(path_prefix="/oauth/token", delay=1.0)

    def recording(call_id):
        return http_get(stack.url("get-call-recording"), {"call_id": str(call_id)}, stack.auth(user))

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(recording, cid) for cid, _ in calls]
        futures.append(pool.submit(lambda: list_agents(requests_session(), stack, admin, user)))
        results = [f.result(timeout=60) for f in futures]
    for (cid, message_id), r in zip(calls, results[:2]):
        assert r.status_code == 200, r.text
        assert r.content == fake.hl_recording_bytes(message_id)
    assert results[2].status_code == 200, results[2].text
    assert fake.hl_refresh_count == 1
    row, tokens = hl.stored_tokens(stack, user)
    assert row["is_active"] and tokens["refresh_token"] in fake.hl_refresh_tokens
    assert audits(stack, user).count("token refresh") == 1


def requests_session():
    import requests
    return requests.Session()


def http_get(url, params, headers):
    with requests_session() as s:
        return s.get(url, params=params, headers=headers, timeout=60)


def test_refused_refresh_ends_the_connection_without_retrying(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    hl.connect(stack, fake, user, LOC, expires_in_s=-60, refresh_token="hlrt_revoked_by_the_owner")
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 422 and r.json()["error"] == "reconnect_required"
    hl.assert_no_provider_words(r.text)
    row, tokens = hl.stored_tokens(stack, user)
    assert not row["is_active"] and row["status"] == "refresh_rejected"
    assert "authorise" in row["last_error"] and tokens == {"access_token": None, "refresh_token": None}
    assert fake.hl_refresh_count == 1
    # later requests learn it from the row: the provider is not asked again
    for _ in range(3):
        r = list_agents(http, stack, admin, user)
        assert r.status_code == 422 and r.json()["error"] == "reconnect_required"
    assert fake.hl_refresh_count == 1
    # authorising again brings the connection back
    state = start_flow(http, stack, user).json()["state"]
    assert complete_flow(http, stack, fake.hl_issue_code(LOC), state).status_code == 200
    row, _ = hl.stored_tokens(stack, user)
    assert row["is_active"] and row["status"] == "connected" and row["last_error"] is None
    assert list_agents(http, stack, admin, user).status_code == 200


def test_provider_down_during_refresh_uses_the_token_still_valid(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    access, refresh = hl.connect(stack, fake, user, LOC, expires_in_s=120)
    fake.add_fault(path_prefix="/oauth/token", status=503, count=20)
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 200, r.text
    row, tokens = hl.stored_tokens(stack, user)
    assert row["is_active"] and tokens == {"access_token": access, "refresh_token": refresh}
    # once expired, the same outage is a clear 502 and the connection stays (nothing was refused)
    stack.sql("UPDATE api_keys SET token_expires_at = now() - interval '1 minute' WHERE user_id = %s", (user,))
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 502 and "retry" in r.json()["message"]
    assert hl.stored_tokens(stack, user)[0]["is_active"]


# ------------------------------------------------------------------ agents

def test_agents_over_several_pages_are_upserted_with_assignment(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    hl.connect(stack, fake, user, LOC)
    for i in range(120):
        fake.add_hl_agent(LOC, agent_id=f"hl_agent_{i:03d}", name=f"Agent {i:03d}")
    fake.add_hl_agent("loc_someone_else", agent_id="hl_foreign", name="Not ours")
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 200, r.text
    agents = r.json()["agents"]
    assert len(agents) == 120 and not any(a["assigned"] for a in agents)
    assert {a["highlevel_agent_id"] for a in agents} == {f"hl_agent_{i:03d}" for i in range(120)}
    assert all(a["source_platform"] == "highlevel" for a in agents)
    pages = [(q["query"]["page"][0], q["query"]["pageSize"][0], q["query"]["locationId"][0])
             for q in fake.requests_for("/voice-ai/agents")]
    assert pages == [("1", "50", LOC), ("2", "50", LOC), ("3", "50", LOC)]
    assert all(q["headers"]["version"] == "2021-04-15" for q in fake.requests_for("/voice-ai/agents"))

    # assign one, rename one at the provider: a second listing updates, never duplicates
    chosen = next(a for a in agents if a["highlevel_agent_id"] == "hl_agent_007")
    stack.sql("INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES (%s, %s, 'highlevel')",
              (user, chosen["id"]))
    with fake.lock:
        fake.hl_agents[LOC][8]["agentName"] = "Renamed"
    again = list_agents(http, stack, admin, user).json()["agents"]
    assert stack.sql("SELECT count(*) AS n FROM agents")[0]["n"] == 120
    by_id = {a["highlevel_agent_id"]: a for a in again}
    assert by_id["hl_agent_007"]["assigned"] and by_id["hl_agent_007"]["id"] == chosen["id"]
    assert by_id["hl_agent_008"]["name"] == "Renamed"
    assert sum(a["assigned"] for a in again) == 1
    rows = stack.sql("SELECT DISTINCT source_platform, location_id FROM agents")
    assert rows == [{"source_platform": "highlevel", "location_id": LOC}]


def test_agents_need_an_admin_and_a_connection(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    assert http.post(stack.url("fetch-available-agents"), json={"user_id": user}).status_code == 401
    assert list_agents(http, stack, user, user).status_code == 403
    r = http.post(stack.url("fetch-available-agents"), headers=stack.auth(admin), json={})
    assert r.status_code == 400
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 404 and r.json()["error"] == "not_connected"
    hl.connect(stack, fake, user, LOC)
    r = http.get(stack.url("fetch-available-agents"), params={"user_id": user}, headers=stack.auth(admin))
    assert r.status_code == 200 and r.json()["agents"] == []


def test_a_token_the_provider_refuses_is_a_clear_error(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    hl.connect(stack, fake, user, LOC, access_token="hlat_not_known_to_the_provider")
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 422 and r.json()["error"] == "provider_rejected_token"
    hl.assert_no_provider_words(r.text)
    fake.add_fault(path_prefix="/voice-ai/agents", status=429, count=20)
    hl.connect(stack, fake, user, LOC)
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 502 and "retry" in r.json()["message"]
