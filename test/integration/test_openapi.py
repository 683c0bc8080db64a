"""docs/openapi.yaml against the running functions: every function is documented, every
documented path and method answers through nginx, and each function's answers, on a real
success and on its documented errors, match the schema of that path, method and status
(testenv/openapi.py)."""
import json
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from testenv import highlevel as hl
from testenv import openapi
from testenv import retell
from testenv.openapi import assert_error_shape, assert_matches
from testenv.stack import ROOT, wait_until

KEY = "key_openapi_0123456789abcdef"
REJECTED_KEY = "key_the_fake_never_issued_0123"
LOC = "loc_openapi_0001"
RANDOM_USER = "0b5c3a52-8a5d-4c52-9a53-4d6f0e1c2b3a"


def request(http, stack, method, path, expect, headers=None, json_body=None, data=None,
            params=None, content_type=None, **kw):
    """One call through nginx; asserts the status, then that the answer matches the document.
    `path` is the documented path, its {user_id} filled from kw['user_id']."""
    concrete = path.replace("{user_id}", kw.pop("user_id", RANDOM_USER))
    h = dict(headers or {})
    if content_type:
        h["Content-Type"] = content_type
    r = http.request(method, stack.base_url + concrete, headers=h, json=json_body, data=data,
                     params=params, allow_redirects=False, timeout=120, **kw)
    if isinstance(expect, int):
        expect = (expect,)
    assert r.status_code in expect, f"{method} {concrete}: {r.status_code} {r.text[:500]}"
    body = assert_matches(r, path, method)
    return SimpleNamespace(r=r, body=body)


def error_code(res):
    return res.body["error"]


@pytest.fixture
def callers(clean, fake, connect_retell, retell_agent):
    """An admin, a client connected to Retell with one assigned agent, and a client with nothing."""
    stack = clean
    w = SimpleNamespace(stack=stack, fake=fake)
    w.admin = stack.make_user("admin")
    w.client = stack.make_user("client")
    w.other = stack.make_user("client")
    connect_retell(w.client, KEY)
    fake.add_retell_agent(KEY, agent_id="agent_oa_1", name="Front desk")
    w.agent = retell_agent("agent_oa_1", assign_to=w.client, name="Front desk")
    w.as_admin = stack.auth(w.admin)
    w.as_client = stack.auth(w.client)
    w.as_other = stack.auth(w.other)
    w.as_service = stack.service_headers()
    return w


def hl_agent(stack, highlevel_agent_id, assign_to=None, location_id=LOC):
    return hl.plant_agent(stack, highlevel_agent_id, location_id, assign_to=assign_to)


# ------------------------------------------------------------------ the document itself

def test_every_handler_is_documented_and_nothing_else():
    handlers = sorted(p.stem for p in (ROOT / "handlers").glob("*.c"))
    assert handlers, "no handlers found"
    assert openapi.functions() == handlers


def test_document_is_openapi_3_0_with_resolvable_references():
    doc = openapi.spec()
    assert doc["openapi"] == "3.0.3"
    assert doc["servers"][0]["url"] == "/functions/v1"
    ids = [openapi.operation(p, m)["operationId"] for p, m in openapi.operations()]
    assert len(ids) == len(set(ids)), "operationIds must be unique"

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)
    for ref in set(refs(doc)):
        openapi.resolve({"$ref": ref})  # raises on a dangling reference
    for path, method in openapi.operations():
        op = openapi.operation(path, method)
        assert op["responses"], (path, method)
        for status, response in op["responses"].items():
            response = openapi.resolve(response)
            for media, content in (response.get("content") or {}).items():
                assert "schema" in content, (path, method, status, media)
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                # every error answer is the shared Error shape
                text = json.dumps(schema)
                assert "#/components/schemas/Error" in text, (path, method, status)


# ------------------------------------------------------------------ (a) everything answers

UNAUTHENTICATED = {
    ("/health", "get"): 200,
    ("/retell-webhook", "post"): 401,
    ("/retell-webhook/{user_id}", "post"): 401,
    ("/highlevel-oauth", "get"): 400,
}


@pytest.mark.parametrize("path,method", openapi.operations(),
                         ids=[f"{m.upper()} {p}" for p, m in openapi.operations()])
def test_documented_operation_answers_without_credentials(stack, http, path, method):
    body = {} if method == "post" else None
    res = request(http, stack, method.upper(), path, UNAUTHENTICATED.get((path, method), 401),
                  json_body=body)
    if res.r.status_code >= 400:
        # a handler's answer, not nginx's catch-all for unknown paths
        assert res.body["message"] != "no such function"
    op = openapi.operation(path, method)
    if res.r.status_code == 401:
        assert op.get("security", openapi.spec()["security"]), f"{path} answers 401 but needs nothing"


