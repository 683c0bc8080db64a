"""list-calls: the dashboard's call list: keyset pagination over 10,000 seeded calls (ties
broken by id, stable while calls arrive), each filter against the reference, the rows' fields
and provider naming, and who sees which calls. The parameters and scope it shares with
call-stats are in test_calls_query.py."""
import json
from datetime import timedelta

import pytest

from testenv.seeded_calls import BASE, LABELS, N_CALLS, REAL_NAMES, fetch_all, ids, instant, list_page

CLIENT_FIELDS = {"id", "started_at", "ended_at", "duration_seconds", "cost", "direction", "call_type",
                 "call_status", "sentiment", "call_successful", "summary", "from_number", "to_number",
                 "agent", "provider"}

ADMIN_FIELDS = CLIENT_FIELDS | {"source_platform"}


# --- pagination ------------------------------------------------------------------------------


def test_first_page_defaults_to_50_with_a_cursor(seeded_calls, stack, http):
    page = list_page(stack, http, stack.service_headers())
    assert [c["id"] for c in page["calls"]] == ids(seeded_calls.visible())[:50]
    assert page["next"]
    assert list(page.keys()) == ["calls", "next"]


def test_pagination_over_10000_calls_has_no_gaps_or_repeats(seeded_calls, stack, http):
    expected = ids(seeded_calls.visible())
    assert len(expected) >= N_CALLS
    assert fetch_all(stack, http, stack.service_headers(), limit=200) == expected


def test_client_pagination_breaks_ties_by_id(seeded_calls, stack, http):
    # 97 does not divide the groups of three calls sharing a start: pages split ties
    expected = ids(seeded_calls.visible(seeded_calls.a))
    got = fetch_all(stack, http, stack.auth(seeded_calls.a), limit=97)
    assert got == expected


def test_pagination_is_stable_when_calls_arrive_between_pages(seeded_calls, stack, http):
    headers = stack.service_headers()
    before = ids(seeded_calls.visible())
    first, cursor = [], None
    for _ in range(3):
        page = list_page(stack, http, headers, limit=200, **({"cursor": cursor} if cursor else {}))
        first += [c["id"] for c in page["calls"]]
        cursor = page["next"]
    last = next(r for r in seeded_calls.rows if r["id"] == first[-1])
    agent = seeded_calls.agents["Front desk"]
    inserted = []
    try:
        # newer than everything, exactly at the cursor's start (ids either side), and older
        moments = ([BASE + timedelta(hours=1)] * 5 + [last["started_at"]] * 10
                   + [BASE - timedelta(days=2)] * 5)
        for at in moments:
            inserted.append(stack.sql("""INSERT INTO calls (agent_id, source_platform, started_at,
                summary) VALUES (%s, 'retell', %s, 'late arrival') RETURNING id::text, started_at""",
                                      (agent, at))[0])
        rest = fetch_all(stack, http, headers, limit=200, cursor=cursor)
        seen = first + rest
        assert len(seen) == len(set(seen))
        assert set(before) <= set(seen), "a call that existed before was skipped"
        cut = (last["started_at"], last["id"])
        for row in inserted:
            after_cursor = (row["started_at"], row["id"]) < cut
            assert (row["id"] in rest) == after_cursor
        # the order stays strictly newest first across the whole walk
        seeded_calls.reload()
        key = {r["id"]: (r["started_at"], r["id"]) for r in seeded_calls.rows}
        assert all(key[x] > key[y] for x, y in zip(seen, seen[1:]))
    finally:
        stack.sql("DELETE FROM calls WHERE id = ANY(%s::uuid[])", ([r["id"] for r in inserted],))
        seeded_calls.reload()


# --- filters ---------------------------------------------------------------------------------


FILTERS = [
    ({"source_platform": "retell"}, lambda r, w: r["source_platform"] == "retell"),
    ({"source_platform": "highlevel"}, lambda r, w: r["source_platform"] == "highlevel"),
    ({"agent_id": "Front desk"}, lambda r, w: r["agent_id"] == w.agents["Front desk"]),
    ({"from": "2024-02-25T00:00:00Z"}, lambda r, w: r["started_at"] >= instant("2024-02-25T00:00:00Z")),
    ({"to": "2024-02-25"}, lambda r, w: r["started_at"] < instant("2024-02-25T00:00:00Z")),
    ({"from": "2024-02-24T06:30:00+02:00", "to": "2024-02-26T06:30:00.5-05:00"},
     lambda r, w: instant("2024-02-24T04:30:00Z") <= r["started_at"] < instant("2024-02-26T11:30:00.5Z")),
    ({"status": "error"}, lambda r, w: r["call_status"] == "error"),
    ({"direction": "inbound"}, lambda r, w: r["direction"] == "inbound"),
    ({"call_type": "web_call"}, lambda r, w: r["call_type"] == "web_call"),
    ({"q": "REFUND"}, lambda r, w: "refund" in (r["summary"] or "").lower()),
    ({"q": "50%"}, lambda r, w: "50%" in (r["summary"] or "")),
    ({"q": "a_b"}, lambda r, w: "a_b" in (r["summary"] or "")),
    ({"q": "zebra"}, lambda r, w: "zebra" in (r["transcript"] or "")),
    ({"q": "secret"}, lambda r, w: "secret" in (r["summary"] or "").lower()),
    ({"source_platform": "highlevel", "direction": "outbound", "call_type": "phone_call",
      "from": "2024-02-22"},
     lambda r, w: r["source_platform"] == "highlevel" and r["direction"] == "outbound"
     and r["call_type"] == "phone_call" and r["started_at"] >= instant("2024-02-22T00:00:00Z")),
]


