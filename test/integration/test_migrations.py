"""The migration runner: idempotent, checksummed, and good on a Supabase-shaped database."""
import shutil
import subprocess

import psycopg2
import pytest

from testenv.stack import ROOT


def migrate(url, root=ROOT):
    return subprocess.run([str(root / "db" / "migrate"), url], capture_output=True, text=True)


def new_database(stack, name):
    stack.sql(f"DROP DATABASE IF EXISTS {name}")
    stack.sql(f"CREATE DATABASE {name}")
    return stack.database_url.replace("/callbridge?", f"/{name}?")


def test_second_run_applies_nothing(stack):
    out = migrate(stack.database_url)
    assert out.returncode == 0, out.stderr
    assert "0 applied" in out.stdout
    versions = [r["version"] for r in stack.sql("SELECT version FROM schema_migrations ORDER BY 1")]
    files = sorted(p.name[:4] for p in (ROOT / "db" / "migrations").glob("[0-9]*.sql"))
    assert versions == files


def test_changed_migration_is_refused(stack, tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "db", copy / "db")
    first = sorted((copy / "db" / "migrations").glob("0001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    out = migrate(stack.database_url, copy)
    assert out.returncode != 0
    assert "changed after it was applied" in out.stderr


def test_applies_on_a_supabase_shaped_database(stack):
    url = new_database(stack, "supabase_like")
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        # Supabase's auth.users has many more columns; ours must leave it alone
        cur.execute("""CREATE SCHEMA auth;
            CREATE TABLE auth.users (id uuid PRIMARY KEY, email varchar(255),
                encrypted_password varchar(255), raw_app_meta_data jsonb, created_at timestamptz)""")
    out = migrate(url)
    assert out.returncode == 0, out.stderr
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'auth' "
                    "AND table_name = 'users' AND column_name = 'encrypted_password'")
        assert cur.fetchone()[0] == 1
    conn.close()
    stack.sql("DROP DATABASE supabase_like")


def test_two_runners_at_once_apply_each_migration_once(stack):
    url = new_database(stack, "racing")
    procs = [subprocess.Popen([str(ROOT / "db" / "migrate"), url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT version) FROM schema_migrations")
        total, distinct = cur.fetchone()
    conn.close()
    assert total == distinct == len(list((ROOT / "db" / "migrations").glob("[0-9]*.sql")))
    stack.sql("DROP DATABASE racing")


@pytest.mark.parametrize("table", ["calls", "agents", "user_agents", "api_keys", "billing_accounts",
                                   "webhook_inbox", "sync_runs", "sync_state", "key_usage_audit"])
def test_schema_has_the_tables(stack, table):
    assert stack.sql("SELECT to_regclass(%s) AS t", (table,))[0]["t"] == table
