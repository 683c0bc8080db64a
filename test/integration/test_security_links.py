"""Issue 16, finding 3: a playback link grants playback of one call, nothing more. It never
mints another link, never redirects to the provider's URL, and an admin's link stops working
once the admin is demoted or deleted."""
from urllib.parse import parse_qs, urlparse

import pytest

KEY = "key_security_links_0123456789abc"


@pytest.fixture
def linked_call(clean, fake, connect_retell, retell_agent):
    stack = clean
    owner, admin = stack.make_user("client"), stack.make_user("admin")
    connect_retell(owner, KEY)
    fake.add_retell_agent(KEY, agent_id="agent_links")
    agent = retell_agent("agent_links", assign_to=owner)
    call = fake.add_retell_call(KEY, fake.make_retell_call("agent_links"))
    call_id = str(stack.sql("""INSERT INTO calls (retell_call_id, source_platform, user_id, agent_id,
                                   recording_url)
                               VALUES (%s, 'retell', %s, %s, %s) RETURNING id""",
                            (call["call_id"], owner, agent, call["recording_url"]))[0]["id"])
    return {"stack": stack, "owner": owner, "admin": admin, "call_id": call_id, "call": call}


def make_link(http, w, user):
    s = w["stack"]
    r = http.get(s.url("get-call-recording"), params={"call_id": w["call_id"], "link": "1"},
                 headers=s.auth(user))
    assert r.status_code == 200, r.text
    return f"http://127.0.0.1:{s.port}" + r.json()["url"]


def test_a_link_does_not_mint_a_link(linked_call, http):
    for user in (linked_call["owner"], linked_call["admin"]):
        link = make_link(http, linked_call, user)
        r = http.get(link + "&link=1")
        assert r.status_code == 403 and r.json()["error"] == "link_not_allowed", r.text
        assert "url" not in r.json()


def test_a_link_never_redirects_to_the_provider(linked_call, fake, http):
    link = make_link(http, linked_call, linked_call["admin"])
    r = http.get(link + "&redirect=1", allow_redirects=False)
    assert r.status_code == 403 and r.json()["error"] == "link_not_allowed", r.text
    assert "Location" not in r.headers and str(fake.port) not in r.text


def test_an_admin_link_dies_with_the_admin_role(linked_call, fake, http):
    s = linked_call["stack"]
    link = make_link(http, linked_call, linked_call["admin"])
    assert http.get(link).status_code == 200
    s.sql("UPDATE profiles SET role = 'client' WHERE id = %s", (linked_call["admin"],))
    r = http.get(link)
    assert r.status_code == 401 and r.json()["error"] == "bad_link", r.text
    s.sql("UPDATE profiles SET role = 'admin' WHERE id = %s", (linked_call["admin"],))
    assert http.get(link).status_code == 200
    s.sql("DELETE FROM profiles WHERE id = %s", (linked_call["admin"],))
    r = http.get(link)
    assert r.status_code == 401 and r.json()["error"] == "bad_link", r.text


def test_a_link_keeps_playing(linked_call, fake, http):
    link = make_link(http, linked_call, linked_call["owner"])
    q = parse_qs(urlparse(link).query)
    assert set(q) >= {"call_id", "sig", "expires"}
    r = http.get(link, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == fake.recording_bytes(linked_call["call"]["call_id"])[:10]