@pytest.mark.parametrize("path", list(openapi.spec()["paths"]))
def test_every_path_answers_preflight_and_405_for_other_methods(stack, http, path):
    url = stack.base_url + path.replace("{user_id}", RANDOM_USER)
    r = http.options(url, headers={"Origin": "https://dashboard.example",
                                   "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204 and r.content == b""
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    admin = stack.make_user("admin")
    documented = {m for p, m in openapi.operations() if p == path}
    for method in ("PUT", "PATCH"):
        assert method.lower() not in documented
        r = http.request(method, url, headers=stack.auth(admin), json={})
        assert r.status_code == 405, (method, path, r.text)
        assert assert_error_shape(r)["error"] == "method_not_allowed"
        assert len(r.headers["X-Request-Id"]) == 32


def test_unknown_function_is_nginx_json_404(stack, http):
    r = http.get(stack.url("not-a-function"))
    assert r.status_code == 404
    assert assert_error_shape(r) == {"error": "not_found", "message": "no such function"}


# ------------------------------------------------------------------ (b) answers match

def test_health(stack, http):
    res = request(http, stack, "GET", "/health", 200)
    assert res.body["status"] == "ok"


def test_retell_webhook(callers, fake, http):
    stack = callers.stack
    call = fake.make_retell_call("agent_oa_1", call_id="call_oa_1")
    started = retell.delivery("call_started", retell.started(call))
    ended = retell.delivery("call_ended", retell.ended(call))

    def post(path, body, key=KEY, signature=None, content_type="application/json", **kw):
        headers = {"x-retell-signature": signature if signature is not None else retell.sign(body, key)}
        return request(http, stack, "POST", path, kw.pop("expect"), headers=headers, data=body,
                       content_type=content_type, **kw)

    res = post("/retell-webhook", started, expect=200)
    assert res.body == {"received": True, "outcome": "applied", "created": True}
    res = post("/retell-webhook/{user_id}", ended, user_id=callers.client, expect=200)
    assert res.body == {"received": True, "outcome": "applied", "created": False}
    nobody = retell.delivery("call_started", retell.started(
        fake.make_retell_call("agent_nobody_has", call_id="call_oa_2")))
    assert post("/retell-webhook", nobody, expect=200).body["outcome"] == "unassigned"
    other_event = json.dumps({"event": "transcript_updated", "call": {"call_id": "call_oa_1"}}).encode()
    assert post("/retell-webhook", other_event, expect=200).body == {"received": True, "outcome": "ignored"}

    assert error_code(post("/retell-webhook", started, key="key_of_nobody_0123456789", expect=401)) \
        == "bad_signature"
    assert error_code(post("/retell-webhook", started, signature="v=1,d=00", expect=401)) == "bad_signature"
    assert error_code(post("/retell-webhook/{user_id}", started, user_id=callers.other, expect=401)) \
        == "bad_signature"
    assert error_code(post("/retell-webhook", b"{not json", expect=400)) == "bad_json"
    no_call = json.dumps({"event": "call_ended"}).encode()
    assert error_code(post("/retell-webhook", no_call, expect=400)) == "missing_field"
    assert error_code(post("/retell-webhook/{user_id}", started, user_id="not-a-uuid", expect=404)) \
        == "not_found"
    assert error_code(post("/retell-webhook", started, content_type="text/plain", expect=415)) \
        == "unsupported_media_type"
    huge = b'{"event":"x","pad":"' + b"a" * (2 * 1024 * 1024 + 10) + b'"}'
    assert error_code(post("/retell-webhook", huge, expect=413)) == "payload_too_large"


def test_retell_connection(callers, fake, http):
    stack = callers.stack
    path = "/retell-connection"
    saved = request(http, stack, "POST", path, 200, headers=callers.as_admin,
                    json_body={"user_id": callers.other, "api_key": KEY})
    assert saved.body["connected"] is True and saved.body["key_hint"] == "…cdef"
    tested = request(http, stack, "POST", path, 200, headers=callers.as_admin,
                     json_body={"api_key": KEY, "test_only": True})
    assert set(tested.body) == {"valid", "agents_visible"}

    status = request(http, stack, "GET", path, 200, headers=callers.as_admin, params={"user_id": callers.other})
    assert status.body["connected"] is True and status.body["last_sync_at"] is None
    never = request(http, stack, "GET", path, 200, headers=callers.as_service, params={"user_id": callers.admin})
    assert never.body == {"user_id": callers.admin, "connected": False}

    gone = request(http, stack, "DELETE", path, 200, headers=callers.as_admin, params={"user_id": callers.other})
    assert gone.body["disconnected"] is True and gone.body["assigned_agents"] == 0
    assert error_code(request(http, stack, "DELETE", path, 404, headers=callers.as_admin,
                              params={"user_id": callers.other})) == "not_connected"
    after = request(http, stack, "GET", path, 200, headers=callers.as_admin, params={"user_id": callers.other})
    assert after.body["connected"] is False and after.body["key_hint"] is None

    assert error_code(request(http, stack, "GET", path, 400, headers=callers.as_admin)) == "missing_field"
    assert error_code(request(http, stack, "DELETE", path, 400, headers=callers.as_admin,
                              params={"user_id": "nope"})) == "bad_field"
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin,
                              json_body={"user_id": callers.other, "api_key": "short"})) == "bad_field"
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin,
                              json_body={"api_key": KEY})) == "missing_field"
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin,
                              data=b"[1]", content_type="application/json")) == "bad_request"
    for method in ("GET", "POST", "DELETE"):
        assert error_code(request(http, stack, method, path, 403, headers=callers.as_client,
                                  params={"user_id": callers.client}, json_body={})) == "forbidden"
        assert error_code(request(http, stack, method, path, 401,
                                  headers=stack.auth(callers.admin, exp_in=-60))) == "invalid_token"
    assert error_code(request(http, stack, "POST", path, 415, headers=callers.as_admin,
                              data=b"api_key=x", content_type="text/plain")) == "unsupported_media_type"
    assert error_code(request(http, stack, "POST", path, 422, headers=callers.as_admin,
                              json_body={"user_id": callers.other, "api_key": REJECTED_KEY})) \
        == "provider_rejected_key"
    fake.add_fault(path_prefix="/v2/list-agents", status=500, count=10)
    assert error_code(request(http, stack, "POST", path, 502, headers=callers.as_admin,
                              json_body={"api_key": KEY, "test_only": True})) == "provider_error"


