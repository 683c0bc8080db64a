"""Fault injection (issue 10), over the real stack:

  - retell-webhook's workers SIGKILLed while concurrent signed deliveries are held inside them
    (their insert waits on a lock the test holds): nginx answers JSON 502 for the requests the dead workers held, multiwatch
    forks new workers, and retrying every non-2xx delivery until it is accepted leaves
    exactly the expected rows (zero lost, zero duplicated);
  - the fake provider answering with truncated bodies (the connection cut mid-body, and a
    complete answer whose JSON is cut short), slower than HTTP_TIMEOUT_MS (3 s in the test
    stack), and dropping connections without an answer, during Retell and HighLevel syncs:
    the sync finishes through its retries, or fails cleanly (no partial page, an error in
    sync_runs) and a re-run completes; nothing is lost or duplicated;
  - either provider's sync SIGKILLed while it waits for its third page: the two committed pages
    stay, and the next run resumes without loss or duplicates.

PostgreSQL stopped under webhook load, and 429/500 answers during a sync, are covered by
test_retell_webhook.py and test_sync_retell_calls.py.
"""
import concurrent.futures
import json
import math
import os
import signal
import threading
import time

import psycopg2
import pytest
import requests

from testenv import highlevel as hl
from testenv import retell
from testenv.clock import DAY_MS, now_ms
from testenv.stack import wait_until

KEY = retell.CLIENT_KEY     # conftest's retell_client delivers and syncs


# --------------------------------------------------------------------------- a handler killed


def deliveries(fake, n_calls):
    return retell.shuffled_deliveries(fake, "ag_one", n_calls, "kill", 4000)


class Sender:
    """Delivers each body until it is accepted, as Retell retries; records every refusal."""

    def __init__(self, stack):
        self.stack = stack
        self.accepted = 0
        self.refusals = []      # (status, content type, body); 0 for a connection error
        self.lock = threading.Lock()

    def deliver(self, body, deadline):
        with requests.Session() as s:
            while time.monotonic() < deadline:
                try:
                    r = retell.post(s, self.stack, body, KEY)
                    if r.status_code == 200:
                        with self.lock:
                            self.accepted += 1
                        return 1
                    refusal = (r.status_code, r.headers.get("Content-Type", ""), r.text)
                except requests.ConnectionError as e:
                    refusal = (0, "", repr(e))
                with self.lock:
                    self.refusals.append(refusal)
                time.sleep(0.05)
        return 0


