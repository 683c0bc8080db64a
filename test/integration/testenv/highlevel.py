"""HighLevel test helpers: a connection planted the way highlevel-oauth stores it, sealed values
opened the way common/crypto.c seals them, the words a client must never see, the OAuth flow and
the agents listing as the dashboard drives them, and call logs added to the fake."""
import base64
import datetime
from urllib.parse import parse_qs

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from testenv.secrets import seal

PROVIDER_WORDS = ("highlevel", "leadconnector", "gohighlevel", "retell")
LOCATION = "loc_hl_test_0001"
CLIENT_LOC = "loc_sync_0001"    # the location of conftest's highlevel_client


def open_sealed(keys_spec, user_id, service, column, sealed):
    keys = dict(entry.split(":", 1) for entry in keys_spec.split(","))
    kid, _, blob_b64 = sealed.partition(":")
    blob = base64.urlsafe_b64decode(blob_b64 + "=" * (-len(blob_b64) % 4))
    aad = f"api_keys:{user_id}:{service}:{column}".encode()
    return AESGCM(base64.b64decode(keys[kid])).decrypt(blob[:12], blob[12:], aad).decode()


def connect(stack, fake, user_id, location_id, expires_in_s=86000, refresh_token=None,
            access_token=None):
    """Plants an active connection with tokens the fake knows (or the ones given); returns them."""
    access, refresh = fake.hl_issue_tokens(location_id)
    access = access_token or access
    refresh = refresh_token or refresh
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in_s)
    stack.sql("""INSERT INTO api_keys (user_id, service, access_token, refresh_token,
                     token_expires_at, location_id, is_active, status)
                 VALUES (%s, 'highlevel', %s, %s, %s, %s, true, 'connected')
                 ON CONFLICT (user_id, service) DO UPDATE SET access_token = EXCLUDED.access_token,
                     refresh_token = EXCLUDED.refresh_token,
                     token_expires_at = EXCLUDED.token_expires_at,
                     location_id = EXCLUDED.location_id, is_active = true, status = 'connected',
                     last_error = NULL""",
              (user_id, seal(stack.secrets_keys, user_id, "highlevel", "access_token", access),
               seal(stack.secrets_keys, user_id, "highlevel", "refresh_token", refresh),
               expires, location_id))
    return access, refresh


def plant_agent(stack, highlevel_agent_id, location_id, assign_to=None, name=None):
    """An agents row for a Voice AI agent of location_id (named by its id unless a name is
    given), assigned to assign_to when given; returns our agents.id."""
    agent = stack.sql("""INSERT INTO agents (name, source_platform, highlevel_agent_id, location_id)
                         VALUES (%s, 'highlevel', %s, %s) RETURNING id""",
                      (name or highlevel_agent_id, highlevel_agent_id, location_id))[0]["id"]
    if assign_to:
        stack.sql("""INSERT INTO user_agents (user_id, agent_id, source_platform)
                     VALUES (%s, %s, 'highlevel')""", (assign_to, agent))
    return agent


def stored_tokens(stack, user_id):
    row = stack.sql("SELECT * FROM api_keys WHERE user_id = %s AND service = 'highlevel'", (user_id,))[0]
    opened = {}
    for column in ("access_token", "refresh_token"):
        opened[column] = (open_sealed(stack.secrets_keys, user_id, "highlevel", column, row[column])
                          if row[column] else None)
    return row, opened


def assert_no_provider_words(text):
    lowered = text.lower()
    for word in PROVIDER_WORDS:
        assert word not in lowered, f"{word!r} in {text!r}"


# RFC 7636's own example pair (appendix B): what a starting browser keeps, and what it sends
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def start_flow(http, stack, as_user, body=None, challenge=CHALLENGE):
    """The dashboard starting a connection: body plus the browser's code_challenge."""
    body = {} if body is None else dict(body)
    if challenge is not None:
        body.setdefault("code_challenge", challenge)
    return http.post(stack.url("highlevel-oauth"), headers=stack.auth(as_user), json=body)


def callback(http, stack, **params):
    """The provider's redirect of a browser back to the function."""
    return http.get(stack.url("highlevel-oauth"), params=params, allow_redirects=False)


def finish_flow(http, stack, as_user, code, state, verifier=VERIFIER):
    """The starting browser, signed in, handing the code back with its verifier."""
    return http.post(stack.url("highlevel-oauth"), headers=stack.auth(as_user),
                     json={"state": state, "code": code, "code_verifier": verifier})


def complete_flow(http, stack, code, state, as_user, verifier=VERIFIER):
    """The provider's redirect, then as_user's finish: the finish's answer, or the redirect's
    when that refused."""
    r = callback(http, stack, code=code, state=state)
    if r.status_code != 200:
        return r
    assert r.json() == {"pending": True, "state": state, "code": code}, r.text
    return finish_flow(http, stack, as_user, code, state, verifier)


def token_requests(fake):
    return fake.requests_for("/oauth/token")


def form(req):
    """A form-encoded request body as {name: value}."""
    return {k: v[0] for k, v in parse_qs(req["body"].decode()).items()}


def audits(stack, user, service="highlevel"):
    return [r["purpose"] for r in stack.sql(
        "SELECT purpose FROM key_usage_audit WHERE user_id = %s AND service = %s ORDER BY id",
        (user, service))]


def list_agents(http, stack, admin, user):
    return http.post(stack.url("fetch-available-agents"), headers=stack.auth(admin),
                     json={"user_id": user})


def add_call_logs(fake, agent, n, start_ms, step_ms=60_000, duration=61, location=CLIENT_LOC, **kw):
    """n call logs of agent, one every step_ms from start_ms."""
    return [fake.add_hl_call(location, fake.make_hl_call(location, agent, created_at_ms=start_ms + i * step_ms,
                                                         duration=duration, **kw)) for i in range(n)]
