"""Hostile inputs against every function that takes input (issue 10), over the real stack.

Every case must give a clear 4xx JSON error ({"error", "message"}), or a correct 2xx where the
input is legitimately fine (a search for an odd string finds nothing; a signed delivery whose
call id is odd text is stored verbatim), must write nothing (a fingerprint of every table,
row count and content, before and after; a legitimate 2xx may write only its own tables),
and must not put a header of its own into the answer. At the end the stack still serves:
no worker of any function was restarted (a crash makes multiwatch fork a new one), health
answers, and no sanitizer report appeared in the stack's log directory.

What is tried (the case ids name the function, method, caller, field and value):
  text values   (TEXT_VALUES) in every text field of every JSON body and in every query
                parameter: four SQL injection strings, NUL (\\u0000 escaped and raw in JSON,
                %00 in a query), invalid UTF-8 (raw in JSON, %FF%FE in a query), CR LF and a
                header line, 1,000 quotes, and legitimate Unicode
  path          the webhook's /retell-webhook/{user_id} with the same values
  numbers       (NUMBER_CASES) 1e400, 2^64 + 1, 30-digit integers, negative and fractional
                numbers in numeric and non-numeric fields; negative durations; timestamps in
                the far future (year 5138, INT64_MAX) and before 1970; end before start;
                page sizes outside 1..200; playback-link expiries that overflow
  duplicates    (DUPLICATE_CASES) duplicated JSON keys: the answer is what a JSON.parse-style
                reader (last key wins) makes of the body, or 400, never a mix
  not objects   (NOT_OBJECTS) null, [], a string, a number, true to every JSON-taking function: 400
  content types (CONTENT_TYPES) every JSON-taking function with text/plain, form, multipart,
                XML, application/jsonx, application/json-patch+json, text/json, none: 415
  sizes         a 10 MB body to every function (nginx's JSON 413), and a body just over the
                function's own limit where that is below nginx's (the handler's JSON 413)
  depth         10,000-deep JSON to every JSON-taking function, and the deepest that fits its
                body limit: 400 bad_json (or 413 when 10,000 levels do not fit)
  headers       a client's X-Request-Id is not echoed; CR / LF / folded header lines; hostile
                Range and If-Range on the recording proxy (only a valid range reaches the
                provider); a recording URL stored with CR LF and a header in it (from a signed
                delivery) served and redirected; a call id that would forge a log line
  nginx         nginx's own refusals (malformed request line or header, 414, 405 for TRACE,
                a negative or doubled Content-Length) are JSON like its 413/502/504
"""
import hashlib
import hmac
import itertools
import json
import re
import socket
import time
from urllib.parse import quote

import pytest

from testenv import highlevel as hl
from testenv import retell
from testenv.stack import ROOT, b64url, wait_until
from testenv.tenants import AGENT_A, KEY_A, changed, fingerprint, tables

FUNCTIONS = sorted(p.stem for p in (ROOT / "handlers").glob("*.c"))
MARK = "@@HOSTILE@@"
SEARCH_INDEX = {"public.call_transcript_pending", "public.call_transcript_search"}
WEBHOOK_WRITES = {"public.calls", "public.webhook_inbox", "public.key_usage_audit"}
_seq = itertools.count(1)


@pytest.fixture(scope="module")
def watched_tenants(two_tenants, stack, http_module):
    """two_tenants, with what a hostile request must leave as it was: the tables, the workers,
    the sanitizer reports; and a playback link of A's call."""
    w = two_tenants
    # the transcript search tables are the webhook's indexer thread's, which empties the pending
    # one on its own time (up to SEARCH_INTERVAL_MS after a delivery): derived from calls, which
    # is watched
    w.tables = [t for t in tables(stack) if t not in SEARCH_INDEX]
    w.pids = {fn: stack.worker_pids(fn) for fn in FUNCTIONS}
    w.reports_before = [str(p) for p in stack.sanitizer_reports()]
    r = http_module.get(stack.url("get-call-recording"), params={"call_id": w.call_a, "link": "1"},
                        headers=stack.auth(w.a))
    assert r.status_code == 200, r.text
    w.link = dict(p.split("=", 1) for p in r.json()["url"].split("?", 1)[1].split("&"))
    return w


@pytest.fixture(scope="module")
def http_module():
    import requests
    with requests.Session() as s:
        yield s


def auth(w, caller):
    return {"admin": lambda: w.stack.auth(w.admin), "client": lambda: w.stack.auth(w.a),
            "other": lambda: w.stack.auth(w.b), "none": dict}[caller]()


def new_state(w):
    """A fresh, unspent OAuth state for A (as highlevel-oauth POST stores one)."""
    state = f"hostile-state-{next(_seq):06d}-{int(time.time() * 1000)}"
    w.stack.sql("""INSERT INTO oauth_states (state, provider, user_id, created_by, expires_at,
                                             code_challenge)
                   VALUES (%s, 'highlevel', %s, %s, now() + interval '10 minutes', %s)""",
                (state, w.a, w.admin, hl.CHALLENGE))
    return state


def webhook_base(w):
    call = w.fake.make_retell_call(AGENT_A, call_id=f"hostile_call_{next(_seq):06d}")
    return {"event": "call_ended", "call": call}


# --------------------------------------------------------------------------- sending and judging


