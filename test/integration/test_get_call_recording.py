"""get-call-recording: audio streamed through us for both providers with Range / 206 for seeking,
an expired signed URL renewed and stored, 404 for calls the caller may not see, and no fetch
from a host outside the allow-list."""
import pytest

from testenv import highlevel as hl

RETELL_KEY = "key_recordings_0123456789abcdef"
LOC = "loc_rec_0001"


@pytest.fixture
def listeners(clean, fake, connect_retell, retell_agent):
    """Who may or may not listen: the owner of the calls (connected to Retell and to HighLevel,
    one agent of each), another client and an admin; and the owner's two agents."""
    stack = clean
    owner, other, admin = stack.make_user("client"), stack.make_user("client"), stack.make_user("admin")
    connect_retell(owner, RETELL_KEY)
    fake.add_retell_agent(RETELL_KEY, agent_id="agent_rec")
    r_agent = retell_agent("agent_rec", assign_to=owner)
    h_agent = hl.plant_agent(stack, "hl_agent_rec", LOC, assign_to=owner, name="HL")
    hl.connect(stack, fake, owner, LOC)
    return {"stack": stack, "owner": owner, "other": other, "admin": admin,
            "retell_agent": r_agent, "hl_agent": h_agent}


def retell_call(listeners, fake, signed=False, **overrides):
    stack = listeners["stack"]
    call = fake.add_retell_call(RETELL_KEY, fake.make_retell_call("agent_rec", opt_in_signed_url=signed))
    url = overrides.get("recording_url", call["recording_url"])
    row = stack.sql("""INSERT INTO calls (retell_call_id, source_platform, user_id, agent_id, recording_url)
                       VALUES (%s, 'retell', %s, %s, %s) RETURNING id""",
                    (call["call_id"], listeners["owner"], listeners["retell_agent"], url))[0]
    return str(row["id"]), call


def hl_call(listeners, fake):
    stack = listeners["stack"]
    log = fake.add_hl_call(LOC, fake.make_hl_call(LOC, "hl_agent_rec"))
    row = stack.sql("""INSERT INTO calls (highlevel_call_id, highlevel_message_id, source_platform,
                           user_id, agent_id)
                       VALUES (%s, %s, 'highlevel', %s, %s) RETURNING id""",
                    (log["id"], log["messageId"], listeners["owner"], listeners["hl_agent"]))[0]
    return str(row["id"]), log


def get(http, listeners, call_id, user=None, range_=None, **params):
    headers = listeners["stack"].auth(user or listeners["owner"])
    if range_:
        headers["Range"] = range_
    return http.get(listeners["stack"].url("get-call-recording"), params={"call_id": call_id, **params},
                    headers=headers, allow_redirects=False)


def assert_white_label(fake, r):
    text = "\n".join(f"{k}: {v}" for k, v in r.headers.items())
    assert f"127.0.0.1:{fake.port}" not in text and "amz" not in text.lower()
    hl.assert_no_provider_words(text)


RANGES = [("bytes=0-99", 0, 99), ("bytes=1000-1999", 1000, 1999), ("bytes=-500", None, 500),
          ("bytes=199900-", 199900, None)]


def check_ranges(http, listeners, call_id, data):
    size = len(data)
    for header, first, last in RANGES:
        r = get(http, listeners, call_id, range_=header)
        assert r.status_code == 206, (header, r.text[:200])
        if first is None:
            first, last = size - last, size - 1
        elif last is None:
            last = size - 1
        assert r.content == data[first:last + 1]
        assert r.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
        assert int(r.headers["Content-Length"]) == last - first + 1
    r = get(http, listeners, call_id, range_=f"bytes={size + 10}-")
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{size}"


