"""list-calls and call-stats (the dashboard's read API): scope, filters, keyset pagination over
10,000 seeded calls, stats against a reference computed here, provider naming, and EXPLAIN of
the statements the functions run (printed by `<function> --print-sql`)."""
import base64
import json
import os
import subprocess
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import psycopg2
import pytest

from testenv.stack import ROOT

N_CALLS = 10_000
BASE = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
REAL_NAMES = {"retell": "Retell", "highlevel": "HighLevel"}
LABELS = {"retell": "Provider B", "highlevel": "Provider A"}
CLIENT_FIELDS = {"id", "started_at", "ended_at", "duration_seconds", "cost", "direction", "call_type",
                 "call_status", "sentiment", "call_successful", "summary", "from_number", "to_number",
                 "agent", "provider"}
ADMIN_FIELDS = CLIENT_FIELDS | {"source_platform"}

TRUNCATE = """TRUNCATE calls, agents, user_agents, webhook_inbox, sync_state, sync_runs,
    key_usage_audit, api_keys, billing_accounts, profiles, auth.users CASCADE"""

# One statement for all 10,000 calls. Slot k = 1 + i % 6 picks the agent, its platform and
# owner; three calls share each start time (ties the cursor must break by id), and every
# provider-specific column holds something a white-label leak check would catch.
SEED_CALLS = """
INSERT INTO calls (user_id, agent_id, source_platform, retell_call_id, highlevel_call_id,
    provider_agent_id, started_at, ended_at, duration_seconds, cost, direction, call_type,
    call_status, disconnection_reason, sentiment, call_successful, summary, transcript,
    recording_url, latency, from_number, to_number)
SELECT s.owner, s.agent, s.platform,
    CASE WHEN s.platform = 'retell' THEN 'call_retell_' || i END,
    CASE WHEN s.platform = 'highlevel' THEN 'hl_call_' || i END,
    'agent_retellai_' || m.k,
    %(base)s::timestamptz - (i / 3) * interval '263.123457 seconds',
    %(base)s::timestamptz - (i / 3) * interval '263.123457 seconds' + (i %% 900) * interval '1 s',
    CASE WHEN i %% 17 = 0 THEN NULL ELSE (i * 7) %% 900 END,
    CASE WHEN i %% 13 = 0 THEN NULL ELSE ((i * 31) %% 1000) / 100.0 + 0.0125 END,
    CASE WHEN i %% 2 = 0 THEN 'inbound' ELSE 'outbound' END,
    CASE WHEN i %% 5 = 0 THEN 'web_call' ELSE 'phone_call' END,
    (ARRAY['ended', 'error', 'not_connected', 'ended', 'ongoing'])[1 + i %% 5],
    'retell_highlevel_hangup',
    (ARRAY['Positive', 'Negative', 'Neutral', 'Unknown', NULL, 'positive', 'meh'])[1 + i %% 7],
    CASE i %% 3 WHEN 0 THEN true WHEN 1 THEN false END,
    'Caller asked about ' || (ARRAY['billing', 'pricing', 'an appointment', 'a refund',
                                    'opening hours'])[1 + i %% 5] || ' (ref ' || i || ')',
    'Agent: Hello, how can I help? User: question ' || md5(i::text),
    %(recording)s || '/recordings/call_' || i || '.wav',
    '{"e2e": {"p50": 812}, "provider": "retellai.com"}'::jsonb,
    '+1555' || lpad(i::text, 7, '0'), '+1666' || lpad(i::text, 7, '0')
FROM generate_series(1, %(n)s) i
CROSS JOIN LATERAL (SELECT 1 + i %% 6 AS k) m
CROSS JOIN LATERAL (SELECT (%(agents)s::uuid[])[m.k] AS agent,
                           (%(platforms)s::text[])[m.k] AS platform,
                           (%(owners)s::uuid[])[m.k] AS owner) s
"""

REFERENCE = """SELECT id::text, agent_id::text, source_platform, started_at, duration_seconds, cost,
    direction, call_type, call_status, sentiment, call_successful, summary, transcript FROM calls"""


