"""The dashboard in a real browser (issue 18, item 9): Debian's chromium, headless, driven by
playwright-core (test/integration/browser/run.mjs), loads a page from a second loopback origin
that calls every function through supabase-js's browser build, as the plan's frontend does.

It proves what only a browser enforces: each call's preflight passes (nginx's 204) on success
and on error paths (401, 403, 404 unknown function, 502 stopped function, 413), the page reads
every answer's JSON (FunctionsHttpError, never FunctionsFetchError) and X-Request-Id, which
leads to the handler's log line, and an <audio> element plays a recording through a playback
link. One chromium start for the whole plan: about 10 to 20 s."""
import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from testenv import highlevel as hl
from testenv.stack import ROOT, free_port

BROWSER_DIR = Path(__file__).resolve().parent / "browser"
RETELL_KEY = "key_browser_0123456789abcdef"
TIMEOUT_MS = 30_000



def assert_browser_installed():
    assert shutil.which("node") and Path("/usr/bin/chromium").exists() and \
        (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(), \
        "needs node, /usr/bin/chromium and test/integration/browser/node_modules: test/run " \
        "installs them (deploy/install-deps --tests; npm ci in test/integration/browser)"


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def page_origin():
    """The dashboard's origin: a static server on another loopback port."""
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                             functools.partial(Quiet, directory=str(BROWSER_DIR)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def dashboard_tenant(clean, fake, connect_retell, retell_agent):
    stack = clean
    owner, admin = stack.make_user("client"), stack.make_user("admin")
    connect_retell(owner, RETELL_KEY)
    fake.add_retell_agent(RETELL_KEY, agent_id="agent_browser")
    agent = retell_agent("agent_browser", assign_to=owner)
    hl.connect(stack, fake, owner, "loc_browser_0001")
    call = fake.add_retell_call(RETELL_KEY, fake.make_retell_call("agent_browser"))
    call_id = str(stack.sql("""INSERT INTO calls (retell_call_id, source_platform, user_id, agent_id,
                                   recording_url) VALUES (%s, 'retell', %s, %s, %s) RETURNING id""",
                            (call["call_id"], owner, agent, call["recording_url"]))[0]["id"])
    return {"stack": stack, "owner": owner, "admin": admin, "agent": str(agent), "call_id": call_id,
            "recording_size": fake.recording_size}


def plan(w, page_origin):
    stack, owner, get = w["stack"], w["owner"], {"method": "GET"}
    cfg = {"url": f"http://127.0.0.1:{stack.port}", "anonKey": stack.token(role="anon"),
           "tokens": {"client": stack.token(owner), "admin": stack.token(w["admin"]),
                      "nobody": "not-a-token"}}
    calls = [
        # every function, as the dashboard calls it
        ["health", "anon", "health", get],
        ["list-calls", "client", "list-calls", get],
        ["call-stats", "client", "call-stats", get],
        ["link", "client", f"get-call-recording?call_id={w['call_id']}&link=1", get],
        ["get-call", "client", f"get-call?id={w['call_id']}", get],
        ["connections", "client", "connections", get],
        ["own agents", "client", "assign-agents", get],
        ["retell-connection", "admin", f"retell-connection?user_id={owner}", get],
        ["assign-agents GET", "admin", f"assign-agents?user_id={owner}", get],
        ["assign-agents POST", "admin", "assign-agents",
         {"body": {"user_id": owner, "source_platform": "retell", "agent_ids": [w["agent"]]}}],
        ["fetch-retell-agents", "client", "fetch-retell-agents", {"body": {"user_id": owner}}],
        ["fetch-available-agents", "admin", f"fetch-available-agents?user_id={owner}", get],
        ["highlevel-oauth", "client", "highlevel-oauth", {"body": {"code_challenge": hl.CHALLENGE}}],
        ["sync-retell-calls", "client", "sync-retell-calls", {"body": {}}],
        ["sync-highlevel-calls", "client", "sync-highlevel-calls", {"body": {}}],
        ["sync-all", "client", "sync-all", {}],
        ["retell-webhook", "anon", "retell-webhook", {"body": {"event": "call_ended"}}],
        # error paths: the browser must still let the page read the JSON
        ["401", "nobody", "list-calls", get],
        ["403", "client", f"retell-connection?user_id={owner}", get],
        ["404", "client", "no-such-function", {"body": {}}],
        ["400 unknown parameter", "client", "list-calls?providr=Provider%20A", get],
        ["413", "client", "sync-all", {"body": {"pad": "x" * 70_000}}],
    ]
    stack_cmd = [str(ROOT / "deploy" / "stack")]
    return {"page": f"{page_origin}/page.html#" + json.dumps(cfg), "timeoutMs": TIMEOUT_MS,
            "steps": [{"calls": calls},
                      {"exec": stack_cmd + ["stop", "call-stats"]},
                      {"calls": [["502", "client", "call-stats", get]]},
                      {"exec": stack_cmd + ["start", "call-stats"]},
                      {"play": "link"}]}


EXPECTED = {  # label: (status, error code of the JSON body or None)
    "health": (200, None), "list-calls": (200, None), "call-stats": (200, None), "link": (200, None),
    "get-call": (200, None), "connections": (200, None), "own agents": (200, None),
    "retell-connection": (200, None), "assign-agents GET": (200, None),
    "assign-agents POST": (200, None), "fetch-retell-agents": (200, None),
    "fetch-available-agents": (200, None), "highlevel-oauth": (200, None),
    "sync-retell-calls": (200, None), "sync-highlevel-calls": (200, None), "sync-all": (200, None),
    "retell-webhook": (401, None),
    "401": (401, None), "403": (403, "forbidden"), "404": (404, "not_found"),
    "400 unknown parameter": (400, "unknown_parameter"),
    "413": (413, "payload_too_large"), "502": (502, "function_unavailable"),
}


def run_browser(stack, the_plan):
    assert_browser_installed()
    out = subprocess.run(["node", str(BROWSER_DIR / "run.mjs")], input=json.dumps(the_plan),
                         capture_output=True, text=True, timeout=120, env=stack.env, cwd=BROWSER_DIR)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def test_dashboard_in_chromium_calls_every_function(dashboard_tenant, page_origin):
    stack = dashboard_tenant["stack"]
    report = run_browser(stack, plan(dashboard_tenant, page_origin))
    results = {r["label"]: r for r in report["results"]}
    print("browser timings (ms):", report["timings"],
          {r["label"]: round(r["ms"]) for r in report["results"] if "ms" in r})
    assert not [line for line in report["console"] if "CORS" in line], report["console"]

    for label, (status, code) in EXPECTED.items():
        r = results[label]
        assert r.get("status") == status, (label, r)
        assert (r["error"] is None) == (status < 400), (label, r)
        if status >= 400:
            # an answer the page could read: FunctionsHttpError with the JSON error
            assert r["error"] == "FunctionsHttpError", (label, r)
            assert isinstance(r["body"], dict) and r["body"].get("message"), (label, r)
            if code:
                assert r["body"]["error"] == code, (label, r)
        assert re.fullmatch(r"[0-9a-f]{32}", r["requestId"] or ""), (label, r)

    # X-Request-Id leads to the handler's log line of that request
    logs = stack.logs()
    for label in ("list-calls", "sync-all", "403"):
        assert f"req={results[label]['requestId']}" in logs, label

    # every call was preflighted (authorization is not a simple header) and nginx said 204
    access = (stack.var / "nginx" / "logs" / "access.log").read_text()
    # (nginx/callbridge-log.conf's callbridge format: method=, uri="...", status=, ua="...")
    preflights = set(re.findall(
        r'method=OPTIONS uri="/functions/v1/([a-z-]+)[^"]*" status=204 .*HeadlessChrome', access))
    called = {r["name"].split("?")[0] for r in report["results"] if "name" in r}
    assert called - preflights == set(), called - preflights

    # the call page: labelled, with its transcript
    assert results["get-call"]["body"]["provider"] == "Provider B"
    assert "source_platform" not in results["get-call"]["body"]
    assert {c["provider"] for c in results["connections"]["body"]["connections"]} == \
        {"Provider A", "Provider B"}

    played = results["play link"]
    assert played["outcome"] == "played", played
    # the whole file came through: 16-bit 8 kHz mono is 16000 bytes a second
    assert played["error"] is None, played
    assert played["duration"] == pytest.approx(dashboard_tenant["recording_size"] / 16000, abs=0.05), played
