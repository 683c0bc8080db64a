"""sync-retell-calls against the fake Retell: paging, per-call details, retries, several
workers, billing exact to the cent, and who may ask. Resuming after a kill is in
test_faults.py, with HighLevel's."""
import json
import time
from decimal import Decimal

import pytest

from testenv.clock import DAY_MS, now_ms
from testenv.retell import CLIENT_KEY as KEY


def sync(http, stack, headers, body=None):
    return http.post(stack.url("sync-retell-calls"), json=body, headers=headers, timeout=600)


def ncalls(stack):
    return stack.sql("SELECT count(*) AS n FROM calls")[0]["n"]


def test_initial_sync_over_several_pages_fetches_details(stack, fake, http, retell_client):
    start = now_ms() - 20 * DAY_MS
    fake.generate_retell_calls(KEY, ["ag_one", "ag_two"], 3500, start, 60_000, duration_ms=61_500)
    fake.generate_retell_calls(KEY, ["ag_other"], 50, start, 60_000)
    r = sync(http, stack, stack.service_headers())
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["synced_users"] == 1 and s["failed_users"] == 0 and s["errors"] == []
    assert s["calls_inserted"] == 3500 and s["users"][0]["pages"] == 4
    assert ncalls(stack) == 3500
    rows = stack.sql("""SELECT count(*) FILTER (WHERE transcript IS NULL OR recording_url IS NULL) AS missing,
                        count(DISTINCT retell_call_id) AS distinct_ids,
                        count(*) FILTER (WHERE duration_seconds = 62) AS seconds_ok FROM calls""")[0]
    assert rows == {"missing": 0, "distinct_ids": 3500, "seconds_ok": 3500}
    lists = fake.requests_for("/v3/list-calls")
    assert len(lists) == 4
    body = lists[0]["json"]
    assert body["sort_order"] == "ascending" and body["limit"] == 1000
    assert sorted(a["agent_id"] for a in body["filter_criteria"]["agent"]) == ["ag_one", "ag_two"]
    assert body["filter_criteria"]["start_timestamp"] == {"type": "number", "op": "ge", "value": 0}
    assert all("pagination_key" in r["json"] for r in lists[1:])
    assert len(fake.requests_for("/v2/get-call/")) == 3500
    run = stack.sql("SELECT * FROM sync_runs")[0]
    assert run["status"] == "ok" and run["trigger"] == "schedule" and run["calls_inserted"] == 3500
    assert run["pages"] == 4 and run["finished_at"] is not None
    state = stack.sql("SELECT * FROM sync_state")[0]
    assert state["cursor_ms"] == start + 3499 * 60_000 and state["last_status"] == "ok"


def test_incremental_sync_asks_from_the_cursor_and_fetches_only_new_details(stack, fake, http, retell_client):
    start = now_ms() - 10 * DAY_MS
    fake.generate_retell_calls(KEY, ["ag_one"], 30, start, 60_000)
    assert sync(http, stack, stack.auth(retell_client["user"])).status_code == 200
    fake.clear_requests()
    fake.generate_retell_calls(KEY, ["ag_two"], 10, start + 31 * 60_000, 60_000)
    r = sync(http, stack, stack.auth(retell_client["user"]))
    assert r.status_code == 200
    s = r.json()
    assert s["calls_inserted"] == 10
    assert ncalls(stack) == 40
    since = fake.requests_for("/v3/list-calls")[0]["json"]["filter_criteria"]["start_timestamp"]["value"]
    assert since == start + 29 * 60_000 - 3_600_000  # cursor minus the safety overlap
    assert len(fake.requests_for("/v2/get-call/")) == 10


def test_429_with_retry_after_and_500s_are_survived(stack, fake, http, retell_client):
    fake.generate_retell_calls(KEY, ["ag_one"], 1200, now_ms() - 5 * DAY_MS, 1000)
    fake.add_fault(path_prefix="/v3/list-calls", status=429, retry_after="1", count=1)
    fake.add_fault(path_prefix="/v3/list-calls", status=500, count=1)
    fake.add_fault(path_prefix="/v2/get-call/", status=429, retry_after="0", count=5)
    fake.add_fault(path_prefix="/v2/get-call/", status=503, count=3)
    t0 = time.monotonic()
    r = sync(http, stack, stack.service_headers())
    assert r.status_code == 200 and r.json()["failed_users"] == 0, r.text
    assert time.monotonic() - t0 >= 1.0  # Retry-After was honoured
    assert ncalls(stack) == 1200
    assert r.json()["users"][0]["retries"] >= 10
    assert stack.sql("SELECT retries FROM sync_runs")[0]["retries"] >= 10