def test_fetch_retell_agents(callers, fake, http):
    stack = callers.stack
    path = "/fetch-retell-agents"
    fake.add_retell_agent(KEY, agent_id="agent_oa_2", name="After hours")
    admin = request(http, stack, "POST", path, 200, headers=callers.as_admin,
                    json_body={"user_id": callers.client})
    assert {a["retell_agent_id"]: a["assigned"] for a in admin.body["agents"]} == \
        {"agent_oa_1": True, "agent_oa_2": False}
    assert {a["provider"] for a in admin.body["agents"]} == {"Retell"}
    client = request(http, stack, "POST", path, 200, headers=callers.as_client, json_body={})
    assert [set(a) for a in client.body["agents"]] == [set(openapi.spec()["components"]["schemas"]
                                                          ["RetellAgentForClient"]["required"])] * 2
    hl.assert_no_provider_words(client.r.text)
    tested = request(http, stack, "POST", path, 200, headers=callers.as_service, json_body={"api_key": KEY})
    assert tested.body["user_id"] is None and len(tested.body["agents"]) == 2

    assert error_code(request(http, stack, "POST", path, 403, headers=callers.as_client,
                              json_body={"user_id": callers.other})) == "forbidden"
    assert error_code(request(http, stack, "POST", path, 403, headers=callers.as_client,
                              json_body={"api_key": KEY})) == "forbidden"
    assert error_code(request(http, stack, "POST", path, 404, headers=callers.as_admin,
                              json_body={"user_id": callers.other})) == "not_connected"
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin,
                              json_body={})) == "missing_field"
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin,
                              json_body={"user_id": "nope"})) == "bad_field"
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin,
                              data=b"{", content_type="application/json")) == "bad_json"
    assert error_code(request(http, stack, "POST", path, 415, headers=callers.as_admin,
                              data=b"x")) == "unsupported_media_type"
    assert error_code(request(http, stack, "POST", path, 422, headers=callers.as_admin,
                              json_body={"api_key": REJECTED_KEY})) == "provider_rejected_key"
    fake.add_fault(path_prefix="/v2/list-agents", status=503, count=10)
    assert error_code(request(http, stack, "POST", path, 502, headers=callers.as_admin,
                              json_body={"user_id": callers.client})) == "provider_error"


