"""What a browser on another origin needs from every answer (issue 18, item 1).

nginx answers every OPTIONS under /functions/v1/ itself (an unknown or a stopped function
included), and each answer nginx makes itself (404, 502, 413, 414, 400, 429, ...) carries the
headers of nginx/callbridge-cors.conf. The handlers send the same headers from common/http.c:
one list, compared here on live answers. Without them the browser hides the answer and
supabase-js reports FunctionsFetchError instead of the JSON error."""
import re
import socket
import subprocess
import uuid

import pytest
import requests

from testenv.stack import ROOT

CORS_FILE = ROOT / "nginx" / "callbridge-cors.conf"
ORIGIN = "http://127.0.0.1:1"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, x-client-info, apikey, content-type, x-region"}
FUNCTIONS = sorted(p.stem for p in (ROOT / "handlers").glob("*.c"))


def cors_file_headers():
    """The fixed headers callbridge-cors.conf adds, by lower-case name."""
    text = re.sub(r"#.*", "", CORS_FILE.read_text())
    found = dict((name.lower(), value) for name, value in
                 re.findall(r'add_header\s+(\S+)\s+"([^"]*)"\s+always;', text))
    assert "x-request-id" not in found          # the id is per request ($request_id)
    assert re.search(r"add_header\s+X-Request-Id\s+\$request_id\s+always;", text)
    return found


def expected_headers():
    return {k: ("*" if v == "@CORS_ORIGIN@" else v) for k, v in cors_file_headers().items()}


def assert_cors(r, where):
    """One copy of each header of the list, with its value, and the request id."""
    for name, value in expected_headers().items():
        assert r.raw.headers.getlist(name) == [value], (where, name, r.raw.headers.getlist(name))
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers.get("X-Request-Id", "")), where


def assert_nginx_error(r, status, error, where):
    assert r.status_code == status, (where, r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json"), where
    assert r.json()["error"] == error, where
    assert_cors(r, where)


def split(value):
    return [x.strip().lower() for x in value.split(",")]


def test_handlers_send_the_list_of_the_nginx_include(stack, http):
    # a handler's success and error answers, next to nginx's own 404: the same headers
    answers = {"handler 200": http.get(stack.url("health"), headers={"Origin": ORIGIN}),
               "handler 401": http.get(stack.url("list-calls"), headers={"Origin": ORIGIN}),
               "nginx 404": http.get(stack.url("no-such-function"), headers={"Origin": ORIGIN})}
    assert answers["handler 200"].status_code == 200
    assert answers["handler 401"].status_code == 401
    for where, r in answers.items():
        assert_cors(r, where)
    allowed = split(expected_headers()["access-control-allow-headers"])
    # what supabase-js 2.x sends (functions-js adds x-region for its region option)
    for header in ("authorization", "x-client-info", "apikey", "content-type", "x-region"):
        assert header in allowed
    assert "x-request-id" in split(expected_headers()["access-control-expose-headers"])


def test_allows_every_header_supabase_js_sends():
    """supabase-js publishes the headers its clients send (@supabase/supabase-js/cors, the npm
    package test/run installs for the browser test); functions-js adds x-region for a region."""
    out = subprocess.run(["node", "-e", "import('@supabase/supabase-js/cors').then(m => "
                          "console.log(m.corsHeaders['Access-Control-Allow-Headers']))"],
                         cwd=ROOT / "test" / "integration" / "browser", capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    sent = split(out.stdout) + ["x-region"]
    assert len(sent) > 4
    allowed = split(expected_headers()["access-control-allow-headers"])
    assert [h for h in sent if h not in allowed] == []


@pytest.mark.parametrize("path", FUNCTIONS + ["no-such-function", f"retell-webhook/{uuid.uuid4()}",
                                              "list-calls/extra"])
def test_every_preflight_is_nginx_204(stack, http, path):
    r = http.options(f"{stack.base_url}/{path}", headers=PREFLIGHT)
    assert r.status_code == 204, (path, r.text)
    assert r.content == b""
    assert r.headers["Access-Control-Max-Age"] == "86400"
    assert_cors(r, path)


def test_stopped_function_preflight_is_204_and_its_502_readable(stack, http):
    stack.run("stop", "call-stats")
    try:
        r = http.options(stack.url("call-stats"), headers=PREFLIGHT)
        assert r.status_code == 204
        assert_cors(r, "preflight of a stopped function")
        assert_nginx_error(http.get(stack.url("call-stats"), headers={"Origin": ORIGIN}), 502,
                           "function_unavailable", "stopped function")
    finally:
        stack.run("start", "call-stats")
    assert http.get(stack.url("call-stats")).status_code == 401


def test_nginx_errors_carry_the_cors_headers(stack, http):
    assert_nginx_error(http.get(stack.url("no-such-function")), 404, "not_found", "404")
    assert_nginx_error(http.post(stack.url("list-calls"), data=b"x" * 70_000,
                                 headers={"Content-Type": "application/json"}),
                       413, "payload_too_large", "413")
    assert_nginx_error(http.get(stack.url("list-calls") + "?q=" + "a" * 9000), 414, "uri_too_long", "414")


def raw(stack, data):
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split()[1]), headers, body


def test_malformed_request_400_carries_the_cors_headers(stack):
    status, headers, body = raw(stack, b"GET /functions/v1/health HTTP/1.1\r\nHost: x\r\n"
                                       b"Bad Header\r\nConnection: close\r\n\r\n")
    assert status == 400 and b"bad_request" in body
    for name, value in expected_headers().items():
        assert headers.get(name) == [value], (name, headers.get(name))


def test_every_error_page_and_own_answer_includes_the_list():
    """Static: each error_page target (429 of the rate limits included, which a test cannot
    provoke without them) and every location that answers with return includes the file."""
    text = re.sub(r"#.*", "", (ROOT / "nginx" / "callbridge.conf").read_text())
    targets = set(re.findall(r"error_page\s+[0-9 ]+\s+(\S+);", text))
    assert "@json429" in targets and "@json502" in targets
    blocks = dict(re.findall(r"location\s+(?:=\s+)?(\S+)\s*\{(.*?)\n\}", text, re.S))
    for target in targets:
        assert "include @CONF_DIR@/callbridge-cors.conf;" in blocks[target], target
    for name, block in blocks.items():
        if re.search(r"\breturn\b", block):
            assert "include @CONF_DIR@/callbridge-cors.conf;" in block, name
        else:
            assert "callbridge-cors.conf" not in block, name   # a second copy for handlers
        assert "add_header Access-Control-Allow" not in block, name  # the list is in one file


def test_stack_renders_the_configured_origin(tmp_path):
    env = {"STACK_VAR": str(tmp_path), "CORS_ALLOW_ORIGIN": "https://dash.example.test",
           "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    out = subprocess.run([str(ROOT / "deploy" / "stack"), "nginx-conf"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "nginx" / "callbridge-cors.conf").read_text()
    assert 'Access-Control-Allow-Origin "https://dash.example.test" always;' in text
    assert "@" not in re.sub(r"#.*", "", text)
