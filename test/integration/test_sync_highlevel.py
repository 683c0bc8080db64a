"""sync-highlevel-calls and sync-all against the fake HighLevel: call logs paged by page/pageSize
within a date window from the cursor, messageId kept for the recording, billing through the
shared trigger, resuming after a kill, and the dashboard's one button for a user of both
providers."""
import json
import signal
import time
from decimal import Decimal
from urllib.parse import parse_qs

import pytest

from testenv import highlevel as hl

LOC = "loc_sync_0001"
RETELL_KEY = "key_syncall_SENTINEL_0123456789ab"
DAY = 86_400_000


def now_ms():
    return int(time.time() * 1000)


@pytest.fixture
def world(clean, fake):
    stack = clean
    user = stack.make_user("client")
    hl.connect(stack, fake, user, LOC)
    agents = {}
    for name in ("hl_ag_one", "hl_ag_two", "hl_ag_other"):
        fake.add_hl_agent(LOC, agent_id=name)
        agents[name] = stack.sql("""INSERT INTO agents (name, source_platform, highlevel_agent_id, location_id)
                                    VALUES (%s, 'highlevel', %s, %s) RETURNING id""",
                                 (name, name, LOC))[0]["id"]
    for name in ("hl_ag_one", "hl_ag_two"):
        stack.sql("INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES (%s, %s, 'highlevel')",
                  (user, agents[name]))
    return {"stack": stack, "user": user, "agents": agents}


def add_logs(fake, agent, n, start_ms, step_ms=60_000, duration=61, **kw):
    return [fake.add_hl_call(LOC, fake.make_hl_call(LOC, agent, created_at_ms=start_ms + i * step_ms,
                                                    duration=duration, **kw)) for i in range(n)]


def sync(http, stack, headers, body=None, fn="sync-highlevel-calls"):
    return http.post(stack.url(fn), json=body, headers=headers, timeout=600)


def ncalls(stack):
    return stack.sql("SELECT count(*) AS n FROM calls")[0]["n"]


def log_queries(fake):
    return [{k: v[0] for k, v in r["query"].items()} for r in fake.requests_for("/voice-ai/dashboard/call-logs")]


def test_initial_sync_pages_through_the_window_and_keeps_message_ids(world, fake, http):
    stack = world["stack"]
    start = now_ms() - 20 * DAY
    logs = add_logs(fake, "hl_ag_one", 70, start) + add_logs(fake, "hl_ag_two", 60, start + 30_000)
    add_logs(fake, "hl_ag_other", 20, start + 10_000)  # not assigned to this user
    r = sync(http, stack, stack.service_headers())
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["synced_users"] == 1 and s["failed_users"] == 0 and s["calls_inserted"] == 130
    assert s["users"][0]["pages"] == 3  # 150 logs in the location, 50 a page
    queries = log_queries(fake)
    assert [q["page"] for q in queries] == ["1", "2", "3"]
    assert all(q["pageSize"] == "50" and q["locationId"] == LOC and q["sortBy"] == "createdAt"
               and q["sort"] == "ascend" for q in queries)
    assert int(queries[0]["startDate"]) == 1420070400000
    assert abs(int(queries[0]["endDate"]) - now_ms()) < 60_000
    assert len({(q["startDate"], q["endDate"]) for q in queries}) == 1  # one fixed window

    rows = {r["highlevel_call_id"]: r for r in stack.sql("SELECT * FROM calls")}
    assert set(rows) == {log["id"] for log in logs}
    one = logs[0]
    row = rows[one["id"]]
    assert row["source_platform"] == "highlevel" and str(row["user_id"]) == world["user"]
    assert row["agent_id"] == world["agents"]["hl_ag_one"] and row["provider_agent_id"] == "hl_ag_one"
    assert row["highlevel_message_id"] == one["messageId"] and row["contact_id"] == one["contactId"]
    assert row["duration_seconds"] == 61 and row["call_status"] == "ended"
    assert row["started_at"].timestamp() * 1000 == start
    assert (row["ended_at"] - row["started_at"]).total_seconds() == 61
    assert row["transcript"] == one["transcript"] and row["summary"] == one["summary"]
    assert row["from_number"] == one["fromNumber"] and row["call_type"] == "phone_call"
    assert row["call_analysis"] == {"extractedData": {}, "executedCallActions": []}
    run = stack.sql("SELECT * FROM sync_runs")[0]
    assert run["provider"] == "highlevel" and run["status"] == "ok" and run["trigger"] == "schedule"
    state = stack.sql("SELECT * FROM sync_state")[0]
    assert state["provider"] == "highlevel" and state["last_status"] == "ok"
    assert state["cursor_ms"] == max(log_start for log_start in
                                     (start + 69 * 60_000, start + 30_000 + 59 * 60_000))


