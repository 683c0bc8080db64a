"""The authorisation matrix (issue 10): every function x every kind of caller, one real request
per cell against the stack, and the status each must get, as one table (MATRIX below).

Callers (columns):
  anonymous     no Authorization header, and the project's anon key (a valid JWT with role
                `anon`, sent with `apikey` as supabase-js does when nobody is signed in): both
  expired       the admin's own token, validly signed, expired an hour ago (past the leeway)
  wrong_secret  a service-role token, and the admin's, signed with another secret
  alg_none      service-role claims under `alg: none` (none / None / NONE, empty or real
                signature) and algorithm confusion (RS256 / ES256 / HS512 headers over an HMAC)
  client        client A acting on their own data (A's user_id, A's call)
  other_client  client B acting on A's data (A's user_id, A's call_id): never A's data
  admin         a user whose profiles.role is admin
  service_role  the stack's service-role key (what the scheduled jobs send)

The data (A's Retell key, agent and call, A's HighLevel location, B's own agent and call) is
set up once for the module; operations that change it (disconnect, unassign) are undone
before every cell, so the cells are independent of their order.

The webhook is called with signatures, not tokens: the token callers all get 401 (a token
never stands in for a signature), and test_webhook_signature_matrix covers its own callers.
"""
import hashlib
import hmac
import json
import time

import pytest

from testenv import highlevel as hl
from testenv import retell
from testenv.stack import b64url, sign_hs256
from testenv.tenants import AGENT_A, KEY_A

CALLERS = ("anonymous", "expired", "wrong_secret", "alg_none",
           "client", "other_client", "admin", "service_role")


# --------------------------------------------------------------------------- the callers


def alg_none_tokens(claims, secret):
    """`alg: none` in its spellings, and algorithm confusion, all over service-role claims."""
    body = b64url(json.dumps(claims).encode())
    tokens = []
    for alg in ("none", "None", "NONE", "nOnE"):
        head = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        tokens += [f"{head}.{body}.", f"{head}.{body}.{b64url(mac)}"]
    head = b64url(json.dumps({"typ": "JWT"}).encode())  # no alg at all
    tokens.append(f"{head}.{body}.")
    for alg in ("RS256", "ES256", "HS512", "HS384", "PS256"):
        head = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        tokens.append(f"{head}.{body}.{b64url(mac)}")
    # a valid HS256 token with its signature stripped
    tokens.append(sign_hs256(secret, claims).rsplit(".", 1)[0] + ".")
    return tokens


def caller_headers(w, caller):
    """The header sets a caller sends; every one of them must get the cell's status."""
    stack = w.stack
    now = int(time.time())
    bearer = lambda t: {"Authorization": "Bearer " + t}  # noqa: E731
    if caller == "anonymous":
        anon = stack.token(role="anon")
        return [{}, {"apikey": anon, **bearer(anon)}]
    if caller == "expired":
        return [stack.auth(w.admin, exp_in=-3600)]
    if caller == "wrong_secret":
        return [stack.auth(role="service_role", secret="not-the-project-secret-0123456789abcdef"),
                stack.auth(w.admin, secret=stack.jwt_secret + "x")]
    if caller == "alg_none":
        claims = {"role": "service_role", "aud": "authenticated", "iat": now, "exp": now + 3600}
        return [bearer(t) for t in alg_none_tokens(claims, stack.jwt_secret)]
    if caller == "client":
        return [stack.auth(w.a)]
    if caller == "other_client":
        return [stack.auth(w.b)]
    if caller == "admin":
        return [stack.auth(w.admin)]
    if caller == "service_role":
        return [stack.service_headers()]
    raise AssertionError(caller)


# --------------------------------------------------------------------------- the operations


def GET(fn, params=None):
    def send(w, http, headers):
        return http.get(w.stack.url(fn), params=params(w) if params else None, headers=headers,
                        timeout=60, allow_redirects=False)
    return send


def POST(fn, body=None, sub=""):
    def send(w, http, headers):
        return http.post(w.stack.url(fn, sub), json=body(w) if body else None, headers=headers,
                         timeout=120)
    return send


def DELETE(fn, params=None, body=None):
    def send(w, http, headers):
        return http.delete(w.stack.url(fn), params=params(w) if params else None,
                           json=body(w) if body else None, headers=headers, timeout=60)
    return send


