"""Supabase's real keys against the stack, every token shaped exactly as Supabase makes it.

Legacy API keys (Project Settings > API, HS256 with the project's JWT secret): header
{"alg":"HS256","typ":"JWT"}, claims {"iss":"supabase","ref":<20 letters>,"role":...,"iat","exp"}
with no aud and no sub. Session tokens of Supabase Auth (supabase/auth, internal/tokens:
AccessTokenClaims): iss "<project url>/auth/v1", sub, aud "authenticated", exp, iat, email,
phone, app_metadata, user_metadata, role, aal, amr, session_id, is_anonymous; HS256 with the
legacy secret, or ES256 with a kid from the project's JWKS. Opaque API keys: sb_secret_... and
sb_publishable_... (not JWTs). And --check-config's refusal of the example file's secrets.
"""
import base64
import json
import os
import subprocess
import time
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from testenv.stack import ROOT, b64url, sign_hs256

REF = "abcdefghijklmnopqrst"


def api_key(secret, role, **extra):
    now = int(time.time())
    claims = {"iss": "supabase", "ref": REF, "role": role, "iat": now, "exp": now + 10 * 365 * 86400}
    claims.update(extra)
    return sign_hs256(secret, claims)


def session_claims(user_id, **extra):
    now = int(time.time())
    claims = {
        "iss": f"https://{REF}.supabase.co/auth/v1", "sub": user_id, "aud": "authenticated",
        "exp": now + 3600, "iat": now, "email": f"{user_id[:8]}@example.test", "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {"email_verified": True}, "role": "authenticated", "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}], "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }
    claims.update(extra)
    return claims


