"""One worker process serves many requests at once (THREADS serving threads, a database
connection each): requests that wait on the database wait side by side, the metrics count every
one of them, and a graceful stop lets every request in flight commit and answer first."""
import concurrent.futures
import os
import re
import signal

import psycopg2
import pytest
import requests

from testenv import retell
from testenv.secrets import seal
from testenv.stack import Stack, ROOT, wait_until

KEY = "key_concurrency_0123456789abcdef"
THREADS = 6
FN = "retell-webhook"


@pytest.fixture(scope="module")
def one_worker(fake):
    """A stack of its own: one process per function, THREADS threads each."""
    build = os.environ.get("CALLBRIDGE_BUILD", str(ROOT / "build"))
    s = Stack(build, fake.url, {"STACK_WORKERS": "1", "THREADS": str(THREADS)}).up()
    yield s
    reports = s.sanitizer_reports()
    s.down(keep=bool(reports))
    assert not reports, f"sanitizer reports: {reports}"


@pytest.fixture
def owner(one_worker):
    s = one_worker
    s.sql("TRUNCATE calls, agents, user_agents, webhook_inbox, key_usage_audit, api_keys, auth.users CASCADE")
    user = s.make_user("client")
    s.sql("INSERT INTO api_keys (user_id, service, access_token) VALUES (%s, 'retell', %s)",
          (user, seal(s.secrets_keys, user, "retell", "access_token", KEY)))
    agent = s.sql("INSERT INTO agents (name, source_platform, retell_agent_id) VALUES ('A', 'retell', 'agent_cc')"
                  " RETURNING id")[0]["id"]
    s.sql("INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES (%s, %s, 'retell')", (user, agent))
    return user


def bodies(fake, n, prefix):
    return [retell.delivery("call_ended", fake.make_retell_call("agent_cc", call_id=f"{prefix}_{i}",
                                                                  transcript_bytes=2000))
            for i in range(n)]


class CallsLocked:
    """Holds a lock that makes every call upsert wait, until the block ends."""

    def __init__(self, stack):
        self.conn = psycopg2.connect(stack.database_url)

    def __enter__(self):
        self.conn.cursor().execute("BEGIN; LOCK TABLE calls IN SHARE ROW EXCLUSIVE MODE")
        return self

    def __exit__(self, *exc):
        self.conn.rollback()
        self.conn.close()


def waiting_on_calls(stack):
    return stack.sql("""SELECT count(*) AS n FROM pg_stat_activity
                        WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO calls%'""")[0]["n"]


def post_all(stack, pool, items):
    return [pool.submit(retell.post, requests, stack, b, KEY) for b in items]


def metric(stack, name_and_labels):
    text = requests.get(f"http://127.0.0.1:{stack.port}/internal/metrics/{FN}", timeout=10).text
    m = re.search(re.escape(name_and_labels) + r" (\d+)", text)
    return int(m.group(1))


def webhook_connections(stack):
    """Backends that have run the webhook's statement: one per serving thread that has served.
    After its answer a thread may index transcripts on the same connection (0053), whose last
    statement is then that transaction's COMMIT (no other function has served here)."""
    return stack.sql("""SELECT count(*) AS n FROM pg_stat_activity
                        WHERE (query LIKE 'WITH up AS (INSERT INTO calls%' OR query = 'COMMIT')
                        AND pid <> pg_backend_pid()""")[0]["n"]


def test_requests_one_at_a_time_are_served_by_one_thread_and_connection(one_worker, owner, fake):
    if os.environ.get("TEST_PGBOUNCER"):
        pytest.skip("counts server connections, which a pooler shares between threads")
    # first in this module: no thread has served yet. The thread that became idle last accepts
    # next, so sequential requests mostly alternate between two threads (one serves while the
    # other accepts; a third when the next request comes before the last one's thread is back)
    # and leave the others unwoken and unconnected. (A first-come queue wakes every thread.)
    s = one_worker
    for body in bodies(fake, 3 * THREADS, "sequential"):
        assert retell.post(requests, s, body, KEY).status_code == 200
    assert 2 <= webhook_connections(s) < THREADS


def test_one_process_serves_its_threads_worth_of_requests_at_once(one_worker, owner, fake):
    s = one_worker
    assert wait_until(lambda: len(s.worker_pids(FN)) == 1)
    before = metric(s, f'callbridge_requests_total{{function="{FN}",code="2xx"}}')
    items = bodies(fake, THREADS, "together")
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        with CallsLocked(s):
            futures = post_all(s, pool, items)
            # every delivery is inside the database at the same time, from one process
            assert wait_until(lambda: waiting_on_calls(s) == THREADS, timeout=20), waiting_on_calls(s)
            assert not any(f.done() for f in futures)  # no 2xx before the commit
        answers = [f.result() for f in futures]
    assert [a.status_code for a in answers] == [200] * THREADS, [a.text for a in answers]
    assert s.sql("SELECT count(*) AS n FROM calls")[0]["n"] == THREADS
    # the counters of every thread add up (one process: one page holds them all; scrapes are
    # not counted)
    after = metric(s, f'callbridge_requests_total{{function="{FN}",code="2xx"}}')
    assert after - before == THREADS


def test_many_concurrent_deliveries_all_land_once(one_worker, owner, fake):
    s = one_worker
    items = bodies(fake, 120, "storm")
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        answers = [f.result() for f in post_all(s, pool, items + items[:30])]
    assert {a.status_code for a in answers} == {200}
    assert s.sql("SELECT count(*) AS n FROM calls")[0]["n"] == 120
    # a repeated delivery (the same signed bytes) is kept once (issue 16, migration 0040)
    assert s.sql("SELECT count(*) AS n FROM webhook_inbox")[0]["n"] == 120


def test_a_graceful_stop_lets_every_request_in_flight_commit_and_answer(one_worker, owner, fake):
    s = one_worker
    assert wait_until(lambda: len(s.worker_pids(FN)) == 1)
    pid = s.worker_pids(FN)[0]
    items = bodies(fake, THREADS, "stopping")
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        with CallsLocked(s):
            futures = post_all(s, pool, items)
            assert wait_until(lambda: waiting_on_calls(s) == THREADS, timeout=20)
            os.kill(pid, signal.SIGUSR1)  # multiwatch's graceful stop
        answers = [f.result() for f in futures]
    assert [a.status_code for a in answers] == [200] * THREADS
    assert s.sql("SELECT count(*) AS n FROM calls WHERE retell_call_id LIKE 'stopping_%'")[0]["n"] == THREADS
    # the stopped worker is gone (multiwatch forks a new one) and the function serves on
    assert wait_until(lambda: pid not in s.worker_pids(FN) and len(s.worker_pids(FN)) == 1, timeout=20)
    probe = bodies(fake, 1, "after")[0]
    assert retell.post(requests, s, probe, KEY).status_code == 200
