"""Retell test helpers: webhook deliveries as Retell sends them (JSON bodies and
x-retell-signature), and a workspace of agents connected the way an admin connects it."""
import hashlib
import hmac
import json
import random
import subprocess
import time
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parents[1] / "node"

CLIENT_KEY = "key_sync_SENTINEL_0a1b2c3d4e5f6789"   # the key of conftest's retell_client
WORKSPACE_KEY = "key_conn_SENTINEL_5f1e2d3c4b5a6978"
BAD_KEY = "key_bad_SENTINEL_0000000000000000"     # a key the fake never issued


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


def shuffled_deliveries(fake, agent_id, n_calls, prefix, transcript_bytes):
    """n_calls calls as Retell delivers them: started, ended and analyzed events, 20% of the
    deliveries repeated, all shuffled. Returns (calls, bodies)."""
    calls = [fake.make_retell_call(agent_id, call_id=f"{prefix}_{i:04d}", transcript_bytes=transcript_bytes)
             for i in range(n_calls)]
    bodies = []
    for c in calls:
        bodies += [delivery("call_started", started(c)), delivery("call_ended", ended(c)),
                   delivery("call_analyzed", c)]
    bodies += random.sample(bodies, len(bodies) // 5)
    random.shuffle(bodies)
    return calls, bodies


def seed_agents(fake, n, key=WORKSPACE_KEY):
    for i in range(n):
        fake.add_retell_agent(key, agent_id=f"agent_{i:05d}", name=f"Agent {i:05d}", version=i % 7)


def connect(http, stack, admin, user, key=WORKSPACE_KEY):
    """Connects user's workspace through retell-connection, as an admin does."""
    r = http.post(stack.url("retell-connection"), json={"user_id": user, "api_key": key},
                  headers=stack.auth(admin))
    assert r.status_code == 200, r.text
