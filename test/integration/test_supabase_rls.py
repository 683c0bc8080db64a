"""Row level security as PostgREST meets it, on a Supabase-shaped database migrated by db/migrate.

PostgREST logs in as authenticator and runs each request as one transaction:
SET LOCAL ROLE <anon|authenticated|service_role> and set_config('request.jwt.claims', <the
token's claims>, true). Every cell of roles x tables x verbs below is one such transaction,
rolled back, and its outcome asserted: "denied" (no privilege), or the number of rows the
statement saw or touched. Then the rules the functions hold: a client reads their own profile and
the calls and agents of agents assigned to them; nobody changes their own role; admins read what
the dashboard shows; the secret and raw-provider tables are out of reach.
"""
import json
import uuid

import psycopg2
import pytest

from testenv.databases import drop_database, migrate, new_database, query, url_for

DB = "rls_supabase"
A, B, ADMIN = (str(uuid.UUID(int=i, version=4)) for i in (0xA, 0xB, 0xAD))
AGENT_A, AGENT_B = (str(uuid.UUID(int=i, version=4)) for i in (0xA1, 0xB1))

READABLE = ["profiles", "agents", "user_agents", "calls", "billing_accounts"]
SECRET = ["api_keys", "webhook_inbox", "key_usage_audit", "oauth_states", "sync_state",
          "sync_runs", "schema_migrations", "retell_agent_workspaces", "call_transcript_pending",
          "call_transcript_search"]
# an UPDATE that changes nothing, on a column the role may be granted
UPDATE_SET = {"profiles": "full_name = full_name", "call_transcript_search": "call_id = call_id"}

SEED = f"""
INSERT INTO auth.users (id, email) VALUES ('{A}', 'a@x.test'), ('{B}', 'b@x.test'), ('{ADMIN}', 'ad@x.test');
INSERT INTO profiles (id, email, full_name, role) VALUES
    ('{A}', 'a@x.test', 'Ann', 'client'), ('{B}', 'b@x.test', 'Bob', 'client'),
    ('{ADMIN}', 'ad@x.test', 'Ada', 'admin');
INSERT INTO agents (id, name, source_platform, retell_agent_id) VALUES
    ('{AGENT_A}', 'A agent', 'retell', 'ag_a'), ('{AGENT_B}', 'B agent', 'retell', 'ag_b');
INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES
    ('{A}', '{AGENT_A}', 'retell'), ('{B}', '{AGENT_B}', 'retell');
INSERT INTO calls (user_id, agent_id, retell_call_id, source_platform) VALUES
    ('{A}', '{AGENT_A}', 'c_a1', 'retell'), ('{A}', '{AGENT_A}', 'c_a2', 'retell'),
    ('{B}', '{AGENT_B}', 'c_b1', 'retell');
INSERT INTO billing_accounts (user_id) VALUES ('{A}'), ('{B}');
INSERT INTO api_keys (user_id, service, access_token) VALUES ('{A}', 'retell', 'v1:k1:sealed');
INSERT INTO webhook_inbox (event, call_id, body, status) VALUES ('call_ended', 'c_a1', '{{}}', 'applied');
INSERT INTO key_usage_audit (user_id, service, actor_kind, purpose, function_name)
    VALUES ('{A}', 'retell', 'service', 'sync', 'sync-retell-calls');
INSERT INTO oauth_states (state, user_id, expires_at) VALUES ('st', '{A}', now() + interval '10 minutes');
INSERT INTO sync_state (user_id, provider, cursor_ms) VALUES ('{A}', 'retell', 1);
INSERT INTO sync_runs (user_id, provider, trigger) VALUES ('{A}', 'retell', 'schedule');
INSERT INTO retell_agent_workspaces (retell_agent_id, user_id) VALUES ('ag_a', '{A}');
UPDATE calls SET transcript = 'Agent: hello' WHERE retell_call_id = 'c_a2';
INSERT INTO call_transcript_search (call_id, transcript)
    SELECT id, 'Agent: hi' FROM calls WHERE retell_call_id = 'c_a1';
"""


