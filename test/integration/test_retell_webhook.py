"""retell-webhook over nginx with a real PostgreSQL: verification, events, idempotence,
monotonic merges, inbox, bad input, and a storm with a database restart in the middle."""
import concurrent.futures
import hashlib
import json
import math
import time

import pytest

from testenv import retell
from testenv.stack import wait_until

KEY = "key_webhook_test_0123456789abcdef"


@pytest.fixture
def owner(clean, connect_retell, retell_agent):
    user = clean.make_user("client")
    connect_retell(user, KEY)
    agent = retell_agent("agent_main", assign_to=user)
    return {"user": user, "agent": agent}


def call_row(stack, call_id):
    rows = stack.sql("SELECT * FROM calls WHERE retell_call_id = %s", (call_id,))
    return rows[0] if rows else None


def counts(stack):
    return stack.sql("SELECT (SELECT count(*) FROM calls) AS calls,"
                     " (SELECT count(*) FROM webhook_inbox) AS inbox")[0]


def test_call_lifecycle_is_normalised(stack, fake, http, owner):
    call = fake.make_retell_call("agent_main", call_id="call_life", duration_ms=61_001,
                                 direction="outbound")
    r = retell.post(http, stack, retell.delivery("call_started", retell.started(call)), KEY)
    assert r.status_code == 200 and r.json()["outcome"] == "applied"
    row = call_row(stack, "call_life")
    assert row["call_status"] == "ongoing" and row["ended_at"] is None
    assert row["user_id"] == owner["user"] and row["agent_id"] == owner["agent"]
    assert row["source_platform"] == "retell"

    r = retell.post(http, stack, retell.delivery("call_ended", retell.ended(call)), KEY)
    assert r.status_code == 200
    row = call_row(stack, "call_life")
    assert row["call_status"] == "ended"
    assert row["duration_seconds"] == 62  # ceil(61.001)
    assert row["started_at"].timestamp() * 1000 == call["start_timestamp"]
    assert row["ended_at"].timestamp() * 1000 == call["end_timestamp"]
    assert row["direction"] == "outbound" and row["call_type"] == "phone_call"
    assert row["transcript"] == call["transcript"]
    # stored as the JSON text the webhook checked (0052), the same value
    assert json.loads(row["transcript_object"]) == call["transcript_object"]
    assert row["recording_url"] == call["recording_url"]
    assert row["disconnection_reason"] == call["disconnection_reason"]
    assert row["latency"] == call["latency"]
    assert row["from_number"] == call["from_number"] and row["to_number"] == call["to_number"]
    assert row["call_analysis"] is None

    r = retell.post(http, stack, retell.delivery("call_analyzed", call), KEY)
    assert r.status_code == 200
    row = call_row(stack, "call_life")
    a = call["call_analysis"]
    assert row["summary"] == a["call_summary"] and row["sentiment"] == a["user_sentiment"]
    assert row["call_successful"] == a["call_successful"]
    assert row["in_voicemail"] == a["in_voicemail"]
    assert row["call_analysis"]["custom_analysis_data"] == a["custom_analysis_data"]
    assert counts(stack) == {"calls": 1, "inbox": 3}
    statuses = [r["status"] for r in stack.sql("SELECT status FROM webhook_inbox ORDER BY id")]
    assert statuses == ["applied"] * 3


def test_web_call_and_cost_from_the_billing_account(stack, fake, http, owner):
    stack.sql("""INSERT INTO billing_accounts (user_id, inbound_rate_per_minute,
                 outbound_rate_per_minute, web_call_rate_per_minute, billing_increment_seconds)
                 VALUES (%s, 0.10, 0.20, 0.05, 60)""", (owner["user"],))
    call = fake.make_retell_call("agent_main", call_id="call_web", call_type="web_call",
                                 duration_ms=90_500)
    assert retell.post(http, stack, retell.delivery("call_ended", call), KEY).status_code == 200
    row = call_row(stack, "call_web")
    assert row["call_type"] == "web_call" and row["direction"] is None
    # 91 s rounded up to 120 s at 0.05 per minute, ignoring Retell's call_cost
    assert str(row["cost"]) == "0.1000"