def test_webhook_workers_killed_mid_load_lose_and_duplicate_nothing(stack, fake, retell_client):
    fn = "retell-webhook"
    assert wait_until(lambda: len(stack.worker_pids(fn)) == 2)
    calls, bodies = deliveries(fake, 200)
    sender = Sender(stack)
    deadline = time.monotonic() + 120
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(sender.deliver, b, deadline) for b in bodies]
        assert wait_until(lambda: sender.accepted >= len(bodies) // 10, timeout=30)
        # the kill must find requests inside the workers: a fast webhook served the whole load
        # between kills at random times. Held here by a lock their insert waits on, they are
        # in flight for certain; their statements still commit once the lock goes (a dead
        # worker's delivery stored, then sent again: stored once).
        blocker = psycopg2.connect(stack.database_url)
        try:
            blocker.cursor().execute("LOCK TABLE webhook_inbox IN EXCLUSIVE MODE")
            assert wait_until(lambda: stack.sql("SELECT count(*) AS n FROM pg_stat_activity"
                                                " WHERE wait_event_type = 'Lock'")[0]["n"] > 0)
            killed = stack.worker_pids(fn)
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            assert wait_until(lambda: any(r[0] == 502 for r in sender.refusals), timeout=10)
        finally:
            blocker.close()
        delivered = sum(f.result() for f in futures)
    assert delivered == len(bodies)

    # nginx answered JSON 502 for the requests the dead workers held; nothing else went wrong
    statuses = {r[0] for r in sender.refusals}
    assert 502 in statuses, sender.refusals[:5]
    assert statuses <= {502, 503}, sender.refusals[:5]
    for status, ctype, text in sender.refusals:
        if status == 502:
            assert ctype.startswith("application/json") and '"function_unavailable"' in text, text
    # the workers came back (multiwatch forked new ones) and serve
    assert wait_until(lambda: len(stack.worker_pids(fn)) == 2
                      and not set(stack.worker_pids(fn)) & set(killed), timeout=20)
    probe = fake.make_retell_call("ag_one", call_id="kill_probe")
    assert retell.post(requests, stack, retell.delivery("call_ended", probe), KEY).status_code == 200

    # exactly the expected rows: one per call, each complete; the inbox holds every distinct
    # delivery once, even one whose worker died after storing it and that was sent again
    # (issue 16, finding 7: a body is stored once)
    rows = {r["retell_call_id"]: r for r in stack.sql("SELECT * FROM calls")}
    assert len(rows) == len(calls) + 1
    for c in calls:
        row = rows[c["call_id"]]
        assert row["call_status"] == "ended" and row["ended_at"] is not None
        assert row["summary"] == c["call_analysis"]["call_summary"]
        assert row["transcript"] == c["transcript"]
        assert row["duration_seconds"] == math.ceil(c["duration_ms"] / 1000)
    inbox = stack.sql("SELECT count(*) AS n FROM webhook_inbox")[0]["n"]
    assert inbox == len(set(bodies)) + 1


# --------------------------------------------------------------------------- a flaky provider


def sync_retell(http, stack, user):
    return http.post(stack.url("sync-retell-calls"), json={"user_id": user},
                     headers=stack.service_headers(), timeout=600)


def assert_complete(stack, n):
    rows = stack.sql("""SELECT count(*) AS n, count(DISTINCT retell_call_id) AS d,
                        count(*) FILTER (WHERE transcript IS NULL OR recording_url IS NULL) AS incomplete
                        FROM calls""")[0]
    assert rows == {"n": n, "d": n, "incomplete": 0}


def test_truncated_slow_and_dropped_answers_are_retried_and_the_sync_finishes(stack, fake, http,
                                                                              retell_client):
    n = 1500    # two list pages of 1,000 and 1,500 detail fetches
    fake.generate_retell_calls(KEY, ["ag_one", "ag_two"], n, now_ms() - 5 * DAY_MS, 60_000)
    # list-calls, in order: page 1 cut mid-body, its retry served; page 2 slower than the
    # client's timeout, its retry served
    fake.add_fault(path_prefix="/v3/list-calls", truncate=True, count=1)
    fake.add_fault(path_prefix="/v3/list-calls", count=1)
    fake.add_fault(path_prefix="/v3/list-calls", delay=3.5, count=1)
    # details: dropped without an answer, cut mid-body, slower than the timeout
    fake.add_fault(path_prefix="/v2/get-call/", drop=True, count=3)
    fake.add_fault(path_prefix="/v2/get-call/", truncate=True, count=3)
    fake.add_fault(path_prefix="/v2/get-call/", delay=3.5, count=2)
    t0 = time.monotonic()
    r = sync_retell(http, stack, retell_client["user"])
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["failed_users"] == 0 and s["calls_inserted"] == n, s
    assert s["users"][0]["retries"] >= 4, s
    assert fake.faults == []    # every fault was met
    assert time.monotonic() - t0 >= 3.0
    assert_complete(stack, n)
    assert [r["status"] for r in stack.sql("SELECT status FROM sync_runs")] == ["ok"]
    # a second run finds nothing new and duplicates nothing
    s = sync_retell(http, stack, retell_client["user"]).json()
    assert s["calls_inserted"] == 0 and s["failed_users"] == 0
    assert_complete(stack, n)


def test_a_page_that_fails_every_retry_fails_the_sync_cleanly_and_a_rerun_completes(stack, fake, http,
                                                                                    retell_client):
    n = 1500
    fake.generate_retell_calls(KEY, ["ag_one", "ag_two"], n, now_ms() - 5 * DAY_MS, 60_000)
    # page 1 is served; page 2's connection is dropped on every attempt (1 + HTTP_MAX_RETRIES,
    # and libcurl's own silent retry on a reused connection that dies)
    fake.add_fault(path_prefix="/v3/list-calls", count=1)
    fake.add_fault(path_prefix="/v3/list-calls", drop=True, count=10)
    r = sync_retell(http, stack, retell_client["user"])
    assert r.status_code in (200, 502), r.text
    assert r.headers["Content-Type"].startswith("application/json")
    if r.status_code == 200:
        assert r.json()["failed_users"] == 1, r.text
    fake.faults.clear()
    # the first page is kept whole, nothing of the second
    rows = stack.sql("SELECT count(*) AS n, count(DISTINCT retell_call_id) AS d,"
                     " count(*) FILTER (WHERE transcript IS NULL) AS incomplete FROM calls")[0]
    assert rows == {"n": 1000, "d": 1000, "incomplete": 0}
    run = stack.sql("SELECT status, error FROM sync_runs")[0]
    assert run["status"] == "error" and run["error"], run
    # the re-run completes from the cursor
    fake.clear_requests()
    r = sync_retell(http, stack, retell_client["user"])
    assert r.status_code == 200 and r.json()["failed_users"] == 0, r.text
    assert_complete(stack, n)
    assert len(fake.requests_for("/v2/get-call/")) < n    # it resumed, it did not start over


def test_an_answer_whose_json_is_cut_short_fails_cleanly_and_a_rerun_completes(stack, fake, http,
                                                                              retell_client, monkeypatch):
    """A complete HTTP answer (the Content-Length matches) carrying half a JSON document."""
    n = 1500
    fake.generate_retell_calls(KEY, ["ag_one", "ag_two"], n, now_ms() - 5 * DAY_MS, 60_000)
    original = fake._dispatch
    cut = {"list": [False, True, True, True], "get": 5}

    def dispatch(req):
        resp = original(req)
        with fake.lock:
            if req["path"].startswith("/v3/list-calls") and cut["list"]:
                do_cut = cut["list"].pop(0)
            elif req["path"].startswith("/v2/get-call/") and cut["get"] > 0:
                cut["get"] -= 1
                do_cut = True
            else:
                do_cut = False
        if do_cut and resp.status == 200:
            resp.body = resp.body[:len(resp.body) // 2]
        return resp

    monkeypatch.setattr(fake, "_dispatch", dispatch)
    r = sync_retell(http, stack, retell_client["user"])
    assert r.status_code in (200, 502), r.text
    first = stack.sql("SELECT count(*) AS n, count(DISTINCT retell_call_id) AS d,"
                      " count(*) FILTER (WHERE transcript IS NULL) AS incomplete FROM calls")[0]
    assert first["n"] == first["d"] and first["incomplete"] == 0 and first["n"] in (0, 1000, n), first
    if first["n"] < n:
        assert stack.sql("SELECT status FROM sync_runs")[0]["status"] == "error"
    monkeypatch.setattr(fake, "_dispatch", original)
    r = sync_retell(http, stack, retell_client["user"])
    assert r.status_code == 200 and r.json()["failed_users"] == 0, r.text
    assert_complete(stack, n)


def test_highlevel_sync_through_a_flaky_provider(stack, fake, http, highlevel_client):
    n = 120     # three pages of call logs
    start = now_ms() - 3 * DAY_MS
    for i in range(n):
        fake.add_hl_call(hl.CLIENT_LOC, fake.make_hl_call(hl.CLIENT_LOC, "hl_ag_one",
                                                          created_at_ms=start + i * 60_000))
    path = "/voice-ai/dashboard/call-logs"
    fake.add_fault(path_prefix=path, truncate=True, count=1)
    fake.add_fault(path_prefix=path, count=1)
    fake.add_fault(path_prefix=path, drop=True, count=1)
    fake.add_fault(path_prefix=path, count=1)
    fake.add_fault(path_prefix=path, delay=3.5, count=1)
    r = http.post(stack.url("sync-highlevel-calls"), json={"user_id": highlevel_client["user"]},
                  headers=stack.service_headers(), timeout=600)
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["failed_users"] == 0 and s["calls_inserted"] == n, s
    assert fake.faults == []
    rows = stack.sql("SELECT count(*) AS n, count(DISTINCT highlevel_call_id) AS d FROM calls")[0]
    assert rows == {"n": n, "d": n}
    # every retry fails on the next run's first page: a clean failure, then a full re-run
    for i in range(20):
        fake.add_hl_call(hl.CLIENT_LOC, fake.make_hl_call(hl.CLIENT_LOC, "hl_ag_one",
                                                          created_at_ms=now_ms() - 1000 * (i + 1)))
    fake.add_fault(path_prefix=path, drop=True, count=10)
    r = http.post(stack.url("sync-highlevel-calls"), json={"user_id": highlevel_client["user"]},
                  headers=stack.service_headers(), timeout=600)
    assert r.status_code in (200, 502) and r.headers["Content-Type"].startswith("application/json")
    assert stack.sql("SELECT count(*) AS n FROM calls")[0]["n"] == n
    assert stack.sql("SELECT status FROM sync_runs ORDER BY id DESC LIMIT 1")[0]["status"] == "error"
    fake.faults.clear()
    r = http.post(stack.url("sync-highlevel-calls"), json={"user_id": highlevel_client["user"]},
                  headers=stack.service_headers(), timeout=600)
    assert r.status_code == 200 and r.json()["failed_users"] == 0, r.text
    rows = stack.sql("SELECT count(*) AS n, count(DISTINCT highlevel_call_id) AS d FROM calls")[0]
    assert rows == {"n": n + 20, "d": n + 20}


# --------------------------------------------------------------------------- a sync killed

KILLED_SYNCS = {
    # provider: (its client fixture, function, the page requests, calls seeded, a page's size)
    "retell": ("retell_client", "sync-retell-calls", "/v3/list-calls", 3500, 1000),
    "highlevel": ("highlevel_client", "sync-highlevel-calls", "/voice-ai/dashboard/call-logs", 140, 50),
}


def seed_for_kill(provider, fake, n):
    if provider == "retell":
        fake.generate_retell_calls(KEY, ["ag_one", "ag_two"], n, now_ms() - 15 * DAY_MS, 60_000)
    else:
        hl.add_call_logs(fake, "hl_ag_one", n, now_ms() - 3 * DAY_MS, step_ms=10_000)


@pytest.mark.parametrize("provider", sorted(KILLED_SYNCS))
def test_a_sync_killed_midway_resumes_without_loss_or_duplicates(stack, fake, request, provider):
    client, fn, pages, n, page_size = KILLED_SYNCS[provider]
    user = request.getfixturevalue(client)["user"]
    seed_for_kill(provider, fake, n)
    # the third page hangs: the process is killed while waiting for it
    fake.add_fault(path_prefix=pages, count=2, delay=0)
    fake.add_fault(path_prefix=pages, delay=30)
    proc = stack.cli(fn, "--user", user)
    assert wait_until(lambda: len(fake.requests_for(pages)) >= 3, timeout=60, interval=0.1)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert stack.sql("SELECT count(*) AS n FROM calls")[0]["n"] == 2 * page_size  # nothing of page 3
    fake.faults.clear()
    done = stack.cli(fn, "--user", user)
    out, errs = done.communicate(timeout=300)
    assert done.returncode == 0, errs
    assert json.loads(out)["failed_users"] == 0
    rows = stack.sql(f"""SELECT count(*) AS n, count(DISTINCT {provider}_call_id) AS d,
                         count(*) FILTER (WHERE transcript IS NULL) AS incomplete FROM calls""")[0]
    assert rows == {"n": n, "d": n, "incomplete": 0}
    runs = stack.sql("SELECT status, trigger FROM sync_runs ORDER BY id")
    assert runs[0]["status"] == "running" and runs[1] == {"status": "ok", "trigger": "cli"}
