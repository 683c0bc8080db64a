"""highlevel-oauth: the OAuth code flow (state bound to the user it was started for, to the caller
that started it and to the starting browser's PKCE verifier; single use, expiry), who may start a
connection, a refused code or denied access, and the function without its app configuration."""
import datetime
import signal
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from testenv import highlevel as hl
from testenv.highlevel import LOCATION as LOC
from testenv.highlevel import (CHALLENGE, audits, callback, complete_flow, finish_flow, form,
                               start_flow, token_requests)
from testenv.stack import wait_until


def test_code_flow_stores_sealed_tokens_and_location(clean, fake, http):
    stack = clean
    user = stack.make_user("client")
    r = start_flow(http, stack, user)  # no user_id: themselves
    assert r.status_code == 200, r.text
    started = r.json()
    url = urlsplit(started["authorize_url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == \
        "https://marketplace.leadconnectorhq.com/v2/oauth/chooselocation"
    assert query == {"response_type": "code", "redirect_uri": "http://127.0.0.1/oauth/callback",
                     "client_id": "fake-hl-client-id", "state": started["state"],
                     "scope": "voice-ai-agents.readonly voice-ai-dashboard.readonly"
                              " conversations/message.readonly"}
    assert len(started["state"]) >= 43 and started["expires_in"] == 600
    state_row = stack.sql("SELECT * FROM oauth_states WHERE state = %s", (started["state"],))[0]
    assert str(state_row["user_id"]) == user and str(state_row["created_by"]) == user
    assert state_row["code_challenge"] == CHALLENGE

    fake.hl_redirect_uri = "http://127.0.0.1/oauth/callback"  # the exchange must send it back
    code = fake.hl_issue_code(LOC)
    r = complete_flow(http, stack, code, started["state"], user)
    assert r.status_code == 200, r.text
    assert r.json() == {"connected": True, "user_id": user, "location_id": LOC}
    hl.assert_no_provider_words(r.text)

    sent = form(token_requests(fake)[0])
    assert sent["grant_type"] == "authorization_code" and sent["code"] == code
    assert sent["user_type"] == "Location" and sent["client_secret"] == "fake-hl-client-secret"
    row, tokens = hl.stored_tokens(stack, user)
    assert row["is_active"] and row["status"] == "connected" and row["location_id"] == LOC
    # sealed at rest, and what was sealed is the pair the provider issued
    assert tokens["access_token"] in fake.hl_tokens
    assert tokens["refresh_token"] in fake.hl_refresh_tokens
    assert tokens["access_token"] not in row["access_token"]
    left = (row["token_expires_at"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 86300 < left <= 86400
    assert audits(stack, user) == ["store the tokens of a new authorization"]

    # single use: the same redirect again is refused and changes nothing
    r = complete_flow(http, stack, fake.hl_issue_code(LOC), started["state"], user)
    assert r.status_code == 400 and r.json()["error"] == "invalid_state"
    assert "already" in r.json()["message"]
    assert len(token_requests(fake)) == 1


def test_unknown_expired_and_missing_states_are_400_and_spend_no_code(clean, fake, http):
    stack = clean
    user = stack.make_user("client")
    code = fake.hl_issue_code(LOC)
    for state in ("not-a-state-we-issued", ""):
        r = complete_flow(http, stack, code, state, user)
        assert r.status_code == 400 and r.json()["error"] == "invalid_state"
    state = start_flow(http, stack, user).json()["state"]
    stack.sql("UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE state = %s", (state,))
    r = complete_flow(http, stack, code, state, user)
    assert r.status_code == 400 and "expired" in r.json()["message"]
    assert token_requests(fake) == [] and code in fake.hl_codes
    assert stack.sql("SELECT count(*) AS n FROM api_keys")[0]["n"] == 0


def test_state_is_bound_to_the_user_it_was_started_for(clean, fake, http):
    stack = clean
    admin = stack.make_user("admin")
    alice, bob = stack.make_user("client"), stack.make_user("client")
    r = start_flow(http, stack, admin, {"user_id": alice})
    assert r.status_code == 200 and r.json()["user_id"] == alice
    state = r.json()["state"]
    # the admin who started it finishes it, and it connects alice, never the admin
    r = complete_flow(http, stack, fake.hl_issue_code(LOC), state, admin)
    assert r.status_code == 200 and r.json()["user_id"] == alice
    assert [str(r["user_id"]) for r in stack.sql("SELECT user_id FROM api_keys")] == [alice]
    assert str(stack.sql("SELECT created_by FROM oauth_states")[0]["created_by"]) == admin
    assert bob not in {str(r["user_id"]) for r in stack.sql("SELECT user_id FROM oauth_states")}


def test_a_victim_completing_a_clients_authorize_url_connects_nothing(clean, fake, http):
    """Issue 16, finding 10. Client A sends their authorize_url to victim V, who grants their
    own location: the provider's redirect (in V's browser) exchanges nothing, and V's dashboard
    cannot finish A's flow. Before, that redirect stored V's location tokens under A."""
    stack = clean
    a, victim = stack.make_user("client"), stack.make_user("client")
    state = start_flow(http, stack, a).json()["state"]
    code = fake.hl_issue_code("loc_of_the_victim")
    r = callback(http, stack, code=code, state=state)
    assert r.status_code == 200 and r.json() == {"pending": True, "state": state, "code": code}
    assert token_requests(fake) == []
    # V's dashboard, signed in as V, finishing with whatever verifier it has
    r = finish_flow(http, stack, victim, code, state, verifier="v" * 43)
    assert r.status_code == 403 and r.json()["error"] == "state_mismatch", r.text
    # refused once is spent: even A, were the code to leak to them, cannot use it now
    r = finish_flow(http, stack, a, code, state)
    assert r.status_code == 400 and r.json()["error"] == "invalid_state"
    assert token_requests(fake) == [] and code in fake.hl_codes
    assert stack.sql("SELECT count(*) AS n FROM api_keys")[0]["n"] == 0


def test_the_starter_without_the_browsers_verifier_cannot_finish(clean, fake, http):
    stack = clean
    user = stack.make_user("client")
    for verifier in (None, "", "x" * 42, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", "ä" * 43):
        state = start_flow(http, stack, user).json()["state"]
        r = complete_flow(http, stack, fake.hl_issue_code(LOC), state, user, verifier=verifier)
        assert r.status_code == 400 and r.json()["error"] == "invalid_verifier", (verifier, r.text)
        assert stack.sql("SELECT used_at FROM oauth_states WHERE state = %s", (state,))[0]["used_at"]
    assert token_requests(fake) == []
    assert stack.sql("SELECT count(*) AS n FROM api_keys")[0]["n"] == 0


def test_a_start_needs_an_s256_challenge(clean, http):
    stack = clean
    user = stack.make_user("client")
    for body, code in (({}, "missing_field"), ({"code_challenge": "short"}, "missing_field"),
                       ({"code_challenge": CHALLENGE[:-1] + "="}, "missing_field"),
                       ({"code_challenge": CHALLENGE, "code_challenge_method": "plain"},
                        "invalid_field")):
        r = start_flow(http, stack, user, body, challenge=None)
        assert r.status_code == 400 and r.json()["error"] == code, (body, r.text)
    assert start_flow(http, stack, user, {"code_challenge_method": "S256"}).status_code == 200
    assert stack.sql("SELECT count(*) AS n FROM oauth_states")[0]["n"] == 1


def test_who_may_start_a_connection(clean, http):
    stack = clean
    admin = stack.make_user("admin")
    alice, bob = stack.make_user("client"), stack.make_user("client")
    assert http.post(stack.url("highlevel-oauth")).status_code == 401
    assert start_flow(http, stack, alice, {"user_id": bob}).status_code == 403
    assert start_flow(http, stack, alice, {"user_id": alice}).status_code == 200
    r = start_flow(http, stack, admin, {})
    assert r.status_code == 400 and r.json()["error"] == "missing_field" and "user_id" in r.text
    assert start_flow(http, stack, admin, {"user_id": "not-a-uuid"}).status_code == 400
    assert start_flow(http, stack, admin, {"user_id": "00000000-0000-4000-8000-000000000000"}).status_code == 404
    assert http.delete(stack.url("highlevel-oauth"), headers=stack.auth(admin)).status_code == 405


def test_refused_code_and_denied_access_spend_the_state(clean, fake, http):
    stack = clean
    user = stack.make_user("client")
    state = start_flow(http, stack, user).json()["state"]
    r = complete_flow(http, stack, "hlcode_never_issued", state, user)
    assert r.status_code == 400 and r.json()["error"] == "invalid_code"
    hl.assert_no_provider_words(r.text)
    assert complete_flow(http, stack, fake.hl_issue_code(LOC), state, user).status_code == 400
    state = start_flow(http, stack, user).json()["state"]
    r = http.get(stack.url("highlevel-oauth"), params={"error": "access_denied", "state": state})
    assert r.status_code == 400 and r.json()["error"] == "authorization_denied"
    assert stack.sql("SELECT count(*) AS n FROM api_keys")[0]["n"] == 0


def test_missing_app_configuration_is_503(stack, tmp_path):
    """The handler run alone, without HIGHLEVEL_CLIENT_ID, spoken to over FastCGI (cgi-fcgi)."""
    env = {k: v for k, v in stack.env.items() if not k.startswith(("HIGHLEVEL_CLIENT", "STACK_"))}
    env.update(DATABASE_URL=stack.database_url, JWT_SECRET=stack.jwt_secret,
               SECRETS_KEYS=stack.secrets_keys)
    sock = tmp_path / "oauth.sock"
    proc = subprocess.Popen([str(Path(stack.build) / "highlevel-oauth"), "--socket", str(sock)],
                            env=env, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(sock.exists)
        cgi = dict(env, REQUEST_METHOD="GET", QUERY_STRING="code=x&state=y",
                   DOCUMENT_URI="/functions/v1/highlevel-oauth", SERVER_PROTOCOL="HTTP/1.1")
        out = subprocess.run(["cgi-fcgi", "-bind", "-connect", str(sock)], env=cgi,
                             capture_output=True, timeout=30).stdout.decode()
        assert out.startswith("Status: 503")
        assert '"error":"not_configured"' in out and "client id" in out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
