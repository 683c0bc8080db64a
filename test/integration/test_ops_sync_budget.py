"""An HTTP sync of many users fits its time budget (SYNC_REQUEST_BUDGET_S, below nginx's
timeout): it answers what is done and what is left, and calls with the same round go on until
nothing is left; users locked by another worker are reported, and synced by a later call."""
import http.server
import json
import os
import subprocess
import threading
import time

import pytest
import requests
import yaml

from testenv.fake_provider import json_response, send
from testenv.secrets import seal
from testenv.stack import ROOT, Stack, wait_until

DAY = 86_400_000


@pytest.fixture(scope="module")
def slow(fake):
    build = os.environ.get("CALLBRIDGE_BUILD", str(ROOT / "build"))
    s = Stack(build, fake.url, {"STACK_WORKERS": "1", "SYNC_REQUEST_BUDGET_S": "2"}).up()
    yield s
    reports = s.sanitizer_reports()
    s.down(keep=bool(reports))
    assert not reports, f"sanitizer reports: {reports}"


def make_users(stack, fake, n, delay, delayed=None):
    """n connected users, one agent and one call each; each call's detail (of the users whose
    index is in delayed, default all) answers after delay s."""
    stack.sql("TRUNCATE calls, agents, user_agents, sync_state, sync_runs, api_keys CASCADE")
    fake.reset()
    users = []
    for i in range(n):
        user = stack.make_user("client")
        key, agent = f"key_budget_{i}_{user[:8]}", f"ag_budget_{i}_{user[:8]}"
        stack.sql("INSERT INTO api_keys (user_id, service, access_token, is_active) VALUES (%s, 'retell', %s, true)",
                  (user, seal(stack.secrets_keys, user, "retell", "access_token", key)))
        fake.add_retell_agent(key, agent_id=agent)
        aid = stack.sql("INSERT INTO agents (name, source_platform, retell_agent_id) VALUES ('A', 'retell', %s) RETURNING id",
                        (agent,))[0]["id"]
        stack.sql("INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES (%s, %s, 'retell')", (user, aid))
        call = fake.add_retell_call(key, fake.make_retell_call(agent, start_ms=int(time.time() * 1000) - DAY))
        if delayed is None or i in delayed:
            fake.add_fault(path_prefix=f"/v2/get-call/{call['call_id']}", delay=delay, count=1)
        users.append(user)
    return users