def test_assign_agents(callers, retell_agent, http):
    stack = callers.stack
    path = "/assign-agents"
    second = retell_agent("agent_oa_2", name="After hours")
    hl_id = hl_agent(stack, "hl_agent_oa")
    res = request(http, stack, "POST", path, 200, headers=callers.as_admin,
                  json_body={"user_id": callers.other, "source_platform": "retell", "agent_ids": [second]})
    assert res.body == {"user_id": callers.other, "assigned": 1, "inbox_events_applied": 0}
    request(http, stack, "POST", path, 200, headers=callers.as_service,
            json_body={"user_id": callers.other, "source_platform": "highlevel", "agent_ids": [hl_id]})
    listed = request(http, stack, "GET", path, 200, headers=callers.as_admin, params={"user_id": callers.other})
    assert {(a["source_platform"], a["provider"]) for a in listed.body["agents"]} == \
        {("retell", "Retell"), ("highlevel", "HighLevel")}
    res = request(http, stack, "DELETE", path, 200, headers=callers.as_admin,
                  json_body={"user_id": callers.other, "agent_ids": [second, str(uuid.uuid4())]})
    assert res.body == {"user_id": callers.other, "unassigned": 1}

    assert error_code(request(http, stack, "POST", path, 404, headers=callers.as_admin,
                              json_body={"user_id": callers.other, "source_platform": "highlevel",
                                         "agent_ids": [second]})) == "not_found"
    bad_bodies = [({"user_id": callers.other, "source_platform": "other", "agent_ids": [second]}, "bad_field"),
                  ({"user_id": callers.other, "source_platform": "retell", "agent_ids": []}, "bad_field"),
                  ({"user_id": callers.other, "source_platform": "retell", "agent_ids": ["x"]}, "bad_field"),
                  ({"user_id": callers.other, "agent_ids": [second]}, "missing_field"),
                  ({"user_id": RANDOM_USER, "source_platform": "retell", "agent_ids": [second]}, "bad_value")]
    for body, code in bad_bodies:
        assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin,
                                  json_body=body)) == code, body
    assert error_code(request(http, stack, "DELETE", path, 400, headers=callers.as_admin,
                              json_body={"agent_ids": [second]})) == "missing_field"
    assert error_code(request(http, stack, "GET", path, 400, headers=callers.as_admin)) == "missing_field"
    # a client lists their own agents (labelled), nobody else's, and changes nothing
    request(http, stack, "GET", path, 200, headers=callers.as_client, params={"user_id": callers.client})
    assert error_code(request(http, stack, "GET", path, 403, headers=callers.as_client,
                              params={"user_id": callers.other})) == "forbidden"
    for method in ("GET", "POST", "DELETE"):
        if method != "GET":
            assert error_code(request(http, stack, method, path, 403, headers=callers.as_client,
                                      params={"user_id": callers.client}, json_body={})) == "forbidden"
        assert error_code(request(http, stack, method, path, 401)) == "unauthorized"
    for method in ("POST", "DELETE"):
        assert error_code(request(http, stack, method, path, 415, headers=callers.as_admin,
                                  data=b"user_id=x", content_type="application/x-www-form-urlencoded")) \
            == "unsupported_media_type"


def test_sync_retell_calls(callers, fake, connect_retell, retell_agent, http):
    stack = callers.stack
    path = "/sync-retell-calls"
    fake.add_retell_call(KEY, fake.make_retell_call("agent_oa_1"))
    everyone = request(http, stack, "POST", path, 200, headers=callers.as_service)
    assert everyone.body["provider"] == "Retell" and everyone.body["synced_users"] == 1
    assert everyone.body["calls_inserted"] == 1 and everyone.body["users"][0]["error"] is None
    mine = request(http, stack, "POST", path, 200, headers=callers.as_client, json_body={})
    assert mine.body["provider"] == "Provider B"
    hl.assert_no_provider_words(mine.r.text)
    request(http, stack, "POST", path, 200, headers=callers.as_admin, json_body={"user_id": callers.client})

    assert error_code(request(http, stack, "POST", path, 404, headers=callers.as_other)) == "not_connected"
    assert error_code(request(http, stack, "POST", path, 403, headers=callers.as_client,
                              json_body={"user_id": callers.other})) == "forbidden"
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin,
                              json_body={})) == "missing_field"
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin,
                              json_body={"user_id": 7})) == "bad_field"
    assert error_code(request(http, stack, "POST", path, 415, headers=callers.as_admin,
                              data=b"x", content_type="text/plain")) == "unsupported_media_type"
    assert error_code(request(http, stack, "POST", path, 401,
                              headers=stack.auth(callers.admin, secret="not-the-secret"))) == "invalid_token"

    connect_retell(callers.other, REJECTED_KEY)
    retell_agent("agent_oa_other", assign_to=callers.other)
    assert error_code(request(http, stack, "POST", path, 422, headers=callers.as_admin,
                              json_body={"user_id": callers.other})) == "provider_rejected_key"
    # the daily run reports a user's failure inside its 200
    everyone = request(http, stack, "POST", path, 200, headers=callers.as_service)
    assert everyone.body["failed_users"] == 1 and len(everyone.body["errors"]) == 1
    fake.add_fault(path_prefix="/v3/list-calls", status=500, count=10)
    assert error_code(request(http, stack, "POST", path, 502, headers=callers.as_client)) == "provider_error"


