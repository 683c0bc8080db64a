"""retell-connection, fetch-retell-agents and assign-agents against the fake Retell."""
import json

import pytest

from testenv import retell

KEY = "key_conn_SENTINEL_5f1e2d3c4b5a6978"
BAD_KEY = "key_bad_SENTINEL_0000000000000000"


@pytest.fixture
def admin(clean):
    return clean.make_user("admin")


@pytest.fixture
def client(clean):
    return clean.make_user("client")


def post(http, stack, fn, body, user=None, headers=None):
    h = headers if headers is not None else stack.auth(user)
    return http.post(stack.url(fn), json=body, headers=h)


def test_test_only_checks_the_key_and_stores_nothing(stack, fake, http, admin):
    fake.add_retell_agent(KEY, name="Front desk")
    r = post(http, stack, "retell-connection", {"api_key": KEY, "test_only": True}, admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"valid": True, "agents_visible": 1}
    r = post(http, stack, "retell-connection", {"api_key": BAD_KEY, "test_only": True}, admin)
    assert r.status_code == 422
    assert r.json() == {"error": "provider_rejected_key", "message": "key rejected by provider"}
    assert stack.sql("SELECT count(*) AS n FROM api_keys")[0]["n"] == 0


def test_save_stores_the_key_sealed(stack, fake, http, admin, client):
    fake.add_retell_agent(KEY)
    r = post(http, stack, "retell-connection", {"user_id": client, "api_key": KEY}, admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["connected"] is True and body["key_hint"] == "…" + KEY[-4:]
    row = stack.sql("SELECT * FROM api_keys WHERE user_id = %s", (client,))[0]
    assert row["service"] == "retell" and row["is_active"]
    assert row["refresh_token"] is None and row["token_expires_at"] is None and row["location_id"] is None
    assert KEY not in row["access_token"] and row["access_token"].startswith("k1:")


def test_invalid_key_is_422_and_nothing_is_stored(stack, fake, http, admin, client):
    fake.add_retell_agent(KEY)
    r = post(http, stack, "retell-connection", {"user_id": client, "api_key": BAD_KEY}, admin)
    assert r.status_code == 422
    assert stack.sql("SELECT count(*) AS n FROM api_keys")[0]["n"] == 0


@pytest.mark.parametrize("body,status", [
    ({"api_key": KEY}, 400),                              # no user, not a test
    ({"user_id": "nope", "api_key": KEY}, 400),
    ({"user_id": "00000000-0000-4000-8000-000000000000", "api_key": KEY}, 404),
    ({"user_id": None, "api_key": "short", "test_only": True}, 400),
    ({"api_key": 12345678, "test_only": True}, 400),
    ({"api_key": "has space in it", "test_only": True}, 400),
])
def test_bad_requests(stack, fake, http, admin, body, status):
    fake.add_retell_agent(KEY)
    r = post(http, stack, "retell-connection", body, admin)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error", "message"}


def test_status_and_disconnect(stack, fake, http, admin, client):
    fake.add_retell_agent(KEY)
    post(http, stack, "retell-connection", {"user_id": client, "api_key": KEY}, admin)
    r = http.get(stack.url("retell-connection"), params={"user_id": client}, headers=stack.auth(admin))
    s = r.json()
    assert r.status_code == 200 and s["connected"] is True and s["since"].endswith("Z")
    assert s["key_hint"] == "…" + KEY[-4:] and KEY not in r.text
    assert s["last_sync_at"] is None
    r = http.delete(stack.url("retell-connection"), params={"user_id": client}, headers=stack.auth(admin))
    assert r.status_code == 200 and r.json()["disconnected"] is True
    row = stack.sql("SELECT is_active, access_token FROM api_keys WHERE user_id = %s", (client,))[0]
    assert row == {"is_active": False, "access_token": None}
    r = http.get(stack.url("retell-connection"), params={"user_id": client}, headers=stack.auth(admin))
    assert r.json()["connected"] is False
    r = http.delete(stack.url("retell-connection"), params={"user_id": client}, headers=stack.auth(admin))
    assert r.status_code == 404


@pytest.mark.parametrize("fault,status", [
    ({"status": 429, "retry_after": "0", "count": 10}, 502),
    ({"status": 500, "count": 10}, 502),
    ({"delay": 3.5, "count": 10}, 504),
])
def test_provider_failures_map_to_clear_answers(stack, fake, http, admin, fault, status):
    fake.add_retell_agent(KEY)
    fake.add_fault(path_prefix="/v2/list-agents", **fault)
    r = post(http, stack, "retell-connection", {"api_key": KEY, "test_only": True}, admin)
    assert r.status_code == status, r.text
    msg = r.json()["message"]
    assert "retry" in msg or "in time" in msg
    assert "retell" not in r.text.lower()


def test_callers_who_are_not_admins(stack, fake, http, client):
    fake.add_retell_agent(KEY)
    for fn in ("retell-connection", "assign-agents"):
        r = post(http, stack, fn, {"api_key": KEY, "test_only": True}, client)
        assert r.status_code == 403, fn
        r = post(http, stack, fn, {"api_key": KEY, "test_only": True}, headers={})
        assert r.status_code == 401, fn
        r = post(http, stack, fn, {}, headers={"Authorization": "Bearer " + stack.token(client, exp_in=-3600)})
        assert r.status_code == 401, fn
    assert post(http, stack, "fetch-retell-agents", {}, headers={}).status_code == 401


def seed_agents(fake, n):
    for i in range(n):
        fake.add_retell_agent(KEY, agent_id=f"agent_{i:05d}", name=f"Agent {i:05d}", version=i % 7)


def connect(http, stack, admin, user):
    r = post(http, stack, "retell-connection", {"user_id": user, "api_key": KEY}, admin)
    assert r.status_code == 200, r.text


def test_fetch_agents_follows_every_page(stack, fake, http, admin, client):
    seed_agents(fake, 2050)
    connect(http, stack, admin, client)
    fake.clear_requests()
    r = post(http, stack, "fetch-retell-agents", {"user_id": client}, admin)
    assert r.status_code == 200, r.text
    agents = r.json()["agents"]
    assert len(agents) == 2050
    assert len({a["retell_agent_id"] for a in agents}) == 2050
    assert all(a["source_platform"] == "retell" and a["provider"] == "Retell" for a in agents)
    assert len(fake.requests_for("/v2/list-agents")) == 3
    assert stack.sql("SELECT count(*) AS n FROM agents WHERE source_platform = 'retell'")[0]["n"] == 2050
    # a second fetch updates rather than duplicates
    assert post(http, stack, "fetch-retell-agents", {"user_id": client}, admin).status_code == 200
    assert stack.sql("SELECT count(*) AS n FROM agents")[0]["n"] == 2050
    audit = stack.sql("SELECT actor_kind, purpose FROM key_usage_audit WHERE user_id = %s", (client,))
    assert {"actor_kind": "admin", "purpose": "list workspace agents"} in audit


def test_fetch_agents_falls_back_to_the_legacy_list(stack, fake, http, admin, client):
    seed_agents(fake, 3)
    connect(http, stack, admin, client)
    fake.add_fault(path_prefix="/v2/list-agents", status=404, count=1)
    r = post(http, stack, "fetch-retell-agents", {"user_id": client}, admin)
    assert r.status_code == 200, r.text
    assert len(r.json()["agents"]) == 3
    assert fake.requests_for("/list-agents")


def test_a_user_fetches_their_own_agents_white_labelled(stack, fake, http, admin, client):
    seed_agents(fake, 2)
    connect(http, stack, admin, client)
    r = post(http, stack, "fetch-retell-agents", {}, client)
    assert r.status_code == 200, r.text
    for a in r.json()["agents"]:
        assert a["provider"] == "Provider B" and "source_platform" not in a
        assert "retell_agent_id" not in a and "voice_id" not in a
    other = stack.make_user("client")
    assert post(http, stack, "fetch-retell-agents", {"user_id": other}, client).status_code == 403
    assert post(http, stack, "fetch-retell-agents", {"api_key": KEY}, client).status_code == 403


def test_admin_tests_a_key_in_the_body(stack, fake, http, admin):
    seed_agents(fake, 2)
    r = post(http, stack, "fetch-retell-agents", {"api_key": KEY}, admin)
    assert r.status_code == 200 and len(r.json()["agents"]) == 2


def test_assign_agents_of_both_providers(stack, fake, http, admin, client):
    seed_agents(fake, 2)
    connect(http, stack, admin, client)
    agents = post(http, stack, "fetch-retell-agents", {"user_id": client}, admin).json()["agents"]
    hl = stack.sql("""INSERT INTO agents (name, source_platform, highlevel_agent_id)
                      VALUES ('HL agent', 'highlevel', 'hl_1') RETURNING id""")[0]["id"]
    r = post(http, stack, "assign-agents", {"user_id": client, "source_platform": "retell",
                                            "agent_ids": [a["id"] for a in agents]}, admin)
    assert r.status_code == 200 and r.json()["assigned"] == 2, r.text
    r = post(http, stack, "assign-agents", {"user_id": client, "source_platform": "highlevel",
                                            "agent_ids": [hl]}, admin)
    assert r.status_code == 200, r.text
    # an id of the other platform is refused, and nothing of that request is assigned
    r = post(http, stack, "assign-agents", {"user_id": client, "source_platform": "highlevel",
                                            "agent_ids": [hl, agents[0]["id"]]}, admin)
    assert r.status_code == 404
    listed = http.get(stack.url("assign-agents"), params={"user_id": client}, headers=stack.auth(admin)).json()
    assert sorted(a["source_platform"] for a in listed["agents"]) == ["highlevel", "retell", "retell"]
    rows = stack.sql("SELECT source_platform, count(*) AS n FROM user_agents GROUP BY 1 ORDER BY 1")
    assert rows == [{"source_platform": "highlevel", "n": 1}, {"source_platform": "retell", "n": 2}]
    assigned = post(http, stack, "fetch-retell-agents", {"user_id": client}, admin).json()["agents"]
    assert all(a["assigned"] for a in assigned)
    r = http.delete(stack.url("assign-agents"), json={"user_id": client, "agent_ids": [hl]},
                    headers=stack.auth(admin))
    assert r.status_code == 200 and r.json()["unassigned"] == 1


def test_assignment_applies_waiting_inbox_events(stack, fake, http, admin, client):
    fake.add_retell_agent(KEY, agent_id="agent_late")
    connect(http, stack, admin, client)
    call = fake.make_retell_call("agent_late", call_id="call_waiting")
    for event, c in (("call_ended", retell.ended(call)), ("call_analyzed", call)):
        r = retell.post(http, stack, retell.delivery(event, c), KEY)
        assert r.json()["outcome"] == "unassigned"
    assert stack.sql("SELECT count(*) AS n FROM calls")[0]["n"] == 0
    agent = post(http, stack, "fetch-retell-agents", {"user_id": client}, admin).json()["agents"][0]
    r = post(http, stack, "assign-agents", {"user_id": client, "source_platform": "retell",
                                            "agent_ids": [agent["id"]]}, admin)
    assert r.json()["inbox_events_applied"] == 2
    row = stack.sql("SELECT * FROM calls WHERE retell_call_id = 'call_waiting'")[0]
    assert row["user_id"] == client and row["agent_id"] == agent["id"]
    assert row["summary"] == call["call_analysis"]["call_summary"]
    assert {r["status"] for r in stack.sql("SELECT status FROM webhook_inbox")} == {"applied"}
    # later deliveries apply directly
    r = retell.post(http, stack, retell.delivery("call_ended", retell.ended(call)), KEY)
    assert r.json()["outcome"] == "applied"


def test_the_key_is_in_no_column_and_no_log_line(stack, fake, http, admin, client):
    seed_agents(fake, 1)
    connect(http, stack, admin, client)
    post(http, stack, "fetch-retell-agents", {"user_id": client}, admin)
    post(http, stack, "retell-connection", {"api_key": BAD_KEY, "test_only": True}, admin)
    tables = [r["t"] for r in stack.sql("""SELECT format('%I.%I', table_schema, table_name) AS t
        FROM information_schema.tables WHERE table_schema IN ('public', 'auth')
        AND table_type = 'BASE TABLE'""")]
    for t in tables:
        dump = json.dumps(stack.sql(f"SELECT row_to_json(x)::text AS j FROM {t} x"), default=str)
        assert KEY not in dump and BAD_KEY not in dump, t
    logs = stack.logs()
    assert "fetch-retell-agents" in logs
    assert KEY not in logs and BAD_KEY not in logs
