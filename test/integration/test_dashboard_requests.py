"""Requests as the dashboard sends them (issue 18, items 5, 6 and 8): supabase-js's
functions.invoke(name) is a POST without a body or Content-Type, which every function reads as
{}; call-stats counts by_day's days in the zone the dashboard names (tz); a query parameter a
function does not take is 400 naming it; filters take the provider name the caller is shown."""
import pytest

from testenv import highlevel as hl
from testenv.stack import ROOT

KEY = "key_requests_0123456789abcdef"
POSTS = ["retell-connection", "fetch-retell-agents", "assign-agents", "highlevel-oauth",
         "fetch-available-agents", "sync-retell-calls", "sync-highlevel-calls", "sync-all"]


@pytest.fixture
def people(clean, connect_retell, fake):
    stack = clean
    client, admin = stack.make_user("client"), stack.make_user("admin")
    connect_retell(client, KEY)
    fake.add_retell_agent(KEY, agent_id="agent_req")
    return {"stack": stack, "client": client, "admin": admin}


@pytest.mark.parametrize("fn", POSTS)
def test_post_without_body_is_an_empty_object(people, http, fn):
    stack = people["stack"]
    for who in ("client", "admin"):
        r = http.post(stack.url(fn), headers=stack.auth(people[who]))
        # {} is read as a body: a missing field (400), or the caller's own request; never 415
        assert r.status_code != 415, (fn, who, r.text)
        assert r.headers["Content-Type"].startswith("application/json"), (fn, who)
        assert r.status_code in (200, 400, 403, 404), (fn, who, r.status_code, r.text)
    # the same as an explicit {}
    r1 = http.post(stack.url(fn), headers=stack.auth(people["admin"]))
    r2 = http.post(stack.url(fn), headers=stack.auth(people["admin"]), json={})
    assert (r1.status_code, r1.json().get("error")) == (r2.status_code, r2.json().get("error")), fn


def test_fetch_retell_agents_without_body_lists_the_callers_own(people, http):
    stack = people["stack"]
    r = http.post(stack.url("fetch-retell-agents"), headers=stack.auth(people["client"]))
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == people["client"] and len(r.json()["agents"]) == 1
    # a body that is there must still be JSON
    r = http.post(stack.url("fetch-retell-agents"), headers={**stack.auth(people["client"]),
                                                            "Content-Type": "text/plain"}, data="x")
    assert r.status_code == 415


@pytest.fixture
def late_calls(people, retell_agent):
    """Calls at 23:30 UTC on 1 May: 2 May in Berlin, still 1 May in Los Angeles."""
    stack = people["stack"]
    agent = retell_agent("agent_tz", assign_to=people["client"])
    for at in ("2024-05-01T23:30:00Z", "2024-05-01T23:45:00Z", "2024-05-01T12:00:00Z"):
        stack.sql("""INSERT INTO calls (agent_id, source_platform, started_at, duration_seconds)
                     VALUES (%s, 'retell', %s, 60)""", (agent, at))
    return people


def by_day(stack, http, who, **params):
    r = http.get(stack.url("call-stats"), headers=stack.auth(who), params=params)
    assert r.status_code == 200, r.text
    return {d["date"]: d["calls"] for d in r.json()["by_day"]}


def test_call_stats_counts_days_in_the_given_zone(late_calls, http):
    stack, client = late_calls["stack"], late_calls["client"]
    assert by_day(stack, http, client) == {"2024-05-01": 3}
    assert by_day(stack, http, client, tz="UTC") == {"2024-05-01": 3}
    assert by_day(stack, http, client, tz="Europe/Berlin") == {"2024-05-01": 1, "2024-05-02": 2}
    assert by_day(stack, http, client, tz="America/Los_Angeles") == {"2024-05-01": 3}
    assert by_day(stack, http, late_calls["admin"], tz="Asia/Tokyo") == {"2024-05-01": 1,
                                                                          "2024-05-02": 2}


@pytest.mark.parametrize("tz", ["Mars/Olympus", "Europe/../../etc/passwd", "/etc/localtime", "America",
                                "Europe/", "CEST", "UTC+2", "x" * 200, "Europe/Berlin\n"])
def test_call_stats_refuses_a_zone_that_is_not_iana(late_calls, http, tz):
    stack = late_calls["stack"]
    r = http.get(stack.url("call-stats"), headers=stack.auth(late_calls["client"]), params={"tz": tz})
    assert r.status_code == 400, (tz, r.text)
    assert r.json()["error"] == "bad_parameter" and "tz" in r.json()["message"]


FUNCTIONS = sorted(p.stem for p in (ROOT / "handlers").glob("*.c"))


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_an_unknown_query_parameter_is_400_naming_it(people, http, fn):
    stack = people["stack"]
    for method in ("GET", "POST"):
        r = http.request(method, stack.url(fn), params={"bogus_filter": "1"},
                         headers=stack.auth(people["admin"]))
        assert r.status_code == 400, (fn, method, r.text)
        assert r.json() == {"error": "unknown_parameter",
                            "message": "unknown query parameter 'bogus_filter'"}, (fn, method)


def test_supabase_js_region_parameter_is_let_through(people, http):
    stack = people["stack"]
    r = http.get(stack.url("health"), params={"forceFunctionRegion": "us-east-1"},
                 headers={"x-region": "us-east-1"})
    assert r.status_code == 200, r.text


