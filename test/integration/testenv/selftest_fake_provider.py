"""Self-check of fake_provider.py: run with `python3 -m pytest -q selftest_fake_provider.py`."""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from .fake_provider import FakeProvider, iso_ms

KEY = "key_test"
HL_VERSION = {"Version": "2021-04-15"}  # every /voice-ai/* and the recording endpoint


@pytest.fixture
def fp():
    provider = FakeProvider().start()
    yield provider
    provider.stop()


def call_api(url, method="GET", body=None, headers=None):
    """(status, headers, body bytes) of one request; errors are answers too."""
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def retell(fp, path, body=None, key=KEY, method=None):
    method = method or ("POST" if body is not None else "GET")
    status, _, raw = call_api(fp.url + path, method, body, {"Authorization": f"Bearer {key}"})
    return status, json.loads(raw)


def hl_get(fp, path, token, **query):
    url = f"{fp.url}{path}?{urllib.parse.urlencode(query)}"
    status, _, raw = call_api(url, headers={"Authorization": f"Bearer {token}", **HL_VERSION})
    return status, json.loads(raw)


def hl_token_request(fp, **form):
    fields = {"client_id": fp.hl_client_id, "client_secret": fp.hl_client_secret, "user_type": "Location", **form}
    status, _, raw = call_api(fp.url + "/oauth/token", "POST", urllib.parse.urlencode(fields).encode(),
                              {"Content-Type": "application/x-www-form-urlencoded"})
    return status, json.loads(raw)


def list_all_calls(fp, body):
    items, pages = [], 0
    while True:
        status, page = retell(fp, "/v3/list-calls", body)
        assert status == 200, page
        items += page["items"]
        pages += 1
        if not page["has_more"]:
            assert "pagination_key" not in page
            return items, pages
        body = {**body, "pagination_key": page["pagination_key"]}