def sign_es256(stack, claims, kid=None):
    jwks = json.loads((stack.var / "jwks.json").read_text())
    key = serialization.load_pem_private_key((stack.var / "signing-key.pem").read_bytes(), None)
    head = b64url(json.dumps({"alg": "ES256", "kid": kid or jwks["keys"][0]["kid"],
                              "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{head}.{body}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def bearer(token):
    return {"Authorization": "Bearer " + token}


@pytest.fixture
def users(clean):
    return {"client": clean.make_user("client"), "admin": clean.make_user("admin")}


def list_calls(stack, http, headers, **params):
    return http.get(stack.url("list-calls"), headers=headers, params=params, timeout=10)


def test_the_stack_key_is_shaped_like_supabases_service_role_key(stack):
    head, body, _ = stack.service_role_key.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    assert json.loads(base64.urlsafe_b64decode(pad(head))) == {"alg": "HS256", "typ": "JWT"}
    claims = json.loads(base64.urlsafe_b64decode(pad(body)))
    assert sorted(claims) == ["exp", "iat", "iss", "ref", "role"]
    assert claims["iss"] == "supabase" and claims["role"] == "service_role"


def test_legacy_service_role_key_is_the_service_role(stack, http, users):
    key = api_key(stack.jwt_secret, "service_role")
    r = list_calls(stack, http, {**bearer(key), "apikey": key})
    assert r.status_code == 200, r.text


def test_legacy_anon_key_signs_nobody_in(stack, http, users):
    anon = api_key(stack.jwt_secret, "anon")
    for headers in (bearer(anon), {**bearer(anon), "apikey": anon}):
        r = list_calls(stack, http, headers)
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "unauthorized"


@pytest.mark.parametrize("case", ["other_secret", "expired", "with_sub", "other_iss", "user_role"])
def test_keys_without_aud_that_are_not_supabases_are_refused(stack, http, users, case):
    secret = stack.jwt_secret
    extra = {}
    if case == "other_secret":
        secret = "another-project-secret-of-more-than-32-bytes"
    elif case == "expired":
        extra = {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}
    elif case == "with_sub":
        extra = {"sub": users["admin"]}  # a session-like token must carry its aud
    elif case == "other_iss":
        extra = {"iss": f"https://{REF}.supabase.co/auth/v1"}
    role = "authenticated" if case == "user_role" else "service_role"
    r = list_calls(stack, http, bearer(api_key(secret, role, **extra)))
    assert r.status_code == 401, (case, r.text)


def test_session_token_hs256_keeps_the_aud_check(stack, http, users):
    good = sign_hs256(stack.jwt_secret, session_claims(users["client"]))
    assert list_calls(stack, http, bearer(good)).status_code == 200
    for claims in (session_claims(users["client"], aud="anon"),
                   {k: v for k, v in session_claims(users["client"]).items() if k != "aud"}):
        r = list_calls(stack, http, bearer(sign_hs256(stack.jwt_secret, claims)))
        assert r.status_code == 401, r.text


def test_session_token_es256_from_the_jwks(stack, http, users):
    r = list_calls(stack, http, bearer(sign_es256(stack, session_claims(users["admin"]))))
    assert r.status_code == 200, r.text
    # admin by profiles.role: the admin may name another user; a client may not
    r = list_calls(stack, http, bearer(sign_es256(stack, session_claims(users["admin"]))),
                   user_id=users["client"])
    assert r.status_code == 200, r.text
    r = list_calls(stack, http, bearer(sign_es256(stack, session_claims(users["client"]))),
                   user_id=users["admin"])
    assert r.status_code in (403, 404), r.text
    for token in (sign_es256(stack, session_claims(users["admin"]), kid=str(uuid.uuid4())),
                  sign_es256(stack, session_claims(users["admin"], aud="other")),
                  sign_es256(stack, session_claims(users["admin"], exp=int(time.time()) - 600))):
        assert list_calls(stack, http, bearer(token)).status_code == 401


def test_opaque_secret_key_listed_in_config_is_the_service_role(stack, http, users):
    secret = stack.env["SUPABASE_SECRET_KEYS"]
    assert list_calls(stack, http, bearer(secret)).status_code == 200
    # Supabase's clients send a secret key in apikey alone
    assert list_calls(stack, http, {"apikey": secret}).status_code == 200


@pytest.mark.parametrize("key", ["unlisted", "one_char_off", "prefix", "publishable"])
def test_other_opaque_keys_sign_nobody_in(stack, http, users, key):
    listed = stack.env["SUPABASE_SECRET_KEYS"]
    value = {"unlisted": "sb_secret_" + b64url(os.urandom(24)),
             "one_char_off": listed[:-1] + ("A" if listed[-1] != "A" else "B"),
             "prefix": listed[:-4],
             "publishable": "sb_publishable_" + b64url(os.urandom(24))}[key]
    for headers in (bearer(value), {"apikey": value}):
        r = list_calls(stack, http, headers)
        assert r.status_code == 401, (key, r.text)


# --- --check-config refuses placeholder and weak secrets ------------------------------------

def example_env():
    env = {"PATH": os.environ["PATH"]}
    for line in (ROOT / "deploy" / "callbridge.env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            env[name] = value.strip("'")
    return env


def check_config(stack, env):
    return subprocess.run([str(stack.build / "health"), "--check-config"], env=env,
                          capture_output=True, text=True, timeout=30)


def test_the_example_file_is_refused_with_every_problem_listed(stack):
    out = check_config(stack, example_env())
    assert out.returncode != 0
    for problem in ("DATABASE_URL holds a placeholder", "JWT_SECRET holds a placeholder",
                    "SECRETS_KEYS has a key of one repeated byte", "openssl rand"):
        assert problem in out.stderr, out.stderr


@pytest.mark.parametrize("name,value,problem", [
    ("JWT_SECRET", "x" * 31, "JWT_SECRET is under 32 bytes"),
    ("JWT_SECRET", "your-super-secret-jwt-token-with-at-least-32-characters-long",
     "JWT_SECRET holds a placeholder"),
    ("SECRETS_KEYS", "k1:" + b64url(bytes([7]) * 32) + "=", "one repeated byte"),
    ("SECRETS_KEYS", "k1:c2hvcnQ=", "SECRETS_KEYS is not"),
    ("SUPABASE_SECRET_KEYS", "sb_publishable_" + "a" * 32, "SUPABASE_SECRET_KEYS lists"),
])
def test_each_weak_secret_is_refused(stack, name, value, problem):
    env = stack.cli_env(**{name: value})
    env["SECRETS_KEYS"] = env["SECRETS_KEYS"] if name != "SECRETS_KEYS" else value
    out = check_config(stack, env)
    assert out.returncode != 0 and problem in out.stderr, out.stderr


def test_the_stacks_generated_secrets_pass(stack):
    out = check_config(stack, stack.cli_env())
    assert out.returncode == 0, out.stderr
    out = subprocess.run([str(stack.build / "health"), "--print-config"], env=stack.cli_env(),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "JWT_SECRET=(set)" in out.stdout and "SUPABASE_SECRET_KEYS=(set)" in out.stdout
