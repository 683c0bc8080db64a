"""Issue 16, finding 1 (the handler's part; nginx's limit_req and allow-list are in
test_security_limits.py): verifying a delivery to the account-level webhook URL tries at most
CONNECTIONS_MAX_SIGNERS (8) keys however many workspaces are connected, the owners of the
agent first, so a forged delivery's cost is bounded and a real one is still verified."""
from testenv import retell
from testenv.stack import wait_until

KEY_OWNER = "key_cost_owner_0123456789abcdef01"
WORKSPACES = 20


def keys_tried(stack, request_id):
    """The number the handler logged for this request's failed verification, or None."""
    for line in stack.logs().splitlines():
        if f"req={request_id}" in line and "keys tried" in line:
            return int(line.split("none of the ")[1].split()[0])
    return None


def test_a_forged_delivery_costs_a_bounded_number_of_key_tries(clean, connect_retell, retell_agent,
                                                               fake, http):
    stack = clean
    for i in range(WORKSPACES):
        connect_retell(stack.make_user("client"), f"key_cost_other_{i:02d}_0123456789abcdef")
    owner = stack.make_user("client")
    connect_retell(owner, KEY_OWNER)
    retell_agent("agent_cost", assign_to=owner)
    call = fake.make_retell_call("agent_cost", call_id="call_cost")
    body = retell.delivery("call_started", retell.started(call))

    r = retell.post(http, stack, body, "key_nobody_has_0123456789abcdef")
    assert r.status_code == 401 and r.json()["error"] == "bad_signature"
    request_id = r.headers["X-Request-Id"]
    assert wait_until(lambda: keys_tried(stack, request_id) is not None), "no key count logged"
    assert keys_tried(stack, request_id) <= 8
    # the agent's owner is tried first: a real delivery is verified among 21 workspaces
    r = retell.post(http, stack, body, KEY_OWNER)
    assert r.status_code == 200 and r.json()["outcome"] == "applied", r.text
    assert str(stack.sql("SELECT user_id FROM calls WHERE retell_call_id = 'call_cost'")[0]["user_id"]) == owner
