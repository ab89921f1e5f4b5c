"""make-deb --service for real: the tiny-web fixture (an HTTP service and a worker) scaffolded
with two services, an environment file and a config file, built with dpkg-buildpackage through
dh_pyrpath, then:

- its units pass `systemd-analyze verify` and `systemd-analyze security`;
- installed with apt into a minimal chroot (the host's release) without systemd, it creates its system
  user and state directory and enables its units (deb-systemd-helper);
- each unit's ExecStart runs there the way systemd would run it: as the unit's user, with the
  EnvironmentFile's variables, in its WorkingDirectory, with no new privileges, no
  capabilities, a read-only system except the state directory, private /tmp, hidden /home;
  the HTTP service answers on loopback;
- an upgrade to 2.0.0 keeps local edits of /etc/default/tiny-web and /etc/tiny-web/tiny-web.conf
  (conffiles, --force-confold), the user and the state; purge removes config and state;
- the --supervisor variant runs under a real supervisord (Debian's package, in its own chroot)
  with a test configuration that includes the generated program section; a killed service is
  restarted; with Debian's own supervisord configuration running, the maintainer scripts
  restart the programs on upgrade, stop and remove them on removal and add them on install.

The .debs are built once per run (tests/service_hosts.py) and shared with test_publish_e2e.py.
"""
import os
import re
import signal
import time

import pytest

import chroots
from conftest import HOST_XY, lintian, run
from service_hosts import (PACKAGE, UnitCommand, built, exposure, forbid_service_starts,
                           free_port, get_json, host_pid, need_host_tools, spawn, stop,
                           verify_units)

pytestmark = pytest.mark.e2e

UNITS = ["tiny-web.service", "tiny-web-worker.service"]
CONFFILES = ["/etc/default/tiny-web", "/etc/tiny-web/tiny-web.conf"]


@pytest.fixture(scope="module")
def v1(request, tmp_path_factory, suite_cache):
    return built("v1", request, tmp_path_factory)


@pytest.fixture(scope="module")
def v2(request, tmp_path_factory, suite_cache):
    return built("v2", request, tmp_path_factory)


@pytest.fixture(scope="module")
def supervisor_deb(request, tmp_path_factory, suite_cache):
    return built("supervisor", request, tmp_path_factory)


@pytest.fixture(scope="module")
def target(v1, tmp_path_factory):
    """A minimal chroot of the host's release (no systemd, no init) with tiny-web 1.0.0 installed by apt.
    The tests below run in file order on it: install, run, upgrade, purge."""
    with chroots.fresh(chroots.MINBASE, tmp_path_factory.mktemp("services")) as chroot:
        forbid_service_starts(chroot)
        assert not chroot.exists("/lib/systemd/systemd")
        chroot.install_debs(v1)
        yield chroot


def set_port(chroot, port):
    """The local edit an admin makes: another port in /etc/default/tiny-web."""
    path = chroot / "etc/default/tiny-web"
    text, n = re.subn(r"(?m)^TINY_WEB_PORT=.*$", f"TINY_WEB_PORT={port}", path.read_text())
    assert n == 1, text
    path.write_text(text)


def control_field(deb, field):
    return run(["dpkg-deb", "--field", str(deb), field]).stdout.strip()


# ------------------------------------------------------------------ the package itself

def test_package_ships_units_conffiles_and_scripts(v1, tmp_path):
    contents = run(["dpkg-deb", "--contents", str(v1)]).stdout
    for path in [f"./lib/systemd/system/{u}" for u in UNITS] + ["." + c for c in CONFFILES]:
        assert path in contents, path
    control = tmp_path / "control"
    run(["dpkg-deb", "--control", str(v1), str(control)])
    assert sorted((control / "conffiles").read_text().split()) == sorted(CONFFILES)
    assert "adduser" in re.split(r",\s*", control_field(v1, "Depends"))
    postinst = (control / "postinst").read_text()
    # the user before debhelper's snippets (which may start the units)
    assert postinst.index("adduser --system") < postinst.index("deb-systemd-helper")
    for unit in UNITS:
        assert f"deb-systemd-helper enable '{unit}'" in postinst
    # dh_installsystemd's defaults: start on install, restart (not stop+start) on upgrade
    assert "_dh_action=restart" in postinst and "deb-systemd-invoke $_dh_action" in postinst
    assert not (control / "preinst").exists()