def test_two_workers_sync_each_user_once(stack, fake, connect_retell, retell_agent, retell_client):
    users = [retell_client["user"]]
    for i in range(3):
        u = stack.make_user("client")
        key = f"key_worker_{i}_SENTINEL_00000000"
        connect_retell(u, key)
        fake.add_retell_agent(key, agent_id=f"ag_w{i}")
        retell_agent(f"ag_w{i}", assign_to=u)
        fake.generate_retell_calls(key, [f"ag_w{i}"], 300, now_ms() - DAY_MS, 1000)
        users.append(u)
    fake.generate_retell_calls(KEY, ["ag_one"], 300, now_ms() - DAY_MS, 1000)
    fake.add_fault(path_prefix="/v3/list-calls", delay=0.5, count=8)
    procs = [stack.cli("sync-retell-calls", "--all") for _ in range(2)]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(o["synced_users"] for o in outs) == 4
    assert sum(o["skipped_users"] for o in outs) == 4
    per_user = stack.sql("SELECT user_id, count(*) AS n FROM sync_runs GROUP BY 1")
    assert sorted(r["n"] for r in per_user) == [1, 1, 1, 1]
    assert ncalls(stack) == 1200


def test_a_slow_user_is_given_up_and_the_others_synced(stack, fake, connect_retell, retell_agent, retell_client):
    other = stack.make_user("client")
    connect_retell(other, "key_second_SENTINEL_0000000000000")
    fake.add_retell_agent("key_second_SENTINEL_0000000000000", agent_id="ag_second")
    retell_agent("ag_second", assign_to=other)
    fake.generate_retell_calls(KEY, ["ag_one"], 2500, now_ms() - DAY_MS, 10)
    fake.generate_retell_calls("key_second_SENTINEL_0000000000000", ["ag_second"], 5, now_ms() - DAY_MS, 10)
    # 2,500 per-call fetches do not fit in a 2 s budget: the first page is kept, then it stops
    fake.add_fault(path_prefix="/v2/get-call/", delay=0.2, count=50)
    proc = stack.cli("sync-retell-calls", "--all", SYNC_USER_BUDGET_S=2)
    out, _ = proc.communicate(timeout=120)
    summary = json.loads(out)
    assert proc.returncode == 1 and summary["failed_users"] == 1 and summary["synced_users"] == 1
    failed = [u for u in summary["users"] if u["status"] == "error"][0]
    assert failed["user_id"] == retell_client["user"] and failed["pages"] >= 1
    assert "resumes" in failed["error"]
    assert stack.sql("SELECT count(*) AS n FROM calls WHERE user_id = %s", (other,))[0]["n"] == 5


BILLING = [
    # direction, call_type, duration_ms, increment, expected cost
    ("inbound", "phone_call", 61_000, 60, "0.2000"),     # 61 s -> 120 s at 0.10
    ("outbound", "phone_call", 61_000, 60, "0.5000"),    # 120 s at 0.25
    ("inbound", "web_call", 61_000, 60, "0.1000"),       # 120 s at 0.05 (web rate)
    ("inbound", "phone_call", 61_001, 1, "0.1033"),      # ceil -> 62 s at 0.10/min
    ("outbound", "phone_call", 1, 1, "0.0042"),          # 1 ms -> 1 s at 0.25/min
    ("inbound", "phone_call", 0, 60, "0.0000"),          # zero-length
    ("outbound", "phone_call", 3_599_999, 60, "15.0000"),  # 3600 s at 0.25
]