def test_sync_highlevel_calls(callers, fake, http):
    stack = callers.stack
    path = "/sync-highlevel-calls"
    hl.connect(stack, fake, callers.client, LOC)
    fake.add_hl_agent(LOC, agent_id="hl_agent_oa")
    hl_agent(stack, "hl_agent_oa", assign_to=callers.client)
    fake.add_hl_call(LOC, fake.make_hl_call(LOC, "hl_agent_oa"))
    everyone = request(http, stack, "POST", path, 200, headers=callers.as_service)
    assert everyone.body["provider"] == "HighLevel" and everyone.body["calls_inserted"] == 1
    mine = request(http, stack, "POST", path, 200, headers=callers.as_client)
    assert mine.body["provider"] == "Provider A"
    hl.assert_no_provider_words(mine.r.text)

    assert error_code(request(http, stack, "POST", path, 404, headers=callers.as_other)) == "not_connected"
    assert error_code(request(http, stack, "POST", path, 403, headers=callers.as_other,
                              json_body={"user_id": callers.client})) == "forbidden"
    assert error_code(request(http, stack, "POST", path, 401)) == "unauthorized"
    hl.connect(stack, fake, callers.other, "loc_openapi_0002", access_token="hlat_revoked_by_now")
    hl_agent(stack, "hl_agent_oa_other", assign_to=callers.other, location_id="loc_openapi_0002")
    assert error_code(request(http, stack, "POST", path, 422, headers=callers.as_other)) \
        in ("provider_rejected_token", "reconnect_required")


def test_sync_all(callers, fake, connect_retell, retell_agent, http):
    stack = callers.stack
    path = "/sync-all"
    res = request(http, stack, "POST", path, 200, headers=callers.as_client)
    assert res.body["providers_synced"] == 1 and res.body["providers_failed"] == 0
    assert res.body["syncs"][0]["provider"] == "Provider B"
    hl.assert_no_provider_words(res.r.text)
    res = request(http, stack, "POST", path, 200, headers=callers.as_service)
    assert res.body["providers_synced"] == 2  # everyone: one summary per provider

    assert error_code(request(http, stack, "POST", path, 404, headers=callers.as_other)) == "not_connected"
    connect_retell(callers.other, REJECTED_KEY)
    retell_agent("agent_oa_other", assign_to=callers.other)
    assert error_code(request(http, stack, "POST", path, 422, headers=callers.as_other)) \
        == "provider_rejected_key"
    hl.connect(stack, fake, callers.other, LOC)
    hl_agent(stack, "hl_agent_oa_other", assign_to=callers.other)
    res = request(http, stack, "POST", path, 200, headers=callers.as_other)
    assert res.body["providers_synced"] == 1 and res.body["providers_failed"] == 1
    failure = res.body["syncs"][0]
    assert failure == {"provider": "Provider B", "error": "provider_rejected_key",
                       "message": failure["message"]}
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin)) == "missing_field"
    assert error_code(request(http, stack, "POST", path, 403, headers=callers.as_client,
                              json_body={"user_id": callers.other})) == "forbidden"
    assert error_code(request(http, stack, "POST", path, 415, headers=callers.as_client,
                              data=b"{}", content_type="text/json")) == "unsupported_media_type"
    assert error_code(request(http, stack, "POST", path, 401)) == "unauthorized"


def test_highlevel_oauth(callers, fake, http):
    stack = callers.stack
    path = "/highlevel-oauth"
    start = {"code_challenge": hl.CHALLENGE}
    started = request(http, stack, "POST", path, 200, headers=callers.as_client, json_body=start)
    state = started.body["state"]
    assert parse_qs(urlsplit(started.body["authorize_url"]).query)["state"] == [state]
    code = fake.hl_issue_code(LOC)
    pending = request(http, stack, "GET", path, 200, params={"code": code, "state": state})
    assert pending.body == {"pending": True, "state": state, "code": code}

    def finish(status, st, c, headers=callers.as_client, verifier=hl.VERIFIER):
        return request(http, stack, "POST", path, status, headers=headers,
                       json_body={"state": st, "code": c, "code_verifier": verifier})
    done = finish(200, state, code)
    assert done.body == {"connected": True, "user_id": callers.client, "location_id": LOC}
    assert error_code(finish(400, state, code)) == "invalid_state"

    def fresh_state():
        return request(http, stack, "POST", path, 200, headers=callers.as_admin,
                       json_body={"user_id": callers.other, **start}).body["state"]
    assert error_code(request(http, stack, "GET", path, 400,
                              params={"state": fresh_state(), "error": "access_denied"})) \
        == "authorization_denied"
    assert error_code(request(http, stack, "GET", path, 400, params={"state": fresh_state()})) \
        == "missing_field"
    assert error_code(request(http, stack, "GET", path, 400, params={"state": "x" * 200})) \
        == "invalid_state"
    admin = callers.as_admin
    assert error_code(finish(400, fresh_state(), "hlcode_never_issued", admin)) == "invalid_code"
    assert error_code(finish(400, fresh_state(), fake.hl_issue_code(""), admin)) == "location_required"
    assert error_code(finish(400, fresh_state(), code, admin, "w" * 43)) == "invalid_verifier"
    assert error_code(finish(403, fresh_state(), code)) == "state_mismatch"
    fake.add_fault(path_prefix="/oauth/token", status=500, count=10)
    assert error_code(finish(502, fresh_state(), fake.hl_issue_code(LOC), admin)) == "provider_error"

    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin,
                              json_body=start)) == "missing_field"
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_client)) == "missing_field"
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_client,
                              json_body={**start, "code_challenge_method": "plain"})) == "invalid_field"
    assert error_code(request(http, stack, "POST", path, 404, headers=callers.as_admin,
                              json_body={"user_id": RANDOM_USER, **start})) == "not_found"
    assert error_code(request(http, stack, "POST", path, 403, headers=callers.as_client,
                              json_body={"user_id": callers.other, **start})) == "forbidden"
    assert error_code(request(http, stack, "POST", path, 415, headers=callers.as_client,
                              data=b"x", content_type="text/plain")) == "unsupported_media_type"
    assert error_code(request(http, stack, "POST", path, 401)) == "unauthorized"