def test_units_pass_systemd_analyze(v1, tmp_path):
    need_host_tools("systemd-analyze")
    proc = verify_units(v1, UNITS, tmp_path)
    ours = [ln for ln in proc.stdout.splitlines() if "tiny-web" in ln]
    assert proc.returncode == 0 and not ours, proc.stdout
    for unit in UNITS:
        level, report = exposure(tmp_path / "verify-root" / "lib/systemd/system" / unit)
        # 0 = locked down .. 10 = unprotected; "OK" is below 4 (measured: 1.7)
        assert level <= 2.5, report


# ------------------------------------------------------------------ installed, run, upgraded

def test_install_creates_user_and_state_dir_and_enables_units(target):
    name, _, uid, gid, _, home, shell = target.run(
        "getent", "passwd", PACKAGE).stdout.strip().split(":")
    assert int(uid) < 1000 and home == "/var/lib/tiny-web" and shell == "/usr/sbin/nologin"
    assert target.run("getent", "group", PACKAGE).stdout.split(":")[2] == gid
    st = os.stat(target / "var/lib/tiny-web")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (int(uid), int(gid), 0o750)
    wants = target / "etc/systemd/system/multi-user.target.wants"
    for unit in UNITS:
        assert os.readlink(wants / unit) == f"/lib/systemd/system/{unit}"
    status = target.run("dpkg-query", "-W", "-f", "${Conffiles}", PACKAGE).stdout
    assert all(c in status for c in CONFFILES), status


def test_units_run_as_systemd_would_run_them(target, tmp_path):
    port = free_port()
    set_port(target, port)
    web = UnitCommand(target, "tiny-web.service")
    assert web.hardened == {"ProtectSystem": "strict", "ProtectHome": "yes",
                            "PrivateTmp": "yes", "NoNewPrivileges": "yes"}
    # ${TINY_WEB_PORT} from the EnvironmentFile, '%%' back to '%', the quoted word kept whole
    assert web.argv == ["/opt/tiny-web/bin/tiny-web", "--port", str(port),
                        "--banner", "100% tiny"]
    log = tmp_path / "tiny-web.log"
    proc = spawn(target, web.argv, env=web.env, cwd=web.cwd, user=web.user, sandbox=web,
                 log=log)
    try:
        first = get_json(port, proc=proc, log=log)
        uid = int(target.run("id", "-u", PACKAGE).stdout)
        assert (first["user"], first["uid"]) == (PACKAGE, uid)
        assert first["cwd"] == "/var/lib/tiny-web"
        assert first["executable"] == f"/opt/tiny-web/bin/python{HOST_XY}"
        assert first["greeting"] == "hello from 1.0.0" and first["banner"] == "100% tiny"
        assert "shipped with 1.0.0" in first["config"]
        assert first["umask"] == "0o27"
        # ProtectSystem=strict + StateDirectory=: only the state dir (and private /tmp)
        assert first["writable"] == {"/var/lib/tiny-web": True, "/tmp": True,
                                     "/opt/tiny-web": False, "/etc": False}
        assert get_json(port)["hits"] == first["hits"] + 1  # state is kept in the state dir
        status = (f"/proc/{host_pid(target, first['pid'], '/opt/tiny-web/bin/tiny-web')}"
                  f"/status")
        with open(status) as fh:
            fields = dict(line.split(":", 1) for line in fh)
        assert fields["NoNewPrivs"].strip() == "1" and int(fields["CapBnd"], 16) == 0
    finally:
        stop(proc)
    assert "listening on" in log.read_text()  # stdout: what the journal would get

    worker = UnitCommand(target, "tiny-web-worker.service")
    assert worker.argv == ["/opt/tiny-web/bin/tiny-web-worker", "--interval", "1"]
    log = tmp_path / "worker.log"
    proc = spawn(target, worker.argv, env=worker.env, cwd=worker.cwd, user=worker.user,
                 sandbox=worker, log=log)
    try:
        deadline = time.monotonic() + 60
        while "tick 2" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.3)
        assert "tick 2" in log.read_text(), log.read_text()
    finally:
        stop(proc)