def webhook_without_signature(w, http, headers):
    body = retell.delivery("call_ended", w.fake.make_retell_call(AGENT_A, call_id="call_authz_token"))
    return http.post(w.stack.url("retell-webhook"), data=body,
                     headers={"Content-Type": "application/json", **headers}, timeout=60)


user_a = lambda w: {"user_id": w.a}  # noqa: E731


def own_flow(w):
    """A finish of a flow A started for themselves (a fresh state each time: a try spends it)."""
    state = f"authz-state-{time.time_ns()}"
    w.stack.sql("""INSERT INTO oauth_states (state, user_id, created_by, expires_at, code_challenge)
                   VALUES (%s, %s, %s, now() + interval '10 minutes', %s)""",
                (state, w.a, w.a, hl.CHALLENGE))
    return {"state": state, "code": "hlcode_authz", "code_verifier": hl.VERIFIER}

# What each operation sends (the table below gives what it must get).
REQUESTS = {
    "health GET": GET("health"),
    "list-calls GET ?user_id=A": GET("list-calls", user_a),
    "list-calls GET (own scope)": GET("list-calls"),
    "call-stats GET ?user_id=A": GET("call-stats", user_a),
    "call-stats GET (own scope)": GET("call-stats"),
    "get-call-recording GET A's call": GET("get-call-recording", lambda w: {"call_id": w.call_a}),
    "get-call GET A's call": GET("get-call", lambda w: {"id": w.call_a}),
    "connections GET ?user_id=A": GET("connections", user_a),
    "connections DELETE ?provider=retell&user_id=A":
        DELETE("connections", lambda w: {"provider": "retell", "user_id": w.a}),
    "get-call-recording GET A's call link=1":
        GET("get-call-recording", lambda w: {"call_id": w.call_a, "link": "1"}),
    "retell-connection GET ?user_id=A": GET("retell-connection", user_a),
    "retell-connection POST {user_id: A, api_key}":
        POST("retell-connection", lambda w: {"user_id": w.a, "api_key": KEY_A}),
    "retell-connection POST {api_key, test_only}":
        POST("retell-connection", lambda w: {"api_key": KEY_A, "test_only": True}),
    "retell-connection DELETE ?user_id=A": DELETE("retell-connection", user_a),
    "assign-agents GET ?user_id=A": GET("assign-agents", user_a),
    "assign-agents POST A <- agent":
        POST("assign-agents", lambda w: {"user_id": w.a, "source_platform": "retell",
                                         "agent_ids": [w.agent_a]}),
    "assign-agents DELETE A -/- agent":
        DELETE("assign-agents", body=lambda w: {"user_id": w.a, "agent_ids": [w.agent_a]}),
    "fetch-available-agents POST {user_id: A}": POST("fetch-available-agents", user_a),
    "fetch-available-agents GET ?user_id=A": GET("fetch-available-agents", user_a),
    "fetch-retell-agents POST {user_id: A}": POST("fetch-retell-agents", user_a),
    "fetch-retell-agents POST {api_key}": POST("fetch-retell-agents", lambda w: {"api_key": KEY_A}),
    "highlevel-oauth POST {user_id: A}":
        POST("highlevel-oauth", lambda w: {"user_id": w.a, "code_challenge": hl.CHALLENGE}),
    "highlevel-oauth POST finish A's own flow": POST("highlevel-oauth", own_flow),
    "highlevel-oauth GET callback, unknown state":
        GET("highlevel-oauth", lambda w: {"code": "hlcode_authz", "state": "authz-unknown-state"}),
    "sync-retell-calls POST {user_id: A}": POST("sync-retell-calls", user_a),
    "sync-highlevel-calls POST {user_id: A}": POST("sync-highlevel-calls", user_a),
    "sync-all POST {user_id: A}": POST("sync-all", user_a),
    "retell-webhook POST, bearer token, no signature": webhook_without_signature,
}

