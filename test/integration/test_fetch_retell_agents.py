"""fetch-retell-agents against the fake Retell: every page of a workspace's agents upserted, the
legacy list as a fallback, a client's own agents white-labelled, an admin testing a key."""
from testenv.functions import post
from testenv.retell import connect, seed_agents
from testenv.retell import WORKSPACE_KEY as KEY


def test_fetch_agents_follows_every_page(stack, fake, http, admin, client):
    seed_agents(fake, 2050)
    connect(http, stack, admin, client)
    fake.clear_requests()
    r = post(http, stack, "fetch-retell-agents", {"user_id": client}, admin)
    assert r.status_code == 200, r.text
    agents = r.json()["agents"]
    assert len(agents) == 2050
    assert len({a["retell_agent_id"] for a in agents}) == 2050
    assert all(a["source_platform"] == "retell" and a["provider"] == "Retell" for a in agents)
    assert len(fake.requests_for("/v2/list-agents")) == 3
    assert stack.sql("SELECT count(*) AS n FROM agents WHERE source_platform = 'retell'")[0]["n"] == 2050
    # a second fetch updates rather than duplicates
    assert post(http, stack, "fetch-retell-agents", {"user_id": client}, admin).status_code == 200
    assert stack.sql("SELECT count(*) AS n FROM agents")[0]["n"] == 2050
    audit = stack.sql("SELECT actor_kind, purpose FROM key_usage_audit WHERE user_id = %s", (client,))
    assert {"actor_kind": "admin", "purpose": "list workspace agents"} in audit


def test_fetch_agents_falls_back_to_the_legacy_list(stack, fake, http, admin, client):
    seed_agents(fake, 3)
    connect(http, stack, admin, client)
    fake.add_fault(path_prefix="/v2/list-agents", status=404, count=1)
    r = post(http, stack, "fetch-retell-agents", {"user_id": client}, admin)
    assert r.status_code == 200, r.text
    assert len(r.json()["agents"]) == 3
    assert fake.requests_for("/list-agents")


def test_a_user_fetches_their_own_agents_white_labelled(stack, fake, http, admin, client):
    seed_agents(fake, 2)
    connect(http, stack, admin, client)
    r = post(http, stack, "fetch-retell-agents", {}, client)
    assert r.status_code == 200, r.text
    for a in r.json()["agents"]:
        assert a["provider"] == "Provider B" and "source_platform" not in a
        assert "retell_agent_id" not in a and "voice_id" not in a
    other = stack.make_user("client")
    assert post(http, stack, "fetch-retell-agents", {"user_id": other}, client).status_code == 403
    assert post(http, stack, "fetch-retell-agents", {"api_key": KEY}, client).status_code == 403


def test_admin_tests_a_key_in_the_body(stack, fake, http, admin):
    seed_agents(fake, 2)
    r = post(http, stack, "fetch-retell-agents", {"api_key": KEY}, admin)
    assert r.status_code == 200 and len(r.json()["agents"]) == 2


def test_callers_without_a_token_get_401(stack, http):
    assert post(http, stack, "fetch-retell-agents", {}, headers={}).status_code == 401