def test_upgrade_keeps_local_config_user_and_state(target, v2, tmp_path):
    port = free_port()
    set_port(target, port)
    conf = target / "etc/tiny-web/tiny-web.conf"
    conf.write_text(conf.read_text() + "motd = edited on this server\n")
    edited = {c: (target / c).read_text() for c in CONFFILES}
    before = target.run("getent", "passwd", PACKAGE).stdout
    uid, gid = before.split(":")[2:4]
    target.run("sh", "-c", "echo 41 > hits", user=f"{uid}:{gid}", cwd="/var/lib/tiny-web")

    # the package changed both files too: dpkg would ask; these options keep the local ones
    target.install_debs(v2, args=["-o", "Dpkg::Options::=--force-confdef",
                                  "-o", "Dpkg::Options::=--force-confold"])
    assert target.run("dpkg-query", "-W", "-f", "${Version}", PACKAGE).stdout == "2.0.0"
    for path, text in edited.items():
        assert (target / path).read_text() == text, path
        # the package's new version lies next to it
        assert target.exists(path + ".dpkg-dist"), path
    assert "GREETING='hello from 2.0.0'" in (target / "etc/default/tiny-web.dpkg-dist").read_text()
    assert target.run("getent", "passwd", PACKAGE).stdout == before  # user left alone

    web = UnitCommand(target, "tiny-web.service")
    log = tmp_path / "tiny-web.log"
    proc = spawn(target, web.argv, env=web.env, cwd=web.cwd, user=web.user, sandbox=web,
                 log=log)
    try:
        report = get_json(port, proc=proc, log=log)
    finally:
        stop(proc)
    assert report["version"] == "2.0.0"
    assert report["greeting"] == "hello from 1.0.0"  # the kept environment file
    assert "motd = edited on this server" in report["config"]
    assert report["hits"] == 42  # the state directory survived the upgrade


def test_purge_removes_config_and_state_but_not_the_user(target):
    target.apt_get("purge", PACKAGE)
    for path in CONFFILES + ["/var/lib/tiny-web", "/opt/tiny-web", "/etc/tiny-web",
                             "/etc/default/tiny-web.dpkg-dist"]:
        assert not target.exists(path), path
    wants = target / "etc/systemd/system/multi-user.target.wants"
    assert not any(os.path.lexists(wants / u) for u in UNITS)
    # policy: system users are not removed, files they own may remain elsewhere
    assert target.run("getent", "passwd", PACKAGE, check=False).returncode == 0


# ------------------------------------------------------------------ supervisord

SUPERVISORD_CONF = """\
[unix_http_server]
file=/tmp/sv/supervisor.sock

[supervisord]
nodaemon=true
user=root
pidfile=/tmp/sv/supervisord.pid
logfile=/tmp/sv/supervisord.log
childlogdir=/tmp/sv

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix:///tmp/sv/supervisor.sock

[include]
files = /etc/supervisor/conf.d/tiny-web.conf
"""


@pytest.fixture(scope="module")
def supervisor_target(supervisor_deb, tmp_path_factory):
    """Another minimal chroot, with the --supervisor variant installed by apt, which pulls
    Debian's supervisor (kept from starting by policy-rc.d, as in a container image)."""
    with chroots.fresh(chroots.MINBASE, tmp_path_factory.mktemp("supervisor")) as chroot:
        forbid_service_starts(chroot)
        chroot.install_debs(supervisor_deb)
        yield chroot


