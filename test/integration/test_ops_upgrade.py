"""deploy/upgrade on the local stack: a good build goes in one function at a time with a backup
and the migrations; a build that breaks one function is rolled back at that function while the
others keep serving; a bad setting is refused before anything changes."""
import hashlib
import os
import shutil
import subprocess

import pytest
import requests

from testenv.stack import ROOT, Stack, wait_until

FUNCTIONS = sorted(p.stem for p in (ROOT / "handlers").glob("*.c"))


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def site(fake, tmp_path_factory):
    """A stack whose functions run from an installed directory, as under systemd."""
    build = ROOT / os.environ.get("CALLBRIDGE_BUILD", str(ROOT / "build"))
    bin_dir = tmp_path_factory.mktemp("bin")
    for fn in FUNCTIONS:
        shutil.copy2(build / fn, bin_dir / fn)
    s = Stack(build, fake.url, {"STACK_BIN": str(bin_dir), "STACK_WORKERS": "1"}).up()
    s.bin = bin_dir
    yield s
    reports = s.sanitizer_reports()
    s.down(keep=bool(reports))
    assert not reports, f"sanitizer reports: {reports}"


def upgrade(site, new_dir, *args, timeout=8):
    env = dict(site.env, UPGRADE_READY_TIMEOUT=str(timeout))
    return subprocess.run([str(ROOT / "deploy" / "upgrade"), "--stack", *args, str(new_dir)], env=env,
                          capture_output=True, text=True, timeout=600)


def new_build(site, tmp_path, broken=None, script=None):
    """A copy of the build as the 'new' one; broken names a function replaced by script."""
    new = tmp_path / "new"
    new.mkdir(parents=True)
    for fn in FUNCTIONS:
        shutil.copy2(site.build / fn, new / fn)
    if broken:
        (new / broken).unlink()
        (new / broken).write_text(script.replace("@REAL@", str(site.build / broken)))
        (new / broken).chmod(0o755)
    return new


def serving(site):
    return {fn: requests.get(f"http://127.0.0.1:{site.port}/internal/ready/{fn}", timeout=10).status_code
            for fn in FUNCTIONS}


def all_ready(site):
    return wait_until(lambda: set(serving(site).values()) == {200}, timeout=20)


def test_good_upgrade_backs_up_migrates_and_restarts_each_function(site, tmp_path):
    before = {fn: site.worker_pids(fn) for fn in FUNCTIONS}
    out = upgrade(site, new_build(site, tmp_path), timeout=30)
    assert out.returncode == 0, out.stderr
    for fn in FUNCTIONS:
        assert f"{fn}: ready" in out.stderr
        assert site.worker_pids(fn) != before[fn], f"{fn} was not restarted"
    backups = sorted((site.var / "backups").glob("*.dump"))
    assert backups, out.stderr
    listing = subprocess.run(["pg_restore", "--list", str(backups[-1])], capture_output=True, text=True)
    assert listing.returncode == 0 and "TABLE public calls" in listing.stdout
    assert (site.bin.parent / (site.bin.name + ".prev") / "health").exists()
    assert all_ready(site)


def test_a_function_that_never_gets_ready_rolls_back_while_the_others_serve(site, tmp_path):
    # passes its configuration check, then dies instead of serving
    script = '#!/bin/sh\n[ "$1" = --check-config ] && exec @REAL@ --check-config\nexit 3\n'
    new = new_build(site, tmp_path, broken="list-calls", script=script)
    old = {fn: digest(site.bin / fn) for fn in FUNCTIONS}
    proc = subprocess.Popen([str(ROOT / "deploy" / "upgrade"), "--stack", str(new)],
                            env=dict(site.env, UPGRADE_READY_TIMEOUT="6"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    codes = []
    while proc.poll() is None:
        # after list-calls in the order, so never restarted: it answers itself (401, no
        # token) all along, nginx never has to
        codes.append(requests.get(site.url("retell-connection"), timeout=10).status_code)
    err = proc.stderr.read()
    assert proc.returncode == 1, err
    assert codes and set(codes) == {401}
    assert "list-calls: not ready" in err and "rolled back" in err
    # the functions before it were upgraded, then put back; nothing after it was touched
    order = FUNCTIONS.index("list-calls")
    for fn in FUNCTIONS[:order]:
        assert f"{fn}: ready" in err
    for fn in FUNCTIONS[order + 1:]:
        assert f"{fn}: ready" not in err
    assert {fn: digest(site.bin / fn) for fn in FUNCTIONS} == old
    assert all_ready(site)
    r = requests.get(site.url("list-calls"), headers=site.auth(site.make_user("client")), timeout=10)
    assert r.status_code == 200, r.text


def test_a_bad_setting_is_refused_before_anything_changes(site, tmp_path):
    env_dir = site.var / "env"
    env_dir.mkdir(exist_ok=True)
    (env_dir / "list-calls.env").write_text("LOG_LEVEL=verbose\n")
    try:
        before = {fn: site.worker_pids(fn) for fn in FUNCTIONS}
        dumps = set((site.var / "backups").glob("*.dump"))
        out = upgrade(site, new_build(site, tmp_path))
        assert out.returncode == 1
        assert "list-calls: configuration refused" in out.stderr and "LOG_LEVEL" in out.stderr
        assert "nothing changed" in out.stderr
        assert {fn: site.worker_pids(fn) for fn in FUNCTIONS} == before
        assert set((site.var / "backups").glob("*.dump")) == dumps
        # the running function still has its old, good settings
        assert serving(site)["list-calls"] == 200
    finally:
        (env_dir / "list-calls.env").unlink()


def test_a_given_backup_is_checked_not_trusted(site, tmp_path):
    bogus = tmp_path / "bogus.dump"
    bogus.write_text("not a dump")
    out = upgrade(site, new_build(site, tmp_path), "--backup-file", str(bogus))
    assert out.returncode == 1 and "not a pg_dump archive" in out.stderr
    good = tmp_path / "good.dump"
    with good.open("wb") as f:
        subprocess.run(["pg_dump", "-Fc", site.database_url], stdout=f, check=True)
    os.utime(good, (0, 0))  # 1970: too old
    out = upgrade(site, new_build(site, tmp_path / "again"), "--backup-file", str(good))
    assert out.returncode == 1 and "hours old" in out.stderr
