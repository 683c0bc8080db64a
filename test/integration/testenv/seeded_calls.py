"""The read API's seeded database: 10,000 calls in one statement over five agents of two
providers, owned by clients a and b (c has no agents), with the calls as stored kept as the
reference list-calls, call-stats and the white-label checks are held to; and the helpers that
walk list-calls' pages."""
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone

N_CALLS = 10_000
BASE = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
REAL_NAMES = {"retell": "Retell", "highlevel": "HighLevel"}
LABELS = {"retell": "Provider B", "highlevel": "Provider A"}

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


class SeededCalls:
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


def instant(text):
    """An ISO 8601 timestamp as the answers carry it, as a datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