class World:
    """Who is who in the seeded database, and the calls as stored (the reference)."""

    def __init__(self, stack, fake):
        self.stack = stack
        self.admin = stack.make_user("admin")
        self.a = stack.make_user()
        self.b = stack.make_user()
        self.c = stack.make_user()      # a client with no agents
        # (name, platform, owner, assigned to)
        specs = [("Front desk", "retell", self.a, [self.a]),
                 ("After hours", "highlevel", self.a, [self.a]),
                 ("Sales", "retell", self.b, [self.b]),
                 ("Shared line", "highlevel", self.b, [self.a, self.b]),
                 ("Unassigned", "retell", None, [])]
        self.agents = {}
        self.assigned = defaultdict(set)
        for name, platform, owner, users in specs:
            aid = str(uuid.uuid4())
            col = "retell_agent_id" if platform == "retell" else "highlevel_agent_id"
            stack.sql(f"INSERT INTO agents (id, name, source_platform, {col}) VALUES (%s, %s, %s, %s)",
                      (aid, name, platform, f"{platform}-agent-{aid[:8]}"))
            for u in users:
                stack.sql("INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES (%s, %s, %s)",
                          (u, aid, platform))
                self.assigned[u].add(aid)
            self.agents[name] = aid
        for u, rate in ((self.a, "0.1234"), (self.b, "0.0990")):
            stack.sql("""INSERT INTO billing_accounts (user_id, inbound_rate_per_minute,
                         outbound_rate_per_minute, web_call_rate_per_minute, billing_increment_seconds)
                         VALUES (%s, %s, 0.2000, 0.0500, 6)""", (u, rate))
        slots = [(self.agents[s[0]], s[1], s[2]) for s in specs] + [(None, "highlevel", None)]
        stack.sql(SEED_CALLS, {"base": BASE, "n": N_CALLS, "recording": fake.url,
                               "agents": [s[0] for s in slots], "platforms": [s[1] for s in slots],
                               "owners": [s[2] for s in slots]})
        self.extras = self._seed_extras()
        stack.sql("ANALYZE calls")
        self.reload()

    def _seed_extras(self):
        """Calls the search and the no-start rule are checked against."""
        rows = [("Front desk", "Customer wants 50% off", "", 1),
                ("Front desk", "Customer wants 500 off", "", 2),
                ("Front desk", "promo code a_b", "", 3),
                ("Front desk", "promo code axb", "", 4),
                ("After hours", "Nothing special", "the caller mentioned a zebra", 5),
                ("Sales", "Top secret deal", "", 6)]
        ids = {}
        for agent, summary, transcript, n in rows:
            ids[summary] = self.stack.sql(
                """INSERT INTO calls (agent_id, source_platform, started_at, duration_seconds,
                   summary, transcript) SELECT id, source_platform, %s, 60, %s, %s FROM agents
                   WHERE id = %s RETURNING id::text""",
                (BASE - timedelta(days=3, seconds=n), summary, transcript, self.agents[agent]))[0]["id"]
        ids["unstarted"] = self.stack.sql(
            """INSERT INTO calls (agent_id, source_platform, summary) VALUES (%s, 'retell',
               'never started') RETURNING id::text""", (self.agents["Front desk"],))[0]["id"]
        return ids

    def reload(self):
        self.rows = self.stack.sql(REFERENCE)

    def visible(self, user=None):
        """Calls user may see (None: every call), newest first, as the API orders them."""
        rows = [r for r in self.rows if r["started_at"] is not None
                and (user is None or r["agent_id"] in self.assigned[user])]
        return sorted(rows, key=lambda r: (r["started_at"], r["id"]), reverse=True)


def seed_world(stack, fake):
    stack.sql(TRUNCATE)
    return World(stack, fake)


@pytest.fixture(scope="module")
def world(stack, fake):
    return seed_world(stack, fake)


