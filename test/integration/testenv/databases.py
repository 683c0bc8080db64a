"""Throwaway databases in the stack's cluster: plain PostgreSQL, or Supabase-shaped
(sql/supabase_shape.sql, migrations run as project_owner, Supabase's postgres role), optionally
holding the HighLevel-era schema (sql/highlevel_era.sql); and db/migrate on them."""
import subprocess
from pathlib import Path

import psycopg2
import psycopg2.extras

from testenv.stack import ROOT

SQL = Path(__file__).resolve().parents[1] / "sql"


def url_for(stack, name, user=None):
    url = stack.database_url.replace("/callbridge?", f"/{name}?")
    return url.replace("user=postgres", f"user={user}") if user else url


def migrate(url, *args, root=ROOT):
    return subprocess.run([str(root / "db" / "migrate"), *args, url], capture_output=True,
                          text=True, timeout=300)


def run_sql_file(url, path):
    out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-f", str(path)],
                         capture_output=True, text=True, timeout=120,
                         env={"PGOPTIONS": "-c client_min_messages=warning", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return out


def new_database(stack, name, shape="plain", highlevel_era=False):
    """Creates database name; returns the URL migrations run with (its owner role)."""
    stack.sql(f"DROP DATABASE IF EXISTS {name}")
    stack.sql(f"CREATE DATABASE {name}")
    admin = url_for(stack, name)
    owner = admin
    if shape == "supabase":
        run_sql_file(admin, SQL / "supabase_shape.sql")
        owner = url_for(stack, name, "project_owner")
    elif highlevel_era:
        with psycopg2.connect(admin) as conn, conn.cursor() as cur:
            cur.execute("""CREATE SCHEMA auth; CREATE TABLE auth.users (
                id uuid PRIMARY KEY, email text, created_at timestamptz)""")
        conn.close()
    if highlevel_era:
        run_sql_file(owner, SQL / "highlevel_era.sql")
    return owner


def drop_database(stack, name):
    stack.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def query(url, sql, params=None):
    with psycopg2.connect(url) as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
    conn.close()
    return rows
