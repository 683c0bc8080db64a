"""connections: both providers' connection status of a user (admins name the user, a client gets
their own, labelled), and DELETE ?provider=highlevel disconnecting HighLevel with its tokens
erased (provider=retell as retell-connection's DELETE)."""
import pytest

from testenv import highlevel as hl
from testenv.openapi import assert_matches

KEY = "key_connections_0123456789abcd"
LOC = "loc_connections_01"


@pytest.fixture
def connected_client(clean, fake, connect_retell, retell_agent):
    stack = clean
    client, other, admin = stack.make_user("client"), stack.make_user("client"), stack.make_user("admin")
    connect_retell(client, KEY)
    stack.sql("UPDATE api_keys SET key_hint = 'abcd' WHERE user_id = %s", (client,))
    hl.connect(stack, fake, client, LOC)
    agent = retell_agent("agent_conn", assign_to=client, name="Front desk")
    stack.sql("""INSERT INTO sync_state (user_id, provider, last_sync_at, last_status, last_error)
                 VALUES (%s, 'retell', '2024-05-01T10:00:00Z', 'failed', 'Retell answered 500')""", (client,))
    return {"stack": stack, "client": client, "other": other, "admin": admin, "agent": str(agent)}


def get(http, w, who, **params):
    return http.get(w["stack"].url("connections"), headers=w["stack"].auth(w[who]), params=params)


def by_platform(body):
    return {c["source_platform"]: c for c in body["connections"]}


def test_admin_sees_both_providers(connected_client, http):
    body = assert_matches(get(http, connected_client, "admin", user_id=connected_client["client"]), "/connections", "get")
    assert body["user_id"] == connected_client["client"]
    c = by_platform(body)
    assert set(c) == {"retell", "highlevel"}
    assert c["retell"]["connected"] is True and c["retell"]["key_hint"] == "abcd"
    assert c["retell"]["provider"] == "Retell" and c["highlevel"]["provider"] == "HighLevel"
    assert c["retell"]["last_sync_at"] == "2024-05-01T10:00:00Z"
    assert c["retell"]["last_sync_status"] == "failed" and c["retell"]["last_error"] == "Retell answered 500"
    assert c["retell"]["agents"] == [{"id": connected_client["agent"], "name": "Front desk"}]
    assert c["highlevel"]["connected"] is True and c["highlevel"]["location_id"] == LOC
    assert c["highlevel"]["token_expires_at"] and c["highlevel"]["status"] == "connected"
    assert c["highlevel"]["agents"] == []


def test_a_client_gets_their_own_labelled(connected_client, http):
    for params in ({}, {"user_id": connected_client["client"]}):
        r = get(http, connected_client, "client", **params)
        body = assert_matches(r, "/connections", "get")
        assert body["user_id"] == connected_client["client"]
        labels = {c["provider"]: c for c in body["connections"]}
        assert set(labels) == {"Provider A", "Provider B"}
        assert labels["Provider B"]["connected"] is True
        assert labels["Provider B"]["agents"] == [{"id": connected_client["agent"], "name": "Front desk"}]
        assert labels["Provider B"]["last_error"] and "source_platform" not in labels["Provider B"]
        hl.assert_no_provider_words(r.text)
    # another user's, or a disconnect: not for clients
    assert get(http, connected_client, "client", user_id=connected_client["other"]).status_code == 403
    r = http.delete(connected_client["stack"].url("connections"), headers=connected_client["stack"].auth(connected_client["client"]),
                    params={"provider": "highlevel", "user_id": connected_client["client"]})
    assert r.status_code == 403


def test_a_user_never_connected_shows_both_disconnected(connected_client, http):
    body = assert_matches(get(http, connected_client, "admin", user_id=connected_client["other"]), "/connections", "get")
    assert [(c["source_platform"], c["connected"]) for c in body["connections"]] == \
        [("highlevel", False), ("retell", False)]
    assert get(http, connected_client, "admin").status_code == 400          # admins name the user
    assert get(http, connected_client, "admin", user_id="00000000-0000-4000-8000-000000000000").status_code == 404


def delete(http, w, **params):
    return http.delete(w["stack"].url("connections"), headers=w["stack"].auth(w["admin"]), params=params)


def test_delete_highlevel_erases_its_tokens(connected_client, http):
    stack = connected_client["stack"]
    r = delete(http, connected_client, provider="highlevel", user_id=connected_client["client"])
    assert assert_matches(r, "/connections", "delete")["disconnected"] is True
    row = stack.sql("""SELECT is_active, access_token, refresh_token, token_expires_at, status
                       FROM api_keys WHERE user_id = %s AND service = 'highlevel'""", (connected_client["client"],))[0]
    assert row == {"is_active": False, "access_token": None, "refresh_token": None,
                   "token_expires_at": None, "status": "disconnected"}
    c = by_platform(get(http, connected_client, "admin", user_id=connected_client["client"]).json())
    assert c["highlevel"]["connected"] is False and c["retell"]["connected"] is True
    # again: nothing to disconnect
    r = delete(http, connected_client, provider="highlevel", user_id=connected_client["client"])
    assert r.status_code == 404 and r.json()["error"] == "not_connected"


def test_delete_retell_and_bad_providers(connected_client, http):
    stack = connected_client["stack"]
    assert delete(http, connected_client, provider="retell", user_id=connected_client["client"]).status_code == 200
    row = stack.sql("SELECT is_active, access_token FROM api_keys WHERE user_id = %s AND service = 'retell'",
                    (connected_client["client"],))[0]
    assert row == {"is_active": False, "access_token": None}
    for params in ({"user_id": connected_client["client"]}, {"provider": "x", "user_id": connected_client["client"]}):
        r = delete(http, connected_client, **params)
        assert r.status_code == 400 and r.json()["error"] == "bad_parameter", r.text
    r = http.post(stack.url("connections"), headers=stack.auth(connected_client["admin"]))
    assert r.status_code == 405
