"""assign-agents: agents of both providers assigned, listed and unassigned for a client, the
inbox events that waited for an assignment applied, and callers who are not admins."""
from testenv import retell
from testenv.functions import assert_admins_only, post
from testenv.retell import connect, seed_agents
from testenv.retell import WORKSPACE_KEY as KEY


def test_assign_agents_of_both_providers(stack, fake, http, admin, client):
    seed_agents(fake, 2)
    connect(http, stack, admin, client)
    agents = post(http, stack, "fetch-retell-agents", {"user_id": client}, admin).json()["agents"]
    hl = stack.sql("""INSERT INTO agents (name, source_platform, highlevel_agent_id)
                      VALUES ('HL agent', 'highlevel', 'hl_1') RETURNING id""")[0]["id"]
    r = post(http, stack, "assign-agents", {"user_id": client, "source_platform": "retell",
                                            "agent_ids": [a["id"] for a in agents]}, admin)
    assert r.status_code == 200 and r.json()["assigned"] == 2, r.text
    r = post(http, stack, "assign-agents", {"user_id": client, "source_platform": "highlevel",
                                            "agent_ids": [hl]}, admin)
    assert r.status_code == 200, r.text
    # an id of the other platform is refused, and nothing of that request is assigned
    r = post(http, stack, "assign-agents", {"user_id": client, "source_platform": "highlevel",
                                            "agent_ids": [hl, agents[0]["id"]]}, admin)
    assert r.status_code == 404
    listed = http.get(stack.url("assign-agents"), params={"user_id": client}, headers=stack.auth(admin)).json()
    assert sorted(a["source_platform"] for a in listed["agents"]) == ["highlevel", "retell", "retell"]
    rows = stack.sql("SELECT source_platform, count(*) AS n FROM user_agents GROUP BY 1 ORDER BY 1")
    assert rows == [{"source_platform": "highlevel", "n": 1}, {"source_platform": "retell", "n": 2}]
    assigned = post(http, stack, "fetch-retell-agents", {"user_id": client}, admin).json()["agents"]
    assert all(a["assigned"] for a in assigned)
    r = http.delete(stack.url("assign-agents"), json={"user_id": client, "agent_ids": [hl]},
                    headers=stack.auth(admin))
    assert r.status_code == 200 and r.json()["unassigned"] == 1


def test_assignment_applies_waiting_inbox_events(stack, fake, http, admin, client):
    fake.add_retell_agent(KEY, agent_id="agent_late")
    connect(http, stack, admin, client)
    call = fake.make_retell_call("agent_late", call_id="call_waiting")
    for event, c in (("call_ended", retell.ended(call)), ("call_analyzed", call)):
        r = retell.post(http, stack, retell.delivery(event, c), KEY)
        assert r.json()["outcome"] == "unassigned"
    assert stack.sql("SELECT count(*) AS n FROM calls")[0]["n"] == 0
    agent = post(http, stack, "fetch-retell-agents", {"user_id": client}, admin).json()["agents"][0]
    r = post(http, stack, "assign-agents", {"user_id": client, "source_platform": "retell",
                                            "agent_ids": [agent["id"]]}, admin)
    assert r.json()["inbox_events_applied"] == 2
    row = stack.sql("SELECT * FROM calls WHERE retell_call_id = 'call_waiting'")[0]
    assert row["user_id"] == client and row["agent_id"] == agent["id"]
    assert row["summary"] == call["call_analysis"]["call_summary"]
    assert {r["status"] for r in stack.sql("SELECT status FROM webhook_inbox")} == {"applied"}
    # later deliveries apply directly
    r = retell.post(http, stack, retell.delivery("call_ended", retell.ended(call)), KEY)
    assert r.json()["outcome"] == "applied"


def test_callers_who_are_not_admins(stack, fake, http, client):
    fake.add_retell_agent(KEY)
    assert_admins_only(http, stack, "assign-agents", {"api_key": KEY, "test_only": True}, client)
