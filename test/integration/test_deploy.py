"""Deployment and operations: the nginx include (one location per function, body limits,
timeouts, the webhook allow-list, streaming, JSON error pages), the production site example,
the systemd units, the env example, the daily-sync workflow, and restarting or killing one
function while the others keep serving.

Two nginx instances are used. The stack's own (deploy/stack) for what a deployment does with the
real handlers. A second one ("edge") renders nginx/callbridge.conf the same way but puts a small
FastCGI stand-in on every function's socket, so each location's settings can be checked whether
or not that function's handler exists yet."""
import base64
import http.server
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from testenv.stack import ROOT, free_port, wait_until

FUNCTIONS = [
    "health", "retell-webhook", "retell-connection", "fetch-retell-agents", "assign-agents",
    "sync-retell-calls", "sync-highlevel-calls", "highlevel-oauth", "fetch-available-agents",
    "get-call-recording", "sync-all", "list-calls", "call-stats",
]
SYNC_FUNCTIONS = ["sync-retell-calls", "sync-highlevel-calls", "sync-all"]
MB = 1_000_000


def config_names():
    """Every variable common/config.c reads."""
    text = (ROOT / "common" / "config.c").read_text()
    return re.findall(r'\b(?:STR|SECRET|LONG)\("([A-Z0-9_]+)"', text)


def assert_nginx_json(r, status, error):
    """An answer nginx made itself: JSON, one CORS header, the request id."""
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"] == error
    assert r.raw.headers.getlist("Access-Control-Allow-Origin") == ["*"]
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-Id"])


