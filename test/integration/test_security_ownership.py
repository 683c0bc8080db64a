"""Issue 16, findings 5 and 7.
5: a call's owner never changes through an upsert: a delivery signed with tenant A's own key
   naming tenant B's Retell call id, or A's sync listing a call with B's id, leaves B's row B's.
7: replays of a verified delivery inside the signature window add no inbox or audit rows."""
import time

import pytest

from testenv import retell

KEY_A = "key_owner_A_0123456789abcdef0123"
KEY_B = "key_owner_B_0123456789abcdef0123"


@pytest.fixture
def tenants(clean, connect_retell, retell_agent):
    stack = clean
    a, b = stack.make_user("client"), stack.make_user("client")
    connect_retell(a, KEY_A)
    connect_retell(b, KEY_B)
    agent_a = retell_agent("agent_owner_a", assign_to=a)
    agent_b = retell_agent("agent_owner_b", assign_to=b)
    call_b = str(stack.sql("""INSERT INTO calls (retell_call_id, source_platform, user_id, agent_id,
                                  started_at, summary, recording_url)
                              VALUES ('call_owned_by_b', 'retell', %s, %s, now() - interval '1 day',
                                      'B private summary', 'https://b.invalid/b.wav')
                              RETURNING id""", (b, agent_b))[0]["id"])
    return {"stack": stack, "a": a, "b": b, "agent_a": agent_a, "agent_b": agent_b, "call_b": call_b}


def owner_of(stack, retell_call_id):
    row = stack.sql("SELECT user_id, agent_id, summary, recording_url FROM calls"
                    " WHERE retell_call_id = %s", (retell_call_id,))[0]
    return str(row["user_id"]), str(row["agent_id"]), row


def assert_still_b(t):
    user, agent, row = owner_of(t["stack"], "call_owned_by_b")
    assert (user, agent) == (t["b"], str(t["agent_b"]))
    assert row["summary"] == "B private summary" and row["recording_url"] == "https://b.invalid/b.wav"


def test_a_delivery_signed_by_a_cannot_take_bs_call(tenants, fake, http):
    t = tenants
    call = fake.make_retell_call("agent_owner_a", call_id="call_owned_by_b")
    for url_user in (t["a"], None):  # A's per-user URL and the account-level URL
        for event in ("call_started", "call_ended", "call_analyzed"):
            body = retell.delivery(event, call)
            r = retell.post(http, t["stack"], body, KEY_A, user_id=url_user)
            assert r.status_code == 200, r.text
            assert_still_b(t)
    # and A sees nothing of B's call
    r = http.get(t["stack"].url("list-calls"), headers=t["stack"].auth(t["a"]))
    assert "B private summary" not in r.text and t["call_b"] not in r.text
    r = http.get(t["stack"].url("get-call-recording"), params={"call_id": t["call_b"]},
                 headers=t["stack"].auth(t["a"]))
    assert r.status_code == 404


def test_a_sync_of_a_cannot_take_bs_call(tenants, fake, http):
    t = tenants
    fake.add_retell_agent(KEY_A, agent_id="agent_owner_a")
    fake.add_retell_call(KEY_A, fake.make_retell_call(
        "agent_owner_a", call_id="call_owned_by_b", start_ms=int(time.time() * 1000) - 3600_000))
    r = http.post(t["stack"].url("sync-retell-calls"), json={"user_id": t["a"]},
                  headers=t["stack"].service_headers(), timeout=600)
    assert r.status_code in (200, 207), r.text
    assert_still_b(t)


def test_replays_do_not_grow_the_inbox(tenants, fake, http):
    t = tenants
    stack = t["stack"]
    call = fake.make_retell_call("agent_owner_a", call_id="call_replayed", transcript_bytes=20_000)
    body = retell.delivery("call_ended", retell.ended(call))
    signature = retell.sign(body, KEY_A)
    for _ in range(10):
        r = retell.post(http, stack, body, KEY_A, signature=signature)
        assert r.status_code == 200, r.text
    assert stack.sql("SELECT count(*) AS n FROM webhook_inbox")[0]["n"] == 1
    assert stack.sql("SELECT count(*) AS n FROM key_usage_audit WHERE purpose = 'verify webhook signature'")[0]["n"] == 1
    assert stack.sql("SELECT count(*) AS n FROM calls WHERE retell_call_id = 'call_replayed'")[0]["n"] == 1
    # the next event of the same call is a new delivery
    r = retell.post(http, stack, retell.delivery("call_analyzed", call), KEY_A)
    assert r.status_code == 200
    assert stack.sql("SELECT count(*) AS n FROM webhook_inbox")[0]["n"] == 2
