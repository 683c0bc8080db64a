"""Secrets never leave their sealed columns (issue 10).

One end-to-end flow through every function with known sentinel secrets: a Retell API key
(connected through retell-connection, and a rejected one), HighLevel tokens issued by the fake
during the OAuth code flow and again when they are refreshed (the fake is made to issue
recognisable values), the OAuth app's client secret, the authorization code, the JWT secret,
the service-role key, the sealing key and the user tokens the flow sends. Then every log line
(the handlers' logs, nginx's error and access logs, PostgreSQL's log, the cron-form CLI's
output), every table and column, and every HTTP answer of the flow (status, headers, body) is
scanned for each sentinel, raw and in its base64 (standard and URL-safe, at each of the three
alignments it can have inside a longer encoded text), hex and URL-encoded forms. The sealed
columns (api_keys.access_token / refresh_token) are scanned too: they must hold the secret
sealed (they open to it with the sealing key), never in any readable form.

The test makes its own data (it empties the tables and the fake first) and its sentinels are
new random values each run, so it does not depend on which tests ran before it.
"""
import base64
import binascii
import secrets
import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from testenv import highlevel as hl
from testenv import retell
from testenv.stack import wait_until

LOC = "loc_sentinel_0001"
HL_AGENT = "hl_sentinel_agent"
RETELL_AGENT = "agent_sentinel"
DAY_MS = 86_400_000


def encoded_forms(secret):
    """The sentinel as it could appear: raw, base64 (std and URL-safe; the stable middle of its
    encoding at each offset mod 3 inside a longer text), hex, URL-encoded."""
    raw = secret.encode()
    forms = {secret, raw.hex(), raw.hex().upper(), quote(secret, safe="")}
    for offset in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            text = enc(b"\0" * offset + raw).decode().rstrip("=")
            # drop the characters that also depend on the bytes before and after the secret
            start = (offset * 4 + 2) // 3
            stop = ((offset + len(raw)) * 4) // 3
            middle = text[start:stop]
            if len(middle) >= 12:
                forms.add(middle)
    return {f for f in forms if len(f) >= 12}


def find_leaks(sentinels, text, where):
    leaks = []
    for name, secret in sentinels.items():
        for form in encoded_forms(secret):
            if form in text:
                i = text.index(form)
                leaks.append(f"{name} ({'raw' if form == secret else 'encoded'}) in {where}: "
                             f"...{text[max(0, i - 80):i + len(form) + 40]!r}...")
                break
    return leaks


class Recorder:
    """Every answer the flow got, as text."""

    def __init__(self):
        self.answers = []

    def __call__(self, r, *args, **kwargs):
        head = f"{r.status_code} {r.reason}\n" + "\n".join(f"{k}: {v}" for k, v in r.headers.items())
        body = r.content.decode("latin-1")
        self.answers.append((f"{r.request.method} {r.url}", head + "\n\n" + body))
        return r


@pytest.fixture
def sentinel_stack(stack, fake, monkeypatch):
    stack.truncate_all()
    fake.reset()
    tag = secrets.token_hex(6)
    issued = []

    def issue(location_id):
        """Recognisable HighLevel tokens; otherwise as FakeProvider.hl_issue_tokens."""
        n = len(issued) // 2
        access = f"hlat_SENTINEL_{tag}_{n}_{secrets.token_hex(8)}"
        refresh = f"hlrt_SENTINEL_{tag}_{n}_{secrets.token_hex(8)}"
        with fake.lock:
            fake.hl_tokens[access] = {"location_id": location_id,
                                      "expires_at": time.time() + fake.hl_expires_in}
            fake.hl_refresh_tokens[refresh] = location_id
        issued.extend([access, refresh])
        return access, refresh

    monkeypatch.setattr(fake, "hl_issue_tokens", issue)
    return stack, fake, tag, issued