def _resolve(seeded_calls, params):
    out = dict(params)
    if "agent_id" in out:
        out["agent_id"] = seeded_calls.agents[out["agent_id"]]
    return out


@pytest.mark.parametrize("who", ["admin", "a", "b"])
@pytest.mark.parametrize("params,keep", FILTERS, ids=[json.dumps(f[0]) for f in FILTERS])
def test_each_filter_matches_the_reference(seeded_calls, stack, http, who, params, keep):
    user = None if who == "admin" else getattr(seeded_calls, who)
    headers = stack.auth(seeded_calls.admin) if who == "admin" else stack.auth(user)
    expected = [r["id"] for r in seeded_calls.visible(user) if keep(r, seeded_calls)]
    got = fetch_all(stack, http, headers, **_resolve(seeded_calls, params))
    assert got == expected
    if params.get("q") in ("50%", "a_b") and who != "b":
        assert len(got) == 1     # % and _ match themselves, not any text


def test_search_and_agent_filters_never_cross_users(seeded_calls, stack, http):
    assert fetch_all(stack, http, stack.auth(seeded_calls.a), q="secret") == []
    assert fetch_all(stack, http, stack.auth(seeded_calls.b), q="secret") == [seeded_calls.extras["Top secret deal"]]


def test_an_unencoded_plus_in_a_timestamp_still_means_plus(seeded_calls, stack, http):
    # a raw '+' in a query string decodes to a space; the offset must survive it
    url = stack.url("list-calls") + "?limit=200&from=2024-02-28T14:00:00+02:00"
    r = http.get(url, headers=stack.service_headers())
    assert r.status_code == 200, r.text
    starts = [instant(c["started_at"]) for c in r.json()["calls"]]
    assert min(starts) >= instant("2024-02-28T12:00:00Z")
    later = [x for x in seeded_calls.visible() if x["started_at"] >= instant("2024-02-28T12:00:00Z")]
    assert len(starts) == min(len(later), 200)


# --- rows ------------------------------------------------------------------------------------


def test_rows_have_the_table_fields(seeded_calls, stack, http):
    page = list_page(stack, http, stack.auth(seeded_calls.a), limit=200)
    stored = {r["id"]: r for r in seeded_calls.rows}
    for call in page["calls"]:
        assert set(call) == CLIENT_FIELDS
        row = stored[call["id"]]
        assert call["started_at"].endswith("Z") and instant(call["started_at"]) == row["started_at"]
        assert call["duration_seconds"] == row["duration_seconds"]
        assert call["cost"] == (None if row["cost"] is None else str(row["cost"]))
        assert call["call_successful"] is row["call_successful"]
        assert call["call_type"] in ("phone_call", "web_call")
        assert call["agent"]["id"] == row["agent_id"]
        name = next(n for n, a in seeded_calls.agents.items() if a == row["agent_id"])
        assert call["agent"]["name"] == name
        assert call["provider"] == LABELS[row["source_platform"]]


def test_admins_see_real_provider_names_and_the_platform(seeded_calls, stack, http):
    page = list_page(stack, http, stack.auth(seeded_calls.admin), limit=200)
    stored = {r["id"]: r for r in seeded_calls.rows}
    platforms = set()
    for call in page["calls"]:
        assert set(call) == ADMIN_FIELDS
        assert call["source_platform"] == stored[call["id"]]["source_platform"]
        assert call["provider"] == REAL_NAMES[call["source_platform"]]
        platforms.add(call["source_platform"])
    assert platforms == {"retell", "highlevel"}
    assert any(c["agent"] is None for c in page["calls"])     # calls of no agent: admins only


# --- who sees what ---------------------------------------------------------------------------


def test_clients_see_only_their_agents_calls(seeded_calls, stack, http):
    for user in (seeded_calls.a, seeded_calls.b):
        got = fetch_all(stack, http, stack.auth(user))
        assert got == ids(seeded_calls.visible(user))
        allowed = seeded_calls.assigned[user]
        assert {r["agent_id"] for r in seeded_calls.rows if r["id"] in set(got)} <= allowed
    # the shared agent's calls appear for both, once each
    shared = {r["id"] for r in seeded_calls.visible() if r["agent_id"] == seeded_calls.agents["Shared line"]}
    assert shared <= set(fetch_all(stack, http, stack.auth(seeded_calls.a)))
    assert shared <= set(fetch_all(stack, http, stack.auth(seeded_calls.b)))


def test_admins_and_the_service_role_see_everything_or_act_for_a_user(seeded_calls, stack, http):
    everything = ids(seeded_calls.visible())
    assert fetch_all(stack, http, stack.auth(seeded_calls.admin)) == everything
    page = list_page(stack, http, stack.service_headers(), limit=200)
    assert [c["id"] for c in page["calls"]] == everything[:200]
    for user in (seeded_calls.a, seeded_calls.b, seeded_calls.c):
        assert fetch_all(stack, http, stack.auth(seeded_calls.admin), user_id=user) == ids(seeded_calls.visible(user))
