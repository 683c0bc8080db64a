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
def http():
    with requests.Session() as session:
        yield session
