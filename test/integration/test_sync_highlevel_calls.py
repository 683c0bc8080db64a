"""sync-highlevel-calls against the fake HighLevel: call logs paged by page/pageSize within a
date window from the cursor, messageId kept for the recording, billing through the shared
trigger, retries and a refreshed token, a refused refresh, and who may ask. Resuming after a
kill is in test_faults.py, with Retell's."""
import time
from decimal import Decimal

import pytest

from testenv import highlevel as hl
from testenv.clock import DAY_MS, now_ms
from testenv.highlevel import CLIENT_LOC as LOC
from testenv.highlevel import add_call_logs as add_logs


def sync(http, stack, headers, body=None):
    return http.post(stack.url("sync-highlevel-calls"), json=body, headers=headers, timeout=600)


def ncalls(stack):
    return stack.sql("SELECT count(*) AS n FROM calls")[0]["n"]


def log_queries(fake):
    return [{k: v[0] for k, v in r["query"].items()} for r in fake.requests_for("/voice-ai/dashboard/call-logs")]


def test_initial_sync_pages_through_the_window_and_keeps_message_ids(highlevel_client, fake, http):
    stack = highlevel_client["stack"]
    start = now_ms() - 20 * DAY_MS
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
    assert row["source_platform"] == "highlevel" and str(row["user_id"]) == highlevel_client["user"]
    assert row["agent_id"] == highlevel_client["agents"]["hl_ag_one"] and row["provider_agent_id"] == "hl_ag_one"
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


def test_incremental_sync_starts_at_the_cursor_minus_the_overlap(highlevel_client, fake, http):
    stack = highlevel_client["stack"]
    start = now_ms() - 5 * DAY_MS
    add_logs(fake, "hl_ag_one", 10, start)
    assert sync(http, stack, stack.auth(highlevel_client["user"])).status_code == 200
    fake.clear_requests()
    add_logs(fake, "hl_ag_two", 4, start + 11 * 60_000)
    r = sync(http, stack, stack.auth(highlevel_client["user"]))
    assert r.status_code == 200 and r.json()["calls_inserted"] == 4
    # the overlap (an hour) brings the first ten again: updated, not duplicated
    assert r.json()["calls_updated"] == 10 and ncalls(stack) == 14
    assert int(log_queries(fake)[0]["startDate"]) == start + 9 * 60_000 - 3_600_000
    assert r.json()["provider"] == "Provider A" and "highlevel" not in r.text.lower()


def test_synced_call_plays_its_recording(highlevel_client, fake, http):
    stack = highlevel_client["stack"]
    log = add_logs(fake, "hl_ag_one", 1, now_ms() - DAY_MS)[0]
    assert sync(http, stack, stack.service_headers()).status_code == 200
    call_id = stack.sql("SELECT id FROM calls")[0]["id"]
    r = http.get(stack.url("get-call-recording"), params={"call_id": str(call_id)},
                 headers={**stack.auth(highlevel_client["user"]), "Range": "bytes=44-"})
    assert r.status_code == 206 and r.content == fake.hl_recording_bytes(log["messageId"])[44:]


@pytest.mark.parametrize("duration,trial,increment,expected", [
    (61, False, 60, "0.2000"),   # 120 s at 0.10 inbound
    (61, False, 1, "0.1017"),    # 61 s at 0.10
    (0, False, 60, "0.0000"),
    (61.2, False, 1, "0.1033"),  # a fraction of a second is rounded up: 62 s
    (61, True, 60, "0.1000"),    # a trial (the builder's browser test) at the web rate
])
def test_billing_uses_the_shared_rule(highlevel_client, fake, http, duration, trial, increment, expected):
    stack = highlevel_client["stack"]
    stack.sql("""INSERT INTO billing_accounts (user_id, inbound_rate_per_minute, outbound_rate_per_minute,
                 web_call_rate_per_minute, billing_increment_seconds) VALUES (%s, 0.10, 0.25, 0.05, %s)""",
              (highlevel_client["user"], increment))
    fake.add_hl_call(LOC, fake.make_hl_call(LOC, "hl_ag_one", created_at_ms=now_ms() - DAY_MS,
                                            duration=duration, trialCall=trial))
    assert sync(http, stack, stack.service_headers()).status_code == 200
    assert stack.sql("SELECT cost FROM calls")[0]["cost"] == Decimal(expected)


def test_rate_limits_and_errors_are_survived_and_an_expiring_token_refreshed(highlevel_client, fake, http):
    stack = highlevel_client["stack"]
    hl.connect(stack, fake, highlevel_client["user"], LOC, expires_in_s=60)
    add_logs(fake, "hl_ag_one", 120, now_ms() - 2 * DAY_MS, step_ms=1000)
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


def test_refused_refresh_fails_the_user_and_records_why(highlevel_client, fake, http):
    stack = highlevel_client["stack"]
    hl.connect(stack, fake, highlevel_client["user"], LOC, expires_in_s=-10, refresh_token="hlrt_gone")
    add_logs(fake, "hl_ag_one", 3, now_ms() - DAY_MS)
    r = sync(http, stack, stack.auth(highlevel_client["user"]))
    assert r.status_code == 422 and r.json()["error"] == "reconnect_required"
    assert stack.sql("SELECT last_status FROM sync_state")[0]["last_status"] == "error"
    # the daily job no longer picks the inactive connection
    r = sync(http, stack, stack.service_headers())
    assert r.status_code == 200 and r.json()["synced_users"] == 0 and fake.hl_refresh_count == 1


def test_who_may_sync(highlevel_client, fake, http):
    stack = highlevel_client["stack"]
    admin, other = stack.make_user("admin"), stack.make_user("client")
    assert sync(http, stack, {}).status_code == 401
    assert sync(http, stack, stack.auth(highlevel_client["user"]), {"user_id": other}).status_code == 403
    r = sync(http, stack, stack.auth(admin), {"user_id": highlevel_client["user"]})
    assert r.status_code == 200 and r.json()["provider"] == "HighLevel"
    assert sync(http, stack, stack.auth(admin), {"user_id": other}).status_code == 404
