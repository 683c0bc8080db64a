"""The foundation end to end: nginx -> FastCGI -> PostgreSQL, CORS, JSON errors, metrics."""
import time

from testenv.stack import wait_until


def test_health_round_trips_the_database(stack, http):
    r = http.get(stack.url("health"))
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "reachable"
    assert "postgres_version" not in body  # versions: service role only (test_ops_readiness)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert len(r.headers["X-Request-Id"]) == 32


def test_request_id_reaches_the_handler_log(stack, http):
    r = http.get(stack.url("health"))
    rid = r.headers["X-Request-Id"]
    assert wait_until(lambda: f"req={rid}" in stack.logs())


def test_preflight_answers_cors(stack, http):
    r = http.options(stack.url("health"), headers={
        "Origin": "https://dashboard.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, x-client-info, apikey, content-type"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    allowed = r.headers["Access-Control-Allow-Headers"]
    for h in ("authorization", "x-client-info", "apikey", "content-type"):
        assert h in allowed
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    # exactly one allow-origin header: two make browsers refuse the answer
    assert r.raw.headers.getlist("Access-Control-Allow-Origin") == ["*"]


def test_wrong_method_is_a_json_405(stack, http):
    r = http.post(stack.url("health"), data=b"{}")
    assert r.status_code == 405
    assert r.json() == {"error": "method_not_allowed", "message": "use GET"}


def test_body_over_the_limit_is_a_json_413(stack, http):
    r = http.post(stack.url("health"), data=b"x" * 200_000)
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"


def test_unknown_function_is_a_json_404(stack, http):
    r = http.get(stack.url("no-such-function"))
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_metrics_count_requests_in_prometheus_text(stack, http):
    for _ in range(3):
        http.get(stack.url("health"))
    text = ""
    # each worker counts its own requests; ask until one has served some
    for _ in range(10):
        text = http.get(f"http://127.0.0.1:{stack.port}/internal/metrics/health").text
        if 'code="2xx"} 0' not in text:
            break
    assert "# TYPE callbridge_requests_total counter" in text
    assert 'callbridge_provider_retries_total{function="health"} 0' in text
    assert 'callbridge_request_duration_ms_bucket{function="health",le="+Inf"}' in text
    assert 'code="2xx"} 0' not in text


def test_database_down_is_503_then_recovers(stack, http):
    stack.pg_stop()
    try:
        r = http.get(stack.url("health"))
        assert r.status_code == 503
        assert r.json()["error"] == "db_unavailable"
    finally:
        stack.pg_start()
    assert wait_until(lambda: http.get(stack.url("health")).status_code == 200, timeout=10)


def test_killed_handler_comes_back_and_others_keep_serving(stack, http):
    import os
    import signal
    import subprocess
    pids = subprocess.run(["pgrep", "-f", f"^{stack.build}/health$"], capture_output=True,
                          text=True).stdout.split()
    assert pids
    for pid in pids:
        os.kill(int(pid), signal.SIGKILL)
    # multiwatch restarts the workers; meanwhile nginx answers JSON, never hangs
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = http.get(stack.url("health"))
        assert r.headers["Content-Type"].startswith("application/json")
        if r.status_code == 200:
            break
    assert r.status_code == 200
