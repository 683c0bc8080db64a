"""fetch-available-agents: a location's Voice AI agents listed over every page and upserted with
their assignment, who may list them, and a token the provider refuses."""
from testenv import highlevel as hl
from testenv.highlevel import LOCATION as LOC
from testenv.highlevel import list_agents


def test_agents_over_several_pages_are_upserted_with_assignment(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    hl.connect(stack, fake, user, LOC)
    for i in range(120):
        fake.add_hl_agent(LOC, agent_id=f"hl_agent_{i:03d}", name=f"Agent {i:03d}")
    fake.add_hl_agent("loc_someone_else", agent_id="hl_foreign", name="Not ours")
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 200, r.text
    agents = r.json()["agents"]
    assert len(agents) == 120 and not any(a["assigned"] for a in agents)
    assert {a["highlevel_agent_id"] for a in agents} == {f"hl_agent_{i:03d}" for i in range(120)}
    assert all(a["source_platform"] == "highlevel" for a in agents)
    pages = [(q["query"]["page"][0], q["query"]["pageSize"][0], q["query"]["locationId"][0])
             for q in fake.requests_for("/voice-ai/agents")]
    assert pages == [("1", "50", LOC), ("2", "50", LOC), ("3", "50", LOC)]
    assert all(q["headers"]["version"] == "2021-04-15" for q in fake.requests_for("/voice-ai/agents"))

    # assign one, rename one at the provider: a second listing updates, never duplicates
    chosen = next(a for a in agents if a["highlevel_agent_id"] == "hl_agent_007")
    stack.sql("INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES (%s, %s, 'highlevel')",
              (user, chosen["id"]))
    with fake.lock:
        fake.hl_agents[LOC][8]["agentName"] = "Renamed"
    again = list_agents(http, stack, admin, user).json()["agents"]
    assert stack.sql("SELECT count(*) AS n FROM agents")[0]["n"] == 120
    by_id = {a["highlevel_agent_id"]: a for a in again}
    assert by_id["hl_agent_007"]["assigned"] and by_id["hl_agent_007"]["id"] == chosen["id"]
    assert by_id["hl_agent_008"]["name"] == "Renamed"
    assert sum(a["assigned"] for a in again) == 1
    rows = stack.sql("SELECT DISTINCT source_platform, location_id FROM agents")
    assert rows == [{"source_platform": "highlevel", "location_id": LOC}]


def test_agents_need_an_admin_and_a_connection(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    assert http.post(stack.url("fetch-available-agents"), json={"user_id": user}).status_code == 401
    assert list_agents(http, stack, user, user).status_code == 403
    r = http.post(stack.url("fetch-available-agents"), headers=stack.auth(admin), json={})
    assert r.status_code == 400
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 404 and r.json()["error"] == "not_connected"
    hl.connect(stack, fake, user, LOC)
    r = http.get(stack.url("fetch-available-agents"), params={"user_id": user}, headers=stack.auth(admin))
    assert r.status_code == 200 and r.json()["agents"] == []


def test_a_token_the_provider_refuses_is_a_clear_error(clean, fake, http, admin):
    stack = clean
    user = stack.make_user("client")
    hl.connect(stack, fake, user, LOC, access_token="hlat_not_known_to_the_provider")
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 422 and r.json()["error"] == "provider_rejected_token"
    hl.assert_no_provider_words(r.text)
    fake.add_fault(path_prefix="/voice-ai/agents", status=429, count=20)
    hl.connect(stack, fake, user, LOC)
    r = list_agents(http, stack, admin, user)
    assert r.status_code == 502 and "retry" in r.json()["message"]
