"""White-label: no answer to a client names a provider or a provider's host, in the body or in a
header. Each client-facing function adds its requests to CLIENT_CASES; every one of them, and
every page of a client's calls, goes through assert_white_label."""
from urllib.parse import urlsplit

import pytest

from testenv.seeded_calls import LABELS

FORBIDDEN = ["retell", "highlevel", "leadconnector", "gohighlevel", "retellai.com", "leadconnectorhq"]
# host:port of the fake provider, added when the stack is known (the real hosts are in FORBIDDEN)
PROVIDER_HOSTS = []

# (function, method, query parameters) a client sends. Placeholders: {own_agent}, {other_agent},
# {other_user}, {self}. Error answers count as much as successful ones.
CLIENT_CASES = [
    ("list-calls", "GET", {}),
    ("list-calls", "GET", {"limit": "200"}),
    ("list-calls", "GET", {"source_platform": "retell", "limit": "200"}),
    ("list-calls", "GET", {"source_platform": "highlevel", "limit": "200"}),
    ("list-calls", "GET", {"agent_id": "{own_agent}"}),
    ("list-calls", "GET", {"agent_id": "{other_agent}"}),
    ("list-calls", "GET", {"user_id": "{self}", "call_type": "web_call"}),
    ("list-calls", "GET", {"user_id": "{other_user}"}),
    ("list-calls", "GET", {"q": "retell"}),
    ("list-calls", "GET", {"q": "refund", "direction": "inbound", "status": "ended"}),
    ("list-calls", "GET", {"source_platform": "vapi"}),
    ("list-calls", "GET", {"source_platform": "Retell"}),
    ("list-calls", "GET", {"cursor": "not-a-cursor"}),
    ("list-calls", "GET", {"limit": "1000"}),
    ("list-calls", "POST", {}),
    ("list-calls", "OPTIONS", {}),
    ("call-stats", "GET", {}),
    ("call-stats", "GET", {"source_platform": "retell"}),
    ("call-stats", "GET", {"source_platform": "highlevel"}),
    ("call-stats", "GET", {"from": "2024-02-20", "to": "2024-03-02"}),
    ("call-stats", "GET", {"agent_id": "{other_agent}"}),
    ("call-stats", "GET", {"user_id": "{other_user}"}),
    ("call-stats", "GET", {"source_platform": "bogus"}),
    ("call-stats", "GET", {"from": "2024-99-99"}),
    ("call-stats", "POST", {}),
]


def assert_white_label(response):
    """Fails when a client's answer names a provider or a provider host (case-insensitive)."""
    body = response.text.lower()
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items()).lower()
    for word in FORBIDDEN + PROVIDER_HOSTS:
        assert word.lower() not in body, f"{word!r} in the body of {response.request.url}"
        assert word.lower() not in headers, f"{word!r} in the headers of {response.request.url}"


@pytest.fixture(scope="module", autouse=True)
def provider_hosts(fake):
    """The fake provider's host:port: an answer to a client must not name it either."""
    PROVIDER_HOSTS[:] = [urlsplit(fake.url).netloc]


def _fill(seeded_calls, params):
    values = {"own_agent": seeded_calls.agents["Front desk"], "other_agent": seeded_calls.agents["Sales"],
              "other_user": seeded_calls.b, "self": seeded_calls.a}
    return {k: v.format(**values) for k, v in params.items()}


@pytest.mark.parametrize("fn,method,params", CLIENT_CASES,
                         ids=[f"{c[0]}-{c[1]}-{'&'.join(f'{k}={v}' for k, v in c[2].items())}"
                              for c in CLIENT_CASES])
def test_client_answers_never_name_a_provider(seeded_calls, stack, http, fn, method, params):
    r = http.request(method, stack.url(fn), params=_fill(seeded_calls, params), headers=stack.auth(seeded_calls.a))
    assert r.status_code < 500, r.text
    assert_white_label(r)


@pytest.mark.parametrize("fn", ["list-calls", "call-stats"])
def test_labels_are_what_clients_see(seeded_calls, stack, http, fn):
    r = http.get(stack.url(fn), params={"limit": "200"} if fn == "list-calls" else {},
                 headers=stack.auth(seeded_calls.a))
    assert r.status_code == 200
    text = r.text
    assert LABELS["retell"] in text and LABELS["highlevel"] in text


def test_every_page_of_a_clients_calls_is_white_label(seeded_calls, stack, http):
    cursor, pages = None, 0
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        r = http.get(stack.url("list-calls"), params=params, headers=stack.auth(seeded_calls.a))
        assert r.status_code == 200
        assert_white_label(r)
        pages += 1
        cursor = r.json()["next"]
        if cursor is None:
            break
    assert pages > 10


def test_the_check_catches_what_admins_may_see(seeded_calls, stack, http):
    # the seeded rows do carry provider names and hosts: an admin's answer must trip the check
    r = http.get(stack.url("list-calls"), headers=stack.auth(seeded_calls.admin))
    assert r.status_code == 200
    with pytest.raises(AssertionError):
        assert_white_label(r)
    assert seeded_calls.stack.sql("SELECT count(*) AS n FROM calls WHERE recording_url LIKE %s",
                           (f"%{PROVIDER_HOSTS[0]}%",))[0]["n"] > 0