def set_path(doc, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        doc = doc[int(k)] if isinstance(doc, list) else doc[k]
    last = keys[-1]
    if isinstance(doc, list):
        doc[int(last)] = value
    else:
        doc[last] = value


def post_raw(w, http, fn, method, caller, raw, sub="", content_type="application/json", extra=None):
    headers = {**auth(w, caller), **(extra or {})}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if fn == "retell-webhook":
        headers["x-retell-signature"] = retell.sign(raw, KEY_A)
    return http.request(method, w.stack.url(fn, sub), data=raw, headers=headers, timeout=60,
                        allow_redirects=False)


def send_body(w, http, fn, method, caller, base, field, value_bytes):
    doc = base(w)
    set_path(doc, field, MARK)
    raw = json.dumps(doc).encode()
    assert raw.count(json.dumps(MARK).encode()) == 1
    raw = raw.replace(json.dumps(MARK).encode(), value_bytes)
    return post_raw(w, http, fn, method, caller, raw), raw


def send_query(w, http, fn, method, caller, base, field, value_text, sub=""):
    params = {k: quote(str(v), safe="") for k, v in base(w).items()}
    params[field] = value_text
    url = w.stack.url(fn, sub) + "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return http.request(method, url, headers=auth(w, caller), timeout=60, allow_redirects=False)


def assert_clean_answer(r, where):
    assert r.status_code < 500, f"{where}: {r.status_code} {r.text[:300]}"
    names = {k.lower() for k in r.headers}
    assert "x-evil" not in names and "set-cookie" not in names, (where, dict(r.headers))
    if r.status_code >= 400:
        assert r.headers.get("Content-Type", "").startswith("application/json"), (where, r.text[:200])
        body = r.json()
        assert set(body) == {"error", "message"} and body["error"] and body["message"], (where, body)


def run_case(w, http, where, send, ok_2xx=None, writes=frozenset()):
    """Sends, then: a clean answer; 4xx writes nothing; a 2xx is allowed only when ok_2xx
    judges it correct, and may write only `writes`."""
    before = fingerprint(w.stack, w.tables)
    r = send()
    after = fingerprint(w.stack, w.tables)
    assert_clean_answer(r, where)
    if r.status_code < 400:
        assert ok_2xx is not None, f"{where}: accepted ({r.status_code}) {r.text[:300]}"
        ok_2xx(r)
        assert set(changed(before, after)) <= set(writes), (where, changed(before, after))
    else:
        assert changed(before, after) == [], (where, r.status_code, changed(before, after))
    return r


# --------------------------------------------------------------------------- text values

SQLI = ("' OR '1'='1", "'; DROP TABLE calls; --", "1) OR (1=1",
        "' UNION SELECT access_token FROM api_keys --")
# (label, as a JSON value in a body (or None), as query text (or None))
TEXT_VALUES = [(f"sqli{i}", json.dumps(v).encode(), quote(v, safe="")) for i, v in enumerate(SQLI)] + [
    ("nul_escaped", b'"a\\u0000b"', None),
    ("nul_raw", b'"a\x00b"', None),
    ("nul_pct", None, "a%00b"),
    ("invalid_utf8", b'"a\xff\xfeb"', "a%FF%FEb"),
    ("crlf_header", b'"a\\r\\nX-Evil: 1"', "a%0D%0AX-Evil%3A%201"),
    ("quotes_1000", json.dumps("'" * 1000).encode(), "%27" * 1000),
    ("unicode", json.dumps("Zoë — 電話 🎧").encode(), quote("Zoë — 電話 🎧", safe="")),
]
NUL_LABELS = ("nul_escaped", "nul_raw", "nul_pct", "invalid_utf8")

user_a = lambda w: {"user_id": w.a}  # noqa: E731
oauth_start = lambda w: {"user_id": w.a, "code_challenge": hl.CHALLENGE}  # noqa: E731
oauth_finish = lambda w: {"state": new_state(w), "code": "hlcode_x",  # noqa: E731
                          "code_verifier": hl.VERIFIER}

# (function, method, caller, base body, fields, kind)
#   strict: every hostile value is 4xx        free: a signed delivery's text, stored verbatim
BODY_FIELDS = [
    ("retell-connection", "POST", "admin", lambda w: {"user_id": w.a, "api_key": KEY_A},
     ["user_id", "api_key"], "strict"),
    ("fetch-retell-agents", "POST", "admin", user_a, ["user_id"], "strict"),
    ("fetch-retell-agents", "POST", "admin", lambda w: {"api_key": KEY_A}, ["api_key"], "strict"),
    ("fetch-retell-agents", "POST", "client", user_a, ["user_id"], "strict"),
    ("assign-agents", "POST", "admin",
     lambda w: {"user_id": w.a, "source_platform": "retell", "agent_ids": [w.agent_a]},
     ["user_id", "source_platform", "agent_ids.0"], "strict"),
    ("assign-agents", "DELETE", "admin", lambda w: {"user_id": w.a, "agent_ids": [w.agent_a]},
     ["user_id", "agent_ids.0"], "strict"),
    ("highlevel-oauth", "POST", "admin", oauth_start, ["user_id", "code_challenge"], "strict"),
    ("highlevel-oauth", "POST", "client", oauth_start, ["user_id", "code_challenge"], "strict"),
    ("highlevel-oauth", "POST", "admin", oauth_finish, ["state", "code", "code_verifier"],
     "strict"),
    ("fetch-available-agents", "POST", "admin", user_a, ["user_id"], "strict"),
    ("sync-retell-calls", "POST", "admin", user_a, ["user_id"], "strict"),
    ("sync-retell-calls", "POST", "client", user_a, ["user_id"], "strict"),
    ("sync-highlevel-calls", "POST", "admin", user_a, ["user_id"], "strict"),
    ("sync-highlevel-calls", "POST", "client", user_a, ["user_id"], "strict"),
    ("sync-all", "POST", "admin", user_a, ["user_id"], "strict"),
    ("sync-all", "POST", "client", user_a, ["user_id"], "strict"),
    ("retell-webhook", "POST", "none", webhook_base,
     ["event", "call.call_id", "call.agent_id", "call.transcript", "call.from_number",
      "call.disconnection_reason"], "free"),
]

LIST_PARAMS = ["user_id", "source_platform", "agent_id", "from", "to", "status", "direction",
               "call_type", "q", "limit", "cursor"]
STATS_PARAMS = [p for p in LIST_PARAMS if p not in ("limit", "cursor")]
# (function, method, caller, base query, fields, kind)
#   search: 2xx allowed with no match    flag: 2xx allowed (only "1" turns it on)
#   ignored: always 200                  link: a valid playback link made hostile: 401
#   pending: 2xx allowed when the callback only hands the code back (nothing is exchanged)
QUERY_FIELDS = [
    ("retell-connection", "GET", "admin", user_a, ["user_id"], "strict"),
    ("retell-connection", "DELETE", "admin", user_a, ["user_id"], "strict"),
    ("assign-agents", "GET", "admin", user_a, ["user_id"], "strict"),
    ("fetch-available-agents", "GET", "admin", user_a, ["user_id"], "strict"),
    ("highlevel-oauth", "GET", "none", lambda w: {"state": "hostile-unknown-state", "code": "hlcode_x"},
     ["state"], "strict"),
    ("highlevel-oauth", "GET", "none", lambda w: {"state": new_state(w), "code": "hlcode_x"},
     ["error"], "strict"),
    ("highlevel-oauth", "GET", "none", lambda w: {"state": new_state(w), "code": "hlcode_x"},
     ["code"], "pending"),
    ("get-call-recording", "GET", "admin", lambda w: {"call_id": w.call_a}, ["call_id"], "strict"),
    ("get-call-recording", "GET", "client", lambda w: {"call_id": w.call_a}, ["call_id"], "strict"),
    ("get-call-recording", "GET", "admin", lambda w: {"call_id": w.call_a}, ["redirect", "link"], "flag"),
    ("get-call-recording", "GET", "client", lambda w: {"call_id": w.call_a}, ["redirect", "link"], "flag"),
    ("get-call-recording", "GET", "none", lambda w: dict(w.link),
     ["call_id", "viewer", "kind", "expires", "sig"], "link"),
    ("health", "GET", "none", lambda w: {}, ["x"], "ignored"),
]
for _caller in ("admin", "client"):
    for _fn, _params in (("list-calls", LIST_PARAMS), ("call-stats", STATS_PARAMS)):
        QUERY_FIELDS.append((_fn, "GET", _caller, lambda w: {}, [p for p in _params if p != "q"], "strict"))
        QUERY_FIELDS.append((_fn, "GET", _caller, lambda w: {}, ["q"], "search"))


def text_cases():
    cases = []
    for fn, method, caller, base, fields, kind in BODY_FIELDS:
        for f in fields:
            for label, as_json, _ in TEXT_VALUES:
                if as_json is not None:
                    cases.append(pytest.param("body", fn, method, caller, base, f, kind, label, as_json,
                                              id=f"{fn}|{method}|{caller}|body.{f}|{label}"))
    for fn, method, caller, base, fields, kind in QUERY_FIELDS:
        for f in fields:
            for label, _, as_query in TEXT_VALUES:
                if as_query is None:
                    continue
                cases.append(pytest.param("query", fn, method, caller, base, f, kind, label, as_query,
                                          id=f"{fn}|{method}|{caller}|query.{f}|{label}"))
    return cases


def judge_text(w, fn, method, caller, field, kind, label, value, raw):
    """ok_2xx for a text case, or None when only a 4xx is right."""
    if label in NUL_LABELS and kind != "flag" and kind != "ignored":
        return None     # NUL and invalid UTF-8 can be neither stored nor matched
    if kind == "search":
        def ok(r):
            data = r.json()
            if fn == "list-calls":
                assert data["calls"] == [], data
            else:
                assert data["totals"]["calls"] == 0, data
        return ok
    if kind == "flag":
        def ok(r):
            assert r.status_code == 200 and r.content == w.fake.recording_bytes(w.retell_call_a)
        return ok
    if kind == "pending":
        def ok(r):
            assert r.json()["pending"] is True and r.json()["code"] != "hlcode_x", r.text
        return ok
    if kind == "ignored":
        def ok(r):
            assert r.status_code == 200 and r.json()["status"] == "ok"
        return ok
    if kind == "free":
        sent = json.loads(raw)
        call_id = sent["call"]["call_id"]

        def ok(r):
            out = r.json()
            text = json.loads(value)
            if field == "event":
                assert out["outcome"] == "ignored", out
                return
            if field == "call.agent_id":
                assert out["outcome"] == "unassigned", out
                rows = w.stack.sql("SELECT provider_agent_id FROM webhook_inbox WHERE body = %s",
                                   (raw.decode(),))
                assert [x["provider_agent_id"] for x in rows] == [text]
                return
            rows = w.stack.sql("SELECT * FROM calls WHERE retell_call_id = %s", (call_id,))
            assert len(rows) == 1, rows
            column = {"call.call_id": "retell_call_id", "call.transcript": "transcript",
                      "call.from_number": "from_number",
                      "call.disconnection_reason": "disconnection_reason"}[field]
            assert rows[0][column] == text, (column, rows[0][column])
        return ok
    return None


@pytest.mark.parametrize("where,fn,method,caller,base,field,kind,label,value", text_cases())
def test_hostile_text(watched_tenants, http_module, where, fn, method, caller, base, field, kind, label, value):
    w, http = watched_tenants, http_module
    w.restore()
    sent = {}

    def send():
        if where == "body":
            r, sent["raw"] = send_body(w, http, fn, method, caller, base, field, value)
        else:
            r = send_query(w, http, fn, method, caller, base, field, value)
        return r

    # the body is built inside send(); judge it afterwards with what was sent
    before = fingerprint(w.stack, w.tables)
    r = send()
    after = fingerprint(w.stack, w.tables)
    name = f"{fn} {method} {caller} {where}.{field}={label}"
    assert_clean_answer(r, name)
    ok = judge_text(w, fn, method, caller, field, kind, label, value, sent.get("raw"))
    writes = WEBHOOK_WRITES if fn == "retell-webhook" else set()
    if fn == "highlevel-oauth":
        writes = {"public.oauth_states"}     # new_state() and spending it
    if r.status_code < 400:
        assert ok is not None, f"{name}: accepted ({r.status_code}) {r.text[:300]}"
        ok(r)
        assert set(changed(before, after)) <= writes, (name, changed(before, after))
    else:
        assert set(changed(before, after)) <= (writes & {"public.oauth_states"}), \
            (name, r.status_code, changed(before, after))
        if fn == "highlevel-oauth":
            assert w.stack.sql("SELECT count(*) AS n FROM api_keys WHERE service = 'highlevel'"
                               " AND user_id = %s", (w.a,))[0]["n"] == 1


# nginx decodes the path itself: %00 there is its own 400, made JSON by callbridge.conf
WEBHOOK_PATHS = [pytest.param(label, q, id=label) for label, _, q in TEXT_VALUES if q is not None]


@pytest.mark.parametrize("label,value", WEBHOOK_PATHS)
def test_hostile_webhook_path(watched_tenants, http_module, label, value):
    w = watched_tenants
    raw = json.dumps(webhook_base(w)).encode()

    def send():
        url = w.stack.url("retell-webhook", "/" + value)
        return http_module.post(url, data=raw, timeout=60, headers={
            "Content-Type": "application/json", "x-retell-signature": retell.sign(raw, KEY_A)})
    r = run_case(w, http_module, f"retell-webhook /{label}", send)
    assert r.status_code in (400, 404), r.text


# --------------------------------------------------------------------------- numbers and times


def sane_call(w, call_id):
    def ok(r):
        rows = w.stack.sql("""SELECT duration_seconds, started_at, ended_at FROM calls
                              WHERE retell_call_id = %s""", (call_id,))
        assert len(rows) == 1
        row = rows[0]
        assert row["duration_seconds"] is None or row["duration_seconds"] >= 0, row
        for t in (row["started_at"], row["ended_at"]):
            assert t is None or 2000 <= t.year <= time.gmtime().tm_year + 1, row
        if row["started_at"] and row["ended_at"]:
            assert row["ended_at"] >= row["started_at"], row
    return ok


def webhook_numbers(overrides, drop=()):
    """A signed delivery whose call has these raw JSON number texts."""
    def build(w):
        call = webhook_base(w)
        for k in drop:
            call["call"].pop(k, None)
        for k in overrides:
            call["call"][k] = MARK + k
        raw = json.dumps(call)
        for k, text in overrides.items():
            raw = raw.replace(json.dumps(MARK + k), text)
        return raw.encode(), call["call"]["call_id"]
    return build


now_s = int(time.time())
NOW_MS = now_s * 1000
# (id, function, method, caller, raw body builder or query builder, ok_2xx builder or None)
NUMBER_CASES = [
    ("retell-connection test_only=1e400", "retell-connection", "POST", "admin",
     lambda w: f'{{"api_key":"{KEY_A}","test_only":1e400}}', None),
    ("retell-connection test_only=2^64+1", "retell-connection", "POST", "admin",
     lambda w: f'{{"api_key":"{KEY_A}","test_only":18446744073709551617}}', None),
    ("retell-connection user_id=1e400", "retell-connection", "POST", "admin",
     lambda w: f'{{"user_id":1e400,"api_key":"{KEY_A}"}}', None),
    ("retell-connection user_id=30 digits", "retell-connection", "POST", "admin",
     lambda w: f'{{"user_id":123456789012345678901234567890,"api_key":"{KEY_A}"}}', None),
    ("retell-connection api_key=-1", "retell-connection", "POST", "admin",
     lambda w: f'{{"user_id":"{w.a}","api_key":-1}}', None),
    ("assign-agents agent_ids=[1e400]", "assign-agents", "POST", "admin",
     lambda w: f'{{"user_id":"{w.a}","source_platform":"retell","agent_ids":[1e400]}}', None),
    ("assign-agents agent_ids=[-1]", "assign-agents", "POST", "admin",
     lambda w: f'{{"user_id":"{w.a}","source_platform":"retell","agent_ids":[-1]}}', None),
    ("assign-agents agent_ids=2^64+1", "assign-agents", "POST", "admin",
     lambda w: f'{{"user_id":"{w.a}","source_platform":"retell","agent_ids":18446744073709551617}}', None),
    ("assign-agents 501 agent_ids", "assign-agents", "POST", "admin",
     lambda w: json.dumps({"user_id": w.a, "source_platform": "retell", "agent_ids": [w.agent_a] * 501}), None),
    ("sync-all user_id=1e400", "sync-all", "POST", "client", lambda w: '{"user_id":1e400}', None),
    ("sync-retell-calls user_id=-0.0", "sync-retell-calls", "POST", "client", lambda w: '{"user_id":-0.0}', None),
    ("highlevel-oauth user_id=1e999", "highlevel-oauth", "POST", "admin", lambda w: '{"user_id":1e999}', None),
    ("fetch-available-agents user_id=2^63", "fetch-available-agents", "POST", "admin",
     lambda w: '{"user_id":9223372036854775808}', None),
    ("fetch-retell-agents user_id=true", "fetch-retell-agents", "POST", "admin",
     lambda w: '{"user_id":true}', None),
]
WEBHOOK_NUMBER_CASES = [
    # negative durations
    ("duration_ms=-5", {"duration_ms": "-5"}, (), False),
    ("duration_ms=-1e400", {"duration_ms": "-1e400"}, (), False),
    pytest.param("end before start", {"start_timestamp": str(NOW_MS - 60_000),
                                      "end_timestamp": str(NOW_MS - 120_000)}, ("duration_ms",), True,
                 id="end before start"),
    # huge numbers
    ("duration_ms=1e400", {"duration_ms": "1e400"}, (), False),
    ("duration_ms=2^64+1", {"duration_ms": "18446744073709551617"}, (), False),
    ("duration_ms=1.5e308", {"duration_ms": "1.5e308"}, (), False),
    ("duration_ms=INT64_MAX", {"duration_ms": "9223372036854775807"}, (), False),
    # timestamps in the far future, and before 1970
    ("start in year 5138", {"start_timestamp": "99999999999999"}, (), False),
    ("start=INT64_MAX", {"start_timestamp": "9223372036854775807"}, (), False),
    ("end=INT64_MAX", {"end_timestamp": "9223372036854775807"}, (), False),
    ("start=1e400", {"start_timestamp": "1e400"}, (), False),
    ("start=-1", {"start_timestamp": "-1", "end_timestamp": "59999"}, (), True),
    ("start=-INT64_MAX", {"start_timestamp": "-9223372036854775807"}, (), False),
]


@pytest.mark.parametrize("name,fn,method,caller,build,ok", NUMBER_CASES, ids=[c[0] for c in NUMBER_CASES])
def test_hostile_numbers(watched_tenants, http_module, name, fn, method, caller, build, ok):
    w = watched_tenants
    w.restore()
    run_case(w, http_module, name,
             lambda: post_raw(w, http_module, fn, method, caller, build(w).encode()), ok)


@pytest.mark.parametrize("name,overrides,drop,may_store",
                         [c if hasattr(c, "marks") else pytest.param(*c, id=c[0]) for c in WEBHOOK_NUMBER_CASES])
def test_hostile_numbers_in_deliveries(watched_tenants, http_module, name, overrides, drop, may_store):
    """Out-of-range numbers are refused; a delivery that is merely odd (end before start,
    a start before 1970) is refused or stored sanely: no negative duration, no year 1969."""
    w = watched_tenants
    raw, call_id = webhook_numbers(overrides, drop)(w)
    run_case(w, http_module, f"retell-webhook {name}",
             lambda: post_raw(w, http_module, "retell-webhook", "POST", "none", raw),
             sane_call(w, call_id) if may_store else None, WEBHOOK_WRITES)


QUERY_NUMBER_CASES = [
    # (function, caller, params, expected: "4xx" | "empty" | "all")
    ("list-calls", "client", {"limit": "1e400"}, "4xx"),
    ("list-calls", "client", {"limit": "18446744073709551617"}, "4xx"),
    ("list-calls", "client", {"limit": "-1"}, "4xx"),
    ("list-calls", "client", {"limit": "0"}, "4xx"),
    ("list-calls", "client", {"limit": "201"}, "4xx"),
    ("list-calls", "client", {"limit": "0x10"}, "4xx"),
    ("list-calls", "client", {"limit": "5.0"}, "4xx"),
    ("list-calls", "admin", {"from": "9999-12-31T23:59:59Z"}, "empty"),
    ("list-calls", "client", {"to": "9999-12-31T23:59:59Z"}, "all"),
    ("list-calls", "admin", {"from": "+275760-09-13"}, "4xx"),
    ("list-calls", "admin", {"from": "99999-01-01"}, "4xx"),
    ("list-calls", "admin", {"from": "1e400"}, "4xx"),
    ("list-calls", "admin", {"from": "-1"}, "4xx"),
    ("list-calls", "admin", {"to": "2024-01-01T00:00:00+99:99"}, "4xx"),
    ("list-calls", "admin", {"from": "2024-01-01T25:61:61Z"}, "4xx"),
    ("call-stats", "client", {"from": "9999-12-31"}, "empty"),
    ("call-stats", "client", {"from": "2024-05-01", "to": "2024-04-01"}, "4xx"),
    ("call-stats", "admin", {"to": "99999999999999999999"}, "4xx"),
]


@pytest.mark.parametrize("fn,caller,params,expected", QUERY_NUMBER_CASES,
                         ids=[f"{c[0]}|{c[1]}|{c[2]}" for c in QUERY_NUMBER_CASES])
def test_hostile_numbers_in_queries(watched_tenants, http_module, fn, caller, params, expected):
    w = watched_tenants
    w.restore()

    def ok(r):
        assert expected != "4xx", r.text
        data = r.json()
        count = len(data["calls"]) if fn == "list-calls" else data["totals"]["calls"]
        if expected == "empty":
            assert count == 0, data
        else:
            assert count == 1, data     # A's one call
    run_case(w, http_module, f"{fn} {params}",
             lambda: http_module.get(w.stack.url(fn), params=params, headers=auth(w, caller)), ok)


@pytest.mark.parametrize("expires", ["1e400", "99999999999999999999999", "-1", "-99999999999999999999",
                                     "0x7fffffff", ""])
def test_hostile_link_expiry(watched_tenants, http_module, expires):
    w = watched_tenants
    params = {**w.link, "expires": expires}
    r = run_case(w, http_module, f"link expires={expires}",
                 lambda: http_module.get(w.stack.url("get-call-recording"), params=params))
    assert r.status_code == 401 and r.json()["error"] == "bad_link"


def raw_token(secret, payload, header=b'{"alg":"HS256","typ":"JWT"}'):
    """A token over raw JSON texts, signed with the project's secret."""
    head, body = b64url(header), b64url(payload)
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def claims(**over):
    base = {"role": "authenticated", "aud": "authenticated", "iat": now_s, "exp": now_s + 600}
    base.update(over)
    return base


# (id, Authorization header value builder(w), expected status)
TOKEN_CASES = [
    ("garbage", lambda w: "Bearer !!!.???.***", 401),
    ("three dots", lambda w: "Bearer a.b.c.d", 401),
    ("7 KB token", lambda w: "Bearer " + "a" * 3500 + "." + "b" * 3500 + ".c", 401),
    ("only spaces", lambda w: "Bearer      ", 401),
    ("basic scheme", lambda w: "Basic " + w.stack.token(w.a), 401),
    ("token twice", lambda w: f"Bearer {w.stack.token(w.a)} {w.stack.token(w.admin)}", 401),
    ("invalid utf-8 claims", lambda w: "Bearer " + raw_token(w.stack.jwt_secret, b'{"sub":"\xff\xfe"}'), 401),
    ("1,500-deep header", lambda w: "Bearer " + raw_token(
        w.stack.jwt_secret, json.dumps(claims(sub=w.a)).encode(), b'{"alg":"HS256","x":' + b"[" * 1500
        + b"]" * 1500 + b"}"), 401),
    ("exp=1e400", lambda w: "Bearer " + raw_token(
        w.stack.jwt_secret, json.dumps(claims(sub=w.a)).encode().replace(b'"exp": ' + str(now_s + 600).encode(),
                                                                          b'"exp": 1e400')), 401),
    ("exp=2^64+1", lambda w: "Bearer " + raw_token(
        w.stack.jwt_secret, json.dumps(claims(sub=w.a)).encode().replace(b'"exp": ' + str(now_s + 600).encode(),
                                                                          b'"exp": 18446744073709551617')), 401),
    ("exp as a string", lambda w: "Bearer " + raw_token(
        w.stack.jwt_secret, json.dumps(claims(sub=w.a, exp=str(now_s + 600))).encode()), 401),
    ("exp=-1", lambda w: "Bearer " + raw_token(w.stack.jwt_secret, json.dumps(claims(sub=w.a, exp=-1)).encode()), 401),
    ("no exp", lambda w: "Bearer " + raw_token(
        w.stack.jwt_secret, json.dumps({k: v for k, v in claims(sub=w.a).items() if k != "exp"}).encode()), 401),
    ("nbf in year 5138", lambda w: "Bearer " + raw_token(
        w.stack.jwt_secret, json.dumps(claims(sub=w.a, nbf=99999999999)).encode()), 401),
    ("sub is SQL", lambda w: "Bearer " + raw_token(
        w.stack.jwt_secret, json.dumps(claims(sub="' OR '1'='1")).encode()), 401),
    ("sub with NUL", lambda w: "Bearer " + raw_token(
        w.stack.jwt_secret, json.dumps(claims(sub=w.a + "\u0000x")).encode()), 401),
    ("role with NUL", lambda w: "Bearer " + raw_token(
        w.stack.jwt_secret, json.dumps(claims(role="service_role\u0000x")).encode()), 401),
    ("duplicated role", lambda w: "Bearer " + raw_token(
        w.stack.jwt_secret, json.dumps(claims(sub=w.a)).encode().replace(b'"role": "authenticated"',
                                                                          b'"role": "service_role", "role": "authenticated"')),
     "client"),
    ("exp in year 5138 (validly signed)", lambda w: "Bearer " + raw_token(
        w.stack.jwt_secret, json.dumps(claims(sub=w.a, exp=99999999999)).encode()), "client"),
]


@pytest.mark.parametrize("name,header,expected", TOKEN_CASES, ids=[c[0] for c in TOKEN_CASES])
def test_hostile_tokens(watched_tenants, http_module, name, header, expected):
    """Malformed or odd bearer tokens: 401, or (validly signed, merely odd) read as the client
    they name, with the last of duplicated claims (as a JSON.parse-style reader)."""
    w = watched_tenants
    w.restore()
    value = header(w)

    def ok(r):
        assert expected == "client", r.text
        assert [c["id"] for c in r.json()["calls"]] == [w.call_a]
    r = run_case(w, http_module, f"token {name}",
                 lambda: http_module.get(w.stack.url("list-calls"), headers={"Authorization": value}), ok)
    if expected != "client":
        assert r.status_code == expected, r.text


# --------------------------------------------------------------------------- duplicated keys


def dup_sync(first, second):
    return lambda w: f'{{"user_id":"{getattr(w, first)}","user_id":"{getattr(w, second)}"}}'


# (id, function, method, caller, raw body, expected statuses (2xx judged by ok), ok)
DUPLICATE_CASES = [
    # B names A then themselves: last wins -> B, who has no connection (404); never A's sync
    ("sync-retell-calls user_id A,B as B", "sync-retell-calls", "other", dup_sync("a", "b"), {400, 404}),
    # B names themselves then A: last wins -> A -> 403
    ("sync-retell-calls user_id B,A as B", "sync-retell-calls", "other", dup_sync("b", "a"), {400, 403}),
    ("sync-all user_id B,A as B", "sync-all", "other", dup_sync("b", "a"), {400, 403}),
    ("fetch-retell-agents user_id B,A as B", "fetch-retell-agents", "other", dup_sync("b", "a"), {400, 403}),
    ("highlevel-oauth user_id B,A as B", "highlevel-oauth", "other", dup_sync("b", "a"), {400, 403}),
    # the last source_platform is not a platform: 400, never an assignment under the first
    ("assign-agents source_platform retell,twilio", "assign-agents", "admin",
     lambda w: (f'{{"user_id":"{w.a}","source_platform":"retell","agent_ids":["{w.agent_a}"],'
                f'"source_platform":"twilio"}}'), {400}),
    # last test_only wins: a test that stores nothing (200), or 400; never a stored key
    ("retell-connection test_only false,true", "retell-connection", "admin",
     lambda w: f'{{"api_key":"{KEY_A}","test_only":false,"user_id":"{w.a}","test_only":true}}', {200, 400}),
    ("retell-connection user_id A,junk", "retell-connection", "admin",
     lambda w: f'{{"user_id":"{w.a}","api_key":"{KEY_A}","user_id":"junk"}}', {400}),
]


@pytest.mark.parametrize("name,fn,caller,build,allowed", DUPLICATE_CASES, ids=[c[0] for c in DUPLICATE_CASES])
def test_duplicated_json_keys(watched_tenants, http_module, name, fn, caller, build, allowed):
    w = watched_tenants
    w.restore()
    # B must not be connected for the "last wins" reading to be a 404
    assert w.stack.sql("SELECT count(*) AS n FROM api_keys WHERE user_id = %s", (w.b,))[0]["n"] == 0

    def ok(r):
        assert r.status_code in allowed, r.text
        assert r.json() == {"valid": True, "agents_visible": 1}
    r = run_case(w, http_module, name, lambda: post_raw(w, http_module, fn, "POST", caller,
                                                       build(w).encode()), ok)
    assert r.status_code in allowed, (name, r.status_code, r.text)


def test_duplicated_keys_in_a_delivery_follow_the_last_key(watched_tenants, http_module):
    """What the signer's JSON.parse reads is what we store: the last call_id, not the first."""
    w = watched_tenants
    base = webhook_base(w)
    first, last = f"dup_first_{next(_seq)}", f"dup_last_{next(_seq)}"
    base["call"]["call_id"] = MARK
    raw = json.dumps(base).replace(json.dumps(MARK), f'"{first}","call_id":"{last}"')
    raw = raw.replace('"event": "call_ended"', '"event": "call_started", "event": "call_ended"')
    raw = raw.encode()

    def ok(r):
        ids = [x["retell_call_id"] for x in w.stack.sql(
            "SELECT retell_call_id, call_status FROM calls WHERE retell_call_id IN (%s, %s)", (first, last))]
        assert ids == [last], ids
        status = w.stack.sql("SELECT call_status FROM calls WHERE retell_call_id = %s", (last,))[0]
        assert status["call_status"] == "ended"
    run_case(w, http_module, "webhook duplicated keys",
             lambda: post_raw(w, http_module, "retell-webhook", "POST", "none", raw), ok, WEBHOOK_WRITES)


def test_duplicated_query_parameters_never_widen_a_clients_scope(watched_tenants, http_module):
    w = watched_tenants
    url = w.stack.url("list-calls") + f"?user_id={w.b}&user_id={w.a}"
    w.restore()

    def only_bs(r):
        assert [c["id"] for c in r.json()["calls"]] == [w.call_b], r.text
    r = run_case(w, http_module, "list-calls user_id twice",
                 lambda: http_module.get(url, headers=auth(w, "other")), only_bs)
    assert w.call_a not in r.text
    url = w.stack.url("list-calls") + f"?user_id={w.a}&user_id={w.b}"
    r = http_module.get(url, headers=auth(w, "other"))
    assert r.status_code in (200, 400, 404) and w.call_a not in r.text


# --------------------------------------------------------------------------- content types

CONTENT_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                 "application/xml", "application/jsonx", "application/json-patch+json", "text/json", None]
# (function, method, caller, body)
JSON_TAKERS = [
    ("retell-connection", "POST", "admin", lambda w: {"user_id": w.a, "api_key": KEY_A}),
    ("fetch-retell-agents", "POST", "admin", user_a),
    ("assign-agents", "POST", "admin",
     lambda w: {"user_id": w.a, "source_platform": "retell", "agent_ids": [w.agent_a]}),
    ("assign-agents", "DELETE", "admin", lambda w: {"user_id": w.a, "agent_ids": [w.agent_a]}),
    ("highlevel-oauth", "POST", "admin", oauth_start),
    ("fetch-available-agents", "POST", "admin", user_a),
    ("sync-retell-calls", "POST", "admin", user_a),
    ("sync-highlevel-calls", "POST", "admin", user_a),
    ("sync-all", "POST", "admin", user_a),
    ("retell-webhook", "POST", "none", webhook_base),
]