def post(stack, body=None):
    r = requests.post(stack.url("sync-retell-calls"), json=body, headers=stack.service_headers(), timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_round_larger_than_the_budget_answers_in_time_and_goes_on(slow, fake):
    users = make_users(slow, fake, 5, delay=1.2)
    started = time.monotonic()
    first = post(slow)
    assert time.monotonic() - started < 10  # the budget (2 s) plus the user in flight, not 5 × 1.2 s
    assert first["done"] is False and first["remaining_users"] > 0 and first["round"]
    assert first["failed_users"] == 0 and first["errors"] == []
    answers = [first]
    while not answers[-1]["done"]:
        assert len(answers) < 10
        answers.append(post(slow, {"round": first["round"]}))
        assert answers[-1]["round"] == first["round"] and answers[-1]["failed_users"] == 0
    # every user synced once in the round: later calls skip those already done
    assert sum(a["synced_users"] for a in answers) == len(users)
    rows = slow.sql("""SELECT user_id::text, count(*) FILTER (WHERE status = 'ok') AS ok FROM sync_runs
                       GROUP BY user_id""")
    assert sorted(r["user_id"] for r in rows) == sorted(users) and {r["ok"] for r in rows} == {1}
    assert slow.sql("SELECT count(*) AS n FROM calls")[0]["n"] == len(users)
    # a user cut by the budget is partial, not failed, and comes back in the next call
    for a in answers:
        assert all(u["status"] in ("ok", "partial") for u in a["users"])


def test_a_locked_user_is_reported_and_synced_by_a_later_call(slow, fake):
    users = make_users(slow, fake, 2, delay=6, delayed={0})
    held = users[0]
    # another worker syncing that user: the command line, held up by its call's slow detail
    cli = slow.cli("sync-retell-calls", "--user", held)
    assert wait_until(lambda: len(fake.requests_for("/v2/get-call/")) == 1, timeout=30)
    first = post(slow)
    assert first["locked_users"] == 1 and first["skipped_users"] == 1 and first["failed_users"] == 0
    answers = [first]
    while not answers[-1]["done"]:  # a slow build may need a second call for the other user
        assert len(answers) < 5
        answers.append(post(slow, {"round": first["round"]}))
    assert sum(a["synced_users"] for a in answers) == 1
    assert cli.wait(timeout=60) == 0
    again = post(slow, {"round": first["round"]})
    # both already synced in this round (one by the command line): nothing run twice
    assert again["locked_users"] == 0 and again["synced_users"] == 0 and again["skipped_users"] == 2


def test_a_round_that_is_not_a_timestamp_is_a_400(slow):
    r = requests.post(slow.url("sync-retell-calls"), json={"round": "yesterday-ish"},
                      headers=slow.service_headers(), timeout=30)
    assert r.status_code == 400 and r.json()["error"]


class Answers(http.server.BaseHTTPRequestHandler):
    """Stand-in sync functions: answers from a queue per path, records the bodies."""
    queue: dict = {}
    bodies: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        Answers.bodies.append((self.path, body))
        answer = Answers.queue[self.path].pop(0) if Answers.queue.get(self.path) else {"done": True}
        send(self, json_response(200, answer), truncate=False)

    def log_message(self, *args):  # noqa: A002 (quiet)
        return


def test_daily_workflow_calls_again_with_the_round_until_nothing_is_left(tmp_path):
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "daily-sync.yml").read_text())
    step = next(s for job in wf["jobs"].values() for s in job["steps"] if "run" in s)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = {"failed_users": 0, "errors": [], "locked_users": 0}
    Answers.bodies = []
    Answers.queue = {
        "/functions/v1/sync-retell-calls": [
            dict(base, remaining_users=3, done=False, round="2026-12-01 03:17:00+00"),
            dict(base, remaining_users=1, done=False, round="2026-12-01 03:17:00+00"),
            dict(base, remaining_users=0, done=True, round="2026-12-01 03:17:00+00")],
        "/functions/v1/sync-highlevel-calls": [dict(base, remaining_users=0, done=True, round="r2")],
    }
    try:
        env = dict(os.environ, FUNCTIONS_URL=f"http://127.0.0.1:{server.server_port}/functions/v1",
                   SERVICE_ROLE_KEY="svc", GITHUB_STEP_SUMMARY=str(tmp_path / "s.md"))
        out = subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        retell = [b for p, b in Answers.bodies if p.endswith("sync-retell-calls")]
        assert retell[0] == "" and [json.loads(b) for b in retell[1:]] == [{"round": "2026-12-01 03:17:00+00"}] * 2
        assert len([p for p, _ in Answers.bodies if p.endswith("sync-highlevel-calls")]) == 1
        # still locked after the retry a minute later is an error (the wait is cut short here)
        Answers.bodies = []
        Answers.queue = {"/functions/v1/sync-retell-calls": [dict(base, remaining_users=0, done=True, round="r",
                                                                  locked_users=1)] * 2}
        env["PATH"] = f"{tmp_path}:{env['PATH']}"
        (tmp_path / "sleep").write_text("#!/bin/sh\nexit 0\n")
        (tmp_path / "sleep").chmod(0o755)
        out = subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 1 and "stayed locked" in out.stdout, out.stdout
        assert len([p for p, _ in Answers.bodies if p.endswith("sync-retell-calls")]) == 2
    finally:
        server.shutdown()


def test_a_round_with_no_connected_user_is_done_at_once(slow):
    slow.sql("TRUNCATE api_keys, sync_runs CASCADE")
    answer = post(slow)
    assert answer["done"] is True and answer["remaining_users"] == 0 and answer["synced_users"] == 0
