"""Log lines as fields: the handler's access line (status, dur_ms, bytes, user, fn, req), nginx's
access log joined to it by the request id and without the secrets of query strings, and the
configuration printed only when asked."""
import re
import subprocess
import uuid

import pytest
import requests

from testenv.stack import wait_until

FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def logfmt(line):
    return {k: v[1:-1] if v.startswith('"') else v for k, v in FIELD.findall(line)}


def handler_line(stack, fn, rid):
    """The access line of request rid in fn's log (waits for it)."""
    found = []

    def look():
        for line in (stack.var / "log" / f"{fn}.log").read_text(errors="replace").splitlines():
            f = logfmt(line)
            if f.get("req") == rid and "status" in f:
                found.append(f)
                return True
        return False
    assert wait_until(look), f"no access line for {rid}"
    return found[0]


def nginx_lines(stack, rid):
    def look():
        return [logfmt(l) for l in (stack.var / "nginx" / "logs" / "access.log").read_text().splitlines()
                if f"req={rid}" in l]
    assert wait_until(lambda: look() != []), f"no nginx line for {rid}"
    return look()


def test_access_line_carries_status_duration_bytes_user_function_request(clean, http):
    user = clean.make_user("client")
    r = http.get(clean.url("list-calls"), headers=clean.auth(user))
    assert r.status_code == 200
    rid = r.headers["X-Request-Id"]
    f = handler_line(clean, "list-calls", rid)
    assert f["fn"] == "list-calls" and f["level"] == "info"
    assert f["status"] == "200" and f["user"] == user
    assert int(f["bytes"]) == len(r.content)
    assert float(f["dur_ms"]) >= 0
    assert f["msg"] == "GET /functions/v1/list-calls"


def test_error_line_has_the_status_and_no_user(clean, http):
    r = http.get(clean.url("list-calls"))
    assert r.status_code == 401
    f = handler_line(clean, "list-calls", r.headers["X-Request-Id"])
    assert f["status"] == "401" and f["user"] == "-"
    assert "error=unauthorized" in f["msg"]


def test_service_role_is_logged_as_service_never_a_token(clean, http):
    r = http.post(clean.url("sync-retell-calls"), json={}, headers=clean.service_headers(), timeout=120)
    f = handler_line(clean, "sync-retell-calls", r.headers["X-Request-Id"])
    assert f["user"] == "service" and f["status"] == str(r.status_code)
    assert clean.service_role_key not in (clean.var / "log" / "sync-retell-calls.log").read_text()


def test_nginx_line_joins_the_handler_line_by_request_id(clean, http):
    r = http.get(clean.url("list-calls") + "?limit=5")
    rid = r.headers["X-Request-Id"]
    (line,) = nginx_lines(clean, rid)
    assert line["status"] == str(r.status_code) and line["method"] == "GET"
    assert line["uri"] == "/functions/v1/list-calls?limit=5"  # other functions keep their query
    assert handler_line(clean, "list-calls", rid)["status"] == line["status"]


@pytest.mark.parametrize("fn,query", [
    ("highlevel-oauth", "code=SECRETcode0123&state=SECRETstate0123"),
    ("get-call-recording", "call_id=c1&viewer=v&kind=a&expires=9999999999&sig=SECRETsig0123"),
])
def test_nginx_never_logs_the_query_of_functions_that_carry_secrets(clean, http, fn, query):
    r = http.get(clean.url(fn) + "?" + query)
    rid = r.headers["X-Request-Id"]
    (line,) = nginx_lines(clean, rid)
    assert line["uri"] == f"/functions/v1/{fn}"
    logs = (clean.var / "nginx" / "logs" / "access.log").read_text() + clean.logs()
    assert "SECRET" not in logs


def test_check_config_says_one_line_and_print_config_shows_it_all(stack):
    out = subprocess.run([str(stack.build / "health"), "--check-config"], env=stack.cli_env(),
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == "health: configuration ok\n", out
    out = subprocess.run([str(stack.build / "health"), "--print-config"], env=stack.cli_env(),
                         capture_output=True, text=True)
    assert out.returncode == 0
    assert "DATABASE_URL=(set)" in out.stdout and "LOG_LEVEL=info" in out.stdout
    assert stack.database_url not in out.stdout


def test_a_bad_setting_fails_the_check_with_its_name(stack):
    out = subprocess.run([str(stack.build / "health"), "--check-config"],
                         env=stack.cli_env(LOG_LEVEL="verbose"), capture_output=True, text=True)
    assert out.returncode == 1 and "LOG_LEVEL" in out.stderr
