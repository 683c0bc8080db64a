"""How users and admins come to exist (docs/supabase.md, "Users and admins"): the documented SQL
(the profiles trigger on auth.users, the first admin) on a Supabase-shaped database, and
db/add-user on a plain one and on Supabase."""
import re
import subprocess

import pytest

from testenv.databases import drop_database, migrate, new_database, query, url_for
from testenv.stack import ROOT


def add_user(url, *args):
    return subprocess.run([str(ROOT / "db" / "add-user"), *args, url], capture_output=True,
                          text=True, timeout=60)


def docs_sql_blocks():
    text = (ROOT / "docs" / "supabase.md").read_text()
    users = text[text.index("## Users and admins"):]
    return re.findall(r"```sql\n(.*?)```", users, re.S)


@pytest.fixture
def supabase_db(stack):
    owner = new_database(stack, "users_supabase", shape="supabase")
    assert migrate(owner).returncode == 0
    yield owner
    drop_database(stack, "users_supabase")


def test_the_documented_trigger_and_first_admin_sql(stack, supabase_db):
    trigger, first_admin = docs_sql_blocks()[:2]
    query(supabase_db, trigger)  # as postgres (project_owner), as the SQL editor runs it
    # Supabase Auth signs a user up
    auth = url_for(stack, "users_supabase")
    query(auth, "INSERT INTO auth.users (id, email, aud, role) VALUES "
                "(gen_random_uuid(), 'owner@example.com', 'authenticated', 'authenticated')")
    assert query(supabase_db, "SELECT role FROM profiles") == [{"role": "client"}]
    query(supabase_db, first_admin)
    assert query(supabase_db, "SELECT role FROM profiles") == [{"role": "admin"}]


def test_add_user_on_plain_postgresql(stack):
    url = new_database(stack, "users_plain")
    try:
        assert migrate(url).returncode == 0
        first = add_user(url, "--admin", "owner@example.com")
        assert first.returncode == 0, first.stderr
        uid = first.stdout.strip()
        assert query(url, "SELECT id::text, role FROM profiles") == [{"id": uid, "role": "admin"}]
        again = add_user(url, "owner@example.com")
        assert again.returncode == 0 and again.stdout.strip() == uid
        assert query(url, "SELECT role FROM profiles") == [{"role": "client"}]
        assert query(url, "SELECT count(*) AS n FROM auth.users") == [{"n": 1}]
    finally:
        drop_database(stack, "users_plain")


def test_add_user_never_writes_supabases_auth_users(stack, supabase_db):
    out = add_user(supabase_db, "--admin", "stranger@example.com")
    assert out.returncode == 1 and "Supabase Auth" in out.stderr
    assert query(supabase_db, "SELECT count(*) AS n FROM auth.users") == [{"n": 0}]
    query(url_for(stack, "users_supabase"),
          "INSERT INTO auth.users (id, email) VALUES (gen_random_uuid(), 'stranger@example.com')")
    out = add_user(supabase_db, "--admin", "stranger@example.com")
    assert out.returncode == 0, out.stderr
    assert query(supabase_db, "SELECT role FROM profiles") == [{"role": "admin"}]