@pytest.mark.parametrize("fn,method,caller,body", JSON_TAKERS, ids=[f"{t[0]}|{t[1]}" for t in JSON_TAKERS])
@pytest.mark.parametrize("ctype", CONTENT_TYPES, ids=[str(c) for c in CONTENT_TYPES])
def test_wrong_content_type_is_415(watched_tenants, http_module, fn, method, caller, body, ctype):
    w = watched_tenants
    w.restore()
    raw = json.dumps(body(w)).encode()
    r = run_case(w, http_module, f"{fn} {ctype}",
                 lambda: post_raw(w, http_module, fn, method, caller, raw, content_type=ctype))
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type", r.text


# JSON that is not an object: a bare null once reached the handlers as "no body parsed, no error"
NOT_OBJECTS = [b"null", b" \r\nnull\r\n ", b"[]", b'"x"', b"7", b"true"]


@pytest.mark.parametrize("fn,method,caller,body", JSON_TAKERS, ids=[f"{t[0]}|{t[1]}" for t in JSON_TAKERS])
@pytest.mark.parametrize("raw", NOT_OBJECTS, ids=[r.decode().strip() for r in NOT_OBJECTS])
def test_json_that_is_not_an_object_is_400(watched_tenants, http_module, fn, method, caller, body, raw):
    w = watched_tenants
    r = run_case(w, http_module, f"{fn} {raw!r}",
                 lambda: post_raw(w, http_module, fn, method, caller, raw))
    assert r.status_code == 400 and r.json()["error"] in ("bad_request", "bad_json"), r.text