# THE MATRIX: the status every caller must get for every operation. Columns, in CALLERS order:
#                                                      anon exp  sec  none clnt othr admn srvc
MATRIX = {
    # no authentication at all: nginx -> handler -> PostgreSQL for anyone
    "health GET":                                     (200, 200, 200, 200, 200, 200, 200, 200),
    # the dashboard's read API: a client sees their own; another user's id is 404 (not even
    # whether that user exists); admins and the service role see any user's
    "list-calls GET ?user_id=A":                      (401, 401, 401, 401, 200, 404, 200, 200),
    "list-calls GET (own scope)":                     (401, 401, 401, 401, 200, 200, 200, 200),
    "call-stats GET ?user_id=A":                      (401, 401, 401, 401, 200, 404, 200, 200),
    "call-stats GET (own scope)":                     (401, 401, 401, 401, 200, 200, 200, 200),
    # the recording proxy: a call the caller may not see is 404, exactly like a missing one
    "get-call-recording GET A's call":                (401, 401, 401, 401, 200, 404, 200, 200),
    # one call whole: whoever list-calls shows it to
    "get-call GET A's call":                          (401, 401, 401, 401, 200, 404, 200, 200),
    # connection status: a user's own (another's: 403), admins name the user; disconnecting is
    # for admins
    "connections GET ?user_id=A":                     (401, 401, 401, 401, 200, 403, 200, 200),
    "connections DELETE ?provider=retell&user_id=A": (401, 401, 401, 401, 403, 403, 200, 200),
    "get-call-recording GET A's call link=1":         (401, 401, 401, 401, 200, 404, 200, 200),
    # admin functions: a client is 403, even on their own data
    "retell-connection GET ?user_id=A":               (401, 401, 401, 401, 403, 403, 200, 200),
    "retell-connection POST {user_id: A, api_key}":   (401, 401, 401, 401, 403, 403, 200, 200),
    "retell-connection POST {api_key, test_only}":    (401, 401, 401, 401, 403, 403, 200, 200),
    "retell-connection DELETE ?user_id=A":            (401, 401, 401, 401, 403, 403, 200, 200),
    # a client lists their own assigned agents (labelled), not another user's
    "assign-agents GET ?user_id=A":                   (401, 401, 401, 401, 200, 403, 200, 200),
    "assign-agents POST A <- agent":                  (401, 401, 401, 401, 403, 403, 200, 200),
    "assign-agents DELETE A -/- agent":               (401, 401, 401, 401, 403, 403, 200, 200),
    "fetch-available-agents POST {user_id: A}":       (401, 401, 401, 401, 403, 403, 200, 200),
    "fetch-available-agents GET ?user_id=A":          (401, 401, 401, 401, 403, 403, 200, 200),
    # a user lists their own workspace's agents (another's: 403); a test key is for admins
    "fetch-retell-agents POST {user_id: A}":          (401, 401, 401, 401, 200, 403, 200, 200),
    "fetch-retell-agents POST {api_key}":             (401, 401, 401, 401, 403, 403, 200, 200),
    # a user connects themselves (another: 403); admins and the service role name the user
    "highlevel-oauth POST {user_id: A}":              (401, 401, 401, 401, 200, 403, 200, 200),
    # only the caller that started a flow finishes it (A's code, unknown to the provider: 400)
    "highlevel-oauth POST finish A's own flow":       (401, 401, 401, 401, 400, 403, 403, 403),
    # the provider's redirect back carries no token: the single-use state is the credential,
    # so a token (good or bad) changes nothing and an unknown state is 400 for everyone
    "highlevel-oauth GET callback, unknown state":    (400, 400, 400, 400, 400, 400, 400, 400),
    # the sync button: a user syncs themselves (another: 403), an admin or the service role
    # names the user
    "sync-retell-calls POST {user_id: A}":            (401, 401, 401, 401, 200, 403, 200, 200),
    "sync-highlevel-calls POST {user_id: A}":         (401, 401, 401, 401, 200, 403, 200, 200),
    "sync-all POST {user_id: A}":                     (401, 401, 401, 401, 200, 403, 200, 200),
    # deliveries are signed, not authenticated: no token of any kind replaces the signature
    "retell-webhook POST, bearer token, no signature": (401, 401, 401, 401, 401, 401, 401, 401),
}
assert MATRIX.keys() == REQUESTS.keys()

CELLS = [(op, caller, MATRIX[op][i]) for op in MATRIX for i, caller in enumerate(CALLERS)]


