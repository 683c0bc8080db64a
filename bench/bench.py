"""bench: webhook and sync throughput, latency and memory, each beside its limit (pgbench running
the same statement, COPY loading the same rows), printed as one table. Figures, never pass/fail."""
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test" / "integration"))

from testenv import retell  # noqa: E402
from testenv.fake_provider import FakeProvider  # noqa: E402
from testenv.secrets import seal  # noqa: E402
from testenv.stack import Stack, free_port  # noqa: E402

BUILD = Path(os.environ.get("BENCH_BUILD", ROOT / "build-bench"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
SYNC_CALLS = int(os.environ.get("BENCH_SYNC_CALLS", "100000"))
WORKERS = os.environ.get("BENCH_WORKERS", "2")
THREADS = os.environ.get("BENCH_THREADS", "8")
PARTS = os.environ.get("BENCH_PARTS", "processes,webhook,costs,sync").split(",")
CONCURRENCY = [1, 16, 64]
KEY = "key_bench_webhook_0123456789abcdef"
# what a delivery writes (CASCADE: 0053's transcript search table refers to calls)
WRITTEN = "calls, webhook_inbox, key_usage_audit, call_transcript_pending"
SYNC_KEY = "key_bench_sync_0123456789abcdef00"
rows = []


def report(name, value, unit="", target="", note=""):
    rows.append((name, value, unit, target, note))
    print(f"  {name}: {value} {unit} {note}", flush=True)


def rss_kb(pid, field="VmRSS"):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def pids_of(fn):
    out = subprocess.run(["pgrep", "-f", f"^{BUILD}/{fn}$"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


# ---------------------------------------------------------------------------------- setup

def setup_user(stack, key, agents):
    user = stack.make_user("client")
    stack.sql("INSERT INTO api_keys (user_id, service, access_token) VALUES (%s, 'retell', %s)",
              (user, seal(stack.secrets_keys, user, "retell", "access_token", key)))
    stack.sql("""INSERT INTO billing_accounts (user_id, inbound_rate_per_minute, outbound_rate_per_minute,
                 web_call_rate_per_minute, billing_increment_seconds) VALUES (%s, 0.10, 0.20, 0.05, 60)""",
              (user,))
    ids = []
    for a in agents:
        agent = stack.sql("INSERT INTO agents (name, source_platform, retell_agent_id) VALUES (%s, 'retell', %s)"
                          " RETURNING id", (a, a))[0]["id"]
        stack.sql("INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES (%s, %s, 'retell')",
                  (user, agent))
        ids.append(agent)
    return user, ids


def webhook_bodies(fake, n):
    """n call_ended deliveries with 20-60 KB of transcript each."""
    start = int(time.time() * 1000) - 86_400_000
    bodies = []
    for i in range(n):
        # the word-level transcript_object is most of a delivery: about 10x the plain text
        target = random.randint(20_000, 60_000)
        call = fake.make_retell_call("agent_bench", call_id=f"wh_{i:06d}", start_ms=start + i * 1000,
                                     transcript_bytes=max(500, target // 10))
        bodies.append(retell.delivery("call_ended", call))
    return bodies


# ---------------------------------------------------------------------------------- webhook

PEER_DIR = ROOT / "bench" / "peer-deno"
DENO = PEER_DIR / "node_modules" / "@deno" / "linux-x64-glibc" / "deno"
PEER_DB = "peer"


def sdk_signed(bodies, path):
    """Every body signed now by retell-sdk's own sign() (each run stays inside its 5 minute window)."""
    signed = subprocess.run(["node", str(PEER_DIR / "sign.mjs"), KEY], input=b"\n".join(bodies) + b"\n",
                            capture_output=True, check=True, cwd=PEER_DIR).stdout
    Path(path).write_bytes(signed)


class RssSampler:
    """Peak of the summed RSS of a set of processes, sampled every 0.2 s while a run goes on."""

    def __init__(self, pids_fn):
        self.pids_fn, self.peak, self._stop = pids_fn, 0, False

    def __enter__(self):
        import threading
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, sum(rss_kb(p) for p in self.pids_fn()))
            time.sleep(0.2)

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()


def run_wrk(url, signed_path, conns, seconds=None):
    out = subprocess.run(["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{seconds or SECONDS}s",
                          "--latency", "-s", str(ROOT / "bench" / "webhook.lua"), url, "--", signed_path],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return rps, pct(50), pct(99), (int(non2xx.group(1)) if non2xx else 0), (errors.group(1) if errors else "none")


def pgbench_script(stack, user, agent, body, sql=None):
    """The function's statement (or sql), with one real delivery's values and a fresh call id per
    run. The large values sit in a one-row-per-parameter table: pgbench would read a ':word' inside
    an inline literal as one of its variables."""
    if sql is None:
        sql = subprocess.run([str(BUILD / "bench" / "bench-print-sql")], capture_output=True, text=True,
                             check=True).stdout.strip()
    call = json.loads(body)["call"]
    stored = {
        2: user, 3: agent, 4: call["agent_id"], 5: call["call_type"], 6: call.get("direction"),
        7: call["call_status"], 10: (call["duration_ms"] + 999) // 1000, 11: call["from_number"],
        12: call["to_number"], 13: call["transcript"],
        14: json.dumps(call["transcript_object"], separators=(",", ":")), 15: call["recording_url"],
        16: call["disconnection_reason"], 17: json.dumps(call["latency"], separators=(",", ":")),
        23: call.get("agent_version"), 24: 2, 25: "call_ended", 27: call["agent_id"], 28: user,
        29: body.decode(), 30: 1700000000000, 31: "applied", 32: "retell-webhook", 33: "bench",
    }
    stack.sql("CREATE TABLE IF NOT EXISTS bench_payload (k int PRIMARY KEY, v text)")
    stack.sql("TRUNCATE bench_payload")
    for k, v in stored.items():
        stack.sql("INSERT INTO bench_payload VALUES (%s, %s)", (k, None if v is None else str(v)))
    values = {k: f"(SELECT v FROM bench_payload WHERE k = {k})" for k in stored}
    values.update({1: "'pg_' || :n", 8: "(1700000000000 + :n)::text", 9: "(1700000060000 + :n)::text",
                   18: "NULL", 19: "NULL", 20: "NULL", 21: "NULL", 22: "NULL", 26: "'pg_' || :n"})
    for n in sorted(values, reverse=True):
        sql = sql.replace(f"${n}", values[n])
    return "\\set n random(1, 100000000)\n" + sql + ";\n"


def floor_script(stack):
    """The floor of any durable design: one INSERT of the raw delivery per transaction (a table
    with nothing but a key, the arrival time and the body; the body is bench_payload's)."""
    stack.sql("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY,"
              " received_at timestamptz NOT NULL DEFAULT now(), body text NOT NULL)")
    return "INSERT INTO bench_floor (body) SELECT v FROM bench_payload WHERE k = 29;\n"


def run_pgbench(stack, script, conns):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "upsert.sql"
        path.write_text(script)
        out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(conns), "-j", str(min(conns, 2)),
                              "-T", str(SECONDS), "-l", "--log-prefix", str(Path(d) / "log"), "-f", str(path),
                              stack.database_url], capture_output=True, text=True, cwd=d)
        found = re.search(r"tps = ([\d.]+)", out.stdout)
        if out.returncode != 0 or found is None:
            raise RuntimeError(f"pgbench -c {conns}: {out.stdout[-500:]} {out.stderr[-1500:]}")
        tps = float(found.group(1))
        lat = sorted(int(line.split()[2]) / 1000 for f in Path(d).glob("log*") for line in f.open())
    return tps, lat[len(lat) // 2], lat[int(len(lat) * 0.99)]


def peer_up(stack, user, agent_ids):
    """The Deno function on its own database (the plan's schema, 0001 + 0002) in the same cluster,
    with the same user, key (plain, as the plan stores it), agent, assignment and billing account."""
    admin = stack.database_url.replace("/callbridge?", "/postgres?")
    subprocess.run(["psql", "-X", "-q", admin, "-c", f"DROP DATABASE IF EXISTS {PEER_DB}",
                    "-c", f"CREATE DATABASE {PEER_DB}"], check=True)
    peer_url = stack.database_url.replace("/callbridge?", f"/{PEER_DB}?")
    for m in ("0001_base_schema.sql", "0002_retell_support.sql"):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", peer_url, "-f",
                        str(ROOT / "db" / "migrations" / m)], check=True, capture_output=True)
    sql = (f"INSERT INTO auth.users (id) VALUES ('{user}');"
           f"INSERT INTO api_keys (user_id, service, access_token) VALUES ('{user}', 'retell', '{KEY}');"
           f"INSERT INTO billing_accounts (user_id, inbound_rate_per_minute, outbound_rate_per_minute,"
           f" web_call_rate_per_minute, billing_increment_seconds) VALUES ('{user}', 0.10, 0.20, 0.05, 60);"
           f"INSERT INTO agents (id, name, source_platform, retell_agent_id)"
           f" VALUES ('{agent_ids[0]}', 'agent_bench', 'retell', 'agent_bench');"
           f"INSERT INTO user_agents (user_id, agent_id, source_platform) VALUES ('{user}', '{agent_ids[0]}', 'retell')")
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", peer_url, "-c", sql], check=True)
    port = free_port()
    env = dict(os.environ, PEER_PORT=str(port), PEER_PG_HOST=str(stack.var / "run"), PEER_PG_DB=PEER_DB,
               DENO_NO_UPDATE_CHECK="1", DENO_DIR=str(stack.var / "deno"))
    proc = subprocess.Popen([str(DENO), "run", "-A", "retell-webhook.ts"], cwd=PEER_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    if "Listening" not in line:
        raise RuntimeError(f"the Deno peer did not start: {line}{proc.stdout.read()}")
    version = subprocess.run([str(DENO), "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return proc, f"http://127.0.0.1:{port}/", version


def report_parse_cpu(body):
    """CPU of reading one delivery: word timings kept as sent (jsonspan) against json-c's tree of it all."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        f.write(body)
        f.flush()
        out = subprocess.run([str(BUILD / "bench" / "bench-parse-delivery"), f.name, "2000"],
                             capture_output=True, text=True, check=True).stdout
    ms = dict(line.rsplit(" ", 2)[:2] for line in out.splitlines())
    report("webhook delivery parse CPU", ms["as sent"], "ms", "",
           f"{len(body) / 1024:.0f} KB body; json-c's tree of the whole body (before) {ms['whole tree']} ms,"
           f" {float(ms['whole tree']) / float(ms['as sent']):.1f}x")


def bench_webhook(stack, fake):
    print("webhook: SDK-signed call_ended deliveries, 20-60 KB; retell-webhook over nginx vs the Deno peer",
          flush=True)
    user, agents = setup_user(stack, KEY, ["agent_bench"])
    bodies = webhook_bodies(fake, 3000)
    sizes = sorted(len(b) for b in bodies)
    report("webhook body size", f"{statistics.mean(sizes) / 1024:.0f}", "KB", "20-60 KB",
           f"min {sizes[0] / 1024:.0f} KB, max {sizes[-1] / 1024:.0f} KB")
    # a delivery of the median size: pgbench stores the same bytes the function stores
    median = sorted(bodies, key=len)[len(bodies) // 2]
    script = pgbench_script(stack, user, agents[0], median)
    report_parse_cpu(median)
    floor = floor_script(stack)
    peer, peer_url, version = peer_up(stack, user, agents)
    report("peer", version, "", "", "retell-sdk verify, postgres.js pool 16, the plan's upsert")
    signed = tempfile.mktemp(suffix=".tsv")
    ours_pids = lambda: pids_of("retell-webhook")  # noqa: E731
    try:
        # warm-up, not measured: every serving thread connected, the peer's code compiled
        sdk_signed(bodies, signed)
        for url in (stack.url("retell-webhook"), peer_url):
            run_wrk(url, signed, 16, seconds=3)
        for c in CONCURRENCY:
            sdk_signed(bodies, signed)
            with RssSampler(ours_pids) as ours_rss:
                rps, p50, p99, non2xx, errs = run_wrk(stack.url("retell-webhook"), signed, c)
            # indexed after the answers (0053): what the indexer threads had not caught up with
            waiting = stack.sql("SELECT count(*) AS n FROM call_transcript_pending")[0]["n"]
            with RssSampler(lambda: [peer.pid]) as peer_rss:
                prps, pp50, pp99, pnon2xx, perrs = run_wrk(peer_url, signed, c)
            ftps, f50, f99 = run_pgbench(stack, floor, c)
            tps, pg50, pg99 = run_pgbench(stack, script, c)
            # pgbench's own calls are no webhook's work to index in the next run
            stack.sql("TRUNCATE call_transcript_pending")
            report(f"webhook c={c} req/s", f"{rps:.0f}", "req/s", "",
                   f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, non-2xx {non2xx}, socket errors {errs}")
            report(f"peer c={c} req/s", f"{prps:.0f}", "req/s", "",
                   f"p50 {pp50:.2f} ms, p99 {pp99:.2f} ms, non-2xx {pnon2xx}, socket errors {perrs}")
            report(f"webhook/peer c={c}", f"{rps / prps:.2f}", "ratio", ">= 2 at c=16, 64" if c > 1 else "")
            report(f"floor c={c} INSERT raw body", f"{ftps:.0f}", "tx/s", "", f"p50 {f50:.2f} ms, p99 {f99:.2f} ms")
            report(f"pgbench c={c} our statement", f"{tps:.0f}", "tx/s", "", f"p50 {pg50:.2f} ms, p99 {pg99:.2f} ms")
            if c == 1:
                report("webhook p50 - floor p50 c=1", f"{p50 - f50:.2f}", "ms", "<= 0.5 ms")
            if c == 16:
                report("webhook p99 / peer p99 c=16", f"{p99 / pp99:.2f}", "ratio", "<= 1")
            report(f"webhook RSS c={c} (all processes)", f"{ours_rss.peak / 1024:.1f}", "MB", "",
                   f"peer {peer_rss.peak / 1024:.1f} MB")
            report(f"webhook RSS / peer RSS c={c}", f"{ours_rss.peak / max(1, peer_rss.peak):.2f}", "ratio",
                   "<= 0.25")
            report(f"transcript search pending after c={c}", f"{waiting}", "calls", "",
                   f"of {rps * SECONDS:.0f} deliveries; searched by their own transcript meanwhile")
    finally:
        peer.terminate()
        peer.wait()
        if os.path.exists(signed):
            os.unlink(signed)
    statuses = re.findall(r"fn=retell-webhook .*?-> (\d+)", stack.logs())
    failed = {code: statuses.count(code) for code in set(statuses) if not code.startswith("2")}
    report("webhook answers that were not 2xx", f"{sum(failed.values())}", "", "0",
           f"{failed or ''} (a few 400s are wrk cutting uploads at the end of a run)")
    stack.sql(f"TRUNCATE {WRITTEN}, bench_floor CASCADE")


# ---------------------------------------------------------------------------------- costs

# What each element of the webhook's statement costs: pgbench of the statement with that element
# taken out (DDL applied before, undone after), against the whole statement. (name, DDL before,
# DDL after, rewrite of the script).
# Today's write path, as it was before migration 0050 (the stack has applied 0050 and later).
COST_TODAY = [
    "CREATE INDEX IF NOT EXISTS idx_calls_transcript_trgm ON calls USING gin (transcript gin_trgm_ops)",
    "DROP TRIGGER IF EXISTS calls_transcript_inserted ON calls",
    "DROP TRIGGER IF EXISTS calls_transcript_updated ON calls",
    "CREATE INDEX IF NOT EXISTS idx_calls_retell_call_id ON calls (retell_call_id)",
    "CREATE INDEX IF NOT EXISTS idx_calls_source_platform ON calls (source_platform)",
    "ALTER TABLE calls ALTER COLUMN transcript SET COMPRESSION pglz",
    "ALTER TABLE calls ALTER COLUMN transcript_object SET COMPRESSION pglz",
    "ALTER TABLE webhook_inbox ALTER COLUMN body SET COMPRESSION pglz",
    "ALTER TABLE calls ALTER COLUMN transcript_object TYPE jsonb USING transcript_object::jsonb",
]


def cost_today(sql):
    """The statement as it was before 0050: word timings cast to jsonb."""
    return sql.replace(" $14,", " $14::jsonb,")


def migration(number):
    return next((ROOT / "db" / "migrations").glob(f"{number}_*.sql")).read_text()


def current(sql):
    return sql


# What issue 17 chose, applied cumulatively on top of the pre-0050 write path (last rows), with
# the statement of its time (0050's cast the word timings to json; 0052 stores the text).
COST_CHOSEN = [
    ("= migration 0050 applied (redundant indexes, lz4, word timings as json)", ["0050"],
     lambda sql: sql.replace(" $14,", " $14::json,")),
    ("= 0051 and 0052 too (word timings lz4 again, stored as text)", ["0051", "0052"], current),
    ("= 0053 too (transcript search indexed after the answer; its pending row here)", ["0053"], current),
]
COST_ELEMENTS = [
    ("the whole statement (before 0050)", [], [], None),
    ("- GIN trigram index on calls.transcript", ["DROP INDEX idx_calls_transcript_trgm"],
     ["CREATE INDEX idx_calls_transcript_trgm ON calls USING gin (transcript gin_trgm_ops)"], None),
    ("- idx_calls_retell_call_id + idx_calls_source_platform",
     ["DROP INDEX IF EXISTS idx_calls_retell_call_id", "DROP INDEX IF EXISTS idx_calls_source_platform"],
     ["CREATE INDEX idx_calls_retell_call_id ON calls (retell_call_id)",
      "CREATE INDEX idx_calls_source_platform ON calls (source_platform)"], None),
    ("- jsonb parse of transcript_object (stored as text)",
     ["ALTER TABLE calls ALTER COLUMN transcript_object TYPE text"],
     ["ALTER TABLE calls ALTER COLUMN transcript_object TYPE jsonb USING transcript_object::jsonb"],
     lambda sql: sql.replace("$14::jsonb", "$14")),
    ("~ transcript_object as json (validated, no jsonb build)",
     ["ALTER TABLE calls ALTER COLUMN transcript_object TYPE json"],
     ["ALTER TABLE calls ALTER COLUMN transcript_object TYPE jsonb USING transcript_object::jsonb"],
     lambda sql: sql.replace("$14::jsonb", "$14::json")),
    ("- raw body in webhook_inbox (kept once)", [], [],
     lambda sql: sql.replace("$29,", "'',")),
    ("- key_usage_audit row", [], [],
     lambda sql: re.sub(r", audit AS \(INSERT INTO key_usage_audit .*?\)\) SELECT", " SELECT", sql)),
    ("- billing trigger", ["ALTER TABLE calls DISABLE TRIGGER calls_billing"],
     ["ALTER TABLE calls ENABLE TRIGGER calls_billing"], None),
    ("+ lz4 TOAST compression (instead of pglz)",
     ["ALTER TABLE calls ALTER COLUMN transcript SET COMPRESSION lz4",
      "ALTER TABLE calls ALTER COLUMN transcript_object SET COMPRESSION lz4",
      "ALTER TABLE webhook_inbox ALTER COLUMN body SET COMPRESSION lz4"],
     ["ALTER TABLE calls ALTER COLUMN transcript SET COMPRESSION pglz",
      "ALTER TABLE calls ALTER COLUMN transcript_object SET COMPRESSION pglz",
      "ALTER TABLE webhook_inbox ALTER COLUMN body SET COMPRESSION pglz"], None),
    ("+ trigram GIN pending list of 64 MB (merged later, by autovacuum)",
     ["ALTER INDEX idx_calls_transcript_trgm SET (gin_pending_list_limit = 65536)"],
     ["ALTER INDEX idx_calls_transcript_trgm RESET (gin_pending_list_limit)"], None),
]
COST_ELEMENTS += [(name, [migration(m) for m in ms], [], ("chosen", statement))
                  for name, ms, statement in COST_CHOSEN]


def bench_costs(stack, fake):
    print("costs: pgbench of the webhook's statement, one element at a time taken out", flush=True)
    user, agents = setup_user(stack, KEY, ["agent_cost"])
    bodies = webhook_bodies(fake, 50)
    sql = subprocess.run([str(BUILD / "bench" / "bench-print-sql")], capture_output=True, text=True,
                         check=True).stdout.strip()
    base = {}
    for ddl in COST_TODAY:
        stack.sql(ddl)
    for name, before, after, rewrite in COST_ELEMENTS:
        stack.sql(f"TRUNCATE {WRITTEN} CASCADE")
        for ddl in before:
            stack.sql(ddl)
        try:
            statement = (rewrite[1](sql) if isinstance(rewrite, tuple)
                         else (rewrite or current)(cost_today(sql)))
            script = pgbench_script(stack, user, agents[0], sorted(bodies, key=len)[len(bodies) // 2],
                                    statement)
            figures = []
            for c in (1, 16):
                tps, p50, _ = run_pgbench(stack, script, c)
                base.setdefault(c, tps)
                figures.append(f"c={c} {tps:.0f} tx/s ({tps / base[c]:.2f}x), p50 {p50:.2f} ms")
            report(f"cost {name}", f"{tps:.0f}", "tx/s", "", "; ".join(figures))
        finally:
            stack.sql(f"TRUNCATE {WRITTEN} CASCADE")
            for ddl in after:
                stack.sql(ddl)
    tps1, p50, _ = run_pgbench(stack, floor_script(stack), 1)
    tps16, p50_16, _ = run_pgbench(stack, floor_script(stack), 16)
    report("cost floor: INSERT of the raw body", f"{tps16:.0f}", "tx/s",
           "", f"c=1 {tps1:.0f} tx/s, p50 {p50:.2f} ms; c=16 {tps16:.0f} tx/s, p50 {p50_16:.2f} ms")
    stack.sql(f"TRUNCATE {WRITTEN}, bench_floor CASCADE")


# ---------------------------------------------------------------------------------- sync

def sample_rss(proc):
    samples = []
    while proc.poll() is None:
        samples.append(rss_kb(proc.pid))
        time.sleep(0.2)
    return [s for s in samples if s]


def cpu_seconds(pid, children=False):
    """utime + stime of a live process (and of its reaped children), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(stack):
    """The cluster's CPU so far: the postmaster with its ended backends, and the live ones."""
    postmaster = int((stack.var / "pg" / "data" / "postmaster.pid").read_text().split()[0])
    live = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
    total = cpu_seconds(postmaster, children=True)
    for pid in live:
        try:
            total += cpu_seconds(int(pid))
        except FileNotFoundError:
            pass
    return total


def bench_sync(stack, fake_url, fake_pid):
    print(f"sync: {SYNC_CALLS} calls, 1000 per page, a detail fetch per call", flush=True)
    user, _ = setup_user(stack, SYNC_KEY, ["agent_s1", "agent_s2"])
    fake0, pg0 = cpu_seconds(fake_pid), postgres_cpu_seconds(stack)
    ours0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = stack.cli("sync-retell-calls", "--user", user)
    samples = sample_rss(proc)
    out, err = proc.communicate()
    elapsed = time.monotonic() - t0
    ours1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = ours1.ru_utime + ours1.ru_stime - ours0.ru_utime - ours0.ru_stime
    fake_cpu, pg_cpu = cpu_seconds(fake_pid) - fake0, postgres_cpu_seconds(stack) - pg0
    summary = json.loads(out)
    n = summary["calls_seen"]
    report("sync calls/s end to end", f"{n / elapsed:.0f}", "calls/s", "", f"{n} calls in {elapsed:.1f} s")
    # who was busy: the fake provider stands in for Retell's servers, which are not ours to count
    report("sync CPU: sync-retell-calls", f"{ours:.1f}", "s", "",
           f"{ours / n * 1000:.2f} ms a call; fake provider {fake_cpu:.1f} s ({fake_cpu / elapsed:.2f} of a core),"
           f" PostgreSQL {pg_cpu:.1f} s ({pg_cpu / n * 1000:.2f} ms a call), over {elapsed:.1f} s on"
           f" {os.cpu_count()} cores")
    quarter = samples[: max(1, len(samples) // 4)]
    report("sync peak RSS", f"{max(samples) / 1024:.1f}", "MB", "flat",
           f"first quarter max {max(quarter) / 1024:.1f} MB, last quarter max "
           f"{max(samples[-max(1, len(samples) // 4):]) / 1024:.1f} MB")
    # the limit: the same rows, loaded by COPY into the same table (trigger included)
    path = tempfile.mktemp(suffix=".copy")
    columns = ("retell_call_id, source_platform, user_id, agent_id, provider_agent_id, call_type, direction,"
               " call_status, started_at, ended_at, duration_seconds, from_number, to_number, transcript,"
               " transcript_object, recording_url, disconnection_reason, latency, call_analysis, summary,"
               " sentiment, call_successful, in_voicemail, agent_version, data_rank")
    subprocess.run(["psql", "-X", "-q", stack.database_url, "-c",
                    f"\\copy (SELECT {columns} FROM calls WHERE user_id = '{user}') TO '{path}'"], check=True)
    stack.sql("DELETE FROM calls WHERE user_id = %s", (user,))
    pg0 = postgres_cpu_seconds(stack)
    t0 = time.monotonic()
    subprocess.run(["psql", "-X", "-q", stack.database_url, "-c", f"\\copy calls ({columns}) FROM '{path}'"],
                   check=True)
    copy_s = time.monotonic() - t0
    pg_cpu = postgres_cpu_seconds(stack) - pg0
    os.unlink(path)
    report("COPY of the same rows", f"{n / copy_s:.0f}", "rows/s", "",
           f"{copy_s:.1f} s; PostgreSQL CPU {pg_cpu:.1f} s ({pg_cpu / n * 1000:.2f} ms a row)")
    report("sync/COPY", f"{(n / elapsed) / (n / copy_s):.2f}", "ratio", ">= 0.5")


# ---------------------------------------------------------------------------------- processes

def bench_processes(stack):
    print("handlers: idle memory and start-up", flush=True)
    for fn in sorted(p.stem for p in (ROOT / "handlers").glob("*.c")):
        pids = pids_of(fn)
        if pids:
            rss = max(rss_kb(p) for p in pids)
            anon = max(rss_kb(p, "RssAnon") for p in pids)
            report(f"{fn} idle RSS", f"{rss / 1024:.1f}", "MB", "< 8 MB",
                   f"private {anon / 1024:.1f} MB; the rest is shared library pages")
    out = subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", "30", "--export-json", "/dev/stdout",
                          f"{BUILD}/health --check-config"], capture_output=True, text=True,
                         env=stack.cli_env()).stdout
    mean = json.loads(out[out.index("{"):])["results"][0]["mean"] * 1000
    report("handler start-up (exec to config checked)", f"{mean:.1f}", "ms")


def load():
    return Path("/proc/loadavg").read_text().split()[:3]


def main():
    report("load average at start (1, 5, 15 min)", " ".join(load()), "", "", f"{os.cpu_count()} cores")
    now = int(time.time() * 1000)
    step = 1000
    fake_proc = subprocess.Popen(
        ["/usr/bin/python3", str(ROOT / "test/integration/testenv/fake_provider.py"), "--retell-key", SYNC_KEY,
         "--agents", "agent_s1,agent_s2", "--calls", str(SYNC_CALLS), "--transcript-bytes", "4000",
         "--step-ms", str(step), "--start-ms", str(now - SYNC_CALLS * step - 86_400_000)],
        stdout=subprocess.PIPE, text=True)
    fake_url = fake_proc.stdout.readline().split()[1]
    fake = FakeProvider()  # only builds realistic webhook payloads; never serves
    report("retell-webhook processes x threads", f"{WORKERS} x {THREADS}", "", "",
           "BENCH_WORKERS, BENCH_THREADS")
    stack = Stack(BUILD, fake_url, {"LOG_LEVEL": "warn", "STACK_WORKERS": WORKERS, "THREADS": THREADS,
                                    "STACK_PG_FSYNC": "on",
                                    "HTTP_MAX_RETRIES": "5", "HTTP_TIMEOUT_MS": "30000",
                                    "SYNC_DETAIL_CONCURRENCY": "16", "SYNC_USER_BUDGET_S": "3600"}).up()
    try:
        if "processes" in PARTS:
            bench_processes(stack)
        if "webhook" in PARTS:
            bench_webhook(stack, fake)
        if "costs" in PARTS:
            bench_costs(stack, fake)
        if "sync" in PARTS:
            bench_sync(stack, fake_url, fake_proc.pid)
    finally:
        stack.down()
        fake_proc.terminate()
        fake._server.server_close()
    report("load average at end (1, 5, 15 min)", " ".join(load()), "", "", "other work on the machine skews every figure")
    print()
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  {'unit':<7}  {'target':<16}  note")
    for name, value, unit, target, note in rows:
        print(f"{name:<{width}}  {value:>10}  {unit:<7}  {target:<16}  {note}")


if __name__ == "__main__":
    main()
