"""db/migrate adopts an existing HighLevel-era schema (sql/highlevel_era.sql) on a plain
PostgreSQL and on a Supabase-shaped database (sql/supabase_shape.sql, run as its owner role
without CREATE on schema auth): every table and row there before is there after, unchanged,
after a first and a second run; our upserts' keys exist; earlier texts of the adoption-safe
migrations are accepted (superseded.txt); --baseline records without running."""
from decimal import Decimal

import pytest

from testenv.databases import drop_database, migrate, new_database, query
from testenv.stack import ROOT

TABLES = ["auth.users", "profiles", "agents", "user_agents", "calls", "api_keys", "billing_accounts"]
HERE_BEFORE = "00000000-0000-4000-8000-00000000000"


def snapshot(url, columns):
    """Every row of every table, restricted to the columns the table had before migrating."""
    out = {}
    for table in TABLES:
        cols = ", ".join(f'"{c}"' for c in columns[table])
        out[table] = query(url, f"SELECT {cols} FROM {table} ORDER BY 1")
    return out


def columns_of(url):
    cols = {}
    for table in TABLES:
        schema, _, name = table.rpartition(".")
        rows = query(url, """SELECT column_name FROM information_schema.columns
                             WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position""",
                     (schema or "public", name))
        cols[table] = [r["column_name"] for r in rows]
    return cols


@pytest.fixture(params=["plain", "supabase"])
def era(request, stack):
    name = f"adopt_{request.param}"
    url = new_database(stack, name, shape=request.param, highlevel_era=True)
    yield url
    drop_database(stack, name)


def test_existing_schema_and_rows_survive_two_runs(era):
    before_cols = columns_of(era)
    before = snapshot(era, before_cols)
    assert all(before[t] for t in TABLES), "the fixture holds rows in every table"
    first = migrate(era)
    assert first.returncode == 0, first.stderr
    assert snapshot(era, before_cols) == before
    after_cols = columns_of(era)
    for table in TABLES:
        # nothing dropped or renamed: every column is still there, in its place
        assert after_cols[table][:len(before_cols[table])] == before_cols[table], table
    second = migrate(era)
    assert second.returncode == 0, second.stderr
    assert "0 applied" in second.stdout
    assert snapshot(era, before_cols) == before


def test_adopted_schema_takes_the_functions_writes(era):
    assert migrate(era).returncode == 0
    user = HERE_BEFORE + "b"
    # the upserts the functions make, by the keys they name
    agent = query(era, """INSERT INTO agents (name, source_platform, retell_agent_id)
                          VALUES ('Retell one', 'retell', 'ag_1')
                          ON CONFLICT (retell_agent_id) DO UPDATE SET name = EXCLUDED.name
                          RETURNING id""")[0]["id"]
    query(era, """INSERT INTO user_agents (user_id, agent_id, source_platform)
                  VALUES (%s, %s, 'retell') ON CONFLICT (user_id, agent_id) DO NOTHING""", (user, agent))
    query(era, """INSERT INTO calls (user_id, agent_id, retell_call_id, source_platform,
                  duration_seconds, call_type, direction)
                  VALUES (%s, %s, 'call_1', 'retell', 61, 'phone_call', 'inbound')
                  ON CONFLICT (retell_call_id) DO UPDATE SET duration_seconds = EXCLUDED.duration_seconds""",
          (user, agent))
    query(era, """INSERT INTO calls (highlevel_call_id, duration_seconds) VALUES ('hl-call-1', 130)
                  ON CONFLICT (highlevel_call_id) DO UPDATE SET duration_seconds = EXCLUDED.duration_seconds""")
    query(era, """INSERT INTO api_keys (user_id, service, access_token) VALUES (%s, 'retell', 'sealed')
                  ON CONFLICT (user_id, service) DO UPDATE SET access_token = EXCLUDED.access_token""",
          (user,))
    # the one billing rule prices the new call from the adopted billing account (2 min x 0.15)
    cost = query(era, "SELECT cost FROM calls WHERE retell_call_id = 'call_1'")[0]["cost"]
    assert cost == Decimal("0.30")
    old = query(era, "SELECT source_platform, data_rank, notes FROM calls WHERE highlevel_call_id = 'hl-call-2'")
    assert old == [{"source_platform": "highlevel", "data_rank": 0, "notes": None}]


def test_supabase_auth_schema_is_left_as_it_was(stack):
    url = new_database(stack, "adopt_auth", shape="supabase")
    try:
        before = query(url, """SELECT column_name FROM information_schema.columns
                               WHERE table_schema = 'auth' AND table_name = 'users' ORDER BY 1""")
        assert migrate(url).returncode == 0
        after = query(url, """SELECT column_name FROM information_schema.columns
                              WHERE table_schema = 'auth' AND table_name = 'users' ORDER BY 1""")
        assert after == before and len(before) > 30
        owner = query(url, "SELECT tableowner FROM pg_tables WHERE schemaname = 'auth' AND tablename = 'users'")
        assert owner == [{"tableowner": "supabase_auth_admin"}]
        # the migrations ran as a role that may not create in schema auth
        assert query(url, "SELECT has_schema_privilege('auth', 'CREATE') AS c") == [{"c": False}]
    finally:
        drop_database(stack, "adopt_auth")


def superseded():
    lines = (ROOT / "db" / "migrations" / "superseded.txt").read_text().splitlines()
    return [tuple(l.split()) for l in lines if l and not l.startswith("#")]


def test_an_install_of_the_earlier_texts_still_migrates(stack):
    """A database migrated before the adoption edits recorded the earlier checksums."""
    url = new_database(stack, "adopt_earlier")
    try:
        assert migrate(url).returncode == 0
        for version, old in superseded():
            query(url, "UPDATE schema_migrations SET checksum = %s WHERE version = %s", (old, version))
        out = migrate(url)
        assert out.returncode == 0, out.stderr
        assert out.stdout.count("recorded the adoption-safe text") == len(superseded())
        again = migrate(url)
        assert again.returncode == 0 and "recorded" not in again.stdout
        # any other checksum is still an edited migration
        query(url, "UPDATE schema_migrations SET checksum = %s WHERE version = '0001'", ("0" * 64,))
        refused = migrate(url)
        assert refused.returncode != 0 and "changed after it was applied" in refused.stderr
    finally:
        drop_database(stack, "adopt_earlier")


def test_baseline_records_without_running(stack):
    """A schema made some other way (a restored dump without schema_migrations' rows)."""
    url = new_database(stack, "adopt_baseline")
    try:
        assert migrate(url).returncode == 0
        query(url, "DELETE FROM schema_migrations")
        query(url, "ALTER TABLE calls DROP COLUMN data_rank")  # 0003's, to see it is not run
        files = sorted(p.name[:4] for p in (ROOT / "db" / "migrations").glob("[0-9]*.sql"))
        out = migrate(url, "--baseline", files[-1])
        assert out.returncode == 0, out.stderr
        assert "baseline 0001_base_schema" in out.stdout and "db/migrate: applied" not in out.stdout
        versions = [r["version"] for r in query(url, "SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == files
        assert query(url, """SELECT count(*) AS n FROM information_schema.columns
                             WHERE table_name = 'calls' AND column_name = 'data_rank'""") == [{"n": 0}]
        assert "0 applied" in migrate(url).stdout
        assert migrate(url, "--baseline", "12").returncode == 2
    finally:
        drop_database(stack, "adopt_baseline")
