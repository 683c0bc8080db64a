"""Issue 16, finding 3: a playback link grants playback of one call, nothing more. It never
mints another link, never redirects to the provider's URL, and an admin's link stops working
once the admin is demoted or deleted."""
from urllib.parse import parse_qs, urlparse

import pytest

KEY = "key_security_links_0123456789abc"


@pytest.fixture
def world(clean, fake, connect_retell, retell_agent):
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


def test_a_link_does_not_mint_a_link(world, http):
    for user in (world["owner"], world["admin"]):
        link = make_link(http, world, user)
        r = http.get(link + "&link=1")
        assert r.status_code == 403 and r.json()["error"] == "link_not_allowed", r.text
        assert "url" not in r.json()


def test_a_link_never_redirects_to_the_provider(world, fake, http):
    link = make_link(http, world, world["admin"])
    r = http.get(link + "&redirect=1", allow_redirects=False)
    assert r.status_code == 403 and r.json()["error"] == "link_not_allowed", r.text
    assert "Location" not in r.headers and str(fake.port) not in r.text


def test_an_admin_link_dies_with_the_admin_role(world, fake, http):
    s = world["stack"]
    link = make_link(http, world, world["admin"])
    assert http.get(link).status_code == 200
    s.sql("UPDATE profiles SET role = 'client' WHERE id = %s", (world["admin"],))
    r = http.get(link)
    assert r.status_code == 401 and r.json()["error"] == "bad_link", r.text
    s.sql("UPDATE profiles SET role = 'admin' WHERE id = %s", (world["admin"],))
    assert http.get(link).status_code == 200
    s.sql("DELETE FROM profiles WHERE id = %s", (world["admin"],))
    r = http.get(link)
    assert r.status_code == 401 and r.json()["error"] == "bad_link", r.text


def test_a_link_keeps_playing(world, fake, http):
    link = make_link(http, world, world["owner"])
    q = parse_qs(urlparse(link).query)
    assert set(q) >= {"call_id", "sig", "expires"}
    r = http.get(link, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == fake.recording_bytes(world["call"]["call_id"])[:10]