def test_retell_recording_streams_whole_and_by_range(listeners, fake, http):
    call_id, call = retell_call(listeners, fake)
    data = fake.recording_bytes(call["call_id"])
    r = get(http, listeners, call_id)
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-Type"] == "audio/wav" and r.headers["Accept-Ranges"] == "bytes"
    assert int(r.headers["Content-Length"]) == len(data)
    assert_white_label(fake, r)
    check_ranges(http, listeners, call_id, data)
    # the range reached the storage: nothing was cut out of a whole download here
    assert fake.requests_for("/recordings/retell/")[1]["headers"]["range"] == "bytes=0-99"


def test_highlevel_recording_streams_with_the_location_token(listeners, fake, http):
    call_id, log = hl_call(listeners, fake)
    data = fake.hl_recording_bytes(log["messageId"])
    r = get(http, listeners, call_id)
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-Type"] == "audio/x-wav"
    assert_white_label(fake, r)
    check_ranges(http, listeners, call_id, data)
    req = fake.requests_for("/conversations/messages/")[0]
    assert req["path"] == f"/conversations/messages/{log['messageId']}/locations/{LOC}/recording"
    assert req["headers"]["version"] == "2021-04-15"
    _, tokens = hl.stored_tokens(listeners["stack"], listeners["owner"])
    assert req["headers"]["authorization"] == "Bearer " + tokens["access_token"]
    purposes = {r["purpose"] for r in listeners["stack"].sql("SELECT purpose FROM key_usage_audit")}
    assert "stream a call recording" in purposes


def test_highlevel_recording_refreshes_an_expiring_token(listeners, fake, http):
    call_id, log = hl_call(listeners, fake)
    hl.connect(listeners["stack"], fake, listeners["owner"], LOC, expires_in_s=10)
    r = get(http, listeners, call_id, range_="bytes=10-19")
    assert r.status_code == 206 and r.content == fake.hl_recording_bytes(log["messageId"])[10:20]
    assert fake.hl_refresh_count == 1


def test_expired_signed_url_is_renewed_stored_and_served(listeners, fake, http):
    stack = listeners["stack"]
    call_id, call = retell_call(listeners, fake, signed=True)
    expired_url = call["recording_url"].split("&sig=")[0] + "&sig=0"
    stack.sql("UPDATE calls SET recording_url = %s WHERE id = %s", (expired_url, call_id))
    r = get(http, listeners, call_id, range_="bytes=0-1023")
    assert r.status_code == 206, r.text
    assert r.content == fake.recording_bytes(call["call_id"])[:1024]
    fresh = stack.sql("SELECT recording_url FROM calls WHERE id = %s", (call_id,))[0]["recording_url"]
    assert fresh != expired_url and fresh == fake.retell_calls[RETELL_KEY][call["call_id"]]["recording_url"]
    assert len(fake.requests_for("/v2/get-call/")) == 1
    audit = stack.sql("SELECT * FROM key_usage_audit WHERE service = 'retell'")
    assert [a["purpose"] for a in audit] == ["renew a recording URL"]
    assert str(audit[0]["actor_id"]) == listeners["owner"] and audit[0]["actor_kind"] == "client"
    # the stored URL now works: no second renewal
    assert get(http, listeners, call_id).content == fake.recording_bytes(call["call_id"])
    assert len(fake.requests_for("/v2/get-call/")) == 1


def test_storage_refusing_even_a_fresh_url_is_an_error_not_audio(listeners, fake, http):
    call_id, call = retell_call(listeners, fake)
    fake.expired_recordings.add(call["call_id"])  # every URL of this call now answers 403 XML
    r = get(http, listeners, call_id)
    assert r.status_code == 502 and r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"] == "recording_unavailable"
    hl.assert_no_provider_words(r.text)
    assert len(fake.requests_for("/v2/get-call/")) == 1  # renewed once, not in a loop


def test_missing_recording_url_is_fetched_from_the_provider(listeners, fake, http):
    call_id, call = retell_call(listeners, fake, recording_url=None)
    r = get(http, listeners, call_id)
    assert r.status_code == 200 and r.content == fake.recording_bytes(call["call_id"])
    stored = listeners["stack"].sql("SELECT recording_url FROM calls WHERE id = %s", (call_id,))[0]
    assert stored["recording_url"] == call["recording_url"]


