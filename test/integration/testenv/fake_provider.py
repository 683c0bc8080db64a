"""A fake of the Retell AI API and the HighLevel (LeadConnector) API on 127.0.0.1.

One server answers both providers' paths. Integration tests use it in-process:

    fp = FakeProvider()
    fp.start()
    fp.add_retell_agent("key_1", agent_id="agent_a")
    fp.add_retell_call("key_1", fp.make_retell_call("agent_a"))
    ...  # point the code under test at fp.url
    fp.stop()

Benchmarks run it as a program (see `main`): it prints `READY <url>` once listening and serves until
SIGTERM. Only the Python standard library is used.

All state lives in public attributes guarded by one lock; the helpers take the lock themselves. When a
test mutates the attributes directly while requests are in flight, it should hold `fp.lock`. Store
Retell calls with add_retell_call / generate_retell_calls: list-calls keeps a sorted index per workspace
that those helpers refresh (it also notices when the number of calls changes, not in-place edits).
"""

from __future__ import annotations

import argparse
import base64
import functools
import gc
import hashlib
import http.client
import itertools
import json
import operator
import os
import re
import signal
import struct
import sys
import threading
import time
import traceback
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

RECORDING_SIZE = 200_000
RETELL_MAX_LIMIT = 1000
HL_MAX_PAGE_SIZE = 50
HL_PATH_PREFIXES = ("/oauth/", "/voice-ai/", "/conversations/")
HL_SCOPE = "voice-ai-agents.readonly voice-ai-dashboard.readonly conversations/message.readonly"
LIST_OMITTED_FIELDS = frozenset({
    "transcript", "transcript_object", "transcript_with_tool_calls", "recording_url",
    "recording_multi_channel_url", "scrubbed_recording_url",
})
NUMBER_FILTER_FIELDS = ("start_timestamp", "end_timestamp", "duration_ms")
ENUM_FILTER_FIELDS = ("call_status", "call_type", "direction", "disconnection_reason")
NUMBER_OPS = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt,
    "ge": operator.ge, "lt": operator.lt, "le": operator.le,
}
DISCONNECTION_REASONS = (
    "user_hangup", "agent_hangup", "user_hangup", "call_transfer", "voicemail_reached", "inactivity",
)
SENTIMENTS = ("Positive", "Neutral", "Negative", "Positive", "Unknown")
CONVERSATION = (
    ("agent", "Thank you for calling Sunrise Dental, this is Ava. How can I help you today?"),
    ("user", "Hi, I would like to book a cleaning appointment for next week, please."),
    ("agent", "Of course. Do you prefer a morning or an afternoon slot?"),
    ("user", "A morning would be best, ideally on Tuesday or Wednesday."),
    ("agent", "I have Tuesday at nine thirty available. Shall I book that for you?"),
    ("user", "Yes, that works for me. Thank you very much."),
    ("agent", "You are all set. You will receive a text confirmation shortly. Goodbye!"),
)
DEFAULT_TRANSCRIPT_BYTES = 300
RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")
# HighLevel's documents distilled (test/integration/contracts/highlevel.json): the fake refuses
# what they say the API refuses (a wrong Version, a value outside an enum, a non-number).
HL_CONTRACT = json.loads((Path(__file__).resolve().parent.parent / "contracts" / "highlevel.json").read_text())
HL_ENDPOINTS = {(e["method"], e["path"]): e for e in HL_CONTRACT["endpoints"]}
RETELL_STRING_OPS = {
    "eq": operator.eq, "ne": operator.ne, "sw": str.startswith, "ew": str.endswith,
    "co": lambda text, part: part in text,
}


