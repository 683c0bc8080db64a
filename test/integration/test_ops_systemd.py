"""The systemd side: every unit passes systemd-analyze verify and has Documentation= and an
OnFailure= alert; secrets come as credentials ($CREDENTIALS_DIRECTORY, LoadCredential=); the
migrations run as an unprivileged user taking the database URL from a credential, as
callbridge-migrate.service does under DynamicUser. (No systemd runs as PID 1 on the test machine:
the units themselves are verified, not started.)"""
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from testenv.stack import ROOT, wait_until

UNITS = ROOT / "deploy" / "systemd"


def installed_units(tmp_path):
    """The units as installed, with the paths they name pointing into this build and checkout."""
    build = Path(os.environ.get("CALLBRIDGE_BUILD", ROOT / "build"))
    for unit in UNITS.iterdir():
        text = (unit.read_text().replace("/usr/lib/callbridge/", f"{build}/")
                .replace("/usr/share/callbridge/db/", f"{ROOT}/db/"))
        (tmp_path / unit.name).write_text(text)
    return tmp_path


def test_every_unit_passes_systemd_analyze_verify(tmp_path):
    d = installed_units(tmp_path)
    names = ["callbridge@health.socket", "callbridge@health.service", "callbridge-daily-sync.service",
             "callbridge-daily-sync.timer", "callbridge-migrate.service",
             "callbridge-failure@callbridge@health.service.service"]
    out = subprocess.run(["systemd-analyze", "verify", *[str(d / n) for n in names]],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    ours = [line for line in (out.stderr + out.stdout).splitlines() if "callbridge" in line]
    assert not ours, "\n".join(ours)


def unit(name):
    return (UNITS / name).read_text()


def test_every_unit_documents_itself_and_services_alert_on_failure():
    for path in UNITS.iterdir():
        text = path.read_text()
        assert "\nDocumentation=file:/usr/share/doc/callbridge/operations.md\n" in text, path.name
        if path.suffix == ".service" and not path.name.startswith("callbridge-failure@"):
            assert "\nOnFailure=callbridge-failure@%n.service\n" in text, path.name
    # the alert unit's instance is the failed unit: its line names it
    assert "%i failed" in unit("callbridge-failure@.service")
    # what `meson install` puts there
    assert "install_data('docs/operations.md'" in (ROOT / "meson.build").read_text()


def test_service_units_take_secrets_as_credentials_and_give_up_after_a_start_limit():
    for name in ("callbridge@.service", "callbridge-daily-sync.service", "callbridge-migrate.service"):
        assert "\nLoadCredential=callbridge:/etc/callbridge/credentials\n" in unit(name), name
    svc = unit("callbridge@.service")
    assert "\nStartLimitBurst=5\n" in svc and "\nRuntimeDirectory=callbridge-%i\n" in svc
    assert "\nType=notify\n" in svc and "\nExecStartPre=/usr/lib/callbridge/%i --check-config\n" in svc


def write_credentials(d, values, prefix="callbridge_"):
    d.mkdir(mode=0o700, exist_ok=True)
    for k, v in values.items():
        (d / (prefix + k)).write_text(v + "\n")  # an editor's trailing newline is dropped
    return d


def probe_ready(sock):
    env = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/internal/ready/health", "CALLBRIDGE_PROBE": "ready"}
    return subprocess.run(["timeout", "10", "cgi-fcgi", "-bind", "-connect", str(sock)], env=env,
                          capture_output=True, text=True).stdout


def test_handler_reads_secrets_from_the_credentials_directory(stack, tmp_path):
    creds = write_credentials(tmp_path / "creds", {
        "DATABASE_URL": stack.database_url, "JWT_SECRET": stack.jwt_secret, "SECRETS_KEYS": stack.secrets_keys})
    env = stack.cli_env(CREDENTIALS_DIRECTORY=str(creds))
    for k in ("JWT_SECRET", "SECRETS_KEYS"):
        env.pop(k)
    env["DATABASE_URL"] = "postgresql:///nowhere?host=/nonexistent"  # the credential wins
    out = subprocess.run([str(stack.build / "health"), "--check-config"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    sock = tmp_path / "h.sock"
    proc = subprocess.Popen([str(stack.build / "health"), "--socket", str(sock)], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(sock.exists) and proc.poll() is None
        answer = probe_ready(sock)
        assert answer.startswith("Status: 200"), answer  # it reached the credential's database
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert stack.database_url not in proc.stderr.read()


def test_a_credential_named_like_the_variable_works_too(stack, tmp_path):
    creds = write_credentials(tmp_path / "creds", {"SECRETS_KEYS": stack.secrets_keys}, prefix="")
    env = stack.cli_env(CREDENTIALS_DIRECTORY=str(creds))
    env.pop("SECRETS_KEYS")
    out = subprocess.run([str(stack.build / "health"), "--check-config"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_a_credential_that_is_not_text_is_refused_by_name(stack, tmp_path):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "callbridge_JWT_SECRET").write_bytes(b"abc\0def")
    out = subprocess.run([str(stack.build / "health"), "--check-config"],
                         env=stack.cli_env(CREDENTIALS_DIRECTORY=str(creds)), capture_output=True, text=True)
    assert out.returncode == 1 and "JWT_SECRET credential" in out.stderr


def test_migrations_run_unprivileged_with_the_url_from_a_credential(stack, tmp_path):
    """callbridge-migrate.service's way: a user that owns nothing (DynamicUser), no DATABASE_URL
    in the environment, the URL in $CREDENTIALS_DIRECTORY. Stand-in user: nobody."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    top = Path(tempfile.mkdtemp(prefix="callbridge-creds-", dir="/tmp"))
    top.chmod(0o755)
    creds = write_credentials(top / "creds", {"DATABASE_URL": stack.database_url})
    shutil.chown(creds, "nobody")
    for f in creds.iterdir():
        shutil.chown(f, "nobody")
    # the stack's PostgreSQL socket directory, as /run/postgresql is: others may pass
    run = stack.var / "run"
    run.chmod(run.stat().st_mode | 0o001)
    env = {"PATH": os.environ["PATH"], "CREDENTIALS_DIRECTORY": str(creds)}
    out = subprocess.run(["runuser", "-u", "nobody", "--", str(ROOT / "db" / "migrate")], env=env,
                         capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    shutil.rmtree(top)
    assert re.search(r"0 applied, schema up to date", out.stdout)
