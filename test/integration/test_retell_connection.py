"""retell-connection against the fake Retell: a key tested, stored sealed, reported and
disconnected; bad requests, provider failures and callers who are not admins."""
import json

import pytest

from testenv.functions import assert_admins_only, post
from testenv.retell import BAD_KEY, connect, seed_agents
from testenv.retell import WORKSPACE_KEY as KEY


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
    assert_admins_only(http, stack, "retell-connection", {"api_key": KEY, "test_only": True}, client)


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