def test_incremental_sync_starts_at_the_cursor_minus_the_overlap(world, fake, http):
    stack = world["stack"]
    start = now_ms() - 5 * DAY
    add_logs(fake, "hl_ag_one", 10, start)
    assert sync(http, stack, stack.auth(world["user"])).status_code == 200
    fake.clear_requests()
    add_logs(fake, "hl_ag_two", 4, start + 11 * 60_000)
    r = sync(http, stack, stack.auth(world["user"]))
    assert r.status_code == 200 and r.json()["calls_inserted"] == 4
    # the overlap (an hour) brings the first ten again: updated, not duplicated
    assert r.json()["calls_updated"] == 10 and ncalls(stack) == 14
    assert int(log_queries(fake)[0]["startDate"]) == start + 9 * 60_000 - 3_600_000
    assert r.json()["provider"] == "Provider A" and "highlevel" not in r.text.lower()


def test_synced_call_plays_its_recording(world, fake, http):
    stack = world["stack"]
    log = add_logs(fake, "hl_ag_one", 1, now_ms() - DAY)[0]
    assert sync(http, stack, stack.service_headers()).status_code == 200
    call_id = stack.sql("SELECT id FROM calls")[0]["id"]
    r = http.get(stack.url("get-call-recording"), params={"call_id": str(call_id)},
                 headers={**stack.auth(world["user"]), "Range": "bytes=44-"})
    assert r.status_code == 206 and r.content == fake.hl_recording_bytes(log["messageId"])[44:]


@pytest.mark.parametrize("duration,trial,increment,expected", [
    (61, False, 60, "0.2000"),   # 120 s at 0.10 inbound
    (61, False, 1, "0.1017"),    # 61 s at 0.10
    (0, False, 60, "0.0000"),
    (61.2, False, 1, "0.1033"),  # a fraction of a second is rounded up: 62 s
    (61, True, 60, "0.1000"),    # a trial (the builder's browser test) at the web rate
])
def test_billing_uses_the_shared_rule(world, fake, http, duration, trial, increment, expected):
    stack = world["stack"]
    stack.sql("""INSERT INTO billing_accounts (user_id, inbound_rate_per_minute, outbound_rate_per_minute,
                 web_call_rate_per_minute, billing_increment_seconds) VALUES (%s, 0.10, 0.25, 0.05, %s)""",
              (world["user"], increment))
    fake.add_hl_call(LOC, fake.make_hl_call(LOC, "hl_ag_one", created_at_ms=now_ms() - DAY,
                                            duration=duration, trialCall=trial))
    assert sync(http, stack, stack.service_headers()).status_code == 200
    assert stack.sql("SELECT cost FROM calls")[0]["cost"] == Decimal(expected)


def test_rate_limits_and_errors_are_survived_and_an_expiring_token_refreshed(world, fake, http):
    stack = world["stack"]
    hl.connect(stack, fake, world["user"], LOC, expires_in_s=60)
    add_logs(fake, "hl_ag_one", 120, now_ms() - 2 * DAY, step_ms=1000)
    # the stack allows two retries per request (HTTP_MAX_RETRIES=2)
    fake.add_fault(path_prefix="/voice-ai/dashboard/call-logs", status=429, retry_after="1", count=1)
    fake.add_fault(path_prefix="/voice-ai/dashboard/call-logs", status=502, count=1)
    fake.add_fault(path_prefix="/voice-ai/dashboard/call-logs", count=1)  # page 1 answered
    fake.add_fault(path_prefix="/voice-ai/dashboard/call-logs", status=503, count=2)
    t0 = time.monotonic()
    r = sync(http, stack, stack.service_headers())
    assert r.status_code == 200 and r.json()["failed_users"] == 0, r.text
    assert time.monotonic() - t0 >= 1.0  # Retry-After was honoured
    assert ncalls(stack) == 120 and r.json()["users"][0]["retries"] == 4
    assert fake.hl_refresh_count == 1