@pytest.fixture
def two_providers(people, retell_agent):
    stack = people["stack"]
    r_agent = retell_agent("agent_filter", assign_to=people["client"])
    h_agent = stack.sql("""INSERT INTO agents (name, source_platform, highlevel_agent_id, location_id)
                           VALUES ('HL', 'highlevel', 'hl_agent_filter', 'loc_f') RETURNING id""")[0]["id"]
    stack.sql("INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES (%s, %s, 'highlevel')",
              (people["client"], h_agent))
    for agent, platform in ((r_agent, "retell"), (h_agent, "highlevel"), (h_agent, "highlevel")):
        stack.sql("INSERT INTO calls (agent_id, source_platform, started_at) VALUES (%s, %s, now())",
                  (agent, platform))
    return people


def providers_listed(stack, http, who, **params):
    r = http.get(stack.url("list-calls"), headers=stack.auth(who), params=params)
    assert r.status_code == 200, (params, r.text)
    return sorted(c["provider"] for c in r.json()["calls"])


def test_filters_take_the_name_the_caller_is_shown(two_providers, http):
    w = two_providers
    stack, client, admin = w["stack"], w["client"], w["admin"]
    # a client filters by the label they see
    assert providers_listed(stack, http, client, provider="Provider A") == ["Provider A"] * 2
    assert providers_listed(stack, http, client, provider="Provider B") == ["Provider B"]
    stats = http.get(stack.url("call-stats"), headers=stack.auth(client),
                     params={"provider": "Provider A"}).json()
    assert stats["totals"]["calls"] == 2 and list(stats["by_platform"]) == ["Provider A"]
    # an admin by the provider's name
    assert providers_listed(stack, http, admin, provider="HighLevel", user_id=client) == ["HighLevel"] * 2
    assert providers_listed(stack, http, admin, provider="Retell", user_id=client) == ["Retell"]
    # what the caller is not shown is no filter, and the message names no provider
    for who, value in ((client, "Retell"), (client, "highlevel"), (client, "x"), (admin, "Provider A")):
        r = http.get(stack.url("list-calls"), headers=stack.auth(who), params={"provider": value})
        assert r.status_code == 400 and r.json()["message"] == "unknown provider", (value, r.text)
    r = http.get(stack.url("list-calls"), headers=stack.auth(admin),
                 params={"provider": "Retell", "source_platform": "highlevel"})
    assert r.status_code == 400 and "disagree" in r.json()["message"]


def test_a_client_lists_their_own_agents_labelled(two_providers, http):
    w = two_providers
    stack, client = w["stack"], w["client"]
    for params in ({}, {"user_id": client}):
        r = http.get(stack.url("assign-agents"), headers=stack.auth(client), params=params)
        assert r.status_code == 200, r.text
        agents = r.json()["agents"]
        assert sorted(a["provider"] for a in agents) == ["Provider A", "Provider B"]
        assert all(set(a) == {"id", "name", "provider"} for a in agents), agents
        hl.assert_no_provider_words(r.text)
    # each agent id filters the calls list
    for a in agents:
        assert providers_listed(stack, http, client, agent_id=a["id"])
    r = http.get(stack.url("assign-agents"), headers=stack.auth(client), params={"user_id": w["admin"]})
    assert r.status_code == 403
    # admins still see names and platforms, and a client still cannot assign
    r = http.get(stack.url("assign-agents"), headers=stack.auth(w["admin"]), params={"user_id": client})
    assert sorted(a["source_platform"] for a in r.json()["agents"]) == ["highlevel", "retell"]
    r = http.post(stack.url("assign-agents"), headers=stack.auth(client),
                  json={"user_id": client, "source_platform": "retell", "agent_ids": [agents[0]["id"]]})
    assert r.status_code == 403


def test_deletes_take_query_parameters_and_the_old_body(two_providers, http):
    w = two_providers
    stack, client, admin = w["stack"], w["client"], w["admin"]
    ids = [a["id"] for a in http.get(stack.url("assign-agents"), headers=stack.auth(admin),
                                     params={"user_id": client}).json()["agents"]]
    r = http.delete(stack.url("assign-agents"), headers=stack.auth(admin),
                    params={"user_id": client, "agent_ids": ids[0]})
    assert r.status_code == 200 and r.json()["unassigned"] == 1, r.text
    r = http.delete(stack.url("assign-agents"), headers=stack.auth(admin),
                    json={"user_id": client, "agent_ids": ids[1:]})
    assert r.status_code == 200 and r.json()["unassigned"] == 1, r.text
    assert stack.sql("SELECT count(*) AS n FROM user_agents WHERE user_id = %s", (client,))[0]["n"] == 0
    # several at once, and the query form's bad values
    stack.sql("""INSERT INTO user_agents (user_id, agent_id, source_platform)
                 SELECT %s, id, source_platform FROM agents""", (client,))
    r = http.delete(stack.url("assign-agents"), headers=stack.auth(admin),
                    params={"user_id": client, "agent_ids": ",".join(ids)})
    assert r.status_code == 200 and r.json()["unassigned"] == 2, r.text
    for params in ({"user_id": client}, {"user_id": client, "agent_ids": "x"},
                   {"agent_ids": ids[0]}, {"user_id": client, "agent_ids": "," + ids[0]}):
        r = http.delete(stack.url("assign-agents"), headers=stack.auth(admin), params=params)
        assert r.status_code == 400, (params, r.text)
    r = http.delete(stack.url("assign-agents"), headers=stack.auth(client),
                    params={"user_id": client, "agent_ids": ids[0]})
    assert r.status_code == 403