# --------------------------------------------------------------------------- sizes and depth

# the functions' own body limits (max_body); nginx allows 64 KiB, 2 MiB for the webhook
HANDLER_LIMITS = {"health": 1024, "list-calls": 1024, "call-stats": 1024, "get-call-recording": 1024,
                  "sync-retell-calls": 4096, "sync-highlevel-calls": 4096, "sync-all": 4096,
                  "retell-connection": 16384, "fetch-retell-agents": 16384, "highlevel-oauth": 16384,
                  "fetch-available-agents": 16384, "assign-agents": 65536,
                  "retell-webhook": 2 * 1024 * 1024}


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_ten_megabyte_body_is_a_json_413(watched_tenants, http_module, fn):
    w = watched_tenants
    raw = b'{"user_id":"' + b"a" * (10 * 1024 * 1024) + b'"}'
    r = run_case(w, http_module, f"{fn} 10 MB",
                 lambda: post_raw(w, http_module, fn, "POST", "admin", raw))
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"


@pytest.mark.parametrize("fn", sorted(HANDLER_LIMITS))
def test_body_over_the_functions_own_limit_is_a_json_413(watched_tenants, http_module, fn):
    w = watched_tenants
    raw = b'{"user_id":"' + b"a" * HANDLER_LIMITS[fn] + b'"}'
    r = run_case(w, http_module, f"{fn} over its limit",
                 lambda: post_raw(w, http_module, fn, "POST", "admin", raw))
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"