def test_a_sync_killed_midway_resumes_without_loss_or_duplicates(world, fake):
    stack = world["stack"]
    add_logs(fake, "hl_ag_one", 140, now_ms() - 3 * DAY, step_ms=10_000)
    fake.add_fault(path_prefix="/voice-ai/dashboard/call-logs", count=2, delay=0)
    fake.add_fault(path_prefix="/voice-ai/dashboard/call-logs", delay=30)
    proc = stack.cli("sync-highlevel-calls", "--user", world["user"])
    deadline = time.monotonic() + 60
    while len(fake.requests_for("/voice-ai/dashboard/call-logs")) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert ncalls(stack) == 100  # two committed pages, nothing of the third
    fake.faults.clear()
    done = stack.cli("sync-highlevel-calls", "--user", world["user"])
    out, errs = done.communicate(timeout=300)
    assert done.returncode == 0, errs
    assert json.loads(out)["failed_users"] == 0
    rows = stack.sql("SELECT count(*) AS n, count(DISTINCT highlevel_call_id) AS d FROM calls")[0]
    assert rows == {"n": 140, "d": 140}
    runs = stack.sql("SELECT status, trigger FROM sync_runs ORDER BY id")
    assert runs[0]["status"] == "running" and runs[1] == {"status": "ok", "trigger": "cli"}


def test_refused_refresh_fails_the_user_and_records_why(world, fake, http):
    stack = world["stack"]
    hl.connect(stack, fake, world["user"], LOC, expires_in_s=-10, refresh_token="hlrt_gone")
    add_logs(fake, "hl_ag_one", 3, now_ms() - DAY)
    r = sync(http, stack, stack.auth(world["user"]))
    assert r.status_code == 422 and r.json()["error"] == "reconnect_required"
    assert stack.sql("SELECT last_status FROM sync_state")[0]["last_status"] == "error"
    # the daily job no longer picks the inactive connection
    r = sync(http, stack, stack.service_headers())
    assert r.status_code == 200 and r.json()["synced_users"] == 0 and fake.hl_refresh_count == 1


def test_who_may_sync(world, fake, http):
    stack = world["stack"]
    admin, other = stack.make_user("admin"), stack.make_user("client")
    assert sync(http, stack, {}).status_code == 401
    assert sync(http, stack, stack.auth(world["user"]), {"user_id": other}).status_code == 403
    r = sync(http, stack, stack.auth(admin), {"user_id": world["user"]})
    assert r.status_code == 200 and r.json()["provider"] == "HighLevel"
    assert sync(http, stack, stack.auth(admin), {"user_id": other}).status_code == 404


# ------------------------------------------------------------------ sync-all

@pytest.fixture
def both(world, fake, connect_retell, retell_agent):
    connect_retell(world["user"], RETELL_KEY)
    fake.add_retell_agent(RETELL_KEY, agent_id="rt_agent")
    retell_agent("rt_agent", assign_to=world["user"])
    fake.generate_retell_calls(RETELL_KEY, ["rt_agent"], 7, now_ms() - DAY, 60_000)
    add_logs(fake, "hl_ag_one", 5, now_ms() - DAY)
    return world


def test_sync_all_runs_every_connected_provider(both, fake, http):
    stack = both["stack"]
    r = sync(http, stack, stack.auth(both["user"]), fn="sync-all")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["providers_synced"] == 2 and out["providers_failed"] == 0
    by_name = {s["provider"]: s for s in out["syncs"]}
    assert by_name["Provider B"]["calls_inserted"] == 7 and by_name["Provider A"]["calls_inserted"] == 5
    hl.assert_no_provider_words(r.text)
    counts = stack.sql("SELECT source_platform, count(*) AS n FROM calls GROUP BY 1 ORDER BY 1")
    assert counts == [{"source_platform": "highlevel", "n": 5}, {"source_platform": "retell", "n": 7}]
    assert sorted(r["provider"] for r in stack.sql("SELECT provider FROM sync_runs")) == ["highlevel", "retell"]


def test_sync_all_with_one_provider_down_reports_it_and_syncs_the_other(both, fake, http):
    stack = both["stack"]
    admin = stack.make_user("admin")
    fake.add_fault(path_prefix="/voice-ai/dashboard/call-logs", status=500, count=50)
    r = sync(http, stack, stack.auth(admin), {"user_id": both["user"]}, fn="sync-all")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["providers_synced"] == 1 and out["providers_failed"] == 1
    failure = next(s for s in out["syncs"] if "error" in s and isinstance(s["error"], str))
    assert failure["provider"] == "HighLevel" and "retry" in failure["message"]
    assert ncalls(stack) == 7


def test_sync_all_for_one_provider_and_for_none(world, fake, http):
    stack = world["stack"]
    add_logs(fake, "hl_ag_one", 2, now_ms() - DAY)
    r = sync(http, stack, stack.auth(world["user"]), fn="sync-all")
    assert r.status_code == 200 and [s["provider"] for s in r.json()["syncs"]] == ["Provider A"]
    nobody = stack.make_user("client")
    r = sync(http, stack, stack.auth(nobody), fn="sync-all")
    assert r.status_code == 404 and r.json()["error"] == "not_connected"
    assert http.get(stack.url("sync-all"), headers=stack.auth(nobody)).status_code == 405