def test_fetch_available_agents(callers, fake, http):
    stack = callers.stack
    path = "/fetch-available-agents"
    hl.connect(stack, fake, callers.client, LOC)
    fake.add_hl_agent(LOC, agent_id="hl_agent_oa_1", name="Reception")
    fake.add_hl_agent(LOC, agent_id="hl_agent_oa_2", name="Billing")
    res = request(http, stack, "POST", path, 200, headers=callers.as_admin, json_body={"user_id": callers.client})
    assert [a["name"] for a in res.body["agents"]] == ["Billing", "Reception"]
    assert res.body["location_id"] == LOC
    res = request(http, stack, "GET", path, 200, headers=callers.as_service, params={"user_id": callers.client})
    assert len(res.body["agents"]) == 2

    assert error_code(request(http, stack, "POST", path, 404, headers=callers.as_admin,
                              json_body={"user_id": callers.other})) == "not_connected"
    assert error_code(request(http, stack, "GET", path, 400, headers=callers.as_admin)) == "missing_field"
    assert error_code(request(http, stack, "POST", path, 400, headers=callers.as_admin,
                              json_body={"user_id": "x"})) == "bad_field"
    assert error_code(request(http, stack, "POST", path, 415, headers=callers.as_admin,
                              data=b"x")) == "unsupported_media_type"
    for method in ("GET", "POST"):
        assert error_code(request(http, stack, method, path, 403, headers=callers.as_client,
                                  params={"user_id": callers.client}, json_body={})) == "forbidden"
        assert error_code(request(http, stack, method, path, 401)) == "unauthorized"
    hl.connect(stack, fake, callers.other, "loc_openapi_0002")
    stack.sql("UPDATE api_keys SET location_id = NULL WHERE user_id = %s", (callers.other,))
    assert error_code(request(http, stack, "POST", path, 409, headers=callers.as_admin,
                              json_body={"user_id": callers.other})) == "no_location"
    hl.connect(stack, fake, callers.other, "loc_openapi_0002", access_token="hlat_revoked_by_now")
    assert error_code(request(http, stack, "POST", path, 422, headers=callers.as_admin,
                              json_body={"user_id": callers.other})) == "provider_rejected_token"


