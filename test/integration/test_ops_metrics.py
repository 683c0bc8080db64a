"""Metrics summed across a function's workers: exact under load, never going back (also across
a worker's restart), scrapes not counted, build_info, and the domain gauges and counters."""
import os
import re
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from testenv.secrets import seal
from testenv.stack import ROOT, Stack, wait_until

WORKERS = 3


@pytest.fixture(scope="module")
def many(fake):
    """A stack of its own whose functions each run several workers."""
    build = os.environ.get("CALLBRIDGE_BUILD", str(ROOT / "build"))
    s = Stack(build, fake.url, {"STACK_WORKERS": str(WORKERS)}).up()
    yield s
    reports = s.sanitizer_reports()
    s.down(keep=bool(reports))
    assert not reports, f"sanitizer reports: {reports}"


def scrape(stack, fn, session=requests):
    r = session.get(f"http://127.0.0.1:{stack.port}/internal/metrics/{fn}", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    return r.text


def value(text, name, **labels):
    """The sample of name whose labels include labels (None when absent)."""
    for line in text.splitlines():
        m = re.match(r"^([a-z_0-9]+)\{([^}]*)\} (\S+)$", line)
        if m is None or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    return None


def ok_count(text, fn="health"):
    return value(text, "callbridge_requests_total", function=fn, code="2xx")


def counters(text):
    """Every counter sample of the page (name + labels -> value)."""
    out = {}
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    for line in text.splitlines():
        m = re.match(r"^([a-z_0-9]+)(\{[^}]*\}) (\S+)$", line)
        if m and (types.get(m.group(1)) == "counter" or m.group(1).endswith(("_bucket", "_count"))):
            out[m.group(1) + m.group(2)] = float(m.group(3))
    return out


def load(stack, n, threads=8):
    def one(_):
        with requests.Session() as s:
            return s.get(stack.url("health"), timeout=30).status_code
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(n)))


def test_counters_under_load_equal_the_requests_sent_and_never_go_back(many):
    assert len(many.worker_pids("health")) == WORKERS
    before = scrape(many, "health")
    sent = 0
    seen = [counters(before)]
    stop = threading.Event()
    problems = []

    def scraper():
        with requests.Session() as s:
            while not stop.is_set():
                r = s.get(f"http://127.0.0.1:{many.port}/internal/metrics/health", timeout=10)
                if r.status_code == 200:
                    seen.append(counters(r.text))
                elif r.status_code != 502:  # 502: the scrape went to the worker being killed
                    problems.append(r.status_code)

    t = threading.Thread(target=scraper)
    t.start()
    try:
        statuses = load(many, 300)
        assert statuses == [200] * 300
        sent += 300
        # one worker dies and multiwatch starts another: the totals carry on, none resets
        os.kill(many.worker_pids("health")[0], signal.SIGKILL)
        assert wait_until(lambda: len(many.worker_pids("health")) == WORKERS, timeout=10)
        assert wait_until(lambda: requests.get(many.url("health"), timeout=5).status_code == 200)
        sent += 1
        statuses = load(many, 300)
        assert statuses == [200] * 300
        sent += 300
    finally:
        stop.set()
        t.join()
    after = scrape(many, "health")
    seen.append(counters(after))
    assert problems == [] and len(seen) > 10, "the scraper ran alongside the load"
    for earlier, later in zip(seen, seen[1:]):
        for key, v in earlier.items():
            assert later.get(key, 0) >= v, f"{key} went back from {v} to {later.get(key)}"
    # exact: every request of every worker, and none of the scrapes
    assert ok_count(after) - ok_count(before) == sent
    count = value(after, "callbridge_request_duration_ms_count", function="health")
    assert count - value(before, "callbridge_request_duration_ms_count", function="health") == sent
    assert value(after, "callbridge_request_duration_ms_bucket", function="health", le="+Inf") == count


def test_scrapes_are_not_counted(many):
    first = ok_count(scrape(many, "list-calls"), "list-calls")
    for _ in range(5):
        scrape(many, "list-calls")
    assert ok_count(scrape(many, "list-calls"), "list-calls") == first


def test_build_info_names_the_version_and_schema(many):
    text = scrape(many, "call-stats")
    schema = subprocess.run([str(ROOT / "db" / "schema-version")], capture_output=True, text=True,
                            check=True).stdout.strip()
    version = re.search(r"version: '([^']+)'", (ROOT / "meson.build").read_text()).group(1)
    assert value(text, "callbridge_build_info", function="call-stats", version=version,
                 schema=schema) == 1


