"""Requests as the dashboard sends them (issue 18, items 5, 6 and 8): supabase-js's
functions.invoke(name) is a POST without a body or Content-Type, which every function reads as
{}; call-stats counts by_day's days in the zone the dashboard names (tz)."""
import pytest

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