@pytest.fixture(scope="module")
def db(stack):
    owner = new_database(stack, DB, shape="supabase")
    out = migrate(owner)
    assert out.returncode == 0, out.stderr
    query(owner, SEED)
    totals = {t: query(owner, f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in READABLE + SECRET}
    conn = psycopg2.connect(url_for(stack, DB, "authenticator"))
    yield {"conn": conn, "totals": totals, "owner": owner}
    conn.close()
    drop_database(stack, DB)


CALLERS = {
    "anon": ("anon", None),
    "client_a": ("authenticated", A),
    "admin": ("authenticated", ADMIN),
    "service_role": ("service_role", None),
}


def as_caller(db, caller, sql, params=None):
    """One PostgREST-like transaction; returns "denied" (no privilege), "policy" (a row the
    policies refuse) or the rows seen / touched."""
    role, sub = CALLERS[caller]
    claims = {"role": role, "iss": "supabase"}
    if sub:
        claims.update(sub=sub, aud="authenticated", email=f"{sub[:4]}@x.test")
    conn = db["conn"]
    try:
        with conn.cursor() as cur:
            cur.execute(f"SET LOCAL ROLE {role}")
            cur.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else cur.rowcount
    except psycopg2.errors.InsufficientPrivilege as e:
        return "policy" if "row-level security policy" in str(e) else "denied"
    finally:
        conn.rollback()


def statement(table, verb):
    if verb == "select":
        return f"SELECT count(*) FROM {table}"
    if verb == "insert":
        # checks the INSERT privilege without needing a valid row
        return f"INSERT INTO {table} SELECT * FROM {table} LIMIT 0"
    if verb == "update":
        first = UPDATE_SET.get(table)
        if first is None:
            first = {"user_agents": "user_id = user_id", "billing_accounts": "user_id = user_id",
                     "oauth_states": "state = state", "sync_state": "user_id = user_id",
                     "schema_migrations": "version = version",
                     "retell_agent_workspaces": "user_id = user_id"}.get(table, "id = id")
        return f"UPDATE {table} SET {first}"
    return f"DELETE FROM {table}"


VISIBLE_TO_A = {"profiles": 1, "agents": 1, "user_agents": 1, "calls": 2, "billing_accounts": 1}


def expected(db, caller, table, verb):
    total = db["totals"][table]
    if caller == "service_role":  # Supabase's own bypass role: everything
        return 0 if verb == "insert" else total
    if caller == "anon" or table in SECRET or verb in ("insert", "delete"):
        return "denied"
    if verb == "update":
        if table != "profiles":
            return "denied"
        return 1 if caller == "client_a" else total
    return VISIBLE_TO_A[table] if caller == "client_a" else total


CELLS = [(c, t, v) for c in CALLERS for t in READABLE + SECRET
         for v in ("select", "insert", "update", "delete")]


@pytest.mark.parametrize("caller,table,verb", CELLS, ids=[f"{c}-{t}-{v}" for c, t, v in CELLS])
def test_matrix(db, caller, table, verb):
    got = as_caller(db, caller, statement(table, verb))
    if verb == "select" and got != "denied":
        got = got[0][0]
    assert got == expected(db, caller, table, verb)


def ids(rows):
    return sorted(str(r[0]) for r in rows)


def test_a_client_reads_their_own_profile_and_their_agents_calls(db):
    assert ids(as_caller(db, "client_a", "SELECT id FROM profiles")) == [A]
    assert ids(as_caller(db, "client_a", "SELECT id FROM agents")) == [AGENT_A]
    assert ids(as_caller(db, "client_a", "SELECT retell_call_id FROM calls")) == ["c_a1", "c_a2"]
    assert ids(as_caller(db, "client_a", "SELECT user_id FROM billing_accounts")) == [A]


def test_admins_read_everything_the_dashboard_shows(db):
    assert ids(as_caller(db, "admin", "SELECT id FROM profiles")) == sorted([A, B, ADMIN])
    assert ids(as_caller(db, "admin", "SELECT retell_call_id FROM calls")) == ["c_a1", "c_a2", "c_b1"]


@pytest.mark.parametrize("caller,target", [("client_a", A), ("admin", ADMIN)])
def test_nobody_changes_their_own_role(db, caller, target):
    got = as_caller(db, caller, "UPDATE profiles SET role = %s WHERE id = %s",
                    ("admin" if caller == "client_a" else "client", target))
    assert got == "policy"


def test_a_client_changes_their_name_but_nobody_elses_profile(db):
    assert as_caller(db, "client_a", "UPDATE profiles SET full_name = 'Anna' WHERE id = %s", (A,)) == 1
    assert as_caller(db, "client_a", "UPDATE profiles SET full_name = 'X' WHERE id = %s", (B,)) == 0
    assert as_caller(db, "client_a", "UPDATE profiles SET email = 'x@y' WHERE id = %s", (A,)) == "denied"


def test_an_admin_may_change_another_users_role(db):
    assert as_caller(db, "admin", "UPDATE profiles SET role = 'admin' WHERE id = %s", (B,)) == 1


def test_the_role_guard_holds_whatever_other_policies_allow(db):
    """An adopted project's own lax policy ("users update own profile") cannot grant a role."""
    query(db["owner"], """CREATE POLICY lax_update ON profiles FOR UPDATE TO authenticated
                          USING (true) WITH CHECK (true)""")
    try:
        assert as_caller(db, "client_a", "UPDATE profiles SET role = 'admin' WHERE id = %s",
                         (A,)) == "policy"
        # and what the lax policy is for still works
        assert as_caller(db, "client_a", "UPDATE profiles SET full_name = 'A' WHERE id = %s",
                         (A,)) == 1
    finally:
        query(db["owner"], "DROP POLICY lax_update ON profiles")


def test_truncate_is_nobodys_through_postgrest(db):
    for caller in ("anon", "client_a", "admin"):
        for table in READABLE + SECRET:
            assert as_caller(db, caller, f"TRUNCATE {table} CASCADE") == "denied", (caller, table)


def public_tables(url):
    return query(url, """SELECT c.relname, c.relrowsecurity FROM pg_class c
                         JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1""")


def test_every_table_in_public_has_rls_enabled(stack):
    """On the stack's own database: covers tables later migrations add too."""
    tables = public_tables(stack.database_url)
    assert len(tables) >= len(READABLE + SECRET)
    assert [t["relname"] for t in tables if not t["relrowsecurity"]] == []


def test_on_supabase_every_public_table_has_rls_and_none_is_anons(db):
    tables = public_tables(db["owner"])
    assert [t["relname"] for t in tables if not t["relrowsecurity"]] == []
    granted = query(db["owner"], """SELECT table_name, privilege_type
                                    FROM information_schema.role_table_grants
                                    WHERE table_schema = 'public' AND grantee = 'anon'""")
    assert granted == []