def test_inbox_backlog_and_sync_freshness_come_from_the_database(many):
    many.sql("TRUNCATE webhook_inbox, sync_runs")
    many.sql("""INSERT INTO webhook_inbox (event, call_id, body, status)
                SELECT 'call_ended', 'c' || g, '{}', CASE WHEN g <= 3 THEN 'unassigned' ELSE 'applied' END
                FROM generate_series(1, 5) g""")
    many.sql("""INSERT INTO sync_runs (provider, trigger, status, started_at, finished_at) VALUES
                ('retell', 'cli', 'ok', now() - interval '2 hours', now() - interval '2 hours'),
                ('retell', 'cli', 'ok', now() - interval '10 minutes', now() - interval '10 minutes'),
                ('retell', 'cli', 'error', now(), now()),
                ('highlevel', 'cli', 'running', now(), NULL)""")
    text = scrape(many, "retell-webhook")
    assert value(text, "callbridge_database_up", function="retell-webhook") == 1
    assert value(text, "callbridge_webhook_inbox_unassigned", function="retell-webhook") == 3
    age = value(text, "callbridge_sync_last_success_age_seconds", provider="retell")
    assert 590 <= age <= 700
    ts = value(text, "callbridge_sync_last_success_timestamp_seconds", provider="retell")
    assert abs(ts - (time.time() - 600)) < 100
    # highlevel never finished a sync: no sample (alert on absent())
    assert value(text, "callbridge_sync_last_success_age_seconds", provider="highlevel") is None
    # each family's samples together, once typed (the text format's rule)
    names = [l.split("{")[0] for l in text.splitlines() if l and not l.startswith("#")]
    families = [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]
    assert len(families) == len(set(families)), families


def test_database_down_shows_as_a_gauge_not_a_failed_scrape(many):
    if os.environ.get("TEST_PGBOUNCER"):
        pytest.skip("behind a pooler the scrape waits for its query_wait_timeout (docs/operations.md)")
    many.pg_stop()
    try:
        text = scrape(many, "health")
        assert value(text, "callbridge_database_up", function="health") == 0
        assert ok_count(text) is not None
    finally:
        many.pg_start()


def retell_user(stack, fake, key, agent_id):
    """A client with a sealed Retell key and one assigned agent: (user id, agents.id)."""
    user = stack.make_user("client")
    stack.sql("INSERT INTO api_keys (user_id, service, access_token, is_active) VALUES (%s, 'retell', %s, true)",
              (user, seal(stack.secrets_keys, user, "retell", "access_token", key)))
    fake.add_retell_agent(key, agent_id=agent_id)
    agent = stack.sql("INSERT INTO agents (name, source_platform, retell_agent_id) VALUES ('A', 'retell', %s) "
                      "RETURNING id", (agent_id,))[0]["id"]
    stack.sql("INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES (%s, %s, 'retell')", (user, agent))
    return user, agent


def test_provider_429s_are_counted(many, fake):
    user, _ = retell_user(many, fake, "key_ops_metrics_429", "ag_ops_429")
    before = scrape(many, "sync-retell-calls")
    fake.add_fault(path_prefix="/v3/list-calls", status=429, retry_after=0, count=2)
    r = requests.post(many.url("sync-retell-calls"), json={"user_id": user},
                      headers=many.service_headers(), timeout=120)
    assert r.status_code == 200, r.text
    after = scrape(many, "sync-retell-calls")

    def delta(name):
        return value(after, name, function="sync-retell-calls") - value(before, name, function="sync-retell-calls")
    assert delta("callbridge_provider_429_total") == 2
    assert delta("callbridge_provider_retries_total") == 2
    assert delta("callbridge_provider_requests_total") >= 3


def test_streamed_recording_bytes_are_counted(many, fake):
    user, agent = retell_user(many, fake, "key_ops_metrics_stream", "ag_ops_stream")
    call = fake.add_retell_call("key_ops_metrics_stream", fake.make_retell_call("ag_ops_stream"))
    row = many.sql("""INSERT INTO calls (retell_call_id, source_platform, user_id, agent_id, recording_url)
                      VALUES (%s, 'retell', %s, %s, %s) RETURNING id""",
                   (call["call_id"], user, agent, call["recording_url"]))[0]
    name = "callbridge_stream_bytes_total"
    before = value(scrape(many, "get-call-recording"), name, function="get-call-recording")
    r = requests.get(many.url("get-call-recording"), params={"call_id": str(row["id"])},
                     headers=many.auth(user), timeout=30)
    assert r.status_code == 200 and len(r.content) > 1000
    after = value(scrape(many, "get-call-recording"), name, function="get-call-recording")
    assert after - before == len(r.content)


def test_metrics_allow_list_is_its_own_file_that_rendering_keeps(many):
    conf = many.var / "nginx"
    allow = conf / "callbridge-monitoring-allow.conf"
    assert "include" in (conf / "callbridge.conf").read_text() and allow.exists()
    allow.write_text("deny 127.0.0.1;\n")
    try:
        many.run("up")  # renders callbridge.conf again and reloads nginx
        assert allow.read_text() == "deny 127.0.0.1;\n"
        assert wait_until(lambda: requests.get(f"http://127.0.0.1:{many.port}/internal/metrics/health",
                                               timeout=5).status_code == 403)
    finally:
        allow.write_text("allow 127.0.0.1;\n")
        subprocess.run(["nginx", "-p", str(conf), "-c", str(conf / "nginx.conf"), "-s", "reload"], check=True)
    assert wait_until(lambda: requests.get(f"http://127.0.0.1:{many.port}/internal/metrics/health",
                                           timeout=5).status_code == 200)