def test_path_form_uses_that_users_key(stack, fake, http, owner, connect_retell):
    other = stack.make_user("client")
    connect_retell(other, "key_other_workspace_000000000000")
    call = fake.make_retell_call("agent_main", call_id="call_path")
    body = retell.delivery("call_ended", call)
    assert retell.post(http, stack, body, KEY, user_id=owner["user"]).status_code == 200
    # signed with the owner's key but posted to the other user's URL: refused
    call2 = fake.make_retell_call("agent_main", call_id="call_path_2")
    r = retell.post(http, stack, retell.delivery("call_ended", call2), KEY, user_id=other)
    assert r.status_code == 401
    assert call_row(stack, "call_path_2") is None
    assert retell.post(http, stack, body, KEY, user_id="not-a-uuid").status_code == 404


@pytest.mark.parametrize("signature", [
    None, "", "v=123", "d=abc", "v=abc,d=" + "0" * 64, "v=1,d=" + "0" * 63,
])
def test_missing_or_malformed_signature_is_401_and_writes_nothing(stack, fake, http, owner, signature):
    body = retell.delivery("call_ended", fake.make_retell_call("agent_main"))
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["x-retell-signature"] = signature
    r = http.post(stack.url("retell-webhook"), data=body, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "bad_signature"
    assert counts(stack) == {"calls": 0, "inbox": 0}


def test_wrong_key_expired_and_future_signatures_are_401(stack, fake, http, owner):
    body = retell.delivery("call_ended", fake.make_retell_call("agent_main"))
    now = int(time.time() * 1000)
    for sig in (retell.sign(body, "some_other_key"),
                retell.sign(body, KEY, now - 5 * 60 * 1000 - 5000),
                retell.sign(body, KEY, now + 6 * 60 * 1000)):
        r = retell.post(http, stack, body, KEY, signature=sig)
        assert r.status_code == 401, sig
    assert counts(stack) == {"calls": 0, "inbox": 0}


def test_official_sdk_signatures_interoperate(stack, fake, http, owner):
    call = fake.make_retell_call("agent_main", call_id="call_sdk")
    body = retell.delivery("call_ended", call)
    good = retell.sdk_sign(body, KEY)
    assert retell.post(http, stack, body, KEY, signature=good).status_code == 200
    assert call_row(stack, "call_sdk") is not None
    # a tampered body (one transcript character) under the SDK's signature
    tampered = body.replace(b'"transcript":"', b'"transcript":"X', 1)
    assert tampered != body
    assert retell.post(http, stack, tampered, KEY, signature=good).status_code == 401
    # a stale delivery: signed by the SDK ten minutes ago
    call2 = fake.make_retell_call("agent_main", call_id="call_sdk_stale")
    body2 = retell.delivery("call_ended", call2)
    stale = retell.sdk_sign(body2, KEY, int(time.time() * 1000) - 10 * 60 * 1000)
    assert retell.post(http, stack, body2, KEY, signature=stale).status_code == 401
    assert call_row(stack, "call_sdk_stale") is None


def test_unknown_event_is_kept_and_ignored(stack, fake, http, owner):
    body = json.dumps({"event": "transcript_updated", "call": {"call_id": "c_u", "agent_id": "agent_main"},
                       "transcript": "partial"}).encode()
    r = retell.post(http, stack, body, KEY)
    assert r.status_code == 200 and r.json()["outcome"] == "ignored"
    assert counts(stack) == {"calls": 0, "inbox": 1}
    row = stack.sql("SELECT * FROM webhook_inbox")[0]
    assert row["status"] == "ignored" and row["event"] == "transcript_updated"
    assert (row["call_id"], row["provider_agent_id"]) == ("c_u", "agent_main")
    # what identifies it, not the body (transcript_updated comes on every turn): the size and
    # SHA-256 of the raw bytes received
    assert row["body"] is None and row["body_bytes"] == len(body)
    assert row["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_repeats_and_out_of_order_deliveries_never_regress(stack, fake, http, owner):
    call = fake.make_retell_call("agent_main", call_id="call_order")
    analyzed = retell.delivery("call_analyzed", call)
    ended = retell.delivery("call_ended", retell.ended(call))
    started = retell.delivery("call_started", retell.started(call))
    for body in (analyzed, ended, started, ended, analyzed, started):
        assert retell.post(http, stack, body, KEY).status_code == 200
    row = call_row(stack, "call_order")
    assert row["call_status"] == "ended"
    assert row["summary"] == call["call_analysis"]["call_summary"]
    assert row["transcript"] == call["transcript"]
    assert row["duration_seconds"] == math.ceil(call["duration_ms"] / 1000)
    assert counts(stack)["calls"] == 1


def test_unassigned_agent_is_accepted_and_kept(stack, fake, http, owner):
    call = fake.make_retell_call("agent_nobody", call_id="call_unassigned")
    r = retell.post(http, stack, retell.delivery("call_ended", call), KEY)
    assert r.status_code == 200 and r.json()["outcome"] == "unassigned"
    assert call_row(stack, "call_unassigned") is None
    row = stack.sql("SELECT status, user_id, provider_agent_id FROM webhook_inbox")[0]
    assert row == {"status": "unassigned", "user_id": owner["user"], "provider_agent_id": "agent_nobody"}


def test_key_use_is_audited_without_the_key(stack, fake, http, owner):
    call = fake.make_retell_call("agent_main", call_id="call_audit")
    retell.post(http, stack, retell.delivery("call_ended", call), KEY)
    rows = stack.sql("SELECT * FROM key_usage_audit")
    assert len(rows) == 1
    assert rows[0]["user_id"] == owner["user"] and rows[0]["service"] == "retell"
    assert rows[0]["function_name"] == "retell-webhook" and rows[0]["request_id"]
    assert KEY not in json.dumps(rows, default=str)
    sealed = stack.sql("SELECT access_token FROM api_keys")[0]["access_token"]
    assert KEY not in sealed


def deep(n):
    return "[" * n + "]" * n


BAD_BODIES = {
    "malformed": b'{"event":"call_ended","call":{',
    "not_object": b'[1,2,3]',
    "missing_call_id": json.dumps({"event": "call_ended", "call": {"agent_id": "agent_main"}}).encode(),
    "call_id_number": json.dumps({"event": "call_ended", "call": {"call_id": 5, "agent_id": "agent_main"}}).encode(),
    "duration_string": json.dumps({"event": "call_ended", "call": {"call_id": "c", "agent_id": "agent_main",
                                                                  "duration_ms": "60"}}).encode(),
    "negative_duration": json.dumps({"event": "call_ended", "call": {"call_id": "c", "agent_id": "agent_main",
                                                                    "duration_ms": -5}}).encode(),
    "far_future": json.dumps({"event": "call_ended", "call": {"call_id": "c", "agent_id": "agent_main",
                                                             "start_timestamp": 99999999999999}}).encode(),
    "huge_number": b'{"event":"call_ended","call":{"call_id":"c","agent_id":"agent_main","duration_ms":1e400}}',
    "nul_in_string": b'{"event":"call_ended","call":{"call_id":"c\\u0000x","agent_id":"agent_main"}}',
    "invalid_utf8": b'{"event":"call_ended","call":{"call_id":"c\xff","agent_id":"agent_main"}}',
    "deep_nesting": ('{"event":"call_ended","call":{"call_id":"c","agent_id":"agent_main","metadata":'
                     + deep(10_000) + "}}").encode(),
    "analysis_wrong_type": json.dumps({"event": "call_analyzed", "call": {
        "call_id": "c", "agent_id": "agent_main", "call_analysis": {"call_successful": "yes"}}}).encode(),
    "event_missing": json.dumps({"call": {"call_id": "c", "agent_id": "agent_main"}}).encode(),
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_input_is_a_clear_4xx_and_writes_nothing(stack, http, owner, name):
    body = BAD_BODIES[name]
    r = retell.post(http, stack, body, KEY)
    assert 400 <= r.status_code < 500, (name, r.status_code, r.text)
    err = r.json()
    assert set(err) == {"error", "message"} and err["message"]
    assert counts(stack) == {"calls": 0, "inbox": 0}


def test_wrong_content_type_and_method(stack, fake, http, owner):
    body = retell.delivery("call_ended", fake.make_retell_call("agent_main"))
    r = retell.post(http, stack, body, KEY, **{"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert http.get(stack.url("retell-webhook")).status_code == 405
    assert counts(stack) == {"calls": 0, "inbox": 0}


def test_huge_body_is_413(stack, http, owner):
    body = b'{"event":"call_ended","call":{"transcript":"' + b"a" * (3 * 1024 * 1024) + b'"}}'
    r = retell.post(http, stack, body, KEY)
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"
    assert counts(stack) == {"calls": 0, "inbox": 0}


def test_database_down_is_503_and_the_retry_lands(stack, fake, http, owner):
    call = fake.make_retell_call("agent_main", call_id="call_db_down")
    body = retell.delivery("call_ended", call)
    stack.pg_stop()
    try:
        r = retell.post(http, stack, body, KEY)
        assert r.status_code == 503
    finally:
        stack.pg_start()
    assert wait_until(lambda: retell.post(http, stack, body, KEY).status_code == 200, timeout=20)
    assert call_row(stack, "call_db_down")["call_status"] == "ended"


def storm_deliveries(fake, n_calls):
    """About 2,000 deliveries for 555 calls."""
    return retell.shuffled_deliveries(fake, "agent_main", n_calls, "storm", 2000)


def deliver_until_accepted(stack, body, deadline):
    import requests
    with requests.Session() as s:
        while True:
            try:
                r = retell.post(s, stack, body, KEY)
                if r.status_code == 200:
                    return 1
                assert r.status_code >= 500, r.text  # only server trouble may be retried
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                return 0
            time.sleep(0.05)


def assert_storm_result(stack, calls):
    rows = {r["retell_call_id"]: r for r in stack.sql("SELECT * FROM calls")}
    assert len(rows) == len(calls)
    for c in calls:
        row = rows[c["call_id"]]
        assert row["call_status"] == "ended"
        assert row["summary"] == c["call_analysis"]["call_summary"]
        assert row["transcript"] == c["transcript"]
        assert row["duration_seconds"] == math.ceil(c["duration_ms"] / 1000)
        assert row["ended_at"] is not None and row["recording_url"] == c["recording_url"]


def test_storm_of_2000_deliveries_leaves_exactly_the_expected_rows(stack, fake, owner):
    calls, bodies = storm_deliveries(fake, 555)
    assert len(bodies) >= 1998
    deadline = time.monotonic() + 300
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        delivered = sum(pool.map(lambda b: deliver_until_accepted(stack, b, deadline), bodies))
    assert delivered == len(bodies)
    assert_storm_result(stack, calls)
    # a repeated delivery (the same bytes) is stored once (issue 16, finding 7)
    assert stack.sql("SELECT count(*) AS n FROM webhook_inbox")[0]["n"] == len(set(bodies))


def test_database_restart_mid_storm_loses_nothing(stack, fake, owner):
    calls, bodies = storm_deliveries(fake, 200)
    deadline = time.monotonic() + 300
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(deliver_until_accepted, stack, b, deadline) for b in bodies]
        time.sleep(0.5)
        stack.pg_stop()
        time.sleep(1.0)
        stack.pg_start()
        delivered = sum(f.result() for f in futures)
    assert delivered == len(bodies)
    assert_storm_result(stack, calls)