def test_no_secret_in_any_log_table_or_answer(sentinel_stack):
    stack, fake, tag, issued = sentinel_stack
    retell_key = f"key_SENTINEL_retell_{tag}_{secrets.token_hex(8)}"
    bad_key = f"key_SENTINEL_rejected_{tag}_{secrets.token_hex(8)}"
    admin, client = stack.make_user("admin"), stack.make_user("client")
    admin_h, client_h = stack.auth(admin), stack.auth(client)
    rec = Recorder()
    http = requests.Session()
    http.hooks["response"].append(rec)
    url = stack.url

    def ok(r, status=200):
        assert r.status_code == status, f"{r.request.method} {r.url}: {r.status_code} {r.text[:300]}"
        return r

    now = int(time.time() * 1000)
    fake.add_retell_agent(retell_key, agent_id=RETELL_AGENT, name="Sentinel Desk")
    for i in range(3):
        fake.add_retell_call(retell_key, fake.make_retell_call(
            RETELL_AGENT, call_id=f"call_sentinel_sync_{i}", start_ms=now - DAY_MS + i * 60_000,
            opt_in_signed_url=(i == 0)))
    fake.add_hl_agent(LOC, agent_id=HL_AGENT, name="Sentinel HL Agent")
    fake.add_hl_call(LOC, fake.make_hl_call(LOC, HL_AGENT))

    # ------------------------------------------------------------ health
    ok(http.get(url("health")))
    # ------------------------------------------------------------ retell-connection
    ok(http.post(url("retell-connection"), json={"api_key": retell_key, "test_only": True}, headers=admin_h))
    assert http.post(url("retell-connection"), json={"api_key": bad_key, "test_only": True},
                     headers=admin_h).status_code == 422
    assert http.post(url("retell-connection"), json={"user_id": client, "api_key": bad_key},
                     headers=admin_h).status_code == 422
    ok(http.post(url("retell-connection"), json={"user_id": client, "api_key": retell_key}, headers=admin_h))
    ok(http.get(url("retell-connection"), params={"user_id": client}, headers=admin_h))
    # ------------------------------------------------------------ fetch-retell-agents, assign-agents
    agents = ok(http.post(url("fetch-retell-agents"), json={"user_id": client}, headers=admin_h)).json()
    ok(http.post(url("fetch-retell-agents"), json={"api_key": retell_key}, headers=admin_h))
    ok(http.post(url("fetch-retell-agents"), json={}, headers=client_h))
    assert http.post(url("fetch-retell-agents"), json={"api_key": bad_key},
                     headers=admin_h).status_code in (401, 422)
    agent_id = agents["agents"][0]["id"]
    ok(http.post(url("assign-agents"), json={"user_id": client, "source_platform": "retell",
                                             "agent_ids": [agent_id]}, headers=admin_h))
    ok(http.get(url("assign-agents"), params={"user_id": client}, headers=admin_h))
    # ------------------------------------------------------------ retell-webhook
    call = fake.add_retell_call(retell_key, fake.make_retell_call(RETELL_AGENT, call_id="call_sentinel_hook"))
    for body in (retell.delivery("call_started", retell.started(call)),
                 retell.delivery("call_ended", retell.ended(call)),
                 retell.delivery("call_analyzed", call)):
        ok(retell.post(http, stack, body, retell_key))
        ok(retell.post(http, stack, body, retell_key, user_id=client))
    stray = retell.delivery("call_ended", fake.make_retell_call("agent_nobody", call_id="call_sentinel_stray"))
    ok(retell.post(http, stack, stray, retell_key))
    assert retell.post(http, stack, stray, bad_key).status_code == 401
    # ------------------------------------------------------------ highlevel-oauth
    fake.hl_redirect_uri = "http://127.0.0.1/oauth/callback"
    started = ok(hl.start_flow(http, stack, client)).json()
    state = parse_qs(urlsplit(started["authorize_url"]).query)["state"][0]
    code = fake.hl_issue_code(LOC)
    ok(hl.complete_flow(http, stack, code, state, client))
    assert len(issued) == 2
    # ------------------------------------------------------------ fetch-available-agents, assignment
    hl_agents = ok(http.post(url("fetch-available-agents"), json={"user_id": client}, headers=admin_h)).json()
    ok(http.get(url("fetch-available-agents"), params={"user_id": client}, headers=admin_h))
    ok(http.post(url("assign-agents"), json={"user_id": client, "source_platform": "highlevel",
                                             "agent_ids": [hl_agents["agents"][0]["id"]]}, headers=admin_h))
    # ------------------------------------------------------------ the token is due: refreshed on use
    stack.sql("UPDATE api_keys SET token_expires_at = now() + interval '1 minute'"
              " WHERE user_id = %s AND service = 'highlevel'", (client,))
    s = ok(http.post(url("sync-highlevel-calls"), json={}, headers=client_h)).json()
    assert s["failed_users"] == 0 and len(issued) == 4, (s, issued)
    # ------------------------------------------------------------ the syncs, HTTP and cron form
    s = ok(http.post(url("sync-retell-calls"), headers=stack.service_headers())).json()
    assert s["failed_users"] == 0, s
    ok(http.post(url("sync-all"), json={"user_id": client}, headers=admin_h))
    ok(http.post(url("sync-all"), headers=client_h))
    cli_output = []
    for fn in ("sync-retell-calls", "sync-highlevel-calls"):
        proc = stack.cli(fn, "--user", client, LOG_LEVEL="debug")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        cli_output.append(f"{fn} stdout:\n{out}\n{fn} stderr:\n{err}")
    # ------------------------------------------------------------ the dashboard
    calls = ok(http.get(url("list-calls"), headers=client_h)).json()["calls"]
    ok(http.get(url("list-calls"), params={"user_id": client}, headers=admin_h))
    ok(http.get(url("call-stats"), headers=client_h))
    ok(http.get(url("call-stats"), headers=stack.service_headers()))
    providers = {c["id"]: c for c in ok(http.get(url("list-calls"), headers=admin_h)).json()["calls"]}
    assert {c["source_platform"] for c in providers.values()} == {"retell", "highlevel"}
    # ------------------------------------------------------------ recordings, both providers
    for c in calls:
        r = ok(http.get(url("get-call-recording"), params={"call_id": c["id"]}, headers=client_h))
        assert len(r.content) > 1000
        link = ok(http.get(url("get-call-recording"), params={"call_id": c["id"], "link": "1"},
                           headers=client_h)).json()["url"]
        ok(http.get(f"http://127.0.0.1:{stack.port}{link}", headers={"Range": "bytes=0-99"}), 206)
        if providers[c["id"]]["source_platform"] == "retell":
            ok(http.get(url("get-call-recording"), params={"call_id": c["id"], "redirect": "1"},
                        headers=admin_h, allow_redirects=False), 302)

    # ------------------------------------------------------------ sealed at rest, before they go
    sealed = {(r["service"], col): r[col] for r in stack.sql("SELECT * FROM api_keys WHERE user_id = %s",
                                                            (client,))
              for col in ("access_token", "refresh_token") if r[col] is not None}
    assert hl.open_sealed(stack.secrets_keys, client, "retell", "access_token",
                          sealed[("retell", "access_token")]) == retell_key
    assert hl.open_sealed(stack.secrets_keys, client, "highlevel", "access_token",
                          sealed[("highlevel", "access_token")]) == issued[-2]
    assert hl.open_sealed(stack.secrets_keys, client, "highlevel", "refresh_token",
                          sealed[("highlevel", "refresh_token")]) == issued[-1]

    # ------------------------------------------------------------ error paths carrying secrets
    # the refresh token is refused: the connection ends, the answer and the log say so
    with fake.lock:
        fake.hl_refresh_tokens.clear()
    stack.sql("UPDATE api_keys SET token_expires_at = now() + interval '1 minute'"
              " WHERE user_id = %s AND service = 'highlevel'", (client,))
    r = http.post(url("fetch-available-agents"), json={"user_id": client}, headers=admin_h)
    assert 400 <= r.status_code < 600 and r.status_code != 500, r.text
    # the Retell key is revoked at the provider: a sync fails, a recording renewal fails
    with fake.lock:
        fake.retell_keys.discard(retell_key)
    r = http.post(url("sync-retell-calls"), json={"user_id": client}, headers=admin_h)
    assert r.status_code < 500 or r.status_code in (502, 503), r.text
    ok(http.delete(url("assign-agents"), json={"user_id": client, "agent_ids": [agent_id]}, headers=admin_h))
    ok(http.delete(url("retell-connection"), params={"user_id": client}, headers=admin_h))
    # the handlers' logs hold this flow (its last request is there) before they are scanned
    last_id = rec.answers and http.get(url("health")).headers["X-Request-Id"]
    assert wait_until(lambda: f"req={last_id}" in stack.logs())
    assert all("synced_users" in out for out in cli_output)

    # ------------------------------------------------------------ the scan
    key_material = [k.split(":", 1)[1] for k in stack.secrets_keys.split(",")]
    sentinels = {"Retell key": retell_key, "rejected Retell key": bad_key,
                 "JWT secret": stack.jwt_secret, "service-role key": stack.service_role_key,
                 "admin token": admin_h["Authorization"][7:], "client token": client_h["Authorization"][7:],
                 "HighLevel client secret": "fake-hl-client-secret", "OAuth code": code}
    sentinels.update({f"sealing key {i}": k for i, k in enumerate(key_material)})
    sentinels.update({f"sealing key {i} (hex)": base64.b64decode(k).hex() for i, k in enumerate(key_material)})
    sentinels.update({f"HighLevel token {i}": t for i, t in enumerate(issued)})
    assert len(issued) == 4 and all(f"_SENTINEL_{tag}_" in t for t in issued)

    leaks = []
    # logs: the handlers' and nginx's error log, PostgreSQL's, the CLI's output
    leaks += find_leaks(sentinels, stack.logs(), "the stack's logs")
    pg_log = stack.var / "pg" / "server.log"
    if pg_log.exists():
        leaks += find_leaks(sentinels, pg_log.read_text(errors="replace"), "PostgreSQL's log")
    access = stack.var / "nginx" / "logs" / "access.log"
    # the authorization code is in the redirect's URL by design: single use, spent at once
    no_code = {k: v for k, v in sentinels.items() if k != "OAuth code"}
    if access.exists():
        leaks += find_leaks(no_code, access.read_text(errors="replace"), "nginx's access log")
    leaks += find_leaks(sentinels, "\n".join(cli_output), "the CLI's output")
    # tables: every table, every column, as text (the sealed columns included)
    for row in stack.sql("""SELECT table_schema || '.' || table_name AS t FROM information_schema.tables
                            WHERE table_type = 'BASE TABLE' AND table_schema IN ('public', 'auth')"""):
        for r in stack.sql(f"SELECT x::text AS line FROM {row['t']} x"):
            leaks += find_leaks(sentinels, r["line"], f"table {row['t']}")
    # answers
    assert len(rec.answers) >= 50
    for where, text in rec.answers:
        # the provider's redirect hands the code back to the browser that will finish with it
        # (issue 16, finding 10): there, and only there, it is expected
        callback = where.startswith("GET ") and "/highlevel-oauth?" in where
        leaks += find_leaks(no_code if callback else sentinels, text, f"the answer to {where}")
    assert leaks == [], "\n".join(leaks[:20])

    # the scan itself finds a planted leak (in each form), so a silent scan means something
    for probe in (retell_key, base64.b64encode(b"x" + retell_key.encode()).decode(),
                  base64.urlsafe_b64encode(b"xy" + issued[0].encode()).decode(),
                  binascii.hexlify(stack.jwt_secret.encode()).decode(), quote(code, safe="")):
        assert find_leaks(sentinels, f"prefix {probe} suffix", "probe"), probe
