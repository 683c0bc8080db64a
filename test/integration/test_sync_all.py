"""sync-all, the dashboard's one button: every provider a user is connected to synced, one
provider down reported while the other syncs, a user of one provider and of none."""
import pytest

from testenv import highlevel as hl
from testenv.clock import DAY_MS, now_ms
from testenv.highlevel import add_call_logs as add_logs

RETELL_KEY = "key_syncall_SENTINEL_0123456789ab"


def sync(http, stack, headers, body=None):
    return http.post(stack.url("sync-all"), json=body, headers=headers, timeout=600)


def ncalls(stack):
    return stack.sql("SELECT count(*) AS n FROM calls")[0]["n"]


@pytest.fixture
def client_of_both_providers(highlevel_client, fake, connect_retell, retell_agent):
    """highlevel_client, connected to Retell too, with calls waiting at both providers: 7 of
    Retell agent rt_agent, 5 call logs of hl_ag_one."""
    connect_retell(highlevel_client["user"], RETELL_KEY)
    fake.add_retell_agent(RETELL_KEY, agent_id="rt_agent")
    retell_agent("rt_agent", assign_to=highlevel_client["user"])
    fake.generate_retell_calls(RETELL_KEY, ["rt_agent"], 7, now_ms() - DAY_MS, 60_000)
    add_logs(fake, "hl_ag_one", 5, now_ms() - DAY_MS)
    return highlevel_client


def test_sync_all_runs_every_connected_provider(client_of_both_providers, fake, http):
    stack = client_of_both_providers["stack"]
    r = sync(http, stack, stack.auth(client_of_both_providers["user"]))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["providers_synced"] == 2 and out["providers_failed"] == 0
    by_name = {s["provider"]: s for s in out["syncs"]}
    assert by_name["Provider B"]["calls_inserted"] == 7 and by_name["Provider A"]["calls_inserted"] == 5
    hl.assert_no_provider_words(r.text)
    counts = stack.sql("SELECT source_platform, count(*) AS n FROM calls GROUP BY 1 ORDER BY 1")
    assert counts == [{"source_platform": "highlevel", "n": 5}, {"source_platform": "retell", "n": 7}]
    assert sorted(r["provider"] for r in stack.sql("SELECT provider FROM sync_runs")) == ["highlevel", "retell"]


def test_sync_all_with_one_provider_down_reports_it_and_syncs_the_other(client_of_both_providers, fake, http):
    stack = client_of_both_providers["stack"]
    admin = stack.make_user("admin")
    fake.add_fault(path_prefix="/voice-ai/dashboard/call-logs", status=500, count=50)
    r = sync(http, stack, stack.auth(admin), {"user_id": client_of_both_providers["user"]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["providers_synced"] == 1 and out["providers_failed"] == 1
    failure = next(s for s in out["syncs"] if "error" in s and isinstance(s["error"], str))
    assert failure["provider"] == "HighLevel" and "retry" in failure["message"]
    assert ncalls(stack) == 7


def test_sync_all_for_one_provider_and_for_none(highlevel_client, fake, http):
    stack = highlevel_client["stack"]
    add_logs(fake, "hl_ag_one", 2, now_ms() - DAY_MS)
    r = sync(http, stack, stack.auth(highlevel_client["user"]))
    assert r.status_code == 200 and [s["provider"] for s in r.json()["syncs"]] == ["Provider A"]
    nobody = stack.make_user("client")
    r = sync(http, stack, stack.auth(nobody))
    assert r.status_code == 404 and r.json()["error"] == "not_connected"
    assert http.get(stack.url("sync-all"), headers=stack.auth(nobody)).status_code == 405
