"""HighLevel test helpers: a connection planted the way highlevel-oauth stores it, sealed values
opened the way common/crypto.c seals them, and the words a client must never see."""
import base64
import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from testenv.secrets import seal

PROVIDER_WORDS = ("highlevel", "leadconnector", "gohighlevel", "retell")


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