class HTTPError(Exception):
    """An error answer; `body` overrides the provider's usual error shape."""

    def __init__(self, status: int, message: str = "", body: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.body, self.headers = status, message, body, headers or {}


class Response:
    def __init__(self, status: int, body: bytes, headers: dict):
        self.status, self.body, self.headers = status, body, headers


# ---------------------------------------------------------------- small pure helpers

def json_response(status: int, obj, headers: dict | None = None) -> Response:
    body = json.dumps(obj, separators=(",", ":")).encode()
    return Response(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def binary_response(data: bytes, content_type: str, range_header: str | None) -> Response:
    """200 with the whole body, or 206/416 for a single `bytes=` range."""
    headers = {"Content-Type": content_type, "Accept-Ranges": "bytes"}
    match = RANGE_RE.fullmatch(range_header.strip()) if range_header else None
    if match is None or match.groups() == ("", ""):
        return Response(200, data, headers)
    size = len(data)
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return Response(416, b"", {**headers, "Content-Range": f"bytes */{size}"})
    return Response(206, data[start:end + 1], {**headers, "Content-Range": f"bytes {start}-{end}/{size}"})


# Cached: a 64 MiB recording takes seconds to build on a loaded machine, longer than the
# stack's HTTP_TIMEOUT_MS, and every Range request of it would build it again.
@functools.lru_cache(maxsize=4)
def wav_bytes(seed: str, size: int) -> bytes:
    """A 44-byte PCM WAV header (8 kHz, mono, 16 bit) and `size` bytes of a pattern derived from seed."""
    pattern = hashlib.sha256(seed.encode()).digest()
    data = (pattern * (size // len(pattern) + 1))[:size]
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    return b"RIFF" + struct.pack("<I", 36 + size) + b"WAVE" + b"fmt " + fmt + b"data" + \
        struct.pack("<I", size) + data


def encode_cursor(sort_key: tuple) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(sort_key)).encode()).decode()


def decode_cursor(text) -> tuple | None:
    if text is None:
        return None
    try:
        value, ident = json.loads(base64.urlsafe_b64decode(str(text).encode()))
        if isinstance(value, (int, float)) and isinstance(ident, str):
            return value, ident
    except ValueError:
        pass
    raise HTTPError(400, "Invalid pagination_key")


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds and Z, like HighLevel's createdAt."""
    return datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def parse_timestamp_ms(text: str) -> int:
    """ISO 8601, or epoch digits: milliseconds, or seconds when too small to be milliseconds."""
    if text.isdigit():
        number = int(text)
        return number * 1000 if number < 10**11 else number
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


def random_hex(nbytes: int) -> str:
    """Like secrets.token_hex, which this file cannot import when run as a script from testenv/
    (testenv/secrets.py shadows the standard module there)."""
    return os.urandom(nbytes).hex()


def now_ms() -> int:
    return int(time.time() * 1000)


def make_transcript(duration_ms: int, size: int | None = None) -> tuple[str, list]:
    """About `size` bytes of Retell transcript text and the matching transcript_object with words."""
    lines = []
    total = 0
    for role, content in itertools.cycle(CONVERSATION):
        if total >= (size or DEFAULT_TRANSCRIPT_BYTES):
            break
        lines.append((role, content))
        total += len(content) + 8
    word_count = sum(len(content.split()) for _, content in lines)
    step = duration_ms / 1000 / max(word_count, 1)
    clock = itertools.count()
    utterances = [
        {"role": role, "content": content, "words": [
            {"word": word, "start": round(i * step, 3), "end": round((i + 0.8) * step, 3)}
            for word, i in zip(content.split(), clock)
        ]}
        for role, content in lines
    ]
    text = "".join(f"{role.capitalize()}: {content}\n" for role, content in lines)
    return text, utterances


def latency_stats(base: int) -> dict:
    return {"p50": base, "p90": base * 3 // 2, "p95": base * 17 // 10, "p99": base * 2,
            "max": base * 2 + 40, "min": base // 2, "num": 12}


def number_test(flt) -> Callable[[object], bool]:
    """Predicate for a Retell number filter ({type:number, op, value}) or range filter ({type:range})."""
    if isinstance(flt, dict) and flt.get("type") == "number" and flt.get("op") in NUMBER_OPS \
            and isinstance(flt.get("value"), (int, float)):
        compare, value = NUMBER_OPS[flt["op"]], flt["value"]
        return lambda x: x is not None and compare(x, value)
    if isinstance(flt, dict) and flt.get("type") == "range" and flt.get("op") == "bt" \
            and isinstance(flt.get("value"), list) and len(flt["value"]) == 2 \
            and all(isinstance(v, (int, float)) for v in flt["value"]):
        low, high = flt["value"]
        return lambda x: x is not None and low <= x <= high
    raise HTTPError(400, f"Invalid number filter: {json.dumps(flt)}")


def number_window(flt) -> tuple:
    """An inclusive (low, high) window, None meaning unbounded, holding every value number_test accepts."""
    if flt["type"] == "range":
        return tuple(flt["value"])
    op, value = flt["op"], flt["value"]
    return (value if op in ("eq", "ge", "gt") else None, value if op in ("eq", "le", "lt") else None)


def enum_test(flt) -> Callable[[object], bool]:
    if isinstance(flt, dict) and flt.get("type") == "enum" and flt.get("op") == "in" \
            and isinstance(flt.get("value"), list):
        allowed = set(flt["value"])
        return lambda x: x in allowed
    raise HTTPError(400, f"Invalid enum filter: {json.dumps(flt)}")


def agent_test(agents) -> Callable[[object], bool]:
    """Predicate on a call for a Retell `agent` filter: [{agent_id, version?: [...]}], connected by OR."""
    if not isinstance(agents, list) or not all(isinstance(a, dict) and "agent_id" in a for a in agents):
        raise HTTPError(400, "Invalid agent filter")
    versions = {a["agent_id"]: set(a["version"]) if a.get("version") is not None else None for a in agents}

    def test(call: dict) -> bool:
        wanted = versions.get(call.get("agent_id"), False)
        return wanted is None or (wanted is not False and call.get("agent_version") in wanted)
    return test


def call_matcher(criteria: dict) -> Callable[[object], bool]:
    """Predicate on a call for the filter_criteria we support; other criteria are ignored."""
    tests = [agent_test(criteria["agent"])] if "agent" in criteria else []
    for field in NUMBER_FILTER_FIELDS + ENUM_FILTER_FIELDS:
        if field in criteria:
            make_test = number_test if field in NUMBER_FILTER_FIELDS else enum_test
            field_test = make_test(criteria[field])
            tests.append(lambda call, f=field, t=field_test: t(call.get(f)))
    return lambda call: all(test(call) for test in tests)


def agent_matcher(criteria) -> Callable[[dict], bool]:
    """Predicate on an agent for list-agents' filter_criteria: channel ({type: string, op, value})
    and query (case-insensitive substring of the name, or substring of the id)."""
    if not isinstance(criteria, dict) or set(criteria) - {"channel", "query"}:
        raise HTTPError(400, f"Invalid filter_criteria: {json.dumps(criteria)}")
    tests = []
    channel = criteria.get("channel")
    if channel is not None:
        if not isinstance(channel, dict) or channel.get("type") != "string" \
                or channel.get("op") not in RETELL_STRING_OPS or channel.get("value") not in ("voice", "chat"):
            raise HTTPError(400, f"Invalid channel filter: {json.dumps(channel)}")
        compare, value = RETELL_STRING_OPS[channel["op"]], channel["value"]
        tests.append(lambda agent: compare(agent["channel"], value))
    text = criteria.get("query")
    if text is not None:
        if not isinstance(text, str):
            raise HTTPError(400, "query must be a string")
        tests.append(lambda agent: text.lower() in agent["agent_name"].lower() or text in agent["agent_id"])
    return lambda agent: all(test(agent) for test in tests)


def agent_list_item(agent: dict) -> dict:
    """A list-agents item: the short form retell-sdk's AgentListResponse.Item describes."""
    return {"agent_id": agent["agent_id"], "agent_name": agent["agent_name"], "channel": agent["channel"],
            "tags": {}, "user_modified_timestamp": agent["last_modification_timestamp"]}


def page_after(keys: list, lo: int, hi: int, cursor, ascending: bool, limit: int, lookup, match):
    """Up to `limit` matching items among sorted keys[lo:hi] strictly after cursor; and whether more follow."""
    if cursor is not None:
        if ascending:
            lo = max(lo, bisect_right(keys, cursor))
        else:
            hi = min(hi, bisect_left(keys, cursor))
    page = []
    for i in range(lo, hi) if ascending else range(hi - 1, lo - 1, -1):
        item = lookup(keys[i])
        if match(item):
            if len(page) == limit:
                return page, True
            page.append(item)
    return page, False


def bearer(req: dict) -> str | None:
    scheme, _, credential = req["headers"].get("authorization", "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else None


def query_value(req: dict, name: str, default: str | None = None) -> str | None:
    return req["query"].get(name, [default])[0]


def int_param(text, name: str, default: int, low: int, high: int, status: int = 400) -> int:
    if text is None:
        return default
    if isinstance(text, bool) or not isinstance(text, (int, str)) or not str(text).isdigit() \
            or not low <= int(text) <= high:
        raise HTTPError(status, f"{name} must be an integer from {low} to {high}")
    return int(text)


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks = []
        while size := int(handler.rfile.readline().split(b";")[0], 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def read_request(handler: BaseHTTPRequestHandler) -> dict:
    parts = urlsplit(handler.path)
    body = read_body(handler)
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    return {"method": handler.command, "path": unquote(parts.path),
            "query": parse_qs(parts.query, keep_blank_values=True),
            "headers": {name.lower(): value for name, value in handler.headers.items()},
            "body": body, "json": parsed, "time": time.time()}


def send(handler: BaseHTTPRequestHandler, resp: Response, truncate: bool) -> None:
    """Send resp; with truncate, announce the full length, send half the body and close."""
    handler.send_response(resp.status)
    for name, value in resp.headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(resp.body)))
    handler.end_headers()
    try:
        handler.wfile.write(resp.body[:len(resp.body) // 2] if truncate else resp.body)
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True
    if truncate:
        handler.close_connection = True


def error_response(path: str, err: HTTPError) -> Response:
    if err.body is not None:
        body = err.body
    elif path.startswith(HL_PATH_PREFIXES):
        body = {"statusCode": err.status, "message": err.message}
    else:
        body = {"status": "error", "message": err.message}
    return json_response(err.status, body, err.headers)


def hl_check_request(req: dict, endpoint: dict) -> None:
    """Refuses a request HighLevel's documents say is invalid: a missing or undocumented Version
    (400 "version header is invalid"), a query value outside its enum or not of its type (400)."""
    for name, rule in endpoint["headers"].items():
        value = req["headers"].get(name.lower())
        if (rule["required"] and value is None) or (value is not None and value not in rule.get("enum", [value])):
            raise HTTPError(400, f"{name.lower()} header is invalid")
    for name, values in req["query"].items():
        rule = endpoint["query"].get(name)
        if rule is None:
            continue  # the documents do not say what the API does with these: test_contract_* flags them
        value = values[0]
        if "enum" in rule and value not in rule["enum"]:
            raise HTTPError(400, f"{name} must be one of the following values: {', '.join(rule['enum'])}")
        if rule.get("type") == "number" and not re.fullmatch(r"-?\d+(\.\d+)?", value):
            raise HTTPError(400, f"{name} must be a number conforming to the specified constraints")


# ---------------------------------------------------------------- HTTP plumbing

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # seconds an idle keep-alive connection is kept

    def _serve(self):
        self.server.provider.serve(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        pass


# (method, path pattern, FakeProvider method, authentication: "retell" | "hl" | None)
ROUTES = tuple((method, re.compile(pattern), name, auth) for method, pattern, name, auth in (
    ("POST", r"/v3/list-calls", "_retell_list_calls", "retell"),
    ("GET", r"/v2/get-call/(?P<call_id>[^/]+)", "_retell_get_call", "retell"),
    ("POST", r"/v2/list-agents", "_retell_list_agents", "retell"),
    ("GET", r"/list-agents", "_retell_list_agents_legacy", "retell"),
    ("GET", r"/get-agent/(?P<agent_id>[^/]+)", "_retell_get_agent", "retell"),
    ("GET", r"/recordings/retell/(?P<call_id>[^/]+)\.wav", "_retell_recording", None),
    ("POST", r"/oauth/token", "_hl_token", None),
    ("GET", r"/voice-ai/agents", "_hl_list_agents", "hl"),
    ("GET", r"/voice-ai/agents/(?P<agent_id>[^/]+)", "_hl_get_agent", "hl"),
    ("GET", r"/voice-ai/dashboard/call-logs", "_hl_list_call_logs", "hl"),
    ("GET", r"/voice-ai/dashboard/call-logs/(?P<log_id>[^/]+)", "_hl_get_call_log", "hl"),
    ("GET", r"/conversations/messages/(?P<message_id>[^/]+)/locations/(?P<location_id>[^/]+)/recording",
     "_hl_recording", "hl"),
))

# the contract endpoint (highlevel.json) each HighLevel route serves
HL_ROUTE_PATHS = {
    "_hl_list_agents": "/voice-ai/agents",
    "_hl_get_agent": "/voice-ai/agents/{agentId}",
    "_hl_list_call_logs": "/voice-ai/dashboard/call-logs",
    "_hl_get_call_log": "/voice-ai/dashboard/call-logs/{callId}",
    "_hl_recording": "/conversations/messages/{messageId}/locations/{locationId}/recording",
}


class FakeProvider:
    """Fake Retell and HighLevel APIs served on 127.0.0.1 from a background thread."""

    def __init__(self, port: int = 0):
        self.lock = threading.RLock()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.provider = self
        self._thread: threading.Thread | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every key, call, agent, token, request and fault (between tests)."""
        # Retell: each API key is a workspace.
        self.retell_keys: set[str] = set()
        self.retell_calls: dict[str, dict[str, dict]] = {}
        self.retell_agents: dict[str, list[dict]] = {}
        self.expired_recordings: set[str] = set()
        self.recording_size = RECORDING_SIZE
        # HighLevel.
        self.hl_client_id = "fake-hl-client-id"
        self.hl_client_secret = "fake-hl-client-secret"
        self.hl_redirect_uri: str | None = None  # when set, code exchanges must send exactly this
        self.hl_codes: dict[str, str] = {}
        self.hl_refresh_tokens: dict[str, str] = {}
        self.hl_tokens: dict[str, dict] = {}
        self.hl_expires_in = 86399
        self.hl_refresh_count = 0
        self.hl_agents: dict[str, list[dict]] = {}
        self.hl_call_logs: dict[str, list[dict]] = {}
        # HighLevel rate limits (per location): a burst window and a daily quota.
        self.hl_burst_max = 100
        self.hl_interval_ms = 10_000
        self.hl_daily_limit = 200_000
        self.hl_daily_used: dict[str, int] = {}
        self.hl_windows: dict[str, tuple[float, int]] = {}
        self.hl_rate_limited = 0  # 429s answered
        # Requests and faults.
        self.requests: list[dict] = []
        self.record_requests = True
        self.faults: list[dict] = []
        self._sequence = itertools.count(1)
        self._recording_sigs: dict[str, int] = {}
        self._call_index: dict[str, list[tuple]] = {}

    # ------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeProvider:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ requests and faults

    def requests_for(self, path_prefix: str) -> list[dict]:
        with self.lock:
            return [req for req in self.requests if req["path"].startswith(path_prefix)]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def add_fault(self, **fault) -> dict:
        """Queue a fault: path_prefix, count (1), status (+ retry_after, message), delay, truncate, drop."""
        with self.lock:
            self.faults.append(fault)
        return fault

    def _take_fault(self, path: str) -> dict:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.get("path_prefix", "")):
                    fault["count"] = fault.get("count", 1) - 1
                    if fault["count"] <= 0:
                        self.faults.remove(fault)
                    return fault
        return {}

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request: record it, apply the next matching fault, else route it."""
        req = read_request(handler)
        if self.record_requests:
            with self.lock:
                self.requests.append(req)
        fault = self._take_fault(req["path"])
        if fault.get("delay"):
            time.sleep(fault["delay"])
        if fault.get("drop"):
            handler.close_connection = True
            return
        resp = self._fault_response(req["path"], fault) if "status" in fault else self._dispatch(req)
        send(handler, resp, truncate=bool(fault.get("truncate")))

    @staticmethod
    def _fault_response(path: str, fault: dict) -> Response:
        status = fault["status"]
        headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else None
        message = fault.get("message", http.client.responses.get(status, "Injected fault"))
        return error_response(path, HTTPError(status, message, headers=headers))

    def _dispatch(self, req: dict) -> Response:
        for method, pattern, name, auth in ROUTES:
            match = pattern.fullmatch(req["path"])
            if match and method == req["method"]:
                break
        else:
            return error_response(req["path"], HTTPError(404, "Not found"))
        rate_headers: dict = {}
        try:
            with self.lock:
                credential = self._authenticate(auth, req)
                if auth == "hl":
                    hl_check_request(req, HL_ENDPOINTS[(method, HL_ROUTE_PATHS[name])])
                    rate_headers = self._hl_rate_limit(credential["location_id"])
                resp = getattr(self, name)(req, credential, **match.groupdict())
        except HTTPError as err:
            err.headers = {**rate_headers, **err.headers}
            return error_response(req["path"], err)
        except Exception as err:  # a bug in the fake: make it visible to the test
            traceback.print_exc()
            return error_response(req["path"], HTTPError(500, f"fake provider error: {err!r}"))
        resp.headers.update(rate_headers)
        return resp

    def _authenticate(self, auth: str | None, req: dict):
        """The Retell API key, the HighLevel token record, or None for open routes."""
        if auth == "retell":
            key = bearer(req)
            if key not in self.retell_keys:
                raise HTTPError(401, "Invalid API key")
            return key
        if auth == "hl":
            token = self.hl_tokens.get(bearer(req) or "")
            if token is None or token["expires_at"] <= time.time():
                raise HTTPError(401, "Invalid JWT")
            return token
        return None

    def _hl_rate_limit(self, location_id: str) -> dict:
        """HighLevel's X-RateLimit-* headers for one more request of the location, or a 429.

        A burst window of hl_burst_max requests per hl_interval_ms and a daily quota of
        hl_daily_limit per location; a refused request spends neither."""
        now = time.monotonic()
        start, used = self.hl_windows.get(location_id, (now, 0))
        if now - start >= self.hl_interval_ms / 1000:
            start, used = now, 0
        daily_used = self.hl_daily_used.get(location_id, 0)
        allowed = daily_used < self.hl_daily_limit and used < self.hl_burst_max
        if allowed:
            used, daily_used = used + 1, daily_used + 1
            self.hl_windows[location_id] = (start, used)
            self.hl_daily_used[location_id] = daily_used
        headers = {
            "X-RateLimit-Limit-Daily": str(self.hl_daily_limit),
            "X-RateLimit-Daily-Remaining": str(max(self.hl_daily_limit - daily_used, 0)),
            "X-RateLimit-Interval-Milliseconds": str(self.hl_interval_ms),
            "X-RateLimit-Max": str(self.hl_burst_max),
            "X-RateLimit-Remaining": str(max(self.hl_burst_max - used, 0)),
        }
        if not allowed:
            self.hl_rate_limited += 1
            raise HTTPError(429, "Too many requests", headers=headers)
        return headers

    # ------------------------------------------------------------ Retell state helpers

    def _new_id(self, prefix: str, width: int = 32) -> str:
        return f"{prefix}{next(self._sequence):0{width}x}"

    def add_retell_agent(self, key: str, agent_id: str | None = None, name: str | None = None,
                         **fields) -> dict:
        """Add an agent to the workspace of `key` (the key becomes valid)."""
        agent = {
            "agent_id": agent_id or self._new_id("agent_", 24),
            "agent_name": name or "Fake Agent",
            "version": 0,
            "is_published": True,
            "voice_id": "11labs-Adrian",
            "voice_model": "eleven_flash_v2",
            "voice_speed": 1.0,
            "language": "en-US",
            "responsiveness": 1.0,
            "response_engine": {"type": "retell-llm", "llm_id": self._new_id("llm_", 24), "version": 0},
            "webhook_url": None,
            "last_modification_timestamp": now_ms(),
            "channel": "voice",  # not part of the agent object: list-agents items and filters use it
            **fields,
        }
        with self.lock:
            self.retell_keys.add(key)
            self.retell_agents.setdefault(key, []).append(agent)
        return agent

    def _find_agent(self, agent_id: str, key: str | None = None) -> dict | None:
        workspaces = [self.retell_agents.get(key, [])] if key else self.retell_agents.values()
        return next((a for agents in workspaces for a in agents if a["agent_id"] == agent_id), None)

    def _find_call(self, call_id: str) -> dict | None:
        return next((calls[call_id] for calls in self.retell_calls.values() if call_id in calls), None)

    def _recording_url(self, call_id: str, signed: bool) -> str:
        """The call's recording URL; a signed one gets a new signature, the only one then accepted."""
        url = f"{self.url}/recordings/retell/{call_id}.wav"
        if not signed:
            return url
        sig = next(self._sequence)
        self._recording_sigs[call_id] = sig
        return f"{url}?X-Amz-Expires=86400&sig={sig}"

    def make_retell_call(self, agent_id: str, call_id: str | None = None, start_ms: int | None = None,
                         duration_ms: int = 60_000, direction: str = "inbound", call_type: str = "phone_call",
                         transcript_bytes: int | None = None, **overrides) -> dict:
        """A full ended call as get-call answers it; overrides replace fields (not stored: add_retell_call)."""
        transcript = make_transcript(duration_ms, transcript_bytes)
        with self.lock:
            call = self._build_call(call_id or self._new_id("call_"), self._find_agent(agent_id) or {},
                                    agent_id, start_ms, duration_ms, direction, call_type, transcript)
            call.update(overrides)
            if "recording_url" not in overrides:
                call["recording_url"] = self._recording_url(call["call_id"], call["opt_in_signed_url"])
        return call

    def _build_call(self, call_id: str, agent: dict, agent_id: str, start_ms: int | None, duration_ms: int,
                    direction: str, call_type: str, transcript: tuple[str, list]) -> dict:
        seed = zlib.crc32(call_id.encode())
        start = now_ms() - duration_ms if start_ms is None else start_ms
        reason = DISCONNECTION_REASONS[seed % len(DISCONNECTION_REASONS)]
        call = {
            "call_id": call_id,
            "agent_id": agent_id,
            "agent_name": agent.get("agent_name", "Fake Agent"),
            "agent_version": agent.get("version", 0),
            "call_type": call_type,
            "call_status": "ended",
            "start_timestamp": start,
            "end_timestamp": start + duration_ms,
            "duration_ms": duration_ms,
            "transcript": transcript[0],
            "transcript_object": transcript[1],
            "recording_url": self._recording_url(call_id, signed=False),
            "disconnection_reason": reason,
            "call_analysis": {
                "call_summary": "The caller booked a cleaning appointment for Tuesday at 9:30.",
                "user_sentiment": SENTIMENTS[seed % len(SENTIMENTS)],
                "call_successful": seed % 5 != 0,
                "in_voicemail": reason == "voicemail_reached",
                "custom_analysis_data": {},
            },
            "latency": {"e2e": latency_stats(800 + seed % 400), "llm": latency_stats(350 + seed % 200)},
            "call_cost": {
                "product_costs": [{"product": "retell_platform", "unit_price": 0.1167,
                                   "cost": round(duration_ms / 1000 * 0.1167, 4)}],
                "total_duration_seconds": duration_ms // 1000,
                "total_duration_unit_price": 0.1167,
                "combined_cost": round(duration_ms / 1000 * 0.1167, 4),
            },
            "metadata": {},
            "retell_llm_dynamic_variables": {},
            "opt_in_signed_url": False,
        }
        if call_type == "web_call":
            call["access_token"] = f"eyJhbGciOiJIUzI1NiJ9.{call_id}.fake"
        else:
            caller, line = f"+1415555{seed % 10000:04d}", "+14155550100"
            call["direction"] = direction
            call["from_number"], call["to_number"] = (caller, line) if direction == "inbound" else (line, caller)
        return call

    def add_retell_call(self, key: str, call: dict) -> dict:
        """Store a call (e.g. from make_retell_call) in the workspace of `key` (the key becomes valid)."""
        with self.lock:
            self.retell_keys.add(key)
            self.retell_calls.setdefault(key, {})[call["call_id"]] = call
            self._call_index.pop(key, None)
        return call

    def generate_retell_calls(self, key: str, agent_ids: list[str], n: int, start_ms: int, step_ms: int,
                              duration_ms: int = 60_000, transcript_bytes: int | None = None) -> None:
        """Store n ended phone calls starting at start_ms, step_ms apart, agents taken in turn.

        For speed all of them share one transcript (text and transcript_object): do not mutate it.
        """
        transcript = make_transcript(duration_ms, transcript_bytes)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # the collector would rescan the growing heap many times over
        try:
            with self.lock:
                agents = [(agent_id, self._find_agent(agent_id, key) or {}) for agent_id in agent_ids]
                calls = self.retell_calls.setdefault(key, {})
                for i in range(n):
                    agent_id, agent = agents[i % len(agents)]
                    call = self._build_call(self._new_id("call_"), agent, agent_id, start_ms + i * step_ms,
                                            duration_ms, "inbound" if i % 3 else "outbound", "phone_call",
                                            transcript)
                    calls[call["call_id"]] = call
                self.retell_keys.add(key)
                self._call_index.pop(key, None)
        finally:
            if gc_was_enabled:
                gc.enable()

    def recording_bytes(self, call_id: str) -> bytes:
        """The WAV bytes served for a Retell call's recording."""
        return wav_bytes(f"retell:{call_id}", self.recording_size)

    def _sorted_call_keys(self, key: str) -> list[tuple]:
        """(start_timestamp, call_id) of the workspace's calls, sorted; rebuilt when calls are added."""
        calls = self.retell_calls.get(key, {})
        index = self._call_index.get(key)
        if index is None or len(index) != len(calls):
            index = sorted((call.get("start_timestamp") or 0, call_id) for call_id, call in calls.items())
            self._call_index[key] = index
        return index

    # ------------------------------------------------------------ Retell endpoints

    @staticmethod
    def _json_object(req: dict) -> dict:
        """The request's JSON object body; an empty body counts as {}."""
        if not req["body"].strip():
            return {}
        if not isinstance(req["json"], dict):
            raise HTTPError(400, "Request body must be a JSON object")
        return req["json"]

    def _retell_list_calls(self, req: dict, key: str) -> Response:
        body = self._json_object(req)
        criteria = body.get("filter_criteria") or {}
        if not isinstance(criteria, dict):
            raise HTTPError(400, "filter_criteria must be an object")
        order = body.get("sort_order", "descending")
        if order not in ("ascending", "descending"):
            raise HTTPError(400, "sort_order must be ascending or descending")
        limit = int_param(body.get("limit"), "limit", 50, 1, RETELL_MAX_LIMIT)
        cursor = decode_cursor(body.get("pagination_key"))
        match = call_matcher(criteria)
        keys = self._sorted_call_keys(key)
        lo, hi = self._timestamp_slice(keys, criteria.get("start_timestamp"))
        calls = self.retell_calls.get(key, {})
        page, has_more = page_after(keys, lo, hi, cursor, order == "ascending", limit,
                                    lambda sort_key: calls[sort_key[1]], match)
        answer = {"items": [{k: v for k, v in call.items() if k not in LIST_OMITTED_FIELDS} for call in page],
                  "has_more": has_more}
        if has_more:
            answer["pagination_key"] = encode_cursor((page[-1].get("start_timestamp") or 0, page[-1]["call_id"]))
        if body.get("include_total"):
            answer["total"] = sum(1 for _, call_id in keys[lo:hi] if match(calls[call_id]))
        return json_response(200, answer)

    @staticmethod
    def _timestamp_slice(keys: list[tuple], flt) -> tuple[int, int]:
        """Bounds in the sorted keys holding every call a start_timestamp filter can accept."""
        if flt is None:
            return 0, len(keys)
        number_test(flt)  # validates
        low, high = number_window(flt)
        start_of = operator.itemgetter(0)
        return (0 if low is None else bisect_left(keys, low, key=start_of),
                len(keys) if high is None else bisect_right(keys, high, key=start_of))

    def _retell_get_call(self, req: dict, key: str, call_id: str) -> Response:
        call = self.retell_calls.get(key, {}).get(call_id)
        if call is None:
            raise HTTPError(404, "Call not found")
        if call.get("opt_in_signed_url"):
            call["recording_url"] = self._recording_url(call_id, signed=True)
        return json_response(200, call)

    def _retell_list_agents(self, req: dict, key: str) -> Response:
        """POST /v2/list-agents: short items (agent_list_item), voice and chat agents alike
        unless filter_criteria.channel selects one, newest modification first by default."""
        body = self._json_object(req)
        unknown = set(body) - {"filter_criteria"}
        if unknown:
            raise HTTPError(400, f"Unknown body field: {sorted(unknown)[0]}")
        match = agent_matcher(body.get("filter_criteria") or {})
        limit = int_param(query_value(req, "limit"), "limit", 1000, 1, 1000)
        order = query_value(req, "sort_order", "descending")
        if order not in ("ascending", "descending"):
            raise HTTPError(400, "sort_order must be ascending or descending")
        cursor = decode_cursor(query_value(req, "pagination_key"))
        agents = {agent["agent_id"]: agent for agent in self.retell_agents.get(key, [])}
        keys = sorted((agent["last_modification_timestamp"], agent_id) for agent_id, agent in agents.items())
        page, has_more = page_after(keys, 0, len(keys), cursor, order == "ascending", limit,
                                    lambda sort_key: agents[sort_key[1]], match)
        answer = {"items": [agent_list_item(agent) for agent in page], "has_more": has_more}
        if has_more:
            answer["pagination_key"] = encode_cursor((page[-1]["last_modification_timestamp"], page[-1]["agent_id"]))
        return json_response(200, answer)

    def _retell_list_agents_legacy(self, req: dict, key: str) -> Response:
        """GET /list-agents (legacy): every voice agent, whole."""
        return json_response(200, [{k: v for k, v in agent.items() if k != "channel"}
                                   for agent in self.retell_agents.get(key, []) if agent["channel"] == "voice"])

    def _retell_get_agent(self, req: dict, key: str, agent_id: str) -> Response:
        agent = self._find_agent(agent_id, key)
        if agent is None or agent["channel"] != "voice":  # chat agents live at /get-chat-agent
            raise HTTPError(404, "Agent not found")
        return json_response(200, {k: v for k, v in agent.items() if k != "channel"})

    def _retell_recording(self, req: dict, _: None, call_id: str) -> Response:
        call = self._find_call(call_id)
        if call is None:
            raise HTTPError(404, "Recording not found")
        signed_ok = not call.get("opt_in_signed_url") or \
            query_value(req, "sig") == str(self._recording_sigs.get(call_id))
        if call_id in self.expired_recordings or not signed_ok:
            xml = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
                  b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
            return Response(403, xml, {"Content-Type": "application/xml"})
        return binary_response(self.recording_bytes(call_id), "audio/wav", req["headers"].get("range"))

    # ------------------------------------------------------------ HighLevel state helpers

    def hl_issue_code(self, location_id: str, code: str | None = None) -> str:
        """A single-use authorization code for the location."""
        code = code or "hlcode_" + random_hex(16)
        with self.lock:
            self.hl_codes[code] = location_id
        return code

    def hl_issue_tokens(self, location_id: str, access: str | None = None) -> tuple[str, str]:
        """A valid (access token, single-use refresh token) pair for the location."""
        access, refresh = access or "hlat_" + random_hex(24), "hlrt_" + random_hex(24)
        with self.lock:
            self.hl_tokens[access] = {"location_id": location_id, "expires_at": time.time() + self.hl_expires_in}
            self.hl_refresh_tokens[refresh] = location_id
        return access, refresh

    def add_hl_agent(self, location_id: str, agent_id: str | None = None, name: str | None = None,
                     **fields) -> dict:
        agent = {
            "id": agent_id or self._new_id("", 24),
            "locationId": location_id,
            "agentName": name or "Fake Voice Agent",
            "businessName": "Sunrise Dental",
            "welcomeMessage": "Hi, thanks for calling Sunrise Dental!",
            "agentPrompt": "You are a friendly receptionist.",
            "voiceId": "fake-voice-1",
            "language": "en-US",
            "patienceLevel": "medium",
            "maxCallDuration": 600,
            "sendUserIdleReminders": True,
            "reminderAfterIdleTimeSeconds": 8,
            "timezone": "America/New_York",
            "isAgentAsBackupDisabled": False,
            "actions": [],
            **fields,
        }
        with self.lock:
            self.hl_agents.setdefault(location_id, []).append(agent)
        return agent

    def make_hl_call(self, location_id: str, agent_id: str, call_id: str | None = None,
                     created_at_ms: int | None = None, duration: int = 60, **overrides) -> dict:
        """A Voice AI call log (not stored: add_hl_call)."""
        return {
            "id": call_id or self._new_id("", 24),
            "agentId": agent_id,
            "contactId": self._new_id("", 20),
            "fromNumber": f"+1415555{next(self._sequence) % 10000:04d}",
            "createdAt": iso_ms(now_ms() - duration * 1000 if created_at_ms is None else created_at_ms),
            "duration": duration,
            "trialCall": False,
            "summary": "The caller asked about opening hours and booked a visit.",
            "transcript": "bot: Hello, how can I help?\nhuman: When are you open on Saturday?\n"
                          "bot: We are open from nine to one.\n",
            "executedCallActions": [],
            "extractedData": {},
            "messageId": self._new_id("", 20),
            "isAgentDeleted": False,
            **overrides,
        }

    def add_hl_call(self, location_id: str, call: dict) -> dict:
        with self.lock:
            self.hl_call_logs.setdefault(location_id, []).append(call)
        return call

    def hl_recording_bytes(self, message_id: str) -> bytes:
        """The WAV bytes served for a HighLevel message's recording."""
        return wav_bytes(f"hl:{message_id}", self.recording_size)

    # ------------------------------------------------------------ HighLevel endpoints

    def _hl_token(self, req: dict, _: None) -> Response:
        if not req["headers"].get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise HTTPError(400, body={"error": "invalid_request",
                                       "error_description": "body must be application/x-www-form-urlencoded"})
        form = {name: values[0] for name, values in parse_qs(req["body"].decode(errors="replace")).items()}
        if form.get("client_id") != self.hl_client_id or form.get("client_secret") != self.hl_client_secret:
            raise HTTPError(401, body={"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            redirect_ok = self.hl_redirect_uri is None or form.get("redirect_uri") == self.hl_redirect_uri
            location_id = self.hl_codes.pop(form.get("code", ""), None) if redirect_ok else None
        elif grant == "refresh_token":
            self.hl_refresh_count += 1
            location_id = self.hl_refresh_tokens.pop(form.get("refresh_token", ""), None)
        else:
            raise HTTPError(400, body={"error": "unsupported_grant_type"})
        if location_id is None:
            raise HTTPError(400, body={"error": "invalid_grant"})
        access, refresh = self.hl_issue_tokens(location_id)
        return json_response(200, {
            "access_token": access, "token_type": "Bearer", "expires_in": self.hl_expires_in,
            "refresh_token": refresh, "scope": HL_SCOPE, "userType": "Location",
            "locationId": location_id, "companyId": "fake-company-1", "userId": "fake-user-1",
        })

    @staticmethod
    def _hl_location(req: dict, token: dict) -> str:
        location_id = query_value(req, "locationId")
        if not location_id:
            raise HTTPError(422, "locationId should not be empty")
        if location_id != token["location_id"]:
            raise HTTPError(403, "The token does not have access to this location.")
        return location_id

    @staticmethod
    def _hl_page(req: dict, items: list, key: str) -> Response:
        page = int_param(query_value(req, "page"), "page", 1, 1, 10**9, status=422)
        size = int_param(query_value(req, "pageSize"), "pageSize", 10, 1, HL_MAX_PAGE_SIZE, status=422)
        return json_response(200, {"total": len(items), "page": page, "pageSize": size,
                                   key: items[(page - 1) * size:page * size]})

    def _hl_list_agents(self, req: dict, token: dict) -> Response:
        agents = self.hl_agents.get(self._hl_location(req, token), [])
        text = (query_value(req, "query") or "").lower()
        return self._hl_page(req, [a for a in agents if text in a["agentName"].lower()], "agents")

    def _hl_get_agent(self, req: dict, token: dict, agent_id: str) -> Response:
        agent = next((a for a in self.hl_agents.get(token["location_id"], []) if a["id"] == agent_id), None)
        if agent is None:
            raise HTTPError(404, "Agent not found")
        return json_response(200, agent)

    def _hl_list_call_logs(self, req: dict, token: dict) -> Response:
        logs = self.hl_call_logs.get(self._hl_location(req, token), [])
        tests = self._hl_call_log_tests(req)
        selected = [log for log in logs if all(test(log) for test in tests)]
        # sort (ascend | descend) applies only with sortBy; without sortBy the newest come first
        sort_by = query_value(req, "sortBy")
        ascending = sort_by is not None and query_value(req, "sort") == "ascend"
        sort_value = operator.itemgetter("duration") if sort_by == "duration" \
            else (lambda log: parse_timestamp_ms(log["createdAt"]))
        selected.sort(key=lambda log: (sort_value(log), log["id"]), reverse=not ascending)
        return self._hl_page(req, selected, "callLogs")

    @staticmethod
    def _hl_call_log_tests(req: dict) -> list:
        tests = []
        agent_id = query_value(req, "agentId")
        if agent_id:
            tests.append(lambda log: log.get("agentId") == agent_id)
        contact_ids = query_value(req, "contactId")
        if contact_ids:
            tests.append(lambda log: log.get("contactId") in contact_ids.split(","))
        start, end = query_value(req, "startDate"), query_value(req, "endDate")
        if (start is None) != (end is None):
            raise HTTPError(400, "startDate and endDate must be provided together")
        if start is not None:
            # epoch milliseconds (hl_check_request made sure they are numbers)
            low, high = float(start), float(end)
            tests.append(lambda log: low <= parse_timestamp_ms(log["createdAt"]) <= high)
        return tests

    def _hl_get_call_log(self, req: dict, token: dict, log_id: str) -> Response:
        log = next((c for c in self.hl_call_logs.get(token["location_id"], []) if c["id"] == log_id), None)
        if log is None:
            raise HTTPError(404, "Call log not found")
        return json_response(200, log)

    def _hl_recording(self, req: dict, token: dict, message_id: str, location_id: str) -> Response:
        if location_id != token["location_id"]:
            raise HTTPError(403, "The token does not have access to this location.")
        if not any(c.get("messageId") == message_id for c in self.hl_call_logs.get(location_id, [])):
            raise HTTPError(404, "Recording not found")
        return binary_response(self.hl_recording_bytes(message_id), "audio/x-wav", req["headers"].get("range"))


# ---------------------------------------------------------------- command line

def seed_highlevel(provider: FakeProvider, location_id: str, token: str | None, agent_ids: list[str],
                   calls_per_agent: int, step_ms: int) -> None:
    """A location with its token, agents and call logs (one trial call per agent), created in the past."""
    provider.hl_issue_tokens(location_id, token)
    start = now_ms() - (calls_per_agent + 1) * len(agent_ids) * step_ms
    for n, agent_id in enumerate(agent_ids):
        provider.add_hl_agent(location_id, agent_id=agent_id, name=f"Voice {agent_id}")
        for i in range(calls_per_agent):
            at = start + (i * len(agent_ids) + n) * step_ms
            provider.add_hl_call(location_id, provider.make_hl_call(location_id, agent_id, created_at_ms=at,
                                                                    trialCall=i == calls_per_agent - 1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Retell and HighLevel APIs for benchmarks.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--retell-key", default="key_bench")
    parser.add_argument("--agents", default="agent_bench", help="comma-separated Retell agent ids")
    parser.add_argument("--calls", type=int, default=0, help="calls to generate in the workspace")
    parser.add_argument("--transcript-bytes", type=int, default=None)
    parser.add_argument("--step-ms", type=int, default=60_000, help="time between generated calls")
    parser.add_argument("--start-ms", type=int, default=None, help="first call (default: the last ends now)")
    parser.add_argument("--recording-bytes", type=int, default=RECORDING_SIZE)
    parser.add_argument("--web-calls", type=int, default=0, help="web calls of the first agent to add")
    parser.add_argument("--chat-agents", default="", help="comma-separated Retell chat agent ids")
    parser.add_argument("--highlevel-location", default=None, help="a HighLevel location to serve")
    parser.add_argument("--highlevel-token", default=None, help="its access token")
    parser.add_argument("--highlevel-agents", default="", help="comma-separated agent ids of the location")
    parser.add_argument("--highlevel-calls", type=int, default=0, help="call logs per HighLevel agent")
    parser.add_argument("--highlevel-code", default=None, help="a single-use authorization code of the location")
    parser.add_argument("--highlevel-daily-limit", type=int, default=200_000)
    parser.add_argument("--highlevel-burst-max", type=int, default=100, help="requests per interval")
    parser.add_argument("--highlevel-interval-ms", type=int, default=10_000)
    args = parser.parse_args(argv)
    agent_ids = [a for a in args.agents.split(",") if a]
    if (args.calls or args.web_calls) and not agent_ids:
        parser.error("--calls and --web-calls need at least one agent in --agents")

    provider = FakeProvider(args.port)
    provider.record_requests = False  # nobody can read them from another process
    provider.recording_size = args.recording_bytes
    for agent_id in agent_ids:
        provider.add_retell_agent(args.retell_key, agent_id=agent_id, name=f"Bench {agent_id}")
    for agent_id in (a for a in args.chat_agents.split(",") if a):
        provider.add_retell_agent(args.retell_key, agent_id=agent_id, name=f"Chat {agent_id}", channel="chat")
    provider.retell_keys.add(args.retell_key)
    for _ in range(args.web_calls):
        provider.add_retell_call(args.retell_key, provider.make_retell_call(agent_ids[0], call_type="web_call"))
    provider.hl_daily_limit = args.highlevel_daily_limit
    provider.hl_burst_max, provider.hl_interval_ms = args.highlevel_burst_max, args.highlevel_interval_ms
    if args.highlevel_code:
        provider.hl_issue_code(args.highlevel_location, args.highlevel_code)
    if args.highlevel_location:
        seed_highlevel(provider, args.highlevel_location, args.highlevel_token,
                       [a for a in args.highlevel_agents.split(",") if a], args.highlevel_calls, args.step_ms)
    if args.calls:
        start = args.start_ms if args.start_ms is not None else now_ms() - args.calls * args.step_ms
        provider.generate_retell_calls(args.retell_key, agent_ids, args.calls, start, args.step_ms,
                                       transcript_bytes=args.transcript_bytes)

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    provider.start()
    print(f"READY {provider.url}", flush=True)
    while not stopping.wait(1):
        pass
    provider.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
