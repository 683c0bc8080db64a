"""highlevel-oauth's redirect back from the provider ends on the dashboard (OAUTH_RETURN_URL, an
origin and path from config only) with the outcome in the query, never on this function's raw
JSON (issue 18, item 7); a granted authorization's state and code ride in the fragment, for the
starting browser to finish with its verifier (issue 16, finding 10). Without the setting the JSON
answers stay as they were."""
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest

from testenv import highlevel as hl

RETURN = "https://dash.example.test/settings/connections"
LOC = "loc_return_0001"


@pytest.fixture
def returning(clean, fake):
    """highlevel-oauth restarted with OAUTH_RETURN_URL set; restored after the test."""
    stack = clean
    stack.env["OAUTH_RETURN_URL"] = RETURN
    stack.restart("highlevel-oauth")
    yield stack
    del stack.env["OAUTH_RETURN_URL"]
    stack.restart("highlevel-oauth")


def outcome(r):
    assert r.status_code == 302, r.text
    assert r.content == b"" and r.headers["Cache-Control"] == "no-store"
    loc = urlsplit(r.headers["Location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == RETURN
    hl.assert_no_provider_words(r.headers["Location"])
    return {k: v[0] for k, v in parse_qs(loc.query).items()}


def fragment(r):
    return {k: v[0] for k, v in parse_qs(urlsplit(r.headers["Location"]).fragment).items()}


def test_a_granted_authorization_returns_to_the_dashboard(returning, fake, http):
    stack = returning
    user = stack.make_user("client")
    state = hl.start_flow(http, stack, user).json()["state"]
    fake.hl_redirect_uri = "http://127.0.0.1/oauth/callback"
    code = fake.hl_issue_code(LOC)
    r = hl.callback(http, stack, code=code, state=state)
    assert outcome(r) == {"connection": "pending"}
    # out of the query: a fragment never reaches the dashboard's server or its logs
    assert fragment(r) == {"state": state, "code": code} and code not in urlsplit(r.headers["Location"]).query
    assert stack.sql("SELECT count(*) AS n FROM api_keys")[0]["n"] == 0
    r = hl.finish_flow(http, stack, user, code, state)
    assert r.status_code == 200 and r.json()["connected"], r.text
    row, _ = hl.stored_tokens(stack, user)
    assert row["is_active"] and row["location_id"] == LOC


def test_failures_return_with_their_error_code(returning, fake, http):
    stack = returning
    user = stack.make_user("client")
    assert outcome(hl.callback(http, stack, code="c", state="x" * 43)) == \
        {"connection": "failed", "error": "invalid_state"}
    state = hl.start_flow(http, stack, user).json()["state"]
    assert outcome(hl.callback(http, stack, error="access_denied", state=state)) == \
        {"connection": "failed", "error": "authorization_denied"}
    assert stack.sql("SELECT count(*) AS n FROM api_keys WHERE user_id = %s", (user,))[0]["n"] == 0
    # starting the flow is still the dashboard's JSON call
    r = hl.start_flow(http, stack, user)
    assert r.status_code == 200 and "authorize_url" in r.json()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://dash.example.test/x?next=y",
                                 "https://user@dash.example.test/", "https:///path",
                                 "https://dash.example.test/#frag", "//dash.example.test/"])
def test_a_return_url_that_is_not_an_origin_and_path_is_refused_at_start(stack, url):
    out = subprocess.run([str(stack.build / "highlevel-oauth"), "--check-config"],
                         env=stack.cli_env(OAUTH_RETURN_URL=url), capture_output=True, text=True,
                         timeout=30)
    assert out.returncode != 0 and "OAUTH_RETURN_URL" in out.stderr, (url, out.stderr)


def test_a_plain_origin_is_accepted(stack):
    out = subprocess.run([str(stack.build / "highlevel-oauth"), "--check-config"],
                         env=stack.cli_env(OAUTH_RETURN_URL="http://127.0.0.1:5173"),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
