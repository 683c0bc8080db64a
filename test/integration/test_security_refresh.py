"""Issue 16, finding 6: an interrupted or uncertain HighLevel refresh never destroys the
connection. The token POST is never retried (the provider may have rotated the refresh token on
the attempt we saw fail); after an uncertain refresh the row is kept and the still-valid access
token is used; only a definite invalid_grant deactivates."""
from testenv import highlevel as hl

LOC = "loc_security_refresh_1"


def list_agents(http, stack, admin, user):
    return http.post(stack.url("fetch-available-agents"), headers=stack.auth(admin),
                     json={"user_id": user}, timeout=60)


def connected(stack, fake):
    admin, user = stack.make_user("admin"), stack.make_user("client")
    fake.add_hl_agent(LOC, agent_id="hl_agent_refresh", name="Desk")
    access, refresh = hl.connect(stack, fake, user, LOC, expires_in_s=120)  # due, still valid
    return admin, user, access, refresh


def test_an_answer_lost_mid_refresh_is_not_retried_and_keeps_the_connection(clean, fake, http):
    stack = clean
    admin, user, access, refresh = connected(stack, fake)
    # the provider rotates the refresh token, then the answer is cut off
    fake.add_fault(path_prefix="/oauth/token", truncate=True)
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 200, r.text
    assert len(fake.requests_for("/oauth/token")) == 1, "the token POST was retried"
    row, tokens = hl.stored_tokens(stack, user)
    assert row["is_active"] and row["status"] == "connected"
    assert tokens == {"access_token": access, "refresh_token": refresh}


def test_a_refusal_that_is_not_invalid_grant_keeps_the_connection(clean, fake, http):
    stack = clean
    admin, user, access, refresh = connected(stack, fake)
    fake.add_fault(path_prefix="/oauth/token", status=400, message="temporarily unable to refresh")
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 200, r.text
    row, tokens = hl.stored_tokens(stack, user)
    assert row["is_active"] and row["status"] == "connected"
    assert tokens == {"access_token": access, "refresh_token": refresh}
    # the next request refreshes normally
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 200
    row, tokens = hl.stored_tokens(stack, user)
    assert row["is_active"] and tokens["refresh_token"] != refresh


def test_invalid_grant_still_ends_the_connection(clean, fake, http):
    stack = clean
    admin, user = stack.make_user("admin"), stack.make_user("client")
    hl.connect(stack, fake, user, LOC, expires_in_s=120, refresh_token="hlrt_revoked")
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 422 and r.json()["error"] == "reconnect_required", r.text
    row, _ = hl.stored_tokens(stack, user)
    assert not row["is_active"] and row["status"] == "refresh_rejected"
