"""What list-calls and call-stats share through common/calls_query: who may call, the query
parameters and their 400s, a client's scope (another user, another user's agent, no agents,
calls without a start), and EXPLAIN of the statements both run at a realistic size (printed
by `<function> --print-sql`)."""
import base64
import json
import os
import subprocess
import uuid

import psycopg2
import pytest

from testenv.seeded_calls import fetch_all, list_page
from testenv.stack import ROOT

# --- callers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", ["list-calls", "call-stats"])
def test_anonymous_callers_get_401(seeded_calls, stack, http, fn):
    assert http.get(stack.url(fn)).status_code == 401
    assert http.get(stack.url(fn), headers={"Authorization": "Bearer nope"}).status_code == 401
    anon = stack.auth(role="anon")
    r = http.get(stack.url(fn), headers=anon)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


@pytest.mark.parametrize("fn", ["list-calls", "call-stats"])
def test_only_get_is_served(seeded_calls, stack, http, fn):
    r = http.post(stack.url(fn), headers=stack.auth(seeded_calls.a), json={})
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
def test_bad_parameters_are_a_clear_400(seeded_calls, stack, http, fn, params, message):
    r = http.get(stack.url(fn), params=params, headers=stack.service_headers())
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_parameter"
    assert message in r.json()["message"]


# --- scope -----------------------------------------------------------------------------------


def test_calls_without_a_start_are_left_out(seeded_calls, stack, http):
    got = fetch_all(stack, http, stack.auth(seeded_calls.a), q="never started")
    assert got == []
    stats = http.get(stack.url("call-stats"), headers=stack.service_headers()).json()
    assert stats["totals"]["calls"] == len(seeded_calls.visible())


@pytest.mark.parametrize("fn", ["list-calls", "call-stats"])
def test_another_users_id_is_404_for_a_client(seeded_calls, stack, http, fn):
    r = http.get(stack.url(fn), params={"user_id": seeded_calls.b}, headers=stack.auth(seeded_calls.a))
    assert r.status_code == 404
    assert seeded_calls.b not in r.text
    own = http.get(stack.url(fn), params={"user_id": seeded_calls.a.upper()}, headers=stack.auth(seeded_calls.a))
    assert own.status_code == 200


def test_another_users_agent_gives_nothing(seeded_calls, stack, http):
    sales = seeded_calls.agents["Sales"]
    assert list_page(stack, http, stack.auth(seeded_calls.a), agent_id=sales) == {"calls": [], "next": None}
    stats = http.get(stack.url("call-stats"), params={"agent_id": sales},
                     headers=stack.auth(seeded_calls.a)).json()
    assert stats["totals"]["calls"] == 0 and stats["by_platform"] == {} and stats["by_day"] == []


def test_a_client_without_agents_sees_nothing(seeded_calls, stack, http):
    assert list_page(stack, http, stack.auth(seeded_calls.c)) == {"calls": [], "next": None}
    stats = http.get(stack.url("call-stats"), headers=stack.auth(seeded_calls.c)).json()
    assert stats == {"totals": {"calls": 0, "minutes": "0.00", "cost": "0.0000",
                                "average_duration_seconds": None, "success_rate": None,
                                "sentiment": {"positive": 0, "negative": 0, "neutral": 0, "unknown": 0}},
                     "by_platform": {}, "by_day": []}


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
