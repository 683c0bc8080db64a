"""Retell webhook deliveries as Retell sends them: JSON bodies and x-retell-signature."""
import hashlib
import hmac
import json
import subprocess
import time
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def sign(body: bytes, key: str, timestamp_ms=None) -> str:
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    digest = hmac.new(key.encode(), body + str(ts).encode(), hashlib.sha256).hexdigest()
    return f"v={ts},d={digest}"


def sdk_sign(body: bytes, key: str, timestamp_ms=None) -> str:
    """Signs with the official retell-sdk (npm) through node."""
    args = ["node", str(NODE_DIR / "retell-sign.mjs"), key]
    if timestamp_ms is not None:
        args.append(str(timestamp_ms))
    return subprocess.run(args, input=body, capture_output=True, check=True, timeout=60).stdout.decode()


def delivery(event: str, call: dict) -> bytes:
    return json.dumps({"event": event, "call": call}, separators=(",", ":")).encode()


def started(call: dict) -> dict:
    """The call as a call_started event carries it: no end, transcript, recording or analysis."""
    keep = ("call_id", "agent_id", "agent_version", "call_type", "direction", "from_number",
            "to_number", "start_timestamp", "metadata", "access_token")
    out = {k: v for k, v in call.items() if k in keep}
    out["call_status"] = "ongoing"
    return out


def ended(call: dict) -> dict:
    out = dict(call)
    out.pop("call_analysis", None)
    return out


def post(http, stack, body: bytes, key: str, user_id=None, signature=None, **headers):
    url = stack.url("retell-webhook", f"/{user_id}" if user_id else "")
    h = {"Content-Type": "application/json",
         "x-retell-signature": signature if signature is not None else sign(body, key)}
    h.update(headers)
    return http.post(url, data=body, headers=h, timeout=30)