@pytest.mark.parametrize("direction,call_type,duration_ms,increment,expected", BILLING)
def test_billing_is_exact(stack, fake, http, retell_client, direction, call_type, duration_ms, increment, expected):
    stack.sql("""INSERT INTO billing_accounts (user_id, inbound_rate_per_minute, outbound_rate_per_minute,
                 web_call_rate_per_minute, billing_increment_seconds) VALUES (%s, 0.10, 0.25, 0.05, %s)""",
              (retell_client["user"], increment))
    call = fake.make_retell_call("ag_one", call_id="bill", duration_ms=duration_ms, direction=direction,
                                 call_type=call_type, start_ms=now_ms() - DAY_MS, call_cost={"combined_cost": 999})
    fake.add_retell_call(KEY, call)
    assert sync(http, stack, stack.service_headers()).status_code == 200
    assert stack.sql("SELECT cost FROM calls")[0]["cost"] == Decimal(expected)


def test_a_user_without_billing_account_gets_no_cost_and_a_warning(stack, fake, http, retell_client):
    fake.add_retell_call(KEY, fake.make_retell_call("ag_one", call_id="nobill", start_ms=now_ms() - DAY_MS))
    r = sync(http, stack, stack.service_headers())
    assert r.status_code == 200 and r.json()["failed_users"] == 0
    assert stack.sql("SELECT cost FROM calls")[0]["cost"] is None


def test_who_may_sync_what(stack, fake, http, retell_client):
    admin = stack.make_user("admin")
    other = stack.make_user("client")
    assert sync(http, stack, {}).status_code == 401
    assert sync(http, stack, stack.auth(retell_client["user"]), {"user_id": other}).status_code == 403
    r = sync(http, stack, stack.auth(retell_client["user"]))
    assert r.status_code == 200 and r.json()["provider"] == "Provider B"
    assert "retell" not in r.text.lower()
    r = sync(http, stack, stack.auth(admin), {"user_id": retell_client["user"]})
    assert r.status_code == 200 and r.json()["provider"] == "Retell"
    assert sync(http, stack, stack.auth(admin)).status_code == 400  # an admin names the user
    assert sync(http, stack, stack.auth(admin), {"user_id": other}).status_code == 404  # not connected
    triggers = [r["trigger"] for r in stack.sql("SELECT trigger FROM sync_runs ORDER BY id")]
    assert triggers == ["manual", "manual"]


def test_connection_status_reports_the_last_sync(stack, fake, http, retell_client):
    admin = stack.make_user("admin")
    fake.add_fault(path_prefix="/v3/list-calls", status=500, count=10)
    sync(http, stack, stack.service_headers())
    s = http.get(stack.url("retell-connection"), params={"user_id": retell_client["user"]},
                 headers=stack.auth(admin)).json()
    assert s["last_sync_status"] == "error" and "retry" in s["last_error"]
    fake.faults.clear()
    sync(http, stack, stack.service_headers())
    s = http.get(stack.url("retell-connection"), params={"user_id": retell_client["user"]},
                 headers=stack.auth(admin)).json()
    assert s["last_sync_status"] == "ok" and s["last_error"] is None and s["last_sync_at"]


def test_an_agent_assigned_later_gets_its_older_calls(stack, fake, http, retell_client):
    admin = stack.make_user("admin")
    start = now_ms() - 30 * DAY_MS
    fake.generate_retell_calls(KEY, ["ag_other"], 20, start, 60_000)          # old, not yet ours
    fake.generate_retell_calls(KEY, ["ag_one"], 20, now_ms() - DAY_MS, 60_000)  # recent, ours
    assert sync(http, stack, stack.service_headers()).json()["calls_inserted"] == 20
    other = stack.sql("SELECT id FROM agents WHERE retell_agent_id = 'ag_other'")[0]["id"]
    r = http.post(stack.url("assign-agents"), json={"user_id": retell_client["user"], "source_platform": "retell",
                                                   "agent_ids": [other]}, headers=stack.auth(admin))
    assert r.status_code == 200, r.text
    fake.clear_requests()
    s = sync(http, stack, stack.service_headers()).json()
    assert s["calls_inserted"] == 20 and ncalls(stack) == 40
    # the recent calls were listed again but their details were not fetched twice
    assert len(fake.requests_for("/v2/get-call/")) == 20