def nginx_main_conf(prefix, port, include):
    """The http/server wrapper deploy/stack writes around the include."""
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""{user}
worker_processes 2;
daemon on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    proxy_temp_path {prefix}/tmp/proxy;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {include.parent}/callbridge-limits.conf;
    server {{
        listen 127.0.0.1:{port};
        include {include};
    }}
}}
"""


def render_callbridge_conf(run_dir, conf_dir, server_read_timeout=None):
    text = (ROOT / "nginx" / "callbridge.conf").read_text()
    text = text.replace("@RUN_DIR@", str(run_dir)).replace("@CONF_DIR@", str(conf_dir))
    if server_read_timeout is not None:
        # only the server-level default (the first one); locations keep their own
        text = text.replace("fastcgi_read_timeout 30s;", f"fastcgi_read_timeout {server_read_timeout};", 1)
    assert "@" not in re.sub(r"#.*", "", text).replace("@json", ""), "unfilled placeholder"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "callbridge.conf").write_text(text)
    shutil.copy(ROOT / "nginx" / "callbridge-fastcgi.conf", conf_dir / "callbridge-fastcgi.conf")
    shutil.copy(ROOT / "nginx" / "callbridge-monitoring-allow.conf.example",
                conf_dir / "callbridge-monitoring-allow.conf")
    # as deploy/stack renders them: 127.0.0.1 (these tests) unlimited and on the allow-list
    limits = (ROOT / "nginx" / "callbridge-limits.conf").read_text()
    (conf_dir / "callbridge-limits.conf").write_text(limits.replace("# @LIMIT_EXEMPT@", "127.0.0.1 1;"))
    example = (ROOT / "nginx" / "callbridge-webhook-allow.conf.example").read_text()
    (conf_dir / "callbridge-webhook-allow.conf").write_text("allow 127.0.0.1;\n" + example)
    cors = (ROOT / "nginx" / "callbridge-cors.conf").read_text().replace("@CORS_ORIGIN@", "*")
    (conf_dir / "callbridge-cors.conf").write_text(cors)
    return conf_dir / "callbridge.conf"


def location_block(text, fn):
    m = re.search(r"location [^{]*" + re.escape(fn) + r"[^{]*\{(.*?)\n\}", text, re.S)
    assert m, f"no location for {fn}"
    return m.group(1)


# A FastCGI responder on a unix socket, standing in for a handler --------------------------------

FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 3, 4, 5, 6


def fcgi_records(rtype, req_id, data):
    out = b""
    for i in range(0, len(data), 65535):
        chunk = data[i:i + 65535]
        out += struct.pack("!BBHHBx", 1, rtype, req_id, len(chunk), 0) + chunk
    return out


def fcgi_params(data):
    params, i = {}, 0
    while i < len(data):
        lens = []
        for _ in range(2):
            if data[i] >> 7:
                lens.append(int.from_bytes(data[i:i + 4], "big") & 0x7FFFFFFF)
                i += 4
            else:
                lens.append(data[i])
                i += 1
        name = data[i:i + lens[0]].decode()
        params[name] = data[i + lens[0]:i + lens[0] + lens[1]].decode("latin-1")
        i += lens[0] + lens[1]
    return params


def echo_handler(fn):
    def handle(params, body):
        info = {"fn": fn, "method": params.get("REQUEST_METHOD"), "uri": params.get("DOCUMENT_URI"),
                "request_id": params.get("REQUEST_ID"), "content_length": params.get("CONTENT_LENGTH"),
                "body_bytes": len(body), "metrics": params.get("CALLBRIDGE_METRICS"),
                "remote_addr": params.get("REMOTE_ADDR")}
        data = json.dumps(info).encode()
        # like the real handlers: one CORS header of its own
        yield (b"Status: 200 OK\r\nContent-Type: application/json\r\n"
               b"Access-Control-Allow-Origin: *\r\n\r\n" + data)
    return handle


class FcgiStandin:
    def __init__(self, path, handler):
        self.path = Path(path)
        self.handler = handler
        self.sock = None

    def start(self):
        if self.path.exists():
            self.path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        os.chmod(self.path, 0o660)
        self.sock.listen(64)
        threading.Thread(target=self._accept, args=(self.sock,), daemon=True).start()
        return self

    def stop(self, unlink=True):
        if self.sock is not None:
            # shutdown wakes the thread blocked in accept(); close alone would leave it listening
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        if unlink and self.path.exists():
            self.path.unlink()

    def _accept(self, sock):
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            f = conn.makefile("rb")
            params, body, req_id = b"", b"", 1
            while True:
                head = f.read(8)
                if len(head) < 8:
                    return
                _, rtype, req_id, length, padding = struct.unpack("!BBHHBx", head)
                content = f.read(length)
                f.read(padding)
                if rtype == FCGI_PARAMS:
                    params += content
                elif rtype == FCGI_STDIN:
                    if length == 0:
                        break
                    body += content
            try:
                for piece in self.handler(fcgi_params(params), body):
                    conn.sendall(fcgi_records(FCGI_STDOUT, req_id, piece))
                conn.sendall(struct.pack("!BBHHBx", 1, FCGI_STDOUT, req_id, 0, 0) +
                             struct.pack("!BBHHBx", 1, FCGI_END_REQUEST, req_id, 8, 0) +
                             struct.pack("!IB3x", 0, 0))
            except OSError:
                pass    # nginx gave up (timeout) or the client went away


class Edge:
    """nginx with nginx/callbridge.conf rendered into a throwaway prefix, and stand-ins."""

    def __init__(self, server_read_timeout=None):
        self.dir = Path(tempfile.mkdtemp(prefix="cb-edge-", dir="/tmp"))
        self.run_dir = self.dir / "run"
        self.conf_dir = self.dir / "conf"
        self.port = free_port()
        self.standins = {}
        self.run_dir.mkdir()
        (self.dir / "tmp").mkdir()
        include = render_callbridge_conf(self.run_dir, self.conf_dir, server_read_timeout)
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(nginx_main_conf(self.dir, self.port, include))

    def nginx(self, *args):
        return subprocess.run(["nginx", "-p", str(self.dir), "-c", str(self.conf), *args],
                              capture_output=True, text=True, timeout=30)

    def start(self):
        for fn in FUNCTIONS:
            self.serve(fn, echo_handler(fn))
        out = self.nginx()
        assert out.returncode == 0, out.stderr
        assert wait_until(lambda: self.get("health").status_code == 200)
        return self

    def serve(self, fn, handler):
        if fn in self.standins:
            self.standins[fn].stop()
        self.standins[fn] = FcgiStandin(self.run_dir / f"{fn}.sock", handler).start()

    def reload(self):
        out = self.nginx("-s", "reload")
        assert out.returncode == 0, out.stderr

    def stop(self):
        pidfile = self.dir / "nginx.pid"
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGQUIT)
            wait_until(lambda: not pidfile.exists(), timeout=10)
        for s in self.standins.values():
            s.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, fn, **kw):
        return requests.get(self.url(f"/functions/v1/{fn}"), timeout=kw.pop("timeout", 10), **kw)

    def post(self, fn, data, **kw):
        return requests.post(self.url(f"/functions/v1/{fn}"), data=data, timeout=kw.pop("timeout", 30), **kw)


@pytest.fixture(scope="module")
def edge():
    e = Edge().start()
    yield e
    e.stop()


# nginx/callbridge.conf through the edge nginx ---------------------------------------------------

def test_each_function_has_its_own_location_socket_and_request_id(edge):
    for fn in FUNCTIONS:
        r = edge.get(fn)
        assert r.status_code == 200, (fn, r.text)
        seen = r.json()
        assert seen["fn"] == fn and seen["uri"] == f"/functions/v1/{fn}"
        assert seen["metrics"] is None
        # the id nginx generated reaches the handler and comes back in the answer
        assert seen["request_id"] == r.headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{32}", seen["request_id"])
        # the handler's own CORS header, never a second copy from nginx
        assert r.raw.headers.getlist("Access-Control-Allow-Origin") == ["*"]
    uid = str(uuid.uuid4())
    assert edge.post(f"retell-webhook/{uid}", b"{}").json()["uri"] == f"/functions/v1/retell-webhook/{uid}"
    assert_nginx_json(edge.get("retell-webhook/a/b"), 404, "not_found")
    assert_nginx_json(edge.get("list-calls/extra"), 404, "not_found")
    assert_nginx_json(edge.get("no-such-function"), 404, "not_found")


def test_metrics_location_reaches_each_function_with_the_internal_param(edge):
    r = requests.get(edge.url("/internal/metrics/list-calls"), timeout=10)
    assert r.json()["fn"] == "list-calls" and r.json()["metrics"] == "1"
    # a client cannot set the param: headers arrive as HTTP_*, never as CALLBRIDGE_METRICS
    r = edge.get("list-calls", headers={"CALLBRIDGE_METRICS": "1"})
    assert r.json()["metrics"] is None


def test_webhook_takes_bodies_up_to_2_mib_and_others_64k(edge):
    body = b"x" * (3 * MB // 2)
    for path in ("retell-webhook", f"retell-webhook/{uuid.uuid4()}"):
        r = edge.post(path, body)
        assert r.status_code == 200, r.text
        assert r.json()["body_bytes"] == len(body) and r.json()["content_length"] == str(len(body))
        assert_nginx_json(edge.post(path, b"x" * (3 * MB)), 413, "payload_too_large")
    assert edge.post("list-calls", b"x" * 60_000).json()["body_bytes"] == 60_000
    assert_nginx_json(edge.post("list-calls", b"x" * 70_000), 413, "payload_too_large")
    assert_nginx_json(edge.post("sync-retell-calls", b"x" * 70_000), 413, "payload_too_large")


def test_webhook_allow_list_is_on_by_default(edge):
    """The allow file is required (nginx -t fails without it) and the example lets only
    Retell's sender in; "allow all;" turns the list off."""
    allow = edge.conf_dir / "callbridge-webhook-allow.conf"
    rendered = allow.read_text()
    example = (ROOT / "nginx" / "callbridge-webhook-allow.conf.example").read_text()
    assert "allow 100.20.5.228;" in example and "deny all;" in example
    webhook = f"retell-webhook/{uuid.uuid4()}"
    assert edge.post(webhook, b"{}").status_code == 200    # 127.0.0.1 is on the rendered list
    try:
        allow.write_text(example)
        edge.reload()
        assert wait_until(lambda: edge.post("retell-webhook", b"{}").status_code == 403)
        assert_nginx_json(edge.post("retell-webhook", b"{}"), 403, "forbidden")
        assert_nginx_json(edge.post(webhook, b"{}"), 403, "forbidden")
        assert edge.get("health").status_code == 200    # only the webhook is restricted
        allow.write_text("allow all;\n")
        edge.reload()
        assert wait_until(lambda: edge.post("retell-webhook", b"{}").status_code == 200)
        allow.unlink()
        assert edge.nginx("-t").returncode != 0, "the allow-list file is optional"
    finally:
        allow.write_text(rendered)
        edge.reload()
    assert wait_until(lambda: edge.post(webhook, b"{}").status_code == 200)


