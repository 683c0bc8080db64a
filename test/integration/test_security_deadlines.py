"""Issue 16, finding 8: one per-request deadline (REQUEST_DEADLINE_MS, 25 s, under nginx's 30 s
read timeout) bounds every provider attempt and retry, so a handler never stores a key after
nginx already answered 504.

This needs provider timeouts long enough that the retries outlast nginx (10 s x 6 attempts),
so it runs its own stack."""
import os
import time

import pytest

from testenv.stack import ROOT, Stack

KEY = "key_deadline_0123456789abcdef0123"


@pytest.fixture(scope="module")
def slow_stack(fake):
    build = os.environ.get("CALLBRIDGE_BUILD", str(ROOT / "build"))
    s = Stack(build, fake.url, extra_env={"HTTP_TIMEOUT_MS": "10000", "HTTP_MAX_RETRIES": "5",
                                          "HTTP_BACKOFF_BASE_MS": "20"}).up()
    yield s
    reports = s.sanitizer_reports()
    s.down(keep=bool(reports))
    assert not reports, f"sanitizer reports: {reports}"


def test_retries_end_before_nginx_gives_up(slow_stack, fake, http):
    s = slow_stack
    fake.reset()
    fake.add_retell_agent(KEY, agent_id="agent_deadline")
    admin, user = s.make_user("admin"), s.make_user("client")
    # three attempts hang past HTTP_TIMEOUT_MS; without a deadline the fourth (at ~31 s)
    # succeeds and stores the key after nginx's 504 at 30 s
    fake.add_fault(path_prefix="/v2/list-agents", delay=11, count=3)
    start = time.monotonic()
    r = http.post(s.url("retell-connection"), json={"user_id": user, "api_key": KEY},
                  headers=s.auth(admin), timeout=60)
    took = time.monotonic() - start
    assert r.status_code == 504 and r.json()["error"] == "upstream_timeout", (r.status_code, r.text)
    assert took < 29, took
    time.sleep(max(0.0, 34 - took))  # past where a fourth attempt would have answered
    assert s.sql("SELECT 1 FROM api_keys WHERE user_id = %s", (user,)) == []
    assert len(fake.requests_for("/v2/list-agents")) <= 3