def check_answer(w, op, caller, expected, r):
    where = f"{op} as {caller}"
    assert r.status_code == expected, f"{where}: {r.status_code} {r.text[:300]}"
    if expected >= 400:
        assert r.headers["Content-Type"].startswith("application/json"), where
        body = r.json()
        assert set(body) == {"error", "message"} and body["error"] and body["message"], (where, body)
    if caller == "other_client":
        text = r.text
        for secret in w.secrets_of_a:
            assert secret not in text, f"{where}: A's {secret!r} in {text[:300]}"
    if caller == "other_client" and op.startswith(("list-calls", "call-stats")) and expected == 200:
        data = r.json()
        if "calls" in data:
            assert [c["id"] for c in data["calls"]] == [w.call_b], where
        else:
            assert data["totals"]["calls"] == 1, where   # B's one call, none of A's
    if caller == "client" and expected == 200:
        if op == "list-calls GET ?user_id=A" or op == "list-calls GET (own scope)":
            assert [c["id"] for c in r.json()["calls"]] == [w.call_a], where
        if op == "get-call-recording GET A's call":
            assert r.content == w.fake.recording_bytes(w.retell_call_a), where


@pytest.mark.parametrize("op,caller,expected", CELLS,
                         ids=[f"{op}|{caller}" for op, caller, _ in CELLS])
def test_authorisation_matrix(two_tenants, http, op, caller, expected):
    two_tenants.restore()
    send = REQUESTS[op]
    for headers in caller_headers(two_tenants, caller):
        check_answer(two_tenants, op, caller, expected, send(two_tenants, http, headers))


def test_matrix_covers_every_function(two_tenants):
    from testenv.stack import ROOT
    functions = {p.stem for p in (ROOT / "handlers").glob("*.c")}
    covered = {op.split()[0] for op in MATRIX}
    assert functions <= covered, functions - covered


# --------------------------------------------------------------------------- the webhook's callers


def signature_for(w, caller, body):
    now = int(time.time() * 1000)
    if caller == "none":
        return None
    if caller == "wrong_key":
        return retell.sign(body, "key_authz_someone_else_000000000")
    if caller == "stale":
        return retell.sign(body, KEY_A, now - 6 * 60 * 1000)
    if caller == "future":
        return retell.sign(body, KEY_A, now + 6 * 60 * 1000)
    if caller in ("good", "other_user_path"):
        return retell.sign(body, KEY_A)
    raise AssertionError(caller)


# caller: (URL suffix, expected status). other_user_path: A's valid signature posted to B's
# per-user URL, which only B's key may sign.
WEBHOOK_CALLERS = {
    "none": ("", 401),
    "wrong_key": ("", 401),
    "stale": ("", 401),
    "future": ("", 401),
    "other_user_path": ("b", 401),
    "good": ("", 200),
}


@pytest.mark.parametrize("caller", list(WEBHOOK_CALLERS))
def test_webhook_signature_matrix(two_tenants, http, caller):
    two_tenants.restore()
    stack, fake = two_tenants.stack, two_tenants.fake
    call_id = f"call_authz_sig_{caller}"
    body = retell.delivery("call_ended", fake.make_retell_call(AGENT_A, call_id=call_id))
    sub, expected = WEBHOOK_CALLERS[caller]
    headers = {"Content-Type": "application/json"}
    sig = signature_for(two_tenants, caller, body)
    if sig is not None:
        headers["x-retell-signature"] = sig
    inbox_before = stack.sql("SELECT count(*) AS n FROM webhook_inbox")[0]["n"]
    r = http.post(stack.url("retell-webhook", f"/{two_tenants.b}" if sub == "b" else ""), data=body,
                  headers=headers, timeout=60)
    assert r.status_code == expected, r.text
    rows = stack.sql("SELECT user_id FROM calls WHERE retell_call_id = %s", (call_id,))
    inbox_after = stack.sql("SELECT count(*) AS n FROM webhook_inbox")[0]["n"]
    if expected == 200:
        assert [str(r["user_id"]) for r in rows] == [two_tenants.a] and inbox_after == inbox_before + 1
    else:
        assert r.json()["error"] == "bad_signature"
        assert rows == [] and inbox_after == inbox_before


# --------------------------------------------------------------------------- playback links