def deep_body(depth):
    return ('{"user_id":' + "[" * depth + "]" * depth + "}").encode()


@pytest.mark.parametrize("fn,method,caller,body", JSON_TAKERS, ids=[f"{t[0]}|{t[1]}" for t in JSON_TAKERS])
@pytest.mark.parametrize("depth", ["10000", "fits"])
def test_deep_json_is_refused(watched_tenants, http_module, fn, method, caller, body, depth):
    w = watched_tenants
    limit = HANDLER_LIMITS[fn]
    n = 10_000 if depth == "10000" else min(10_000, (limit - 20) // 2)
    if fn == "retell-webhook":
        raw = ('{"event":"call_ended","call":{"call_id":"deep","agent_id":"' + AGENT_A +
               '","metadata":' + "[" * n + "]" * n + "}}").encode()
    else:
        raw = deep_body(n)
    r = run_case(w, http_module, f"{fn} depth {n}",
                 lambda: post_raw(w, http_module, fn, method, caller, raw))
    if len(raw) > limit:
        assert r.status_code == 413, r.text
    else:
        assert r.status_code == 400 and r.json()["error"] == "bad_json", r.text


# --------------------------------------------------------------------------- headers we echo


def raw_request(stack, data, timeout=10):
    with socket.create_connection(("127.0.0.1", stack.port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except socket.timeout:
            pass
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    headers = [tuple(x.split(":", 1)) for x in lines[1:] if ":" in x]
    return status, [(k.strip().lower(), v.strip()) for k, v in headers], body


def test_a_clients_request_id_is_not_echoed(watched_tenants, http_module):
    w = watched_tenants
    for value in ("client-chosen-id", "x" * 200, "abc\"; evil=1"):
        r = http_module.get(w.stack.url("list-calls"), headers={**auth(w, "client"), "X-Request-Id": value})
        assert r.status_code == 200
        ids = r.raw.headers.getlist("X-Request-Id")
        assert len(ids) == 1 and re.fullmatch(r"[0-9a-f]{32}", ids[0]), ids
        assert value not in w.stack.logs()


INJECTIONS = {
    "cr": b"X-Request-Id: a\rX-Evil: 1\r\n",
    "lf": b"X-Request-Id: a\nX-Evil: 1\r\n",
    "fold": b"X-Request-Id: a\r\n X-Evil: 1\r\n",
    "range_lf": b"Range: bytes=0-1\nX-Evil: 1\r\n",
    "if_range_lf": b"Range: bytes=0-1\r\nIf-Range: a\nX-Evil: 1\r\n",
}


@pytest.mark.parametrize("kind", sorted(INJECTIONS))
@pytest.mark.parametrize("fn", FUNCTIONS)
def test_header_lines_cannot_be_injected(watched_tenants, fn, kind):
    w = watched_tenants
    query = f"?call_id={w.call_a}&user_id={w.a}" if fn != "health" else ""
    token = w.stack.token(w.a)
    req = (f"GET /functions/v1/{fn}{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
           f"Authorization: Bearer {token}\r\n").encode() + INJECTIONS[kind] + b"\r\n"
    before = fingerprint(w.stack, w.tables)
    status, headers, body = raw_request(w.stack, req)
    assert 200 <= status < 500, (status, body[:200])
    assert "x-evil" not in {k for k, _ in headers}, headers
    assert not any(k == "set-cookie" for k, _ in headers)
    assert changed(before, fingerprint(w.stack, w.tables)) == []
    for req_seen in w.fake.requests_for("/recordings/"):
        assert "x-evil" not in req_seen["headers"], req_seen["headers"]


RANGES = ["bytes=0-1, X-Evil: 1", "bytes=0-1\tX-Evil", "bytes=99999999999999999999999-", "bytes=-0",
          "bytes=5-1", "items=0-1", "bytes=0-1,2-3", "bytes=" + "0" * 200 + "-1", "bytes=--1",
          "bytes=-99999999999999999999999", "bytes=ü-1", "bytes=0-1;X-Evil=1"]


@pytest.mark.parametrize("caller", ["client", "admin"])
@pytest.mark.parametrize("value", RANGES, ids=range(len(RANGES)))
def test_hostile_range_is_answered_correctly_and_only_a_valid_range_reaches_the_provider(
        watched_tenants, http_module, value, caller):
    w = watched_tenants
    w.fake.clear_requests()
    size = len(w.fake.recording_bytes(w.retell_call_a))

    def ok(r):
        assert r.status_code in (200, 206), r.status_code
        if r.status_code == 200:
            assert r.content == w.fake.recording_bytes(w.retell_call_a)
    headers = {**auth(w, caller), "Range": value.encode("utf-8"), "If-Range": "x, X-Evil: 1"}
    r = run_case(w, http_module, f"Range {value!r}",
                 lambda: http_module.get(w.stack.url("get-call-recording"), params={"call_id": w.call_a},
                                         headers=headers), ok)
    if r.status_code == 416:
        assert r.headers.get("Content-Range") == f"bytes */{size}"
    for seen in w.fake.requests_for("/recordings/"):
        sent = seen["headers"].get("range")
        assert sent is None or re.fullmatch(r"bytes=[0-9, -]+", sent), sent
        assert "x-evil" not in seen["headers"]


def test_a_stored_recording_url_with_a_header_in_it_is_never_echoed_raw(watched_tenants, http_module):
    """A signed delivery's recording_url is stored verbatim; served and redirected, its CR LF
    never starts a header of ours."""
    w = watched_tenants
    base = webhook_base(w)
    call_id = base["call"]["call_id"]
    w.fake.add_retell_call(KEY_A, base["call"])
    base["call"]["recording_url"] = base["call"]["recording_url"] + "\r\nX-Evil: 1\r\nSet-Cookie: evil=1"
    raw = json.dumps(base).encode()
    r = post_raw(w, http_module, "retell-webhook", "POST", "none", raw)
    assert r.status_code == 200, r.text
    row = w.stack.sql("SELECT id, recording_url FROM calls WHERE retell_call_id = %s", (call_id,))[0]
    assert row["recording_url"].endswith("Set-Cookie: evil=1")
    for caller, params in (("admin", {"redirect": "1"}), ("admin", {}), ("client", {}),
                           ("client", {"redirect": "1"})):
        r = http_module.get(w.stack.url("get-call-recording"), params={"call_id": str(row["id"]), **params},
                            headers=auth(w, caller), allow_redirects=False)
        assert r.status_code in (200, 206, 302, 404, 502) and r.status_code != 500, r.text[:200]
        names = {k.lower() for k in r.headers}
        assert "x-evil" not in names and "set-cookie" not in names, dict(r.headers)
        assert "\r" not in r.headers.get("Location", "") and "\n" not in r.headers.get("Location", "")
        if r.status_code >= 400:
            assert set(r.json()) == {"error", "message"}


def test_a_call_id_cannot_forge_a_log_line(watched_tenants, http_module):
    w = watched_tenants
    base = webhook_base(w)
    forged = f"forged{next(_seq)}"
    base["call"]["call_id"] = f"x\nts=2024-01-01T00:00:00.000Z level=error fn=retell-webhook msg=\"{forged}\""
    raw = json.dumps(base).encode()
    r = post_raw(w, http_module, "retell-webhook", "POST", "none", raw)
    assert r.status_code == 200, r.text
    # A has no billing account: the call id is logged (in a warning), escaped on its line
    assert wait_until(lambda: forged in w.stack.logs())
    logs = w.stack.logs()
    assert not any(line.startswith("ts=2024-01-01") for line in logs.splitlines())


# --------------------------------------------------------------------------- nginx's own refusals

NGINX_REFUSALS = {
    "nul_in_target": b"GET /functions/v1/list-calls?q=a\x00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "nul_in_header": b"GET /functions/v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\nConnection: close\r\n\r\n",
    "cr_in_header": b"GET /functions/v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\nConnection: close\r\n\r\n",
    "folded_header": b"GET /functions/v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\nConnection: close\r\n\r\n",
    "space_in_target": b"GET /functions/v1/health?a=b c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "negative_length": (b"POST /functions/v1/sync-all HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n"
                        b"Connection: close\r\n\r\n"),
    "two_lengths": (b"POST /functions/v1/sync-all HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                    b"Content-Length: 3\r\nConnection: close\r\n\r\n{}"),
    "uri_70k": b"GET /functions/v1/list-calls?q=" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "header_70k": b"GET /functions/v1/health HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 70000 + b"\r\nConnection: close\r\n\r\n",
    "trace": b"TRACE /functions/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(NGINX_REFUSALS))
def test_nginx_refuses_malformed_requests_with_4xx(watched_tenants, name):
    status, headers, body = raw_request(watched_tenants.stack, NGINX_REFUSALS[name])
    assert 400 <= status < 500, (status, body[:200])
    assert "x-evil" not in {k for k, _ in headers}


@pytest.mark.parametrize("name", sorted(NGINX_REFUSALS))
def test_nginx_refusals_are_json(watched_tenants, name):
    status, headers, body = raw_request(watched_tenants.stack, NGINX_REFUSALS[name])
    assert dict(headers).get("content-type", "").startswith("application/json"), (status, body[:120])
    assert set(json.loads(body)) == {"error", "message"}


# --------------------------------------------------------------------------- afterwards


def test_zz_the_stack_still_serves_and_no_worker_crashed(watched_tenants, http_module):
    """Last in the file: after every case above, nothing crashed."""
    w = watched_tenants
    w.restore()
    r = http_module.get(w.stack.url("health"))
    assert r.status_code == 200 and r.json()["database"] == "reachable"
    assert {fn: w.stack.worker_pids(fn) for fn in FUNCTIONS} == w.pids, "a worker was restarted"
    assert [str(p) for p in w.stack.sanitizer_reports()] == w.reports_before
    r = http_module.get(w.stack.url("list-calls"), headers=auth(w, "client"))
    assert r.status_code == 200 and [c["id"] for c in r.json()["calls"]] == [w.call_a]