def list_page(stack, http, headers, **params):
    r = http.get(stack.url("list-calls"), params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def fetch_all(stack, http, headers, limit=200, cursor=None, **params):
    """Follows `next` to the end; returns the ids in order and checks no page repeats a row."""
    ids = []
    while True:
        page = list_page(stack, http, headers, limit=limit, **({"cursor": cursor} if cursor else {}),
                         **params)
        assert len(page["calls"]) <= limit
        assert page["calls"] or not ids, "an empty page after a full one"
        ids += [c["id"] for c in page["calls"]]
        cursor = page["next"]
        if cursor is None:
            break
        assert len(page["calls"]) == limit
    assert len(ids) == len(set(ids)), "a call was listed twice"
    return ids


def ids(rows):
    return [r["id"] for r in rows]


# --- callers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", ["list-calls", "call-stats"])
def test_anonymous_callers_get_401(world, stack, http, fn):
    assert http.get(stack.url(fn)).status_code == 401
    assert http.get(stack.url(fn), headers={"Authorization": "Bearer nope"}).status_code == 401
    anon = stack.auth(role="anon")
    r = http.get(stack.url(fn), headers=anon)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


@pytest.mark.parametrize("fn", ["list-calls", "call-stats"])
def test_only_get_is_served(world, stack, http, fn):
    r = http.post(stack.url(fn), headers=stack.auth(world.a), json={})
    assert r.status_code == 405


BAD_PARAMS = [
    ({"agent_id": "not-a-uuid"}, "agent_id must be a uuid"),
    ({"from": "2024-13-01"}, "from must be an ISO 8601"),
    ({"to": "yesterday"}, "to must be an ISO 8601"),
    ({"from": "2024-02-30T00:00:00Z"}, "from must be an ISO 8601"),
    ({"from": "2024-03-01", "to": "2024-03-01"}, "from must be before to"),
    ({"source_platform": "twilio"}, "unknown source_platform"),
    ({"source_platform": "Retell"}, "unknown source_platform"),
    ({"direction": "sideways"}, "direction must be inbound or outbound"),
    ({"call_type": "fax"}, "call_type must be phone_call or web_call"),
    ({"status": "Ended; DROP"}, "status must be"),
    ({"q": "x" * 201}, "q must be at most 200 bytes"),
    ({"user_id": "12345"}, "user_id must be a uuid"),
]
LIST_ONLY_BAD = [
    ({"limit": "0"}, "limit must be an integer from 1 to 200"),
    ({"limit": "201"}, "limit must be an integer from 1 to 200"),
    ({"limit": "ten"}, "limit must be an integer from 1 to 200"),
    ({"cursor": "!!!"}, "cursor is not valid"),
    ({"cursor": base64.urlsafe_b64encode(b"2024-01-01T00:00:00Z|nope").decode()}, "cursor is not valid"),
    ({"cursor": base64.urlsafe_b64encode(b"tomorrow|" + str(uuid.uuid4()).encode()).decode()},
     "cursor is not valid"),
]


@pytest.mark.parametrize("fn,params,message",
                         [("list-calls", p, m) for p, m in BAD_PARAMS + LIST_ONLY_BAD]
                         + [("call-stats", p, m) for p, m in BAD_PARAMS])
def test_bad_parameters_are_a_clear_400(world, stack, http, fn, params, message):
    r = http.get(stack.url(fn), params=params, headers=stack.service_headers())
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_parameter"
    assert message in r.json()["message"]


# --- pagination ------------------------------------------------------------------------------

def test_first_page_defaults_to_50_with_a_cursor(world, stack, http):
    page = list_page(stack, http, stack.service_headers())
    assert [c["id"] for c in page["calls"]] == ids(world.visible())[:50]
    assert page["next"]
    assert list(page.keys()) == ["calls", "next"]


def test_pagination_over_10000_calls_has_no_gaps_or_repeats(world, stack, http):
    expected = ids(world.visible())
    assert len(expected) >= N_CALLS
    assert fetch_all(stack, http, stack.service_headers(), limit=200) == expected


def test_client_pagination_breaks_ties_by_id(world, stack, http):
    # 97 does not divide the groups of three calls sharing a start: pages split ties
    expected = ids(world.visible(world.a))
    got = fetch_all(stack, http, stack.auth(world.a), limit=97)
    assert got == expected


def test_pagination_is_stable_when_calls_arrive_between_pages(world, stack, http):
    headers = stack.service_headers()
    before = ids(world.visible())
    first, cursor = [], None
    for _ in range(3):
        page = list_page(stack, http, headers, limit=200, **({"cursor": cursor} if cursor else {}))
        first += [c["id"] for c in page["calls"]]
        cursor = page["next"]
    last = next(r for r in world.rows if r["id"] == first[-1])
    agent = world.agents["Front desk"]
    inserted = []
    try:
        # newer than everything, exactly at the cursor's start (ids either side), and older
        moments = ([BASE + timedelta(hours=1)] * 5 + [last["started_at"]] * 10
                   + [BASE - timedelta(days=2)] * 5)
        for at in moments:
            inserted.append(stack.sql("""INSERT INTO calls (agent_id, source_platform, started_at,
                summary) VALUES (%s, 'retell', %s, 'late arrival') RETURNING id::text, started_at""",
                                      (agent, at))[0])
        rest = fetch_all(stack, http, headers, limit=200, cursor=cursor)
        seen = first + rest
        assert len(seen) == len(set(seen))
        assert set(before) <= set(seen), "a call that existed before was skipped"
        cut = (last["started_at"], last["id"])
        for row in inserted:
            after_cursor = (row["started_at"], row["id"]) < cut
            assert (row["id"] in rest) == after_cursor
        # the order stays strictly newest first across the whole walk
        world.reload()
        key = {r["id"]: (r["started_at"], r["id"]) for r in world.rows}
        assert all(key[x] > key[y] for x, y in zip(seen, seen[1:]))
    finally:
        stack.sql("DELETE FROM calls WHERE id = ANY(%s::uuid[])", ([r["id"] for r in inserted],))
        world.reload()


# --- filters ---------------------------------------------------------------------------------

def _at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


FILTERS = [
    ({"source_platform": "retell"}, lambda r, w: r["source_platform"] == "retell"),
    ({"source_platform": "highlevel"}, lambda r, w: r["source_platform"] == "highlevel"),
    ({"agent_id": "Front desk"}, lambda r, w: r["agent_id"] == w.agents["Front desk"]),
    ({"from": "2024-02-25T00:00:00Z"}, lambda r, w: r["started_at"] >= _at("2024-02-25T00:00:00Z")),
    ({"to": "2024-02-25"}, lambda r, w: r["started_at"] < _at("2024-02-25T00:00:00Z")),
    ({"from": "2024-02-24T06:30:00+02:00", "to": "2024-02-26T06:30:00.5-05:00"},
     lambda r, w: _at("2024-02-24T04:30:00Z") <= r["started_at"] < _at("2024-02-26T11:30:00.5Z")),
    ({"status": "error"}, lambda r, w: r["call_status"] == "error"),
    ({"direction": "inbound"}, lambda r, w: r["direction"] == "inbound"),
    ({"call_type": "web_call"}, lambda r, w: r["call_type"] == "web_call"),
    ({"q": "REFUND"}, lambda r, w: "refund" in (r["summary"] or "").lower()),
    ({"q": "50%"}, lambda r, w: "50%" in (r["summary"] or "")),
    ({"q": "a_b"}, lambda r, w: "a_b" in (r["summary"] or "")),
    ({"q": "zebra"}, lambda r, w: "zebra" in (r["transcript"] or "")),
    ({"q": "secret"}, lambda r, w: "secret" in (r["summary"] or "").lower()),
    ({"source_platform": "highlevel", "direction": "outbound", "call_type": "phone_call",
      "from": "2024-02-22"},
     lambda r, w: r["source_platform"] == "highlevel" and r["direction"] == "outbound"
     and r["call_type"] == "phone_call" and r["started_at"] >= _at("2024-02-22T00:00:00Z")),
]


def _resolve(world, params):
    out = dict(params)
    if "agent_id" in out:
        out["agent_id"] = world.agents[out["agent_id"]]
    return out


@pytest.mark.parametrize("who", ["admin", "a", "b"])
@pytest.mark.parametrize("params,keep", FILTERS, ids=[json.dumps(f[0]) for f in FILTERS])
def test_each_filter_matches_the_reference(world, stack, http, who, params, keep):
    user = None if who == "admin" else getattr(world, who)
    headers = stack.auth(world.admin) if who == "admin" else stack.auth(user)
    expected = [r["id"] for r in world.visible(user) if keep(r, world)]
    got = fetch_all(stack, http, headers, **_resolve(world, params))
    assert got == expected
    if params.get("q") in ("50%", "a_b") and who != "b":
        assert len(got) == 1     # % and _ match themselves, not any text


def test_search_and_agent_filters_never_cross_users(world, stack, http):
    assert fetch_all(stack, http, stack.auth(world.a), q="secret") == []
    assert fetch_all(stack, http, stack.auth(world.b), q="secret") == [world.extras["Top secret deal"]]


def test_an_unencoded_plus_in_a_timestamp_still_means_plus(world, stack, http):
    # a raw '+' in a query string decodes to a space; the offset must survive it
    url = stack.url("list-calls") + "?limit=200&from=2024-02-28T14:00:00+02:00"
    r = http.get(url, headers=stack.service_headers())
    assert r.status_code == 200, r.text
    starts = [_at(c["started_at"]) for c in r.json()["calls"]]
    assert min(starts) >= _at("2024-02-28T12:00:00Z")
    later = [x for x in world.visible() if x["started_at"] >= _at("2024-02-28T12:00:00Z")]
    assert len(starts) == min(len(later), 200)


def test_calls_without_a_start_are_left_out(world, stack, http):
    got = fetch_all(stack, http, stack.auth(world.a), q="never started")
    assert got == []
    stats = http.get(stack.url("call-stats"), headers=stack.service_headers()).json()
    assert stats["totals"]["calls"] == len(world.visible())


# --- rows ------------------------------------------------------------------------------------

def test_rows_have_the_table_fields(world, stack, http):
    page = list_page(stack, http, stack.auth(world.a), limit=200)
    stored = {r["id"]: r for r in world.rows}
    for call in page["calls"]:
        assert set(call) == CLIENT_FIELDS
        row = stored[call["id"]]
        assert call["started_at"].endswith("Z") and _at(call["started_at"]) == row["started_at"]
        assert call["duration_seconds"] == row["duration_seconds"]
        assert call["cost"] == (None if row["cost"] is None else str(row["cost"]))
        assert call["call_successful"] is row["call_successful"]
        assert call["call_type"] in ("phone_call", "web_call")
        assert call["agent"]["id"] == row["agent_id"]
        name = next(n for n, a in world.agents.items() if a == row["agent_id"])
        assert call["agent"]["name"] == name
        assert call["provider"] == LABELS[row["source_platform"]]


def test_admins_see_real_provider_names_and_the_platform(world, stack, http):
    page = list_page(stack, http, stack.auth(world.admin), limit=200)
    stored = {r["id"]: r for r in world.rows}
    platforms = set()
    for call in page["calls"]:
        assert set(call) == ADMIN_FIELDS
        assert call["source_platform"] == stored[call["id"]]["source_platform"]
        assert call["provider"] == REAL_NAMES[call["source_platform"]]
        platforms.add(call["source_platform"])
    assert platforms == {"retell", "highlevel"}
    assert any(c["agent"] is None for c in page["calls"])     # calls of no agent: admins only


# --- who sees what ---------------------------------------------------------------------------

def test_clients_see_only_their_agents_calls(world, stack, http):
    for user in (world.a, world.b):
        got = fetch_all(stack, http, stack.auth(user))
        assert got == ids(world.visible(user))
        allowed = world.assigned[user]
        assert {r["agent_id"] for r in world.rows if r["id"] in set(got)} <= allowed
    # the shared agent's calls appear for both, once each
    shared = {r["id"] for r in world.visible() if r["agent_id"] == world.agents["Shared line"]}
    assert shared <= set(fetch_all(stack, http, stack.auth(world.a)))
    assert shared <= set(fetch_all(stack, http, stack.auth(world.b)))


@pytest.mark.parametrize("fn", ["list-calls", "call-stats"])
def test_another_users_id_is_404_for_a_client(world, stack, http, fn):
    r = http.get(stack.url(fn), params={"user_id": world.b}, headers=stack.auth(world.a))
    assert r.status_code == 404
    assert world.b not in r.text
    own = http.get(stack.url(fn), params={"user_id": world.a.upper()}, headers=stack.auth(world.a))
    assert own.status_code == 200


def test_another_users_agent_gives_nothing(world, stack, http):
    sales = world.agents["Sales"]
    assert list_page(stack, http, stack.auth(world.a), agent_id=sales) == {"calls": [], "next": None}
    stats = http.get(stack.url("call-stats"), params={"agent_id": sales},
                     headers=stack.auth(world.a)).json()
    assert stats["totals"]["calls"] == 0 and stats["by_platform"] == {} and stats["by_day"] == []


def test_a_client_without_agents_sees_nothing(world, stack, http):
    assert list_page(stack, http, stack.auth(world.c)) == {"calls": [], "next": None}
    stats = http.get(stack.url("call-stats"), headers=stack.auth(world.c)).json()
    assert stats == {"totals": {"calls": 0, "minutes": "0.00", "cost": "0.0000",
                                "average_duration_seconds": None, "success_rate": None,
                                "sentiment": {"positive": 0, "negative": 0, "neutral": 0, "unknown": 0}},
                     "by_platform": {}, "by_day": []}


def test_admins_and_the_service_role_see_everything_or_act_for_a_user(world, stack, http):
    everything = ids(world.visible())
    assert fetch_all(stack, http, stack.auth(world.admin)) == everything
    page = list_page(stack, http, stack.service_headers(), limit=200)
    assert [c["id"] for c in page["calls"]] == everything[:200]
    for user in (world.a, world.b, world.c):
        assert fetch_all(stack, http, stack.auth(world.admin), user_id=user) == ids(world.visible(user))


# --- stats -----------------------------------------------------------------------------------

def figures(rows):
    """What call-stats answers for a set of calls, computed independently of the SQL."""
    q2, q4 = Decimal("0.01"), Decimal("0.0001")
    seconds = [r["duration_seconds"] for r in rows if r["duration_seconds"] is not None]
    judged = [r["call_successful"] for r in rows if r["call_successful"] is not None]
    moods = Counter((r["sentiment"] or "").lower() for r in rows)
    known = {k: moods[k] for k in ("positive", "negative", "neutral")}
    return {
        "calls": len(rows),
        "minutes": str((Decimal(sum(seconds)) / 60).quantize(q2, ROUND_HALF_UP)),
        "cost": str(sum((r["cost"] for r in rows if r["cost"] is not None), Decimal(0))
                    .quantize(q4, ROUND_HALF_UP)),
        "average_duration_seconds":
            (Decimal(sum(seconds)) / len(seconds)).quantize(q2, ROUND_HALF_UP) if seconds else None,
        "success_rate": (Decimal(sum(judged)) / len(judged)).quantize(q4, ROUND_HALF_UP) if judged else None,
        "sentiment": dict(known, unknown=len(rows) - sum(known.values())),
    }


def reference_stats(rows, names):
    by_platform, by_day = defaultdict(list), defaultdict(list)
    for r in rows:
        by_platform[names[r["source_platform"]]].append(r)
        by_day[r["started_at"].astimezone(timezone.utc).date().isoformat()].append(r)
    return {"totals": figures(rows),
            "by_platform": {k: figures(v) for k, v in by_platform.items()},
            "by_day": [dict(figures(by_day[d]), date=d) for d in sorted(by_day)]}


STATS_CASES = [
    ("admin", {}, None),
    ("admin", {"user_id": "a"}, None),
    ("service", {"source_platform": "retell"}, lambda r: r["source_platform"] == "retell"),
    ("a", {}, None),
    ("b", {}, None),
    ("a", {"from": "2024-02-24T00:00:00Z", "to": "2024-02-27T12:00:00Z", "source_platform": "highlevel"},
     lambda r: _at("2024-02-24T00:00:00Z") <= r["started_at"] < _at("2024-02-27T12:00:00Z")
     and r["source_platform"] == "highlevel"),
]


@pytest.mark.parametrize("who,params,keep", STATS_CASES,
                         ids=[f"{c[0]}-{json.dumps(c[1])}" for c in STATS_CASES])
def test_stats_equal_a_reference_computed_from_the_rows(world, stack, http, who, params, keep):
    params = dict(params)
    if params.get("user_id") == "a":
        params["user_id"] = world.a
    if who == "service":
        headers, scope = stack.service_headers(), None
    elif who == "admin":
        headers, scope = stack.auth(world.admin), params.get("user_id")
    else:
        headers, scope = stack.auth(getattr(world, who)), getattr(world, who)
    names = LABELS if who in ("a", "b") else REAL_NAMES
    rows = [r for r in world.visible(scope) if keep is None or keep(r)]
    r = http.get(stack.url("call-stats"), params=params, headers=headers)
    assert r.status_code == 200, r.text
    got = r.json(parse_float=Decimal)
    assert got == reference_stats(rows, names)
    assert got["totals"]["calls"] > 0 and len(got["by_day"]) > 1


# --- EXPLAIN at a realistic size -------------------------------------------------------------

EXPLAIN_USERS = 300
EXPLAIN_CALLS = 150_000

# A separate database: 300 users with 2 agents each (retell and highlevel), 150,000 calls over a
# year with short texts (the trigram indexes make long ones slow to seed, not to plan).
EXPLAIN_SEED = """
INSERT INTO auth.users (id) SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid
    FROM generate_series(1, %(users)s) u;
INSERT INTO profiles (id, role) SELECT id, 'client' FROM auth.users;
INSERT INTO agents (id, name, source_platform)
    SELECT ('10000000-0000-4000-8000-' || lpad(to_hex(a), 12, '0'))::uuid, 'Agent ' || a,
           CASE WHEN a %% 2 = 0 THEN 'retell' ELSE 'highlevel' END
    FROM generate_series(1, 2 * %(users)s) a;
INSERT INTO user_agents (user_id, agent_id, source_platform)
    SELECT ('00000000-0000-4000-8000-' || lpad(to_hex((a + 1) / 2), 12, '0'))::uuid,
           ('10000000-0000-4000-8000-' || lpad(to_hex(a), 12, '0'))::uuid,
           CASE WHEN a %% 2 = 0 THEN 'retell' ELSE 'highlevel' END
    FROM generate_series(1, 2 * %(users)s) a;
INSERT INTO calls (user_id, agent_id, source_platform, started_at, duration_seconds, cost,
    direction, call_type, call_status, sentiment, call_successful, summary, transcript)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex((a + 1) / 2), 12, '0'))::uuid,
       ('10000000-0000-4000-8000-' || lpad(to_hex(a), 12, '0'))::uuid,
       CASE WHEN a %% 2 = 0 THEN 'retell' ELSE 'highlevel' END,
       timestamptz '2025-01-01' - i * interval '210 seconds', (i * 7) %% 600, (i %% 1000) / 100.0,
       CASE WHEN i %% 2 = 0 THEN 'inbound' ELSE 'outbound' END,
       CASE WHEN i %% 5 = 0 THEN 'web_call' ELSE 'phone_call' END,
       (ARRAY['ended', 'error', 'not_connected', 'ongoing'])[1 + i %% 4],
       (ARRAY['Positive', 'Negative', 'Neutral', NULL])[1 + i %% 4], i %% 3 = 0,
       'About ' || (ARRAY['billing', 'pricing', 'a refund'])[1 + i %% 3] || ' ' || left(md5(i::text), 12),
       'hello ' || left(md5((i * 3)::text), 16)
FROM generate_series(1, %(calls)s) i
CROSS JOIN LATERAL (SELECT 1 + (i * 7919) %% (2 * %(users)s) AS a) x;
"""

USER_17 = "00000000-0000-4000-8000-000000000011"
AGENT_34 = "10000000-0000-4000-8000-000000000022"

# (function, query string, caller): the dashboard's everyday requests. {cursor} is a position in
# the middle of the calls, {rare} a word of one summary.
EXPLAIN_CASES = [
    ("list-calls", "", "client"),
    ("list-calls", "cursor={cursor}", "client"),
    ("list-calls", "source_platform=retell&limit=200", "client"),
    ("list-calls", "from=2024-06-01&to=2024-07-01&direction=inbound", "client"),
    ("list-calls", "q=refund", "client"),
    ("list-calls", "", "service"),
    ("list-calls", "cursor={cursor}", "service"),
    ("list-calls", "source_platform=highlevel", "service"),
    ("list-calls", "user_id=" + USER_17, "service"),
    ("list-calls", "agent_id=" + AGENT_34, "service"),
    ("list-calls", "from=2024-06-01&to=2024-06-02", "service"),
    ("list-calls", "q={rare}", "service"),
    ("call-stats", "", "client"),
    ("call-stats", "from=2024-06-01&to=2024-07-01", "client"),
    ("call-stats", "from=2024-06-01&to=2024-07-01", "service"),
    ("call-stats", "from=2024-12-01&source_platform=retell", "service"),
    ("call-stats", "user_id=" + USER_17 + "&from=2024-01-01", "service"),
]
# Not here: an admin's all-time stats read every call, where a (parallel) sequential scan is the
# right plan when the table is small; at 1M calls with real transcripts the planner takes an
# index-only scan of idx_calls_started instead.


@pytest.fixture(scope="module")
def explain_db(stack):
    name = "calls_explain"
    stack.sql(f"DROP DATABASE IF EXISTS {name}")
    stack.sql(f"CREATE DATABASE {name}")
    url = stack.database_url.replace("/callbridge?", f"/{name}?")
    out = subprocess.run([str(ROOT / "db" / "migrate"), url], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(EXPLAIN_SEED, {"users": EXPLAIN_USERS, "calls": EXPLAIN_CALLS})
        cur.execute("VACUUM ANALYZE")
        cur.execute("""SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                       || '|' || id, left(md5('777'), 12) FROM calls
                       ORDER BY started_at DESC, id DESC OFFSET %s LIMIT 1""", (EXPLAIN_CALLS // 2,))
        mid, rare = cur.fetchone()
    yield conn, url, {"cursor": base64.urlsafe_b64encode(mid.encode()).decode().rstrip("="), "rare": rare}
    conn.close()
    stack.sql(f"DROP DATABASE {name}")


def print_sql(stack, url, fn, query, caller):
    env = dict(os.environ, DATABASE_URL=url, JWT_SECRET=stack.jwt_secret,
               SECRETS_KEYS=stack.secrets_keys)  # an all-zero key is refused as weak
    who = ["client", USER_17] if caller == "client" else ["service"]
    out = subprocess.run([str(stack.build / fn), "--print-sql", query, *who], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def plan_nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


@pytest.mark.parametrize("fn,query,caller", EXPLAIN_CASES,
                         ids=[f"{c[0]}-{c[2]}-{c[1] or 'plain'}" for c in EXPLAIN_CASES])
def test_explain_shows_index_use_and_no_seq_scan_on_calls(stack, explain_db, fn, query, caller):
    conn, url, values = explain_db
    stmt = print_sql(stack, url, fn, query.format(**values), caller)
    with conn.cursor() as cur:
        # an unnamed statement (what db_exec sends) is planned with its values: a custom plan
        cur.execute("DEALLOCATE ALL")
        cur.execute("SET plan_cache_mode = force_custom_plan")
        cur.execute("PREPARE q AS " + stmt["sql"])
        args = "(" + ", ".join(["%s"] * len(stmt["params"])) + ")" if stmt["params"] else ""
        cur.execute("EXPLAIN (FORMAT JSON) EXECUTE q" + args, stmt["params"])
        plan = cur.fetchone()[0][0]["Plan"]
    nodes = list(plan_nodes(plan))
    on_calls = [n for n in nodes if n.get("Relation Name") == "calls" or
                str(n.get("Index Name", "")).startswith(("idx_calls", "calls_"))]
    text = json.dumps(plan)
    assert not [n for n in on_calls if n["Node Type"] == "Seq Scan"], text
    assert any(n["Node Type"] in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
               and n.get("Index Name", "").startswith("idx_calls") for n in nodes), text
