"""Issue 16, findings 12 and 2 (and the allow-list part of 1): nginx's per-function rate and
connection limits answered as JSON 429 with CORS, the Retell IP allow-list on by default, and
get-call-recording that two clients who stop reading cannot block for everyone.

The local stack exempts 127.0.0.1 from the limits and adds it to the allow-list (deploy/stack:
the rest of the suite sends from there); these tests send from other loopback addresses
(127.0.0.2, ...), which get exactly the production limits."""
import http.client
import json
import socket
import time

import pytest

from testenv import retell

KEY = "key_security_limits_0123456789ab"


def request(stack, source, method, path, body=None, headers=None, timeout=30):
    """One request from the given loopback source address; returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def burst(stack, source, method, path, n, **kw):
    return [request(stack, source, method, path, **kw) for _ in range(n)]


def assert_json_429(status, headers, body):
    assert status == 429
    assert json.loads(body)["error"] == "rate_limited"
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in headers["Access-Control-Allow-Headers"]
    assert "Content-Range" in headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("path,n", [("/functions/v1/list-calls", 60),
                                    ("/functions/v1/retell-connection", 30),
                                    ("/functions/v1/health", 60)])
def test_a_burst_from_one_address_gets_json_429(stack, path, n):
    answers = burst(stack, "127.0.0.2", "GET", path, n)
    limited = [a for a in answers if a[0] == 429]
    assert limited, f"no 429 in {n} requests to {path}: {sorted({a[0] for a in answers})}"
    assert_json_429(*limited[0])
    # another address has its own budget, and the stack's own clients are not limited
    assert request(stack, "127.0.0.3", "GET", path)[0] != 429
    assert all(request(stack, "127.0.0.1", "GET", path)[0] != 429 for _ in range(5))


def test_the_webhook_is_rate_limited(stack):
    body = retell.delivery("call_started", {"call_id": "c", "agent_id": "a"})
    answers = burst(stack, "127.0.0.4", "POST", "/functions/v1/retell-webhook", 200, body=body,
                    headers={"Content-Type": "application/json"})
    assert any(a[0] == 429 for a in answers)
    assert_json_429(*next(a for a in answers if a[0] == 429))


def test_the_retell_allow_list_is_on_by_default(stack, http):
    body = retell.delivery("call_started", {"call_id": "c", "agent_id": "a"})
    status, headers, text = request(stack, "127.0.0.5", "POST", "/functions/v1/retell-webhook",
                                    body=body, headers={"Content-Type": "application/json"})
    assert status == 403 and json.loads(text)["error"] == "forbidden"
    # the address the list names (here the stack's own) gets through to the handler
    r = http.post(stack.url("retell-webhook"), data=body, headers={"Content-Type": "application/json"})
    assert r.status_code != 403


# get-call-recording under slow readers --------------------------------------------------------

@pytest.fixture
def big_recording(clean, fake, connect_retell, retell_agent):
    stack = clean
    owner = stack.make_user("client")
    connect_retell(owner, KEY)
    fake.add_retell_agent(KEY, agent_id="agent_limits")
    agent = retell_agent("agent_limits", assign_to=owner)
    fake.recording_size = 24 * 1024 * 1024
    call = fake.add_retell_call(KEY, fake.make_retell_call("agent_limits"))
    call_id = str(stack.sql("""INSERT INTO calls (retell_call_id, source_platform, user_id, agent_id,
                                   recording_url)
                               VALUES (%s, 'retell', %s, %s, %s) RETURNING id""",
                            (call["call_id"], owner, agent, call["recording_url"]))[0]["id"])
    return stack, owner, call_id


def stalled_reader(stack, source, owner, call_id):
    """Asks for the recording, reads the status line, then stops reading (a tiny window)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((source, 0))
    s.connect(("127.0.0.1", stack.port))
    auth = stack.auth(owner)["Authorization"]
    s.sendall(f"GET /functions/v1/get-call-recording?call_id={call_id} HTTP/1.1\r\n"
              f"Host: 127.0.0.1\r\nAuthorization: {auth}\r\n\r\n".encode())
    s.settimeout(30)
    head = s.recv(12)
    return s, head


def test_two_stalled_readers_do_not_block_recordings(big_recording, http):
    stack, owner, call_id = big_recording
    readers = [stalled_reader(stack, "127.0.0.1", owner, call_id) for _ in range(2)]
    try:
        assert all(head.startswith(b"HTTP/1.1 200") for _, head in readers), readers
        time.sleep(1)
        start = time.monotonic()
        r = http.get(stack.url("get-call-recording"), params={"call_id": call_id},
                     headers={**stack.auth(owner), "Range": "bytes=0-99"}, timeout=20)
        took = time.monotonic() - start
        assert r.status_code == 206 and len(r.content) == 100
        assert took < 15, took
    finally:
        for s, _ in readers:
            s.close()


def test_one_address_gets_a_bounded_number_of_streams(big_recording):
    stack, owner, call_id = big_recording
    readers = []
    try:
        for _ in range(4):
            readers.append(stalled_reader(stack, "127.0.0.6", owner, call_id))
        assert all(head.startswith(b"HTTP/1.1 200") for _, head in readers)
        status, headers, body = request(stack, "127.0.0.6", "GET",
                                        f"/functions/v1/get-call-recording?call_id={call_id}",
                                        headers=stack.auth(owner))
        assert_json_429(status, headers, body)
    finally:
        for s, _ in readers:
            s.close()