def wait_for(predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_supervisor_runs_and_restarts_a_killed_service(supervisor_deb, supervisor_target,
                                                       tmp_path):
    target = supervisor_target
    assert "supervisor" in re.split(r",\s*", control_field(supervisor_deb, "Depends"))
    assert not target.exists("/lib/systemd/system/tiny-web.service")
    status = target.run("dpkg-query", "-W", "-f", "${Conffiles}", PACKAGE).stdout
    assert "/etc/supervisor/conf.d/tiny-web.conf" in status
    port = free_port()
    set_port(target, port)
    (target / "tmp/sv").mkdir()
    (target / "tmp/sv/supervisord.conf").write_text(SUPERVISORD_CONF)
    log = tmp_path / "supervisord.out"
    proc = spawn(target, ["supervisord", "-c", "/tmp/sv/supervisord.conf"],
                 env={"PATH": chroots.SYSTEM_PATH, "LC_ALL": "C.UTF-8"}, log=log)
    ctl = ["supervisorctl", "-c", "/tmp/sv/supervisord.conf"]
    try:
        first = get_json(port, proc=proc, log=log)
        assert (first["user"], first["cwd"]) == (PACKAGE, "/var/lib/tiny-web")
        assert first["greeting"] == "hello from 1.0.0" and first["banner"] == "100% tiny"
        assert first["argv"][1:] == ["--port", str(port), "--banner", "100% tiny"]
        assert first["umask"] == "0o27"

        os.kill(host_pid(target, first["pid"], "/opt/tiny-web/bin/tiny-web"), signal.SIGKILL)
        second = get_json(port, proc=proc, log=log, differs_from=first["pid"])
        assert second["hits"] == first["hits"] + 1

        out = wait_for(lambda: (lambda o: o if o.count("RUNNING") == 2 else None)(
            target.run(*ctl, "status", check=False).stdout), "both programs RUNNING")
        # (supervisorctl shows a program named like its group without the group prefix)
        assert re.search(r"^(tiny-web:)?tiny-web\s+RUNNING", out, re.M), out
        assert re.search(r"tiny-web:tiny-web-worker\s+RUNNING", out), out
        daemon_log = (target / "tmp/sv/supervisord.log").read_text()
        assert "exited: tiny-web (terminated by SIGKILL; not expected)" in daemon_log
        # stdout and stderr in one size-rotated file per program
        program_log = (target / "var/log/supervisor/tiny-web.log").read_text()
        assert program_log.count("listening on") == 2, program_log
        assert '"GET / HTTP/1.1" 200' in program_log
        assert "tick 1" in (target / "var/log/supervisor/tiny-web-worker.log").read_text()
    finally:
        target.run(*ctl, "shutdown", check=False)
        stop(proc)


def test_supervisor_maintainer_scripts_drive_a_running_supervisord(supervisor_deb,
                                                                   supervisor_target, tmp_path):
    """Debian's own supervisord configuration, running: the postinst restarts the programs on
    upgrade (here a reinstall), the prerm stops and removes them, the postinst of a later
    install adds them back."""
    target = supervisor_target
    port = free_port()
    set_port(target, port)
    log = tmp_path / "supervisord.out"
    proc = spawn(target, ["supervisord", "-n", "-c", "/etc/supervisor/supervisord.conf"],
                 env={"PATH": chroots.SYSTEM_PATH, "LC_ALL": "C.UTF-8"}, log=log)
    try:
        first = get_json(port, proc=proc, log=log)  # conf.d/tiny-web.conf read at start
        target.install_debs(supervisor_deb, args=["--reinstall"])  # postinst configure <old>
        restarted = get_json(port, proc=proc, log=log, differs_from=first["pid"])
        assert restarted["user"] == PACKAGE

        target.apt_get("remove", PACKAGE)  # prerm: stop and remove the group
        status = target.run("supervisorctl", "status", check=False).stdout
        assert "tiny-web" not in status, status
        with pytest.raises(AssertionError, match="nothing answered"):
            get_json(port, timeout=3)
        assert target.exists("/etc/supervisor/conf.d/tiny-web.conf")  # conffile until purge

        target.install_debs(supervisor_deb)  # postinst: reread + update adds the group
        again = get_json(port, proc=proc, log=log)
        assert again["pid"] != restarted["pid"]
    finally:
        target.run("supervisorctl", "shutdown", check=False)
        stop(proc)


def test_lintian_has_nothing_to_say_about_the_service_parts(v1, supervisor_deb):
    proc = lintian(v1, supervisor_deb, env={"PATH": chroots.SYSTEM_PATH, "LC_ALL": "C.UTF-8"})
    complaints = [ln for ln in proc.stdout.splitlines()
                  if ln[:2] in ("E:", "W:") and "no-manual-page" not in ln]
    assert not complaints, proc.stdout