def test_get_call_recording(callers, fake, http):
    stack = callers.stack
    path = "/get-call-recording"
    call = fake.add_retell_call(KEY, fake.make_retell_call("agent_oa_1"))
    call_id = str(stack.sql("""INSERT INTO calls (retell_call_id, source_platform, user_id, agent_id,
                                   recording_url, started_at)
                               VALUES (%s, 'retell', %s, %s, %s, now()) RETURNING id""",
                            (call["call_id"], callers.client, callers.agent, call["recording_url"]))[0]["id"])
    audio = fake.recording_bytes(call["call_id"])
    res = request(http, stack, "GET", path, 200, headers=callers.as_client, params={"call_id": call_id})
    assert res.body == audio
    res = request(http, stack, "GET", path, 206, headers={**callers.as_client, "Range": "bytes=0-99"},
                  params={"call_id": call_id})
    assert res.body == audio[:100]
    res = request(http, stack, "GET", path, 416, headers={**callers.as_client, "Range": "bytes=999999999-"},
                  params={"call_id": call_id})
    assert error_code(res) == "range_not_satisfiable"

    link = request(http, stack, "GET", path, 200, headers=callers.as_client,
                   params={"call_id": call_id, "link": "1"})
    played = http.get(f"http://127.0.0.1:{stack.port}{link.body['url']}")
    assert played.status_code == 200 and assert_matches(played, path, "get") == audio
    forged = link.body["url"][:-4] + ("0000" if not link.body["url"].endswith("0000") else "1111")
    r = http.get(f"http://127.0.0.1:{stack.port}{forged}")
    assert r.status_code == 401 and assert_matches(r, path, "get")["error"] == "bad_link"

    res = request(http, stack, "GET", path, 302, headers=callers.as_admin,
                  params={"call_id": call_id, "redirect": "1"})
    assert res.body == {"location": call["recording_url"]} == {"location": res.r.headers["Location"]}

    assert error_code(request(http, stack, "GET", path, 400, headers=callers.as_client)) == "missing_field"
    assert error_code(request(http, stack, "GET", path, 404, headers=callers.as_other,
                              params={"call_id": call_id})) == "not_found"
    assert error_code(request(http, stack, "GET", path, 404, headers=callers.as_client,
                              params={"call_id": "not-a-uuid"})) == "not_found"
    assert error_code(request(http, stack, "GET", path, 401, params={"call_id": call_id})) == "unauthorized"
    bare = str(stack.sql("""INSERT INTO calls (source_platform, user_id, agent_id, started_at)
                            VALUES ('retell', %s, %s, now()) RETURNING id""",
                         (callers.client, callers.agent))[0]["id"])
    assert error_code(request(http, stack, "GET", path, 404, headers=callers.as_client,
                              params={"call_id": bare})) == "no_recording"
    elsewhere = str(stack.sql("""INSERT INTO calls (retell_call_id, source_platform, user_id, agent_id,
                                     recording_url, started_at)
                                 VALUES ('call_elsewhere', 'retell', %s, %s,
                                     'https://storage.example.com/a.wav', now()) RETURNING id""",
                              (callers.client, callers.agent))[0]["id"])
    assert error_code(request(http, stack, "GET", path, 502, headers=callers.as_admin,
                              params={"call_id": elsewhere})) == "recording_host_not_allowed"


def seed_calls(stack, w):
    """Three calls of the client's Retell agent on two days, one HighLevel call of nobody's agent,
    and one call without an agent (admins see those two)."""
    base = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
    for i, (dur, cost, ok) in enumerate([(61, "1.2500", True), (None, None, None), (30, "0.5000", False)]):
        stack.sql("""INSERT INTO calls (source_platform, retell_call_id, user_id, agent_id, started_at,
                         ended_at, duration_seconds, cost, direction, call_type, call_status, sentiment,
                         call_successful, summary, from_number, to_number)
                     VALUES ('retell', %s, %s, %s, %s, %s, %s, %s, 'inbound', 'phone_call', 'ended',
                         'Positive', %s, 'booked a visit', '+15550001', '+15550002')""",
                  (f"call_seed_{i}", w.client, w.agent, base - timedelta(hours=20 * i),
                   base - timedelta(hours=20 * i) + timedelta(seconds=dur or 0), dur, cost, ok))
    hl_id = hl_agent(stack, "hl_agent_seed")
    stack.sql("""INSERT INTO calls (source_platform, highlevel_call_id, agent_id, started_at, duration_seconds)
                 VALUES ('highlevel', 'hl_seed_1', %s, %s, 45)""", (hl_id, base))
    stack.sql("INSERT INTO calls (source_platform, started_at) VALUES ('retell', %s)", (base,))


def test_list_calls(callers, http):
    stack = callers.stack
    path = "/list-calls"
    seed_calls(stack, callers)
    page = request(http, stack, "GET", path, 200, headers=callers.as_client, params={"limit": 2})
    assert len(page.body["calls"]) == 2 and page.body["next"]
    assert all(c["provider"] == "Provider B" and "source_platform" not in c for c in page.body["calls"])
    rest = request(http, stack, "GET", path, 200, headers=callers.as_client,
                   params={"limit": 2, "cursor": page.body["next"]})
    assert len(rest.body["calls"]) == 1 and rest.body["next"] is None
    hl.assert_no_provider_words(page.r.text + rest.r.text)
    admin = request(http, stack, "GET", path, 200, headers=callers.as_admin)
    assert len(admin.body["calls"]) == 5
    assert {c["provider"] for c in admin.body["calls"]} == {"Retell", "HighLevel"}
    assert any(c["agent"] is None for c in admin.body["calls"])
    request(http, stack, "GET", path, 200, headers=callers.as_service,
            params={"user_id": callers.client, "source_platform": "retell", "direction": "inbound",
                    "call_type": "phone_call", "status": "ended", "q": "visit",
                    "from": "2024-02-01", "to": "2024-04-01T00:00:00Z", "agent_id": callers.agent})

    for params in ({"limit": 0}, {"limit": 201}, {"from": "yesterday"}, {"source_platform": "vapi"},
                   {"cursor": "bm9wZQ"}, {"status": "Ended!"}, {"from": "2024-03-02", "to": "2024-03-01"},
                   {"agent_id": "x"}):
        assert error_code(request(http, stack, "GET", path, 400, headers=callers.as_client,
                                  params=params)) == "bad_parameter", params
    assert error_code(request(http, stack, "GET", path, 404, headers=callers.as_client,
                              params={"user_id": callers.other})) == "not_found"
    assert error_code(request(http, stack, "GET", path, 401)) == "unauthorized"