def test_who_may_listen(listeners, fake, http):
    stack = listeners["stack"]
    r_id, _ = retell_call(listeners, fake)
    h_id, _ = hl_call(listeners, fake)
    for call_id in (r_id, h_id):
        # another client: the same 404 as a call that does not exist
        r = get(http, listeners, call_id, user=listeners["other"])
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        assert get(http, listeners, call_id, user=listeners["admin"]).status_code == 200
        r = http.get(stack.url("get-call-recording"), params={"call_id": call_id})
        assert r.status_code == 401
    missing = get(http, listeners, "00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json() == get(http, listeners, r_id, user=listeners["other"]).json()
    assert get(http, listeners, "not-a-uuid").status_code == 404
    r = http.get(stack.url("get-call-recording"), headers=stack.auth(listeners["owner"]))
    assert r.status_code == 400
    r = http.post(stack.url("get-call-recording"), params={"call_id": r_id},
                  headers=stack.auth(listeners["owner"]))
    assert r.status_code == 405
    # unassigning the agent takes the recording away
    stack.sql("DELETE FROM user_agents WHERE user_id = %s", (listeners["owner"],))
    assert get(http, listeners, r_id).status_code == 404
    # nothing of the other user's requests reached a provider
    assert len(fake.requests_for("/recordings/retell/")) == 1
    assert len(fake.requests_for("/conversations/")) == 1


def test_admin_redirect_and_clients_always_streamed(listeners, fake, http):
    call_id, call = retell_call(listeners, fake)
    r = get(http, listeners, call_id, user=listeners["admin"], redirect="1")
    assert r.status_code == 302 and r.headers["Location"] == call["recording_url"]
    r = get(http, listeners, call_id, redirect="1")  # a client asking for a redirect is streamed
    assert r.status_code == 200 and r.content == fake.recording_bytes(call["call_id"])
    assert "Location" not in r.headers
    # an admin redirect to an expired signed URL is renewed first
    signed_id, signed = retell_call(listeners, fake, signed=True)
    stale = signed["recording_url"].split("&sig=")[0] + "&sig=0"
    listeners["stack"].sql("UPDATE calls SET recording_url = %s WHERE id = %s", (stale, signed_id))
    r = get(http, listeners, signed_id, user=listeners["admin"], redirect="1")
    fresh = fake.retell_calls[RETELL_KEY][signed["call_id"]]["recording_url"]
    assert r.status_code == 302 and r.headers["Location"] == fresh != stale
    # a HighLevel recording needs our token: streamed even for an admin
    h_id, log = hl_call(listeners, fake)
    r = get(http, listeners, h_id, user=listeners["admin"], redirect="1")
    assert r.status_code == 200 and r.content == fake.hl_recording_bytes(log["messageId"])


@pytest.mark.parametrize("template", [
    "http://localhost:{port}/recordings/retell/{call}.wav",
    "http://127.0.0.1@localhost:{port}/recordings/retell/{call}.wav",
    "https://evil.example/recordings/{call}.wav",
    "ftp://127.0.0.1:{port}/recordings/retell/{call}.wav",
    "file:///etc/passwd",
])
def test_stored_url_on_a_foreign_host_is_refused(listeners, fake, http, template):
    call_id, call = retell_call(listeners, fake)
    url = template.format(port=fake.port, call=call["call_id"])
    listeners["stack"].sql("UPDATE calls SET recording_url = %s WHERE id = %s", (url, call_id))
    fake.clear_requests()
    for user in (listeners["owner"], listeners["admin"]):
        r = get(http, listeners, call_id, user=user)
        assert r.status_code == 502 and r.json()["error"] == "recording_host_not_allowed"
        hl.assert_no_provider_words(r.text)
    r = get(http, listeners, call_id, user=listeners["admin"], redirect="1")
    assert r.status_code == 502
    assert fake.requests == []


def peak_rss_kb(stack, function):
    """VmHWM of each worker process of one function of this stack, by pid."""
    import os
    exe = str(stack.build / function)
    peaks = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().split(b"\0")[0].decode() != exe:
                    continue
            with open(f"/proc/{pid}/status") as f:
                peaks[pid] = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        except (OSError, StopIteration):
            continue
    return peaks


def test_a_large_recording_is_streamed_not_buffered(listeners, fake, http):
    import hashlib
    fake.recording_size = 64 * 1024 * 1024
    call_id, call = retell_call(listeners, fake)
    expected = hashlib.sha256(fake.recording_bytes(call["call_id"])).hexdigest()
    stack = listeners["stack"]
    assert get(http, listeners, call_id, range_="bytes=0-0").status_code == 206  # workers warmed up
    before = peak_rss_kb(stack, "get-call-recording")
    assert before
    digest, size = hashlib.sha256(), 0
    with http.get(stack.url("get-call-recording"), params={"call_id": call_id},
                  headers=stack.auth(listeners["owner"]), stream=True) as r:
        assert r.status_code == 200
        for chunk in r.iter_content(1 << 16):
            digest.update(chunk)
            size += len(chunk)
    assert size == fake.recording_size + 44 and digest.hexdigest() == expected
    after = peak_rss_kb(stack, "get-call-recording")
    growth = max(after[pid] - before.get(pid, after[pid]) for pid in after)
    print(f"64 MiB recording: worker peak RSS grew by {growth} KiB")
    assert growth < 16 * 1024


def test_a_signed_playback_link_plays_without_a_token(listeners, fake, http):
    """An <audio> element cannot send Authorization: link=1 gives a URL of ours that can."""
    stack = listeners["stack"]
    call_id, call = retell_call(listeners, fake)
    r = get(http, listeners, call_id, link=1)
    assert r.status_code == 200, r.text
    link = r.json()["url"]
    assert link.startswith("/functions/v1/get-call-recording?") and "127.0.0.1" not in link
    base = f"http://127.0.0.1:{stack.port}"
    played = http.get(base + link, headers={"Range": "bytes=100-199"})
    assert played.status_code == 206 and played.content == fake.recording_bytes(call["call_id"])[100:200]
    assert "Content-Range" in played.headers["Access-Control-Expose-Headers"]
    # a tampered link, another call under the same signature, and a link for a call the viewer
    # may no longer see are refused
    assert http.get(base + link.replace("kind=c", "kind=a")).status_code == 401
    other_id, _ = retell_call(listeners, fake)
    assert http.get(base + link.replace(call_id, other_id)).status_code == 401
    assert get(http, listeners, call_id, user=listeners["other"], link=1).status_code == 404
    stack.sql("DELETE FROM user_agents WHERE user_id = %s", (listeners["owner"],))
    assert http.get(base + link).status_code == 404


def test_an_expired_playback_link_is_refused(listeners, fake, http):
    import base64
    import hashlib
    import hmac
    import time
    stack = listeners["stack"]
    call_id, _ = retell_call(listeners, fake)
    # signed exactly as the function signs, but an hour in the past
    sealing_key = base64.b64decode(stack.secrets_keys.split(",")[0].split(":", 1)[1])
    key = hmac.new(sealing_key, b"recording-link", hashlib.sha256).digest()
    expires = int(time.time()) - 3600
    sig = hmac.new(key, f"{call_id}|{listeners['owner']}|c|{expires}".encode(), hashlib.sha256).hexdigest()
    r = http.get(stack.url("get-call-recording"), params={
        "call_id": call_id, "viewer": listeners["owner"], "kind": "c", "expires": expires, "sig": sig})
    assert r.status_code == 401 and "expired" in r.json()["message"]
    fresh = expires + 7200
    sig = hmac.new(key, f"{call_id}|{listeners['owner']}|c|{fresh}".encode(), hashlib.sha256).hexdigest()
    r = http.get(stack.url("get-call-recording"), params={
        "call_id": call_id, "viewer": listeners["owner"], "kind": "c", "expires": fresh, "sig": sig})
    assert r.status_code == 200
