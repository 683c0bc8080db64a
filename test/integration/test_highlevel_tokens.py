"""HighLevel tokens (common/highlevel tokens, used by every function that calls HighLevel):
refreshed ahead of expiry with rotation under a row lock (three processes at once refresh
once), a token with time left kept, a refused refresh ending the connection without loops
until the user authorises again, and a provider down during a refresh."""
import concurrent.futures
import datetime

import requests

from testenv import highlevel as hl
from testenv.highlevel import LOCATION as LOC
from testenv.highlevel import audits, complete_flow, form, list_agents, start_flow, token_requests


def test_token_due_within_five_minutes_is_refreshed_and_rotated(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    fake.add_hl_agent(LOC, agent_id="hl_agent_1", name="Front desk")
    old_access, old_refresh = hl.connect(stack, fake, user, LOC, expires_in_s=240)
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 200, r.text
    assert fake.hl_refresh_count == 1
    sent = form(token_requests(fake)[0])
    assert sent["grant_type"] == "refresh_token" and sent["refresh_token"] == old_refresh
    assert sent["user_type"] == "Location"
    row, tokens = hl.stored_tokens(stack, user)
    # the rotated pair is what is stored; the spent refresh token is gone at the provider
    assert tokens["refresh_token"] != old_refresh and tokens["refresh_token"] in fake.hl_refresh_tokens
    assert old_refresh not in fake.hl_refresh_tokens
    assert tokens["access_token"] != old_access and tokens["access_token"] in fake.hl_tokens
    assert row["status"] == "connected" and row["token_refreshed_at"] is not None
    left = (row["token_expires_at"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert left > 86000
    # the agents call used the new token
    assert fake.requests_for("/voice-ai/agents")[-1]["headers"]["authorization"] == \
        "Bearer " + tokens["access_token"]
    assert audits(stack, user) == ["token refresh", "list voice agents"]
    # fresh now: no second refresh
    assert list_agents(http, stack, admin, user).status_code == 200
    assert fake.hl_refresh_count == 1


def test_a_token_with_time_left_is_not_refreshed(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    hl.connect(stack, fake, user, LOC, expires_in_s=301 + 60)
    assert list_agents(http, stack, admin, user).status_code == 200
    assert fake.hl_refresh_count == 0 and token_requests(fake) == []


def test_concurrent_users_of_an_expiring_token_refresh_once(clean, fake, http, admin):
    """Three processes (two recording workers and the agents function) need the token at once
    while the provider takes a second to answer the refresh: one refreshes, the others wait for
    the row and use the new token."""
    stack = clean
    user = stack.make_user("client")
    agent = hl.plant_agent(stack, "hl_agent_c", LOC, assign_to=user, name="A")
    fake.add_hl_agent(LOC, agent_id="hl_agent_c")
    calls = []
    for i in range(2):
        log = fake.add_hl_call(LOC, fake.make_hl_call(LOC, "hl_agent_c"))
        calls.append((stack.sql("""INSERT INTO calls (highlevel_call_id, highlevel_message_id,
                                       source_platform, user_id, agent_id)
                                   VALUES (%s, %s, 'highlevel', %s, %s) RETURNING id""",
                                (log["id"], log["messageId"], user, agent))[0]["id"], log["messageId"]))
    hl.connect(stack, fake, user, LOC, expires_in_s=30)
    fake.add_fault(path_prefix="/oauth/token", delay=1.0)

    def recording(call_id):
        with requests.Session() as s:    # one session a thread
            return s.get(stack.url("get-call-recording"), params={"call_id": str(call_id)},
                         headers=stack.auth(user), timeout=60)

    def agents():
        with requests.Session() as s:
            return list_agents(s, stack, admin, user)

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(recording, cid) for cid, _ in calls]
        futures.append(pool.submit(agents))
        results = [f.result(timeout=60) for f in futures]
    for (cid, message_id), r in zip(calls, results[:2]):
        assert r.status_code == 200, r.text
        assert r.content == fake.hl_recording_bytes(message_id)
    assert results[2].status_code == 200, results[2].text
    assert fake.hl_refresh_count == 1
    row, tokens = hl.stored_tokens(stack, user)
    assert row["is_active"] and tokens["refresh_token"] in fake.hl_refresh_tokens
    assert audits(stack, user).count("token refresh") == 1


def test_refused_refresh_ends_the_connection_without_retrying(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    hl.connect(stack, fake, user, LOC, expires_in_s=-60, refresh_token="hlrt_revoked_by_the_owner")
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 422 and r.json()["error"] == "reconnect_required"
    hl.assert_no_provider_words(r.text)
    row, tokens = hl.stored_tokens(stack, user)
    assert not row["is_active"] and row["status"] == "refresh_rejected"
    assert "authorise" in row["last_error"] and tokens == {"access_token": None, "refresh_token": None}
    assert fake.hl_refresh_count == 1
    # later requests learn it from the row: the provider is not asked again
    for _ in range(3):
        r = list_agents(http, stack, admin, user)
        assert r.status_code == 422 and r.json()["error"] == "reconnect_required"
    assert fake.hl_refresh_count == 1
    # authorising again brings the connection back
    state = start_flow(http, stack, user).json()["state"]
    assert complete_flow(http, stack, fake.hl_issue_code(LOC), state, user).status_code == 200
    row, _ = hl.stored_tokens(stack, user)
    assert row["is_active"] and row["status"] == "connected" and row["last_error"] is None
    assert list_agents(http, stack, admin, user).status_code == 200


def test_provider_down_during_refresh_uses_the_token_still_valid(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    access, refresh = hl.connect(stack, fake, user, LOC, expires_in_s=120)
    fake.add_fault(path_prefix="/oauth/token", status=503, count=20)
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 200, r.text
    row, tokens = hl.stored_tokens(stack, user)
    assert row["is_active"] and tokens == {"access_token": access, "refresh_token": refresh}
    # once expired, the same outage is a clear 502 and the connection stays (nothing was refused)
    stack.sql("UPDATE api_keys SET token_expires_at = now() - interval '1 minute' WHERE user_id = %s", (user,))
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 502 and "retry" in r.json()["message"]
    assert hl.stored_tokens(stack, user)[0]["is_active"]
