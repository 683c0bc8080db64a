"""Readiness: the sd_notify protocol (READY=1 once serving, STOPPING=1 on the way out) as
systemd's Type=notify sees it, and every function's liveness and readiness probes (database
reachable, schema at the version the build expects)."""
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from testenv.stack import ROOT, wait_until


@pytest.fixture
def notify_socket(tmp_path):
    """What systemd listens on for a Type=notify unit: a unix datagram socket."""
    path = tmp_path / "notify.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(15)
    yield s, str(path)
    s.close()


def messages(sock, until, timeout=15):
    """Datagrams received until one holds `until` (each split into its KEY=value lines)."""
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = sock.recv(4096).decode().split("\n")
        got.append(lines)
        if until in lines:
            return got
    raise AssertionError(f"no {until} in {got}")


def test_handler_notifies_ready_once_serving_and_stopping_on_sigterm(stack, notify_socket, tmp_path):
    sock, path = notify_socket
    fcgi = tmp_path / "health.sock"
    proc = subprocess.Popen([str(stack.build / "health"), "--socket", str(fcgi)],
                            env=stack.cli_env(NOTIFY_SOCKET=path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        got = messages(sock, "READY=1")
        # ready means accepting: the socket is there by then
        assert fcgi.exists()
        assert ["READY=1", "STATUS=serving"] in got
        proc.send_signal(signal.SIGTERM)
        messages(sock, "STOPPING=1")
        assert proc.wait(timeout=15) == 0
    finally:
        proc.kill()
        proc.wait()


def test_every_worker_under_multiwatch_notifies_as_the_unit_runs_them(stack, notify_socket, tmp_path):
    """deploy/systemd's way: multiwatch is the main process, the workers send (NotifyAccess=all)."""
    sock, path = notify_socket
    fcgi = tmp_path / "list-calls.sock"
    env = stack.cli_env(NOTIFY_SOCKET=path)
    proc = subprocess.Popen(["spawn-fcgi", "-n", "-s", str(fcgi), "--", "/usr/bin/multiwatch", "-f", "2",
                             "--", str(stack.build / "list-calls")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = 0
        for _ in range(2):
            ready += sum("READY=1" in m for m in messages(sock, "READY=1"))
        assert ready == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_no_notify_socket_is_no_notification_and_no_failure(stack, tmp_path):
    fcgi = tmp_path / "h.sock"
    env = stack.cli_env()
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen([str(stack.build / "health"), "--socket", str(fcgi)], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(fcgi.exists)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def probe(stack, kind, fn):
    return requests.get(f"http://127.0.0.1:{stack.port}/internal/{kind}/{fn}", timeout=10)


def schema_version():
    return subprocess.run([str(ROOT / "db" / "schema-version")], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_every_function_answers_live_and_ready(stack):
    for f in sorted(p.stem for p in (ROOT / "handlers").glob("*.c")):
        live = probe(stack, "live", f)
        assert live.status_code == 200 and live.json() == {"status": "alive"}, (f, live.text)
        ready = probe(stack, "ready", f)
        assert ready.status_code == 200, (f, ready.text)
        body = ready.json()
        assert body["status"] == "ready" and body["function"] == f
        assert body["schema"] == body["schema_expected"] == schema_version()


def test_schema_behind_the_build_is_not_ready(stack):
    newest = stack.sql("DELETE FROM schema_migrations WHERE version = %s RETURNING *", (schema_version(),))
    assert len(newest) == 1
    try:
        r = probe(stack, "ready", "list-calls")
        assert r.status_code == 503
        assert r.json()["error"] == "schema_behind"
        assert probe(stack, "live", "list-calls").status_code == 200
    finally:
        row = newest[0]
        stack.sql("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (%s, %s, %s, %s)",
                  (row["version"], row["name"], row["checksum"], row["applied_at"]))
    assert probe(stack, "ready", "list-calls").status_code == 200


def test_database_down_is_not_ready_but_alive(stack):
    if os.environ.get("TEST_PGBOUNCER"):
        pytest.skip("behind a pooler the probe waits for its query_wait_timeout (docs/operations.md)")
    stack.pg_stop()
    try:
        r = probe(stack, "ready", "call-stats")
        assert r.status_code == 503 and r.json()["error"] == "db_unavailable"
        assert probe(stack, "live", "call-stats").status_code == 200
    finally:
        stack.pg_start()
    assert wait_until(lambda: probe(stack, "ready", "call-stats").status_code == 200)


def test_a_client_cannot_ask_for_a_probe_through_a_function_url(stack):
    r = requests.get(stack.url("list-calls"), headers={"CALLBRIDGE_PROBE": "ready"}, timeout=10)
    assert r.status_code == 401  # list-calls itself answered: no token


def test_probes_are_behind_the_monitoring_allow_list():
    text = (ROOT / "nginx" / "callbridge.conf").read_text()
    block = text[text.index("location ~ ^/internal/(?<probe>"):]
    block = block[:block.index("}")]
    assert "include @CONF_DIR@/callbridge-monitoring-allow*.conf;" in block
    assert block.index("callbridge-monitoring-allow") < block.index("deny all;")


def test_service_unit_is_type_notify_for_every_worker():
    unit = (ROOT / "deploy" / "systemd" / "callbridge@.service").read_text()
    assert "\nType=notify\n" in unit and "\nNotifyAccess=all\n" in unit


def test_public_health_is_readiness_without_versions_for_anonymous_callers(stack):
    anon = requests.get(stack.url("health"), timeout=10)
    assert anon.status_code == 200
    assert anon.json() == {"status": "ok", "database": "reachable", "schema": "ready"}
    bad = requests.get(stack.url("health"), headers={"Authorization": "Bearer not.a.jwt"}, timeout=10)
    assert bad.status_code == 200 and "version" not in bad.json()
    user = requests.get(stack.url("health"), headers=stack.auth(stack.make_user("admin")), timeout=10)
    assert "postgres_version" not in user.json()
    svc = requests.get(stack.url("health"), headers=stack.service_headers(), timeout=10).json()
    assert svc["postgres_version"].startswith("15") and svc["schema_version"] == schema_version()
    assert svc["version"] and svc["schema_expected"] == schema_version()


def test_public_health_is_503_when_the_schema_is_behind(stack):
    newest = stack.sql("DELETE FROM schema_migrations WHERE version = %s RETURNING *", (schema_version(),))
    try:
        r = requests.get(stack.url("health"), timeout=10)
        assert r.status_code == 503 and r.json()["error"] == "schema_behind"
    finally:
        row = newest[0]
        stack.sql("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (%s, %s, %s, %s)",
                  (row["version"], row["name"], row["checksum"], row["applied_at"]))