def test_recording_is_buffered_with_range_passed_through(edge):
    """nginx takes the whole answer from the handler before the client reads a byte (a slow
    reader holds nginx's buffers, not a worker), and Range / 206 pass through."""
    done = threading.Event()
    seen = {}

    def recording(params, body):
        seen["range"] = params.get("HTTP_RANGE")
        yield (b"Status: 206 Partial Content\r\nContent-Type: audio/wav\r\n"
               b"Content-Range: bytes 0-16777215/33554432\r\nContent-Length: 16777216\r\n"
               b"Access-Control-Allow-Origin: *\r\n\r\n")
        for _ in range(256):
            yield b"A" * 65536
        done.set()

    edge.serve("get-call-recording", recording)
    try:
        r = edge.get("get-call-recording?call_id=1", headers={"Range": "bytes=0-16777215"}, stream=True)
        # 16 MiB, more than the sockets in between hold: the handler finished without a read
        assert done.wait(10), "nginx did not buffer the recording"
        data = r.raw.read()
    finally:
        edge.serve("get-call-recording", echo_handler("get-call-recording"))
    assert r.status_code == 206 and r.headers["Content-Range"] == "bytes 0-16777215/33554432"
    assert data == b"A" * 16777216
    assert seen["range"] == "bytes=0-16777215"


