"""Transcript search (list-calls' and call-stats' `q`) indexed off the webhook's request path
(migration 0053, common/search.c): a call is found by its transcript whether that is indexed yet or
a change of it is still pending, a changed transcript is found by its new words and no longer by
its old ones, and the search returns what `summary ILIKE or transcript ILIKE` over calls returns."""
import random

import pytest

from testenv import retell
from testenv.seeded_calls import fetch_all
from testenv.stack import wait_until

KEY = "key_search_test_0123456789abcdef0"
WORDS = ["zebra", "finch", "refund", "pricing", "heron", "otter", "walnut", "cobalt", "mango"]


@pytest.fixture
def owner(clean, connect_retell, retell_agent):
    user = clean.make_user("client")
    connect_retell(user, KEY)
    return {"user": user, "agent": retell_agent("agent_search", assign_to=user)}


def deliver(stack, fake, http, call_id, **overrides):
    """A call_ended delivery; after its answer the serving thread indexes what is pending."""
    call = fake.make_retell_call("agent_search", call_id=call_id, **overrides)
    r = retell.post(http, stack, retell.delivery("call_ended", call), KEY)
    assert r.status_code == 200 and r.json()["outcome"] == "applied", r.text
    return stack.sql("SELECT id::text FROM calls WHERE retell_call_id = %s", (call_id,))[0]["id"]


def pending(stack):
    return stack.sql("SELECT count(*) AS n FROM call_transcript_pending")[0]["n"]


def indexed(stack, call):
    rows = stack.sql("SELECT transcript FROM call_transcript_search WHERE call_id = %s", (call,))
    return rows[0]["transcript"] if rows else None


def search(stack, http, q):
    return fetch_all(stack, http, stack.service_headers(), q=q)


def test_a_transcript_is_found_pending_and_indexed_and_a_change_drops_its_old_words(
        stack, fake, http, owner):
    call = deliver(stack, fake, http, "call_search_1", transcript="Agent: the zebra finch sings")
    assert wait_until(lambda: pending(stack) == 0, timeout=10)
    assert indexed(stack, call) == "Agent: the zebra finch sings"
    assert search(stack, http, "zebra finch") == [call]

    # a change (here by hand, as any writer's) is pending until the next delivery's answer:
    # the indexed copy is stale, the call's own transcript counts
    stack.sql("UPDATE calls SET transcript = 'Agent: a heron fishes' WHERE id = %s", (call,))
    assert pending(stack) == 1 and indexed(stack, call) == "Agent: the zebra finch sings"
    assert search(stack, http, "heron") == [call]
    assert search(stack, http, "zebra") == []

    other = deliver(stack, fake, http, "call_search_2", transcript="Agent: an otter swims")
    assert wait_until(lambda: pending(stack) == 0, timeout=10)
    assert indexed(stack, call) == "Agent: a heron fishes"
    assert indexed(stack, other) == "Agent: an otter swims"
    assert search(stack, http, "heron") == [call]
    assert search(stack, http, "zebra") == []
    assert search(stack, http, "otter") == [other]

    # a transcript removed: its indexed copy goes with the next run
    stack.sql("UPDATE calls SET transcript = NULL WHERE id = %s", (call,))
    assert search(stack, http, "heron") == []
    deliver(stack, fake, http, "call_search_3", transcript="Agent: nothing here")
    assert wait_until(lambda: pending(stack) == 0, timeout=10)
    assert indexed(stack, call) is None
    assert search(stack, http, "heron") == []


def test_deliveries_inside_one_indexer_interval_are_indexed_with_no_delivery_after_them(
        stack, fake, http, owner):
    """The indexer thread runs at most every 100 ms: what is stored while it waits is taken by
    its next run, not left for a delivery that may never come."""
    calls = [deliver(stack, fake, http, f"call_burst_{i}", transcript=f"Agent: walnut number {i}")
             for i in range(6)]
    assert wait_until(lambda: pending(stack) == 0, timeout=10)
    assert [indexed(stack, c) for c in calls] == [f"Agent: walnut number {i}" for i in range(6)]


def test_search_returns_what_summary_or_transcript_ilike_returns(stack, fake, http, owner):
    rnd = random.Random(17)

    def text():
        return "Agent: " + " ".join(rnd.choice(WORDS) for _ in range(4))

    def insert(n):
        for _ in range(n):
            stack.sql("""INSERT INTO calls (user_id, agent_id, source_platform, started_at, summary,
                                            transcript)
                         VALUES (%s, %s, 'retell', now() - random() * interval '30 days', %s, %s)""",
                      (owner["user"], owner["agent"], rnd.choice([None, "About " + rnd.choice(WORDS)]),
                       rnd.choice([None, text(), text()])))

    # indexed calls, then changed ones (stale copies), new ones and emptied ones, all pending
    insert(40)
    deliver(stack, fake, http, "call_search_ref", transcript=text())
    assert wait_until(lambda: pending(stack) == 0, timeout=10)
    calls = [r["id"] for r in stack.sql("SELECT id::text FROM calls ORDER BY id")]
    for call in rnd.sample(calls, 12):
        stack.sql("UPDATE calls SET transcript = %s WHERE id = %s", (rnd.choice([None, text()]), call))
    insert(10)
    assert pending(stack) > 10

    for q in WORDS + ["Agent", "zebra f", "a"]:
        expected = [r["id"] for r in stack.sql(
            """SELECT id::text FROM calls WHERE started_at IS NOT NULL
               AND (summary ILIKE %(p)s OR transcript ILIKE %(p)s)
               ORDER BY started_at DESC, id DESC""", {"p": f"%{q}%"})]
        assert search(stack, http, q) == expected, q
        assert fetch_all(stack, http, stack.auth(owner["user"]), q=q) == expected, q
