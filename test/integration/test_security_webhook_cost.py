"""Issue 16, finding 1 (the handler's part; nginx's limit_req and allow-list are in
test_security_limits.py): verifying a delivery to the account-level webhook URL tries only the
keys of the workspaces known to list the agent (learned from fetch-retell-agents and syncs), and
for an agent never listed at most CONNECTIONS_MAX_SIGNERS (8) keys however many workspaces are
connected, the owners of the agent first, so a forged delivery's cost is bounded and a real one
is still verified."""
from testenv import retell
from testenv.functions import post
from testenv.stack import wait_until

KEY_OWNER = "key_cost_owner_0123456789abcdef01"
WORKSPACES = 20


def keys_tried(stack, request_id):
    """The number the handler logged for this request's failed verification, or None."""
    for line in stack.logs().splitlines():
        if f"req={request_id}" in line and "keys tried" in line:
            return int(line.split("none of the ")[1].split()[0])
    return None


def forged_tries(stack, http, body):
    """How many keys the webhook tried for body signed with a key nobody has."""
    r = retell.post(http, stack, body, "key_nobody_has_0123456789abcdef")
    assert r.status_code == 401 and r.json()["error"] == "bad_signature"
    request_id = r.headers["X-Request-Id"]
    assert wait_until(lambda: keys_tried(stack, request_id) is not None), "no key count logged"
    return keys_tried(stack, request_id)


def test_a_forged_delivery_costs_a_bounded_number_of_key_tries(clean, connect_retell, retell_agent,
                                                               fake, http):
    stack = clean
    connect_many(stack, connect_retell, WORKSPACES)
    owner = stack.make_user("client")
    connect_retell(owner, KEY_OWNER)
    retell_agent("agent_cost", assign_to=owner)
    call = fake.make_retell_call("agent_cost", call_id="call_cost")
    body = retell.delivery("call_started", retell.started(call))

    assert forged_tries(stack, http, body) <= 8
    # the agent's owner is tried first: a real delivery is verified among 21 workspaces
    r = retell.post(http, stack, body, KEY_OWNER)
    assert r.status_code == 200 and r.json()["outcome"] == "applied", r.text
    assert str(stack.sql("SELECT user_id FROM calls WHERE retell_call_id = 'call_cost'")[0]["user_id"]) == owner


def connect_many(stack, connect_retell, n):
    for i in range(n):
        connect_retell(stack.make_user("client"), f"key_cost_other_{i:02d}_0123456789abcdef")


def test_a_listed_agent_is_verified_with_its_workspace_only(clean, connect_retell, fake, http):
    """The agent's workspace connected first, then 20 more: the owner is not among the 8 most
    recent keys and the agent is assigned to nobody. Once fetch-retell-agents has listed the
    owner's agents, its deliveries are verified with that key alone, and a forged one costs one
    try instead of eight."""
    stack = clean
    owner = stack.make_user("client")
    connect_retell(owner, KEY_OWNER)
    fake.add_retell_agent(KEY_OWNER, agent_id="agent_listed")
    connect_many(stack, connect_retell, WORKSPACES)
    call = fake.make_retell_call("agent_listed", call_id="call_listed")
    body = retell.delivery("call_started", retell.started(call))

    r = post(http, stack, "fetch-retell-agents", {"user_id": owner}, stack.make_user("admin"))
    assert r.status_code == 200, r.text
    r = retell.post(http, stack, body, KEY_OWNER)
    assert r.status_code == 200 and r.json()["outcome"] == "unassigned", r.text
    assert forged_tries(stack, http, body) == 1


def test_a_sync_teaches_the_workspace_and_a_new_key_forgets_it(clean, connect_retell, retell_agent,
                                                               fake, http):
    stack = clean
    owner = stack.make_user("client")
    connect_retell(owner, KEY_OWNER)
    fake.add_retell_agent(KEY_OWNER, agent_id="agent_synced")
    fake.add_retell_call(KEY_OWNER, fake.make_retell_call("agent_synced", call_id="call_synced"))
    retell_agent("agent_synced", assign_to=owner)
    sync = stack.cli("sync-retell-calls", "--user", owner)
    _, errs = sync.communicate(timeout=120)
    assert sync.returncode == 0, errs
    learned = "SELECT user_id FROM retell_agent_workspaces WHERE retell_agent_id = 'agent_synced'"
    assert [str(r["user_id"]) for r in stack.sql(learned)] == [owner]
    connect_many(stack, connect_retell, 9)
    body = retell.delivery("call_started", retell.started(
        fake.make_retell_call("agent_synced", call_id="call_forged")))
    assert forged_tries(stack, http, body) == 1
    # a key stored later may be another workspace's: what the old one listed no longer counts,
    # and the delivery falls back to the bounded try of the newest keys
    stack.sql("UPDATE api_keys SET updated_at = now() WHERE user_id = %s", (owner,))
    assert forged_tries(stack, http, body) == 8


def test_a_delivery_never_teaches_which_workspace_owns_an_agent(clean, connect_retell, fake, http):
    """Tenant A signs, with A's own key, a delivery naming B's agent: verified (A's key signed
    it) but B's agent is not learned as A's, or A could make itself the only key tried for it."""
    stack = clean
    a = stack.make_user("client")
    connect_retell(a, KEY_OWNER)
    connect_retell(stack.make_user("client"), "key_cost_victim_0123456789abcdef01")
    call = fake.make_retell_call("agent_of_b", call_id="call_of_b")
    r = retell.post(http, stack, retell.delivery("call_started", retell.started(call)), KEY_OWNER)
    assert r.status_code == 200, r.text
    assert stack.sql("SELECT count(*) AS n FROM retell_agent_workspaces")[0]["n"] == 0