def test_a_playback_link_is_bound_to_its_call_viewer_and_time(two_tenants, http):
    """link=1 answers a URL that works without a token: only for that call and viewer, and
    tampering with any part of it is 401."""
    stack = two_tenants.stack
    two_tenants.restore()
    r = http.get(stack.url("get-call-recording"), params={"call_id": two_tenants.call_a, "link": "1"},
                 headers=stack.auth(two_tenants.a))
    assert r.status_code == 200, r.text
    url = f"http://127.0.0.1:{stack.port}" + r.json()["url"]
    ok = http.get(url)
    assert ok.status_code == 200 and ok.content == two_tenants.fake.recording_bytes(two_tenants.retell_call_a)
    # another user's token does not change what the link grants, nor make it grant more
    assert http.get(url, headers=stack.auth(two_tenants.b)).status_code == 200
    tampered = [url.replace(two_tenants.call_a, two_tenants.call_b),
                url.replace(f"viewer={two_tenants.a}", f"viewer={two_tenants.b}"),
                url.replace("kind=c", "kind=a"),
                url.replace("expires=", "expires=9"),
                url[:-1] + ("0" if url[-1] != "0" else "1")]
    for bad in tampered:
        assert bad != url
        t = http.get(bad)
        assert t.status_code == 401 and t.json()["error"] == "bad_link", (bad, t.text)
    # B asking for a link to A's call learns nothing
    r = http.get(stack.url("get-call-recording"), params={"call_id": two_tenants.call_a, "link": "1"},
                 headers=stack.auth(two_tenants.b))
    assert r.status_code == 404
    # the link stops working as soon as the viewer may no longer see the call
    stack.sql("DELETE FROM user_agents WHERE user_id = %s AND agent_id = %s", (two_tenants.a, two_tenants.agent_a))
    try:
        assert http.get(url).status_code == 404
    finally:
        two_tenants.restore()


def test_a_token_for_a_user_without_profile_is_a_client_and_an_unknown_role_is_refused(two_tenants, http):
    """Who is admin is our data: a token claiming admin-ish things gets nothing more."""
    stack = two_tenants.stack
    two_tenants.restore()
    now = int(time.time())
    for claims in ({"role": "admin", "sub": two_tenants.admin},
                   {"role": "authenticated", "sub": two_tenants.b, "app_metadata": {"role": "admin"},
                    "user_metadata": {"role": "admin"}, "is_admin": True},
                   {"role": "supabase_admin", "sub": two_tenants.admin},
                   {"role": "authenticated", "sub": "not-a-uuid"},
                   {"role": "authenticated"}):
        token = sign_hs256(stack.jwt_secret, {"aud": "authenticated", "iat": now, "exp": now + 600,
                                              **claims})
        r = http.get(stack.url("retell-connection"), params={"user_id": two_tenants.a},
                     headers={"Authorization": "Bearer " + token})
        assert r.status_code in (401, 403), (claims, r.text)
    # the wrong audience
    token = sign_hs256(stack.jwt_secret, {"aud": "someone-else", "iat": now, "exp": now + 600,
                                          "role": "service_role"})
    r = http.get(stack.url("list-calls"), headers={"Authorization": "Bearer " + token})
    assert r.status_code == 401
    # a token with a user that has no profile row: a client, so an admin function says 403
    ghost = stack.make_user("client")
    stack.sql("DELETE FROM profiles WHERE id = %s", (ghost,))
    r = http.get(stack.url("retell-connection"), params={"user_id": ghost}, headers=stack.auth(ghost))
    assert r.status_code == 403


def test_callers_are_refused_before_any_provider_or_key_is_touched(two_tenants, http):
    """The refused cells above used neither a stored key nor the provider."""
    stack, fake = two_tenants.stack, two_tenants.fake
    two_tenants.restore()
    fake.clear_requests()
    audits = stack.sql("SELECT count(*) AS n FROM key_usage_audit")[0]["n"]
    for op in MATRIX:
        if op.startswith("retell-webhook") or op.startswith("health"):
            continue
        send, statuses = REQUESTS[op], MATRIX[op]
        for caller, expected in zip(CALLERS, statuses):
            if expected in (401, 403) or (caller == "other_client" and expected == 404):
                for headers in caller_headers(two_tenants, caller):
                    assert send(two_tenants, http, headers).status_code == expected
    assert fake.requests == []
    assert stack.sql("SELECT count(*) AS n FROM key_usage_audit")[0]["n"] == audits