def test_list_calls_pages_without_gaps_or_repeats(fp):
    for agent_id in ("a1", "a2", "a3"):
        fp.add_retell_agent(KEY, agent_id=agent_id)
    start = 1_700_000_000_000
    fp.generate_retell_calls(KEY, ["a1", "a2", "a3"], 2500, start, 1000)
    fp.generate_retell_calls(KEY, ["a1", "a2"], 40, start + 700_000, 0)  # ties on start_timestamp
    lo, hi = start + 100_000, start + 2_000_000
    criteria = {"agent": [{"agent_id": "a1"}, {"agent_id": "a2"}],
                "start_timestamp": {"type": "range", "op": "bt", "value": [lo, hi]}}
    expected = sorted((c["start_timestamp"], c["call_id"]) for c in fp.retell_calls[KEY].values()
                      if c["agent_id"] in ("a1", "a2") and lo <= c["start_timestamp"] <= hi)

    items, pages = list_all_calls(fp, {"filter_criteria": criteria, "sort_order": "ascending", "limit": 7})
    assert [(c["start_timestamp"], c["call_id"]) for c in items] == expected
    assert pages == -(-len(expected) // 7)
    assert all("transcript" not in c and "transcript_object" not in c and "recording_url" not in c for c in items)
    assert items[0]["call_analysis"]["call_summary"]

    items, _ = list_all_calls(fp, {"filter_criteria": criteria, "limit": 1000})  # default descending
    assert [(c["start_timestamp"], c["call_id"]) for c in items] == expected[::-1]

    gt = {"start_timestamp": {"type": "number", "op": "gt", "value": start + 2_400_000}}
    status, page = retell(fp, "/v3/list-calls", {"filter_criteria": gt, "include_total": True})
    assert status == 200 and page["total"] == 99 and len(page["items"]) == 50 and page["has_more"]


def test_list_calls_validates_the_body(fp):
    fp.retell_keys.add(KEY)
    assert retell(fp, "/v3/list-calls", {"limit": 1001})[0] == 400
    assert retell(fp, "/v3/list-calls", {"pagination_key": "not-a-cursor"})[0] == 400
    assert retell(fp, "/v3/list-calls", {"filter_criteria": {"start_timestamp": {"op": "ge"}}})[0] == 400
    assert retell(fp, "/v3/list-calls", b"{not json")[0] == 400
    assert retell(fp, "/v3/list-calls", {}) == (200, {"items": [], "has_more": False})


def test_get_call_and_auth(fp):
    fp.add_retell_agent(KEY, agent_id="a1", name="Front desk")
    call = fp.add_retell_call(KEY, fp.make_retell_call("a1", call_id="call_1", transcript_bytes=5000))
    fp.add_retell_call("key_other", fp.make_retell_call("a1", call_id="call_2", call_type="web_call"))
    status, got = retell(fp, "/v2/get-call/call_1")
    assert status == 200 and got == call and got["agent_name"] == "Front desk"
    assert 4500 < len(got["transcript"]) < 5500 and got["transcript_object"][0]["words"][0]["word"]
    assert got["recording_url"] == f"{fp.url}/recordings/retell/call_1.wav" and got["direction"] == "inbound"
    web = fp.retell_calls["key_other"]["call_2"]
    assert "direction" not in web and web["access_token"]
    assert retell(fp, "/v2/get-call/call_2") == (404, {"status": "error", "message": "Call not found"})
    assert retell(fp, "/v2/get-call/call_1", key="wrong") == (401, {"status": "error", "message": "Invalid API key"})
    status, _, _ = call_api(fp.url + "/v2/get-call/call_1")
    assert status == 401
    assert fp.requests_for("/v2/get-call")[0]["headers"]["authorization"] == f"Bearer {KEY}"


def test_rate_limit_fault_with_retry_after(fp):
    fp.retell_keys.add(KEY)
    fp.add_fault(path_prefix="/v3/list-calls", status=429, retry_after="1", count=2)
    assert retell(fp, "/list-agents")[0] == 200  # other paths are untouched
    for _ in range(2):
        status, headers, _ = call_api(fp.url + "/v3/list-calls", "POST", {}, {"Authorization": f"Bearer {KEY}"})
        assert status == 429 and headers["Retry-After"] == "1"
    assert retell(fp, "/v3/list-calls", {})[0] == 200
    assert fp.faults == []


def test_truncate_drop_and_delay_faults(fp):
    fp.add_retell_agent(KEY, agent_id="a1")
    fp.add_fault(truncate=True)
    with pytest.raises(http.client.IncompleteRead):
        retell(fp, "/list-agents")
    fp.add_fault(drop=True)
    with pytest.raises((http.client.HTTPException, ConnectionError, urllib.error.URLError)):
        retell(fp, "/list-agents")
    fp.add_fault(delay=0.3)
    began = time.monotonic()
    assert retell(fp, "/list-agents")[0] == 200
    assert time.monotonic() - began >= 0.3


def test_keep_alive(fp):
    fp.retell_keys.add(KEY)
    conn = http.client.HTTPConnection("127.0.0.1", fp.port, timeout=5)
    for _ in range(3):
        conn.request("GET", "/list-agents", headers={"Authorization": f"Bearer {KEY}"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == b"[]"
    conn.close()


def test_list_agents_v2_paging_and_legacy(fp):
    agents = [fp.add_retell_agent(KEY, agent_id=f"agent_{i}", last_modification_timestamp=1000 + i)
              for i in range(5)]
    seen, query = [], "limit=2"
    while True:
        status, page = retell(fp, f"/v2/list-agents?{query}", {})
        assert status == 200
        seen += [a["agent_id"] for a in page["items"]]
        if not page["has_more"]:
            break
        query = "limit=2&" + urllib.parse.urlencode({"pagination_key": page["pagination_key"]})
    assert seen == [f"agent_{i}" for i in (4, 3, 2, 1, 0)]
    status, page = retell(fp, "/v2/list-agents?sort_order=ascending", {})
    assert [a["agent_id"] for a in page["items"]] == [f"agent_{i}" for i in range(5)] and not page["has_more"]
    assert set(page["items"][0]) == {"agent_id", "agent_name", "channel", "tags", "user_modified_timestamp"}
    whole = [{k: v for k, v in a.items() if k != "channel"} for a in agents]
    assert retell(fp, "/list-agents") == (200, whole)
    assert retell(fp, "/get-agent/agent_3") == (200, whole[3])
    assert retell(fp, "/get-agent/nope")[0] == 404
    assert agents[0]["response_engine"]["type"] == "retell-llm"


def test_retell_list_agents_channel_filter(fp):
    fp.add_retell_agent(KEY, agent_id="voice_1")
    fp.add_retell_agent(KEY, agent_id="chat_1", channel="chat")
    status, page = retell(fp, "/v2/list-agents", {})
    assert status == 200 and {a["agent_id"]: a["channel"] for a in page["items"]} == {"voice_1": "voice", "chat_1": "chat"}
    voice = {"filter_criteria": {"channel": {"type": "string", "op": "eq", "value": "voice"}}}
    assert [a["agent_id"] for a in retell(fp, "/v2/list-agents", voice)[1]["items"]] == ["voice_1"]
    assert retell(fp, "/v2/list-agents", {"filter_criteria": {"channel": "voice"}})[0] == 400
    assert retell(fp, "/v2/list-agents", {"limit": 5})[0] == 400  # limit is a query parameter
    assert retell(fp, "/get-agent/chat_1")[0] == 404
    assert [a["agent_id"] for a in retell(fp, "/list-agents")[1]] == ["voice_1"]


def test_retell_recordings(fp):
    fp.recording_size = 1000
    fp.add_retell_call(KEY, fp.make_retell_call("a1", call_id="c1"))
    status, headers, data = call_api(fp.url + "/recordings/retell/c1.wav")
    assert status == 200 and data == fp.recording_bytes("c1") and len(data) == 1044 and data[:4] == b"RIFF"
    assert headers["Content-Type"] == "audio/wav" and headers["Accept-Ranges"] == "bytes"
    status, headers, part = call_api(fp.url + "/recordings/retell/c1.wav", headers={"Range": "bytes=100-199"})
    assert status == 206 and part == data[100:200] and headers["Content-Range"] == "bytes 100-199/1044"
    status, headers, part = call_api(fp.url + "/recordings/retell/c1.wav", headers={"Range": "bytes=1000-"})
    assert status == 206 and part == data[1000:] and headers["Content-Range"] == "bytes 1000-1043/1044"
    assert call_api(fp.url + "/recordings/retell/c1.wav", headers={"Range": "bytes=5000-"})[0] == 416
    assert call_api(fp.url + "/recordings/retell/nope.wav")[0] == 404
    fp.expired_recordings.add("c1")
    assert call_api(fp.url + "/recordings/retell/c1.wav")[0] == 403


def test_signed_recording_urls_are_refreshed_by_get_call(fp):
    call = fp.add_retell_call(KEY, fp.make_retell_call("a1", call_id="c1", opt_in_signed_url=True))
    first = call["recording_url"]
    assert "X-Amz-Expires=" in first and call_api(first)[0] == 200
    _, fresh = retell(fp, "/v2/get-call/c1")
    assert fresh["recording_url"] != first
    assert call_api(first)[0] == 403
    assert call_api(fresh["recording_url"])[0] == 200
    assert call_api(fresh["recording_url"].split("?")[0])[0] == 403


def test_highlevel_oauth_code_exchange_and_refresh_rotation(fp):
    code = fp.hl_issue_code("loc_1")
    status, tokens = hl_token_request(fp, grant_type="authorization_code", code=code, redirect_uri="http://x/cb")
    assert status == 200 and tokens["locationId"] == "loc_1" and tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 86399 and tokens["userType"] == "Location"
    assert hl_token_request(fp, grant_type="authorization_code", code=code) == (400, {"error": "invalid_grant"})
    assert hl_token_request(fp, grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                            client_secret="bad") == (401, {"error": "invalid_client"})

    status, second = hl_token_request(fp, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert status == 200 and second["refresh_token"] != tokens["refresh_token"]
    assert hl_token_request(fp, grant_type="refresh_token", refresh_token=tokens["refresh_token"]) == \
        (400, {"error": "invalid_grant"})
    assert hl_token_request(fp, grant_type="refresh_token", refresh_token=second["refresh_token"])[0] == 200
    assert fp.hl_refresh_count == 3

    fp.add_hl_agent("loc_1", agent_id="ag1", name="Receptionist")
    status, body = hl_get(fp, "/voice-ai/agents", second["access_token"], locationId="loc_1")
    assert status == 200 and body["total"] == 1 and body["agents"][0]["agentName"] == "Receptionist"
    assert hl_get(fp, "/voice-ai/agents", second["access_token"], locationId="loc_2")[0] == 403
    assert hl_get(fp, "/voice-ai/agents", "bogus", locationId="loc_1") == \
        (401, {"statusCode": 401, "message": "Invalid JWT"})
    for version in ({}, {"Version": "2021-07-28"}):
        status, _, raw = call_api(f"{fp.url}/voice-ai/agents?locationId=loc_1",
                                  headers={"Authorization": f"Bearer {second['access_token']}", **version})
        assert (status, json.loads(raw)["message"]) == (400, "version header is invalid")
    fp.hl_tokens[second["access_token"]]["expires_at"] = time.time() - 1
    assert hl_get(fp, "/voice-ai/agents", second["access_token"], locationId="loc_1")[0] == 401


def test_highlevel_call_logs_paging_filters_and_recording(fp):
    access, _ = fp.hl_issue_tokens("loc_1")
    base = 1_750_000_000_000
    logs = [fp.add_hl_call("loc_1", fp.make_hl_call("loc_1", "ag1" if i % 2 else "ag2",
                                                    created_at_ms=base + i * 60_000, duration=30 + i))
            for i in range(23)]
    fp.add_hl_call("loc_2", fp.make_hl_call("loc_2", "ag1", created_at_ms=base))
    assert logs[0]["createdAt"] == iso_ms(base) and logs[0]["createdAt"].endswith(".000Z")

    seen, page = [], 1
    while True:
        status, body = hl_get(fp, "/voice-ai/dashboard/call-logs", access, locationId="loc_1", page=page,
                              pageSize=10, sortBy="createdAt", sort="ascend", startDate=base + 60_000,
                              endDate=base + 20 * 60_000)
        assert status == 200 and body["total"] == 20 and body["pageSize"] == 10
        seen += [log["id"] for log in body["callLogs"]]
        if page * body["pageSize"] >= body["total"]:
            break
        page += 1
    assert seen == [log["id"] for log in logs[1:21]]

    status, body = hl_get(fp, "/voice-ai/dashboard/call-logs", access, locationId="loc_1", agentId="ag1")
    assert body["total"] == 11 and body["callLogs"][0]["id"] == logs[21]["id"]  # newest first
    status, body = hl_get(fp, "/voice-ai/dashboard/call-logs", access, locationId="loc_1", sort="ascend")
    assert body["callLogs"][0]["id"] == logs[22]["id"]  # sort applies only with sortBy
    for bad in ({"sortBy": "createdAt", "sort": "asc"}, {"sortBy": "id"}, {"startDate": iso_ms(base), "endDate": base},
                {"startDate": base}):
        assert hl_get(fp, "/voice-ai/dashboard/call-logs", access, locationId="loc_1", **bad)[0] == 400, bad
    assert hl_get(fp, "/voice-ai/dashboard/call-logs", access, locationId="loc_1", pageSize=51)[0] == 422
    assert hl_get(fp, f"/voice-ai/dashboard/call-logs/{logs[5]['id']}", access) == (200, logs[5])
    assert hl_get(fp, "/voice-ai/dashboard/call-logs/nope", access)[0] == 404

    fp.recording_size = 500
    recording = f"{fp.url}/conversations/messages/{logs[5]['messageId']}/locations/loc_1/recording"
    auth = {"Authorization": f"Bearer {access}", **HL_VERSION}
    status, headers, data = call_api(recording, headers=auth)
    assert status == 200 and data == fp.hl_recording_bytes(logs[5]["messageId"])
    assert headers["Content-Type"] == "audio/x-wav"
    status, headers, part = call_api(recording, headers={**auth, "Range": "bytes=-44"})
    assert status == 206 and part == data[-44:] and headers["Content-Range"] == "bytes 500-543/544"


def test_highlevel_rate_limits(fp):
    access, _ = fp.hl_issue_tokens("loc_1")
    fp.hl_burst_max, fp.hl_interval_ms, fp.hl_daily_limit = 2, 300, 4
    heads = [call_api(f"{fp.url}/voice-ai/agents?locationId=loc_1",
                      headers={"Authorization": f"Bearer {access}", **HL_VERSION}) for _ in range(3)]
    assert [h[0] for h in heads] == [200, 200, 429]
    assert heads[0][1]["X-RateLimit-Remaining"] == "1" and heads[0][1]["X-RateLimit-Daily-Remaining"] == "3"
    assert heads[2][1]["X-RateLimit-Interval-Milliseconds"] == "300" and heads[2][1]["X-RateLimit-Max"] == "2"
    time.sleep(0.35)
    assert [hl_get(fp, "/voice-ai/agents", access, locationId="loc_1")[0] for _ in range(3)] == [200, 200, 429]
    time.sleep(0.35)
    status, headers, _ = call_api(f"{fp.url}/voice-ai/agents?locationId=loc_1",
                                  headers={"Authorization": f"Bearer {access}", **HL_VERSION})
    assert status == 429 and headers["X-RateLimit-Daily-Remaining"] == "0" and fp.hl_rate_limited == 3


def test_bulk_generation_is_fast(fp):
    began = time.monotonic()
    fp.generate_retell_calls(KEY, ["a1", "a2"], 100_000, 1_700_000_000_000, 1000, transcript_bytes=2000)
    assert time.monotonic() - began < 10
    status, page = retell(fp, "/v3/list-calls", {"limit": 1000, "filter_criteria": {"agent": [{"agent_id": "a2"}]}})
    assert status == 200 and len(page["items"]) == 1000 and page["has_more"]
    status, call = retell(fp, f"/v2/get-call/{page['items'][0]['call_id']}")
    assert status == 200 and len(call["transcript"]) >= 2000


def test_command_line_serves_until_sigterm():
    script = os.path.join(os.path.dirname(__file__), "fake_provider.py")
    proc = subprocess.Popen([sys.executable, script, "--retell-key", "kb", "--agents", "x1,x2", "--calls", "300",
                             "--highlevel-location", "loc_cli", "--highlevel-token", "tok_cli"],
                            stdout=subprocess.PIPE, text=True)
    try:
        word, url = proc.stdout.readline().split()
        assert word == "READY"
        status, _, raw = call_api(url + "/v3/list-calls", "POST", {"limit": 1000}, {"Authorization": "Bearer kb"})
        assert status == 200 and len(json.loads(raw)["items"]) == 300
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.stdout.close()