def test_timeouts_per_location():
    text = (ROOT / "nginx" / "callbridge.conf").read_text()
    for fn in SYNC_FUNCTIONS:
        assert "fastcgi_read_timeout 600s;" in location_block(text, fn)
    rec = location_block(text, "get-call-recording")
    assert "fastcgi_read_timeout 120s;" in rec and "fastcgi_buffering on;" in rec
    assert "fastcgi_max_temp_file_size 256m;" in rec and "limit_conn callbridge_streams 4;" in rec
    # live: a slow handler gets nginx's JSON 504; a sync location outlasts the server default
    e = Edge(server_read_timeout="1s").start()
    try:
        def slow(fn):
            def handle(params, body):
                time.sleep(2.5)
                yield from echo_handler(fn)(params, body)
            return handle
        e.serve("list-calls", slow("list-calls"))
        e.serve("sync-retell-calls", slow("sync-retell-calls"))
        assert_nginx_json(e.get("list-calls"), 504, "function_timeout")
        r = e.post("sync-retell-calls", b"")
        assert r.status_code == 200 and r.json()["fn"] == "sync-retell-calls"
    finally:
        e.stop()


def test_handler_down_is_nginx_json_502(edge):
    try:
        edge.standins["call-stats"].stop(unlink=False)     # socket file left, nobody listening
        assert_nginx_json(edge.get("call-stats"), 502, "function_unavailable")
        (edge.run_dir / "call-stats.sock").unlink()         # no socket at all
        assert_nginx_json(edge.get("call-stats"), 502, "function_unavailable")
        assert edge.get("list-calls").status_code == 200
    finally:
        edge.serve("call-stats", echo_handler("call-stats"))
    assert edge.get("call-stats").status_code == 200


# nginx -t ----------------------------------------------------------------------------------------

