"""Two tenants and an admin, for the authorisation matrix and the hostile-input tests (issue 10):
client A with a connected Retell workspace (sealed key), an assigned agent and one call whose
recording the fake serves, and a connected HighLevel location with one agent and one call log;
client B with an agent and a call of their own; an admin. Plus a fingerprint of
every table, to prove that a request wrote nothing."""
import time
from dataclasses import dataclass, field

from testenv import highlevel as hl
from testenv.secrets import seal

KEY_A = "key_world_A_0123456789abcdef0123"
LOC_A = "loc_world_A_0001"
AGENT_A = "agent_world_a"
AGENT_B = "agent_world_b"
HL_AGENT_A = "hl_world_agent_a"
DAY_MS = 86_400_000


@dataclass
class TwoTenants:
    stack: object
    fake: object
    a: str = ""
    b: str = ""
    admin: str = ""
    agent_a: str = ""           # agents.id
    agent_b: str = ""
    hl_agent_a: str = ""
    call_a: str = ""            # calls.id of A's call
    call_b: str = ""
    retell_call_a: str = ""     # its provider id
    secrets_of_a: list = field(default_factory=list)   # strings B must never see

    def plant_key(self):
        sealed = seal(self.stack.secrets_keys, self.a, "retell", "access_token", KEY_A)
        self.stack.sql("""INSERT INTO api_keys (user_id, service, access_token, is_active)
                          VALUES (%s, 'retell', %s, true)
                          ON CONFLICT (user_id, service) DO UPDATE
                          SET access_token = EXCLUDED.access_token, is_active = true""",
                       (self.a, sealed))

    def restore(self):
        """Undoes what a request may have changed on purpose: a disconnect, an unassignment,
        calls a sync or a delivery added."""
        if self.call_a:
            self.stack.sql("DELETE FROM calls WHERE id NOT IN (%s, %s)", (self.call_a, self.call_b))
        row = self.stack.sql("SELECT is_active, access_token FROM api_keys WHERE user_id = %s"
                             " AND service = 'retell'", (self.a,))
        if not row or not row[0]["is_active"] or row[0]["access_token"] is None:
            self.plant_key()
        self.stack.sql("""INSERT INTO user_agents (user_id, agent_id, source_platform)
                          VALUES (%s, %s, 'retell') ON CONFLICT DO NOTHING""", (self.a, self.agent_a))


def make_two_tenants(stack, fake):
    stack.truncate_all()
    fake.reset()
    w = TwoTenants(stack, fake)
    w.a, w.b, w.admin = stack.make_user("client"), stack.make_user("client"), stack.make_user("admin")
    fake.add_retell_agent(KEY_A, agent_id=AGENT_A, name="World Front Desk A")
    w.plant_key()
    w.agent_a = str(stack.sql("""INSERT INTO agents (name, source_platform, retell_agent_id)
                                 VALUES ('World Front Desk A', 'retell', %s) RETURNING id""",
                              (AGENT_A,))[0]["id"])
    w.agent_b = str(stack.sql("""INSERT INTO agents (name, source_platform, retell_agent_id)
                                 VALUES ('World Sales B', 'retell', %s) RETURNING id""",
                              (AGENT_B,))[0]["id"])
    w.restore()
    stack.sql("""INSERT INTO user_agents (user_id, agent_id, source_platform)
                 VALUES (%s, %s, 'retell')""", (w.b, w.agent_b))
    call = fake.add_retell_call(KEY_A, fake.make_retell_call(
        AGENT_A, call_id="call_world_a", start_ms=int(time.time() * 1000) - DAY_MS))
    w.retell_call_a = call["call_id"]
    w.call_a = str(stack.sql("""INSERT INTO calls (retell_call_id, source_platform, user_id, agent_id,
                                    started_at, recording_url, summary)
                                VALUES (%s, 'retell', %s, %s, now() - interval '1 day', %s,
                                        'A private summary of call A')
                                RETURNING id""",
                             (w.retell_call_a, w.a, w.agent_a, call["recording_url"]))[0]["id"])
    w.call_b = str(stack.sql("""INSERT INTO calls (retell_call_id, source_platform, user_id, agent_id,
                                    started_at, summary)
                                VALUES ('call_world_b', 'retell', %s, %s, now() - interval '2 days',
                                        'B summary') RETURNING id""", (w.b, w.agent_b))[0]["id"])
    # A's HighLevel location, with one Voice AI agent and one call log for the syncs
    hl.connect(stack, fake, w.a, LOC_A)
    fake.add_hl_agent(LOC_A, agent_id=HL_AGENT_A, name="World HL Agent A")
    w.hl_agent_a = str(hl.plant_agent(stack, HL_AGENT_A, LOC_A, assign_to=w.a, name="World HL Agent A"))
    fake.add_hl_call(LOC_A, fake.make_hl_call(LOC_A, HL_AGENT_A))
    w.secrets_of_a = [w.call_a, w.retell_call_a, "A private summary", "World Front Desk A",
                      AGENT_A, LOC_A, "World HL Agent A", KEY_A, KEY_A[-8:]]
    return w


def tables(stack):
    """Every base table of the application and of auth."""
    return [f'{r["s"]}.{r["t"]}' for r in stack.sql(
        """SELECT table_schema AS s, table_name AS t FROM information_schema.tables
           WHERE table_type = 'BASE TABLE' AND table_schema IN ('public', 'auth')
           ORDER BY 1, 2""")]


def fingerprint(stack, names=None):
    """{table: (rows, md5 of every row's text)}: any insert, update or delete changes it."""
    parts = [f"SELECT '{t}' AS t, count(*) AS n,"
             f" md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM {t} x"
             for t in names or tables(stack)]
    return {r["t"]: (r["n"], r["h"]) for r in stack.sql(" UNION ALL ".join(parts))}


def changed(before, after):
    return sorted(t for t in after if before.get(t) != after[t])
