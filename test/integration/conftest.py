"""Shared fixtures. Session: the fake providers, and the whole stack (PostgreSQL, handlers,
nginx) started by deploy/stack in a throwaway directory, with the build chosen by
CALLBRIDGE_BUILD. Per test: an emptied database (`clean`) and the people several files start
from (`admin`, `client`, `retell_client`, `highlevel_client`). Per module: the read API's
10,000 seeded calls (`seeded_calls`) and the two tenants of the security suites (`two_tenants`)."""
import os
import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from testenv import highlevel as hl  # noqa: E402
from testenv import retell  # noqa: E402
from testenv.fake_provider import FakeProvider  # noqa: E402
from testenv.seeded_calls import SeededCalls  # noqa: E402
from testenv.stack import ROOT, Stack  # noqa: E402
from testenv.tenants import make_two_tenants  # noqa: E402


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
    stack.truncate_all()
    fake.reset()
    return stack


@pytest.fixture
def admin(clean):
    return clean.make_user("admin")


@pytest.fixture
def client(clean):
    return clean.make_user("client")


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


@pytest.fixture
def retell_client(clean, fake, connect_retell, retell_agent):
    """A client connected to Retell with retell.CLIENT_KEY, whose workspace has agents ag_one and
    ag_two (assigned to them) and ag_other (assigned to nobody): {"stack", "user", "key"}."""
    user = clean.make_user("client")
    connect_retell(user, retell.CLIENT_KEY)
    for a in ("ag_one", "ag_two", "ag_other"):
        fake.add_retell_agent(retell.CLIENT_KEY, agent_id=a)
    retell_agent("ag_one", assign_to=user)
    retell_agent("ag_two", assign_to=user)
    retell_agent("ag_other")
    return {"stack": clean, "user": user, "key": retell.CLIENT_KEY}


@pytest.fixture
def highlevel_client(clean, fake):
    """A client connected to the HighLevel location hl.CLIENT_LOC, whose Voice AI agents are
    hl_ag_one and hl_ag_two (assigned to them) and hl_ag_other (assigned to nobody):
    {"stack", "user", "agents": {name: agents.id}}."""
    stack = clean
    user = stack.make_user("client")
    hl.connect(stack, fake, user, hl.CLIENT_LOC)
    agents = {}
    for name in ("hl_ag_one", "hl_ag_two", "hl_ag_other"):
        fake.add_hl_agent(hl.CLIENT_LOC, agent_id=name)
        agents[name] = hl.plant_agent(stack, name, hl.CLIENT_LOC,
                                      assign_to=None if name == "hl_ag_other" else user)
    return {"stack": stack, "user": user, "agents": agents}


@pytest.fixture(scope="module")
def seeded_calls(stack, fake):
    """10,000 calls of clients a and b over five agents, and the calls as stored (the reference
    list-calls, call-stats and the white-label checks are held to); see testenv/seeded_calls.py."""
    stack.truncate_all()
    return SeededCalls(stack, fake)


@pytest.fixture(scope="module")
def two_tenants(stack, fake):
    """Clients A and B with agents, calls and connections of their own, and an admin
    (testenv/tenants.py)."""
    return make_two_tenants(stack, fake)
