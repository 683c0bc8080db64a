"""Issue 16, finding 11: small leaks. --print-config prints no URL userinfo; the handlers are not
dumpable (no core file, no ptrace or /proc/<pid>/mem of a process holding keys by the same
user); the systemd units set LimitCORE=0. (The access-log part is issue 19's log_format.)"""
import os
import subprocess
import tempfile
import time
from pathlib import Path

from testenv.stack import ROOT, wait_until

UNITS = ROOT / "deploy" / "systemd"


def test_print_config_prints_no_url_userinfo(stack):
    env = stack.cli_env(RETELL_BASE_URL="https://ops:s3cr3t-token@api.retell.invalid/v2",
                        HIGHLEVEL_BASE_URL="http://svc@highlevel.invalid",
                        RECORDING_HOSTS="*.cloudfront.net")
    out = subprocess.run([str(stack.build / "health"), "--print-config"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "s3cr3t-token" not in out.stdout and "ops:" not in out.stdout and "svc@" not in out.stdout
    assert "RETELL_BASE_URL=https://(redacted)@api.retell.invalid/v2" in out.stdout
    assert "HIGHLEVEL_BASE_URL=http://(redacted)@highlevel.invalid" in out.stdout


def test_a_handler_is_not_dumpable(stack):
    """Run as an unprivileged user, a dumpable process's /proc/<pid> belongs to that user; the
    kernel gives a non-dumpable one's to root, which is also what keeps other processes of the
    same user from reading its memory."""
    with tempfile.TemporaryDirectory(prefix="callbridge-dump-") as d:
        os.chmod(d, 0o777)
        sock = Path(d) / "health.sock"
        proc = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 str(stack.build / "health"), "--socket", str(sock)],
                                env=stack.cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert wait_until(sock.exists, timeout=30), proc.stderr.read1().decode() if proc.poll() else ""
            assert os.stat(f"/proc/{proc.pid}/status").st_uid == 0, \
                "the handler is dumpable: its /proc entries belong to its user"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_units_allow_no_core_files():
    for unit in ("callbridge@.service", "callbridge-daily-sync.service"):
        lines = [l.strip() for l in (UNITS / unit).read_text().splitlines()]
        assert "LimitCORE=0" in lines, unit
