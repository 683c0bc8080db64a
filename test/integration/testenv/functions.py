"""Calling a function as the dashboard does, and the refusals every admin-only function gives."""


def post(http, stack, fn, body, user=None, headers=None):
    """POSTs body as JSON to fn, as user (a token of theirs) or with the headers given."""
    h = headers if headers is not None else stack.auth(user)
    return http.post(stack.url(fn), json=body, headers=h)


def assert_admins_only(http, stack, fn, body, client):
    """fn refuses a client (403), a caller without a token and one whose token expired (401)."""
    assert post(http, stack, fn, body, client).status_code == 403, fn
    assert post(http, stack, fn, body, headers={}).status_code == 401, fn
    expired = {"Authorization": "Bearer " + stack.token(client, exp_in=-3600)}
    assert post(http, stack, fn, {}, headers=expired).status_code == 401, fn
