"""Session fixtures: the fake providers, and the whole stack (PostgreSQL, handlers, nginx)
started by deploy/stack in a throwaway directory, with the build chosen by CALLBRIDGE_BUILD."""
import os
import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from testenv.fake_provider import FakeProvider  # noqa: E402
from testenv.stack import ROOT, Stack  # noqa: E402

TRUNCATE = """TRUNCATE calls, agents, user_agents, webhook_inbox, sync_state, sync_runs,
    key_usage_audit, api_keys, billing_accounts, profiles, auth.users CASCADE"""


@pytest.fixture(scope="session")
def fake():
    provider = FakeProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def stack(fake):
    build = os.environ.get("CALLBRIDGE_BUILD", str(ROOT / "build"))
    s = Stack(build, fake.url).up()
    yield s
    reports = s.sanitizer_reports()
    s.down(keep=bool(reports))
    assert not reports, f"sanitizer reports: {reports}"


@pytest.fixture
def clean(stack, fake):
    """An empty database and a fake provider with no state of an earlier test."""
    stack.sql(TRUNCATE)
    fake.reset()
    return stack


@pytest.fixture
def connect_retell(stack):
    """Plants an active, sealed Retell key for a user (what retell-connection stores)."""
    from testenv.secrets import seal

    def connect(user_id, api_key):
        sealed = seal(stack.secrets_keys, user_id, "retell", "access_token", api_key)
        stack.sql("""INSERT INTO api_keys (user_id, service, access_token, is_active)
                     VALUES (%s, 'retell', %s, true)
                     ON CONFLICT (user_id, service) DO UPDATE
                     SET access_token = EXCLUDED.access_token, is_active = true""",
                  (user_id, sealed))
    return connect


@pytest.fixture
def retell_agent(stack):
    """Creates a Retell agent row and optionally assigns it; returns our agents.id."""
    def make(retell_agent_id, assign_to=None, name="Agent"):
        agent = stack.sql("""INSERT INTO agents (name, source_platform, retell_agent_id)
                             VALUES (%s, 'retell', %s)
                             ON CONFLICT (retell_agent_id) DO UPDATE SET name = EXCLUDED.name
                             RETURNING id""", (name, retell_agent_id))[0]["id"]
        if assign_to:
            stack.sql("""INSERT INTO user_agents (user_id, agent_id, source_platform)
                         VALUES (%s, %s, 'retell') ON CONFLICT DO NOTHING""", (assign_to, agent))
        return agent
    return make


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session
