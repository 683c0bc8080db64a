"""Issue 16, findings 4 and 9: the recording URL gate and the upstream headers of a relayed
recording.
4: scheme, host and port are checked on the URL as curl parses it (no userinfo, https:443 only,
   or exactly a configured provider base URL's origin); an answer that is not audio is not
   relayed. (The connect-time address check is test/unit/test_hostlist.c's test_connect_guard:
   this stack's provider is on loopback, which that check then allows.)
9: the provider's Content-Type is reduced to an allowed type/subtype, and its ETag and
   Last-Modified never reach the client."""
import socket
import threading

import pytest

KEY = "key_security_rec_0123456789abcdef"


@pytest.fixture
def recording_owner(clean, fake, connect_retell, retell_agent):
    stack = clean
    owner = stack.make_user("client")
    connect_retell(owner, KEY)
    fake.add_retell_agent(KEY, agent_id="agent_sec_rec")
    agent = retell_agent("agent_sec_rec", assign_to=owner)
    return {"stack": stack, "owner": owner, "agent": agent}


def add_call(stack, fake, recording_owner, url=None):
    call = fake.add_retell_call(KEY, fake.make_retell_call("agent_sec_rec"))
    row = stack.sql("""INSERT INTO calls (retell_call_id, source_platform, user_id, agent_id, recording_url)
                       VALUES (%s, 'retell', %s, %s, %s) RETURNING id""",
                    (call["call_id"], recording_owner["owner"], recording_owner["agent"], url or call["recording_url"]))[0]
    return str(row["id"]), call


def get(http, stack, user, call_id):
    return http.get(stack.url("get-call-recording"), params={"call_id": call_id},
                    headers=stack.auth(user), allow_redirects=False, timeout=30)


class Listener:
    """A TCP port on loopback that counts connections and answers like an audio server."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: 4\r\n"
                             b"Connection: close\r\n\r\nRIFF")

    def close(self):
        self.sock.close()


def test_userinfo_in_a_recording_url_is_refused(recording_owner, fake, http):
    stack = recording_owner["stack"]
    # curl connects to 127.0.0.1 over plain http; a prefix test saw "http://localhost:"
    call_id, call = add_call(stack, fake, recording_owner)
    for url in (f"http://localhost:@127.0.0.1:{fake.port}/recordings/retell/{call['call_id']}.wav",
                f"http://user:pw@127.0.0.1:{fake.port}/recordings/retell/{call['call_id']}.wav"):
        stack.sql("UPDATE calls SET recording_url = %s WHERE id = %s", (url, call_id))
        fake.clear_requests()
        r = get(http, stack, recording_owner["owner"], call_id)
        assert r.status_code == 502 and r.json()["error"] == "recording_host_not_allowed", url
        assert fake.requests_for("/recordings/") == []


def test_a_port_other_than_the_providers_is_refused(recording_owner, fake, http):
    stack = recording_owner["stack"]
    other = Listener()
    try:
        call_id, _ = add_call(stack, fake, recording_owner, url=f"http://127.0.0.1:{other.port}/a.wav")
        r = get(http, stack, recording_owner["owner"], call_id)
        assert r.status_code == 502 and r.json()["error"] == "recording_host_not_allowed"
        assert other.connections == 0
    finally:
        other.close()


def test_an_answer_without_an_audio_type_is_not_relayed(recording_owner, fake, http):
    stack = recording_owner["stack"]
    call_id, call = add_call(stack, fake, recording_owner)
    for headers in ({"Content-Type": None}, {"Content-Type": "text/html"},
                    {"Content-Type": "audio"}):
        fake.recording_headers[call["call_id"]] = headers
        r = get(http, stack, recording_owner["owner"], call_id)
        assert r.status_code == 502 and r.json()["error"] == "recording_not_audio", headers
        assert fake.recording_bytes(call["call_id"])[:64] not in r.content


def test_the_content_type_is_reduced_to_type_and_subtype(recording_owner, fake, http):
    stack = recording_owner["stack"]
    call_id, call = add_call(stack, fake, recording_owner)
    data = fake.recording_bytes(call["call_id"])
    for sent, want in (("audio/wav\rX-Injected: 1", "audio/wav"),
                       ("Audio/X-WAV; codecs=1; evil=\"a\rb\"", "audio/x-wav"),
                       ("application/octet-stream", "application/octet-stream")):
        fake.recording_headers[call["call_id"]] = {"Content-Type": sent}
        r = get(http, stack, recording_owner["owner"], call_id)
        assert r.status_code == 200, (sent, r.text[:200])
        assert r.headers["Content-Type"] == want and r.content == data
        assert "X-Injected" not in r.headers


def test_provider_validators_do_not_reach_the_client(recording_owner, fake, http):
    stack = recording_owner["stack"]
    call_id, call = add_call(stack, fake, recording_owner)
    fake.recording_headers[call["call_id"]] = {
        "ETag": '"provider-object-etag-0123"', "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT",
        "Content-Range": "bytes 0-3/4\rX-Injected: 1", "Accept-Ranges": "bytes"}
    r = get(http, stack, recording_owner["owner"], call_id)
    assert r.status_code == 200
    assert "ETag" not in r.headers and "Last-Modified" not in r.headers
    assert "provider-object-etag" not in "\n".join(f"{k}: {v}" for k, v in r.headers.items())
    assert "Content-Range" not in r.headers  # malformed: dropped, not relayed