def test_call_stats(callers, http):
    stack = callers.stack
    path = "/call-stats"
    seed_calls(stack, callers)
    mine = request(http, stack, "GET", path, 200, headers=callers.as_client)
    assert mine.body["totals"]["calls"] == 3 and list(mine.body["by_platform"]) == ["Provider B"]
    assert [d["date"] for d in mine.body["by_day"]] == ["2024-02-28", "2024-02-29", "2024-03-01"]
    hl.assert_no_provider_words(mine.r.text)
    admin = request(http, stack, "GET", path, 200, headers=callers.as_admin)
    assert set(admin.body["by_platform"]) == {"Retell", "HighLevel"}
    empty = request(http, stack, "GET", path, 200, headers=callers.as_service, params={"user_id": callers.other})
    assert empty.body["totals"]["calls"] == 0 and empty.body["by_day"] == []
    assert empty.body["totals"]["average_duration_seconds"] is None

    assert error_code(request(http, stack, "GET", path, 400, headers=callers.as_client,
                              params={"to": "soon"})) == "bad_parameter"
    assert error_code(request(http, stack, "GET", path, 404, headers=callers.as_client,
                              params={"user_id": callers.other})) == "not_found"
    assert error_code(request(http, stack, "GET", path, 401)) == "unauthorized"


def test_every_database_backed_operation_answers_a_documented_503_while_postgres_is_down(
        callers, http):
    """One request per operation that reaches the database, with a caller that gets there."""
    stack = callers.stack
    service = callers.as_service
    delivery = retell.delivery("call_started", retell.started(
        callers.fake.make_retell_call("agent_oa_1", call_id="call_db_down")))
    signed = {"x-retell-signature": retell.sign(delivery, KEY), "Content-Type": "application/json"}
    cases = [
        ("GET", "/health", {}),
        ("POST", "/retell-webhook", {"headers": signed, "data": delivery}),
        ("POST", "/retell-webhook/{user_id}", {"headers": signed, "data": delivery, "user_id": callers.client}),
        ("POST", "/retell-connection", {"json_body": {"user_id": callers.client, "api_key": KEY}}),
        ("GET", "/retell-connection", {"params": {"user_id": callers.client}}),
        ("DELETE", "/retell-connection", {"params": {"user_id": callers.client}}),
        ("POST", "/fetch-retell-agents", {"json_body": {"user_id": callers.client}}),
        ("POST", "/assign-agents", {"json_body": {"user_id": callers.client, "source_platform": "retell",
                                                  "agent_ids": [callers.agent]}}),
        ("DELETE", "/assign-agents", {"json_body": {"user_id": callers.client, "agent_ids": [callers.agent]}}),
        ("GET", "/assign-agents", {"params": {"user_id": callers.client}}),
        ("POST", "/sync-retell-calls", {}),
        ("POST", "/sync-highlevel-calls", {}),
        ("POST", "/sync-all", {}),
        ("POST", "/highlevel-oauth", {"json_body": {"user_id": callers.client,
                                                    "code_challenge": hl.CHALLENGE}}),
        ("GET", "/highlevel-oauth", {"params": {"state": "s" * 43, "code": "c"}}),
        ("POST", "/fetch-available-agents", {"json_body": {"user_id": callers.client}}),
        ("GET", "/fetch-available-agents", {"params": {"user_id": callers.client}}),
        ("GET", "/get-call-recording", {"params": {"call_id": RANDOM_USER}}),
        ("GET", "/list-calls", {}),
        ("GET", "/call-stats", {}),
        ("GET", "/get-call", {"params": {"id": RANDOM_USER}}),
        ("GET", "/connections", {"params": {"user_id": callers.client}}),
        ("DELETE", "/connections", {"params": {"provider": "highlevel", "user_id": callers.client}}),
    ]
    assert {(p, m.lower()) for m, p, _ in cases} == set(openapi.operations())
    stack.pg_stop()
    try:
        for method, path, kw in cases:
            kw = dict(kw)
            headers = kw.pop("headers", service)
            res = request(http, stack, method, path, 503, headers=headers, **kw)
            assert error_code(res) == "db_unavailable", (method, path, res.body)
    finally:
        stack.pg_start()
    assert wait_until(lambda: http.get(stack.url("health")).status_code == 200, timeout=15)
