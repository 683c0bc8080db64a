"""The stack under test: deploy/stack itself, pointed at a throwaway directory and port."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2
import psycopg2.extras

ROOT = Path(__file__).resolve().parents[3]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_hs256(secret, claims, header=None):
    head = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def supabase_keys_env(var):
    """Supabase's newer keys for the stack, beside the legacy JWT secret: a signing key published
    as a JWKS (ES256, shaped like /auth/v1/.well-known/jwks.json) and an opaque secret API key."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives import serialization

    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    kid = str(uuid.uuid4())
    jwk = {"alg": "ES256", "crv": "P-256", "ext": True, "key_ops": ["verify"], "kid": kid,
           "kty": "EC", "use": "sig", "x": b64url(numbers.x.to_bytes(32, "big")),
           "y": b64url(numbers.y.to_bytes(32, "big"))}
    (var / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    (var / "signing-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return {"JWT_JWKS_FILE": str(var / "jwks.json"),
            "SUPABASE_SECRET_KEYS": "sb_secret_" + b64url(os.urandom(24))}


class Stack:
    def __init__(self, build, provider_url, extra_env=None):
        self.var = Path(tempfile.mkdtemp(prefix="callbridge-test-", dir="/tmp"))
        self.port = free_port()
        self.build = Path(build)
        self.env = dict(os.environ)
        self.env.update({
            "STACK_VAR": str(self.var),
            "STACK_PORT": str(self.port),
            "STACK_BUILD": str(self.build),
            "STACK_SKIP_DEPS": "1",
            "STACK_SKIP_BUILD": "1",
            "STACK_PG_FSYNC": "off",
            "STACK_WORKERS": "2",
            "RETELL_BASE_URL": provider_url,
            "HIGHLEVEL_BASE_URL": provider_url,
            "HIGHLEVEL_CLIENT_ID": "fake-hl-client-id",
            "HIGHLEVEL_CLIENT_SECRET": "fake-hl-client-secret",
            "HIGHLEVEL_REDIRECT_URI": "http://127.0.0.1/oauth/callback",
            "RECORDING_HOSTS": "127.0.0.1",
            "HTTP_TIMEOUT_MS": "3000",
            "HTTP_MAX_RETRIES": "2",
            "HTTP_BACKOFF_BASE_MS": "20",
            "HTTP_BACKOFF_MAX_MS": "1500",
            "LOG_LEVEL": "info",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:log_path=" + str(self.var / "log" / "asan"),
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:log_path=" + str(self.var / "log" / "ubsan"),
        })
        self.env.update(supabase_keys_env(self.var))
        if os.environ.get("TEST_PGBOUNCER"):
            # the functions and the syncs reach PostgreSQL through PgBouncer (transaction mode)
            self.env["STACK_PGBOUNCER_PORT"] = str(free_port())
        self.env.update(extra_env or {})
        self.base_url = f"http://127.0.0.1:{self.port}/functions/v1"
        self._conn = None

    def run(self, *args, check=True):
        return subprocess.run([str(ROOT / "deploy" / "stack"), *args], env=self.env, check=check,
                              capture_output=True, text=True, timeout=300)

    def up(self):
        out = self.run("up", check=False)
        if out.returncode != 0:
            raise RuntimeError(f"deploy/stack up failed:\n{out.stdout}\n{out.stderr}")
        envfile = (self.var / "stack.env").read_text().splitlines()
        self.secrets_keys = next(l.split("=", 1)[1] for l in envfile if l.startswith("SECRETS_KEYS="))
        for line in self.run("env").stdout.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            self.env.setdefault("STACK_" + key, value.strip("'"))
            setattr(self, key.lower(), value.strip("'"))
        # the functions (and the syncs' command line) reach PostgreSQL through a pooler when
        # there is one; the tests' own SQL and databases go straight to it (database_url)
        self.functions_database_url = self.database_url
        self.database_url = getattr(self, "direct_database_url", self.database_url)
        return self

    def down(self, keep=False):
        if self._conn is not None:
            self._conn.close()
        self.run("down", check=False)
        if not keep:
            shutil.rmtree(self.var, ignore_errors=True)

    def cli_env(self, **extra):
        """The environment a function's command-line mode needs (what the handlers get)."""
        env = dict(self.env)
        env.update({"DATABASE_URL": self.functions_database_url, "JWT_SECRET": self.jwt_secret,
                    "SECRETS_KEYS": self.secrets_keys})
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def cli(self, fn, *args, **extra):
        """Starts `<build>/<fn> args...` (the cron form); returns the Popen."""
        return subprocess.Popen([str(self.build / fn), *args], env=self.cli_env(**extra),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def url(self, fn, sub=""):
        return f"{self.base_url}/{fn}{sub}"

    # database -----------------------------------------------------------------------------
    def conn(self):
        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(self.database_url)
            self._conn.autocommit = True
        return self._conn

    def sql(self, query, params=None):
        for attempt in (1, 2):
            try:
                with self.conn().cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                    cur.execute(query, params)
                    return cur.fetchall() if cur.description else []
            except psycopg2.OperationalError:
                # the test's own connection dies when a test restarts PostgreSQL
                self._conn = None
                if attempt == 2:
                    raise

    def truncate_all(self):
        """Empties every table of the application and of auth, whichever migration made it: the
        catalog lists them, so a table a later migration adds is emptied too. Only the ledger of
        applied migrations (schema_migrations) is kept."""
        names = [r["t"] for r in self.sql(
            """SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
               WHERE schemaname IN ('public', 'auth') AND tablename <> 'schema_migrations'
               ORDER BY 1""")]
        self.sql(f"TRUNCATE {', '.join(names)} CASCADE")

    def make_user(self, role="client", email=None):
        uid = str(uuid.uuid4())
        self.sql("INSERT INTO auth.users (id, email) VALUES (%s, %s)", (uid, email or f"{uid}@example.test"))
        self.sql("INSERT INTO profiles (id, email, role) VALUES (%s, %s, %s)", (uid, email, role))
        return uid

    # tokens -------------------------------------------------------------------------------
    def token(self, user_id=None, role="authenticated", exp_in=3600, secret=None, aud="authenticated"):
        now = int(time.time())
        claims = {"role": role, "aud": aud, "iat": now, "exp": now + exp_in}
        if user_id:
            claims["sub"] = user_id
        return sign_hs256(secret or self.jwt_secret, claims)

    def auth(self, user_id=None, **kw):
        return {"Authorization": "Bearer " + self.token(user_id, **kw)}

    def service_headers(self):
        return {"Authorization": "Bearer " + self.service_role_key}

    # processes ----------------------------------------------------------------------------
    def restart(self, fn):
        self.run("restart", fn)

    def supervisor_pid(self, fn):
        """The pid of the function's multiwatch (deploy/stack's pid file)."""
        return int((self.var / "run" / f"{fn}.pid").read_text())

    def worker_pids(self, fn):
        """The pids of the function's workers: multiwatch's children."""
        out = subprocess.run(["pgrep", "-P", str(self.supervisor_pid(fn))], capture_output=True, text=True)
        return sorted(int(p) for p in out.stdout.split())

    def pg_stop(self):
        self.run("pg", "stop")

    def pg_start(self):
        self.run("pg", "start")

    def logs(self):
        text = []
        for f in sorted((self.var / "log").glob("*")):
            if f.is_file():
                text.append(f.read_text(errors="replace"))
        text.append((self.var / "nginx" / "logs" / "error.log").read_text(errors="replace")
                    if (self.var / "nginx" / "logs" / "error.log").exists() else "")
        return "\n".join(text)

    def sanitizer_reports(self):
        return [f for f in (self.var / "log").glob("*san*") if f.read_text(errors="replace").strip()]