def test_stack_rendered_config_passes_nginx_t(stack):
    prefix = stack.var / "nginx"
    text = (prefix / "callbridge.conf").read_text()
    assert "@RUN_DIR@" not in text and "@CONF_DIR@" not in text
    out = subprocess.run(["nginx", "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_site_example_passes_nginx_t(tmp_path):
    conf_dir = tmp_path / "etc-nginx-callbridge"
    render_callbridge_conf("/run/callbridge", conf_dir)
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=api.example.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    site = (ROOT / "nginx" / "site.example.conf").read_text()
    for placeholder in ("@SERVER_NAME@", "@TLS_CERTIFICATE@", "@TLS_CERTIFICATE_KEY@"):
        assert placeholder in site
    assert "include /etc/nginx/callbridge/callbridge.conf;" in site
    site = (site.replace("@SERVER_NAME@", "api.example.test")
            .replace("@TLS_CERTIFICATE_KEY@", str(key)).replace("@TLS_CERTIFICATE@", str(cert))
            .replace("/etc/nginx/callbridge/", f"{conf_dir}/").replace("/var/log/nginx/", f"{tmp_path}/"))
    (tmp_path / "site.conf").write_text(site)
    # Debian's nginx.conf includes conf.d/*.conf in http {}: where callbridge-log.conf goes
    (tmp_path / "nginx.conf").write_text(f"""pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{ include {ROOT}/nginx/callbridge-log.conf; include {tmp_path}/site.conf; }}
""")
    out = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# systemd ----------------------------------------------------------------------------------------

UNITS = ROOT / "deploy" / "systemd"


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    build = Path(os.environ.get("CALLBRIDGE_BUILD", ROOT / "build"))
    for unit in UNITS.iterdir():
        # verify checks that executables exist: the handlers' install dir becomes the build dir
        text = unit.read_text().replace("/usr/lib/callbridge/", f"{build}/")
        (tmp_path / unit.name).write_text(text)
    names = ["callbridge@health.socket", "callbridge@health.service",
             "callbridge-daily-sync.service", "callbridge-daily-sync.timer"]
    out = subprocess.run(["systemd-analyze", "verify", *[str(tmp_path / n) for n in names]],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # warnings (unknown keys, bad values) do not change the exit status: there must be none
    # about our units (lines about the host's own setup are not ours to judge)
    ours = [line for line in (out.stderr + out.stdout).splitlines() if "callbridge" in line]
    assert not ours, "\n".join(ours)


def test_systemd_units_hand_the_socket_to_multiwatch_hardened():
    sock = (UNITS / "callbridge@.socket").read_text()
    for line in ("ListenStream=/run/callbridge/%i.sock", "SocketMode=0660", "SocketGroup=www-data"):
        assert f"\n{line}\n" in sock
    svc = (UNITS / "callbridge@.service").read_text()
    for line in ("StandardInput=socket", "StandardOutput=journal", "DynamicUser=yes",
                 "EnvironmentFile=/etc/callbridge/callbridge.env", "ProtectSystem=strict",
                 "NoNewPrivileges=yes", "PrivateTmp=yes", "PrivateDevices=yes", "CapabilityBoundingSet=",
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "SystemCallFilter=@system-service"):
        assert f"\n{line}\n" in svc, line
    assert re.search(r"\nExecStart=/usr/bin/multiwatch .*-- /usr/lib/callbridge/%i\n", svc)
    timer = (UNITS / "callbridge-daily-sync.timer").read_text()
    assert "\nOnCalendar=" in timer and "\nPersistent=true\n" in timer


def test_daily_sync_service_runs_both_syncs_and_fails_when_either_fails(tmp_path):
    text = (UNITS / "callbridge-daily-sync.service").read_text()
    m = re.search(r"\nExecStart=/bin/sh -c '(.*)'\n", text)
    assert m
    script = m.group(1).replace("$$", "$").replace("/usr/lib/callbridge/", f"{tmp_path}/")
    for fn in ("sync-retell-calls", "sync-highlevel-calls"):
        exe = tmp_path / fn
        exe.write_text(f'#!/bin/sh\necho "$*" >>{tmp_path}/{fn}.ran\nexit "${{FAIL_{fn.split("-")[1].upper()}:-0}}"\n')
        exe.chmod(0o755)

    def run(**fail):
        for f in tmp_path.glob("*.ran"):
            f.unlink()
        env = dict(os.environ, **fail)
        rc = subprocess.run(["/bin/sh", "-c", script], env=env).returncode
        ran = sorted(f.stem for f in tmp_path.glob("*.ran"))
        assert all(f.read_text() == "--all\n" for f in tmp_path.glob("*.ran"))
        return rc, ran

    both = ["sync-highlevel-calls", "sync-retell-calls"]
    assert run() == (0, both)
    assert run(FAIL_RETELL="1") == (1, both)
    assert run(FAIL_HIGHLEVEL="3") == (1, both)


def test_env_example_lists_every_config_variable_and_is_a_valid_config():
    names = config_names()
    assert "DATABASE_URL" in names and len(names) > 20
    example = (ROOT / "deploy" / "callbridge.env.example").read_text()
    values = {}
    for line in example.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value.strip("'\"")
    missing = [n for n in names if n not in values]
    assert not missing, f"not in deploy/callbridge.env.example: {missing}"
    ops = (ROOT / "docs" / "operations.md").read_text()
    missing = [n for n in names if f"`{n}`" not in ops]
    assert not missing, f"not in docs/operations.md: {missing}"
    build = Path(os.environ.get("CALLBRIDGE_BUILD", ROOT / "build"))
    env = {"PATH": os.environ["PATH"], **values}
    out = subprocess.run([str(build / "health"), "--check-config"], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "placeholder" in out.stderr  # its secrets are examples
    # with real secrets in their place (as the file says to make them) it is a valid config
    env.update(DATABASE_URL="postgresql:///callbridge?host=/run/postgresql",
               JWT_SECRET=base64.b64encode(os.urandom(48)).decode(),
               SECRETS_KEYS="k1:" + base64.b64encode(os.urandom(32)).decode())
    out = subprocess.run([str(build / "health"), "--print-config"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "SECRETS_KEYS=(set)" in out.stdout


# .github/workflows/daily-sync.yml ---------------------------------------------------------------

class FakeFunctions:
    """A stand-in for nginx + the two sync functions: answers per path, records the calls."""

    def __init__(self):
        self.answers, self.calls = {}, []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                fake.calls.append((self.path, self.headers.get("Authorization")))
                status, body = fake.answers.get(self.path, (404, '{"error":"not_found"}'))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/functions/v1"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_daily_sync_workflow_calls_both_syncs_and_fails_on_reported_errors(tmp_path):
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "daily-sync.yml").read_text())
    triggers = wf[True] if True in wf else wf["on"]     # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    steps = [s for job in wf["jobs"].values() for s in job["steps"] if "run" in s]
    assert len(steps) == 1
    step = steps[0]
    assert step["env"]["SERVICE_ROLE_KEY"] == "${{ secrets.SUPABASE_SERVICE_ROLE_KEY }}"
    fake = FakeFunctions()
    summary = tmp_path / "summary.md"

    def run(retell, highlevel):
        fake.answers = {"/functions/v1/sync-retell-calls": retell,
                        "/functions/v1/sync-highlevel-calls": highlevel}
        fake.calls.clear()
        env = dict(os.environ, FUNCTIONS_URL=fake.url + "/", SERVICE_ROLE_KEY="svc-key",
                   GITHUB_STEP_SUMMARY=str(summary))
        out = subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, text=True,
                             timeout=60)
        return out.returncode, out.stdout

    ok = (200, '{"users":3,"failed_users":0,"errors":[],"calls_inserted":12}')
    try:
        rc, stdout = run(ok, ok)
        assert rc == 0, stdout
        assert fake.calls == [("/functions/v1/sync-retell-calls", "Bearer svc-key"),
                              ("/functions/v1/sync-highlevel-calls", "Bearer svc-key")]
        assert '"calls_inserted": 12' in stdout          # the summary is printed
        assert "sync-highlevel-calls: HTTP 200" in summary.read_text()
        failing = [
            (200, '{"users":3,"failed_users":0,"errors":[{"user_id":"u1","error":"key rejected"}]}'),
            (200, '{"users":3,"failed_users":2,"errors":[]}'),
            (401, '{"error":"unauthorized","message":"service role required"}'),
            (200, "<html>not json</html>"),
        ]
        for answer in failing:
            rc, stdout = run(ok, answer)
            assert rc != 0, (answer, stdout)
            assert len(fake.calls) == 2     # the other sync still ran
            rc, _ = run(answer, ok)
            assert rc != 0 and len(fake.calls) == 2
    finally:
        fake.stop()


# Socket activation, with the real handler binary ---------------------------------------------
# These run health (the real executable, on the stack's database) behind the edge nginx, in
# place of a stand-in: the way deploy/systemd/ runs every function.

def handler_env(stack):
    """The environment deploy/stack gives its handlers, for copies started by a test."""
    env = dict(stack.env)
    for line in (stack.var / "stack.env").read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    env["DATABASE_URL"] = stack.database_url
    return env


class SocketHolder:
    """What systemd does with callbridge@<fn>.socket and .service: this process owns the
    listening socket; multiwatch and its workers get it as stdin (StandardInput=socket), so
    killing or restarting them never closes it."""

    def __init__(self, stack, run_dir, fn):
        self.fn = fn
        self.path = Path(run_dir) / f"{fn}.sock"
        self.env = handler_env(stack)
        self.argv = ["/usr/bin/multiwatch", "--forks=2", "--", str(stack.build / "health")]
        self.log_path = stack.var / "log" / f"socket-holder-{fn}.log"
        self.log = open(self.log_path, "wb")
        self.path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        os.chmod(self.path, 0o660)
        self.sock.listen(128)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdin=self.sock.fileno(), stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env, start_new_session=True)

    def log_count(self, text):
        return self.log_path.read_text(errors="replace").count(text)

    def group_alive(self):
        return subprocess.run(["pgrep", "-g", str(self.proc.pid)], capture_output=True).returncode == 0

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        assert wait_until(lambda: not self.group_alive(), timeout=10)

    def stop(self):
        """As systemd stops the service (KillMode=mixed): SIGTERM to multiwatch alone, which
        stops the workers with SIGUSR1; SIGKILL to whatever is left. True when SIGTERM was enough.
        (A SIGTERM to the whole group can reach a worker multiwatch is just re-forking, before
        it execs the handler: that worker never sees it and waits in accept() forever.)"""
        if self.proc is None or self.proc.poll() is not None:
            return True
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            return False
        return wait_until(lambda: not self.group_alive(), timeout=5)

    def close(self):
        if not self.stop():
            self.kill()
        self.sock.close()
        self.path.unlink(missing_ok=True)
        self.log.close()


@pytest.fixture
def held(stack, edge):
    """health under multiwatch, on a socket this test holds, behind the edge's list-calls location."""
    holder = SocketHolder(stack, edge.run_dir, "list-calls")
    holder.start()
    try:
        assert wait_until(lambda: edge.get("list-calls").json().get("status") == "ok")
        assert wait_until(lambda: holder.log_count('msg="serving pid=') == 2)   # both workers
        yield holder
    finally:
        holder.close()
        edge.serve("list-calls", echo_handler("list-calls"))


def test_socket_kept_open_lets_requests_wait_through_a_handler_restart(edge, held):
    held.kill()     # SIGKILL to multiwatch and every worker: the whole service is gone
    result = {}
    waiting = threading.Thread(target=lambda: result.update(r=edge.get("list-calls", timeout=20)))
    waiting.start()
    time.sleep(1.0)
    # no worker, yet no 502: the request waits in the socket's backlog
    assert waiting.is_alive()
    held.start()    # what Restart=always does after RestartSec
    waiting.join(20)
    assert result["r"].status_code == 200 and result["r"].json()["status"] == "ok"


def test_service_stop_ends_every_worker_gracefully_through_multiwatch(edge, held):
    assert held.log_count('msg="stopped"') == 0
    # KillMode=mixed: multiwatch passes a graceful stop on; each worker leaves its accept loop
    # and says so
    assert held.stop(), "a worker ignored the stop"
    assert held.log_count('msg="stopped"') == 2
    # the socket outlives the service, as with systemd: a request now waits instead of failing
    assert held.path.exists()


def test_handler_takes_a_systemd_socket_as_fd_3(stack, edge):
    fn = "call-stats"
    path = edge.run_dir / f"{fn}.sock"
    keep = set(config_names()) | {"ASAN_OPTIONS", "UBSAN_OPTIONS"}
    setenv = [f"--setenv={k}={v}" for k, v in handler_env(stack).items() if k in keep]
    edge.standins.pop(fn).stop()
    log = open(stack.var / "log" / f"fd3-{fn}.log", "ab")
    # LISTEN_FDS=1, LISTEN_PID = the handler's pid, the socket as fd 3, stdin /dev/null
    proc = subprocess.Popen(["systemd-socket-activate", "--listen", str(path), *setenv,
                             str(stack.build / "health")], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_until(lambda: path.exists())
        os.chmod(path, 0o660)
        r = edge.get(fn)
        assert r.status_code == 200 and r.json()["database"] == "reachable"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        edge.serve(fn, echo_handler(fn))


# The stack: restart or kill one function, the others keep serving -------------------------------

def serving_others(stack):
    """Metrics URLs of the stack's other functions that answer now: every handler answers its
    metrics location, whatever its own method and auth rules."""
    urls = []
    for fn in FUNCTIONS:
        url = f"http://127.0.0.1:{stack.port}/internal/metrics/{fn}"
        if fn != "health" and (stack.var / "run" / f"{fn}.pid").exists():
            if requests.get(url, timeout=5).status_code == 200:
                urls.append(url)
    return urls


@pytest.fixture
def others(stack):
    """What must keep answering while health is down. With no other handler in the stack yet,
    a copy of health on a free function socket, held as systemd would."""
    urls = serving_others(stack)
    holder = None
    if not urls:
        written = {p.stem for p in (ROOT / "handlers").glob("*.c")}
        spare = [fn for fn in FUNCTIONS if fn not in written]
        if not spare:
            pytest.skip("no other function to watch")
        holder = SocketHolder(stack, stack.var / "run", spare[0])
        holder.start()
        urls = [stack.url(spare[0])]
        assert wait_until(lambda: requests.get(urls[0], timeout=5).status_code == 200)
    yield urls
    if holder is not None:
        holder.close()


class Hammer:
    """Requests the given URLs in a loop from a thread and records every status."""

    def __init__(self, urls):
        self.urls, self.results, self.stop_flag = urls, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with requests.Session() as s:
            while not self.stop_flag.is_set():
                for url in self.urls:
                    try:
                        self.results.append((url, s.get(url, timeout=10).status_code))
                    except requests.RequestException as e:
                        self.results.append((url, repr(e)))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(15)


def test_restart_one_function_leaves_the_others_serving(stack, others):
    with Hammer(others) as hammer:
        with Hammer([stack.url("health")]) as h:
            stack.restart("health")
        assert wait_until(lambda: requests.get(stack.url("health"), timeout=5).status_code == 200)
        time.sleep(0.2)
    assert hammer.results and all(status == 200 for _, status in hammer.results), hammer.results
    # health itself, while it restarted, answered or gave nginx's 502, never hung
    assert h.results and {status for _, status in h.results} <= {200, 502}, h.results


def test_killed_process_group_gives_json_502_and_the_function_comes_back(stack, others):
    pid = int((stack.var / "run" / "health.pid").read_text())
    with Hammer(others) as hammer:
        os.killpg(pid, signal.SIGKILL)     # multiwatch and both workers, at once
        assert wait_until(lambda: requests.get(stack.url("health"), timeout=5).status_code == 502)
        assert_nginx_json(requests.get(stack.url("health"), timeout=5), 502, "function_unavailable")
        # deploy/stack has no supervisor above multiwatch: its restart plays systemd's Restart=
        stack.restart("health")
        assert wait_until(lambda: requests.get(stack.url("health"), timeout=5).status_code == 200)
    assert hammer.results and all(status == 200 for _, status in hammer.results), hammer.results


def test_stack_webhook_body_limit_is_nginx_json_413(stack):
    url = stack.url("retell-webhook")
    r = requests.post(url, data=b"x" * (3 * MB), timeout=30)
    assert_nginx_json(r, 413, "payload_too_large")
    assert r.json()["message"] == "request body too large"      # nginx's, not a handler's
    # 1.5 MB gets through nginx to whatever serves the location (the handler refuses the
    # unsigned body, or nginx answers 502 while it does not exist): never a 413
    r = requests.post(url, data=b"x" * (3 * MB // 2), timeout=30)
    assert r.status_code != 413 and r.headers["Content-Type"].startswith("application/json"), r.text
