"""Seals values exactly as common/crypto.c does, so tests can plant stored keys directly."""
import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def seal(keys_spec, user_id, service, column, plaintext):
    kid, _, key_b64 = keys_spec.split(",")[0].partition(":")
    nonce = os.urandom(12)
    aad = f"api_keys:{user_id}:{service}:{column}".encode()
    blob = nonce + AESGCM(base64.b64decode(key_b64)).encrypt(nonce, plaintext.encode(), aad)
    return kid + ":" + base64.urlsafe_b64encode(blob).rstrip(b"=").decode()
