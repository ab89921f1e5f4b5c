"""Helpers for the service and publishing end-to-end tests (test_services_e2e.py,
test_publish_e2e.py): building the tiny-web fixture once per run, running a service inside a
chroot the way its systemd unit says (user, environment file, working directory, a read-only
system), in the background, and finding its processes from the host.

tests/chroots.py makes and runs the chroots; this module only adds what it lacks: a command
started in the background (chroots.Chroot.run waits for its command).
"""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import chroots
from conftest import REPO, apt, build_deb, run
from conftest import pyrpath_build_setup as pyrpath_build

FIXTURE = Path(__file__).parent / "data" / "services" / "tiny-web"
PACKAGE = "tiny-web"
# The command lines of the two services. ${TINY_WEB_PORT} is expanded by systemd (from the
# EnvironmentFile) or by sh (supervisord's command); '100% tiny' checks the quoting of a word
# with a space and of '%' (a specifier for systemd, interpolation for supervisord).
SERVICES = ["tiny-web --port ${TINY_WEB_PORT} --banner '100% tiny'",
            "tiny-web-worker --interval 1"]
# The systemd variant of each version and the supervisord one.
VARIANTS = {
    "v1": ("1.0.0", []),
    "v2": ("2.0.0", []),
    "supervisor": ("1.0.0", ["--supervisor"]),
}
# Host tools the tests use, and the Debian packages that have them.
HOST_TOOLS = {"systemd-analyze": "systemd", "apt-ftparchive": "apt-utils", "gpg": "gnupg",
              "flock": "util-linux"}

_built = {}


def need_host_tools(*tools):
    """Install the Debian packages of missing host tools (tests/run normally has them)."""
    missing = sorted({HOST_TOOLS[t] for t in tools
                      if not shutil.which(t, path=chroots.SYSTEM_PATH)})
    if missing:
        apt("install", "--no-install-recommends", *missing)


def make_deb(project, *args):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PYTHONPATH=str(REPO), SOURCE_DATE_EPOCH="1700000000", PATH=chroots.SYSTEM_PATH)
    return run(["/usr/bin/python3", "-m", "make_deb", "--yes", "--maintainer-name",
                "Deb Packager", "--maintainer-email", "deb@example.org", *args],
               cwd=project, env=env)


def project_copy(variant, parent):
    """The fixture project at the variant's version, with its shipped config saying so."""
    version, _ = VARIANTS[variant]
    project = Path(parent) / variant / PACKAGE
    shutil.copytree(FIXTURE, project)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "1.0.0"',
                                                       f'version = "{version}"'))
    conf = project / "conf" / "tiny-web.conf"
    conf.write_text(conf.read_text().replace("1.0.0", version))
    return project


def built(variant, request, tmp_path_factory):
    """The .deb of a variant, built once per test run whichever module asks first."""
    if variant not in _built:
        version, extra = VARIANTS[variant]
        project = project_copy(variant, tmp_path_factory.mktemp("tiny-web-build"))
        args = [a for spec in SERVICES for a in ("--service", spec)]
        make_deb(project, *args, "--env", "TINY_WEB_PORT=8080",
                 "--env", f"GREETING=hello from {version}", "--config", "conf/tiny-web.conf",
                 *extra)
        build_args, env = pyrpath_build(request, tmp_path_factory)
        debs = build_deb(project, *build_args, env=env)  # zstd: make-deb's debian/rules
        main = [d for d in debs if d.name == f"{PACKAGE}_{version}_{deb_arch()}.deb"]
        assert main, f"no {PACKAGE} {version} .deb among {debs}"
        _built[variant] = main[0]
    return _built[variant]


def deb_arch():
    return run(["dpkg", "--print-architecture"]).stdout.strip()


# ------------------------------------------------------------------ files as systemd reads them

def parse_unit(text):
    """{section: {key: [values]}} of a unit file (keys may repeat; '\\' continues a line)."""
    sections, current = {}, None
    text = re.sub(r"\\\n", " ", text)
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def parse_env_file(text):
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments, quotes)."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def split_exec(value, env):
    """ExecStart= as systemd runs it: words (quotes), %% -> %, ${VAR} expanded in place."""
    words = shlex.split(value.lstrip("-@:+!"))
    expanded = []
    for word in words:
        word = word.replace("%%", "\0")
        assert "%" not in word, f"unexpected systemd specifier in {word!r}"
        word = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), word)
        expanded.append(word.replace("\0", "%"))
    return expanded


class UnitCommand:
    """What systemd would execute for a unit: argv, environment, user, directory and the
    paths ProtectSystem=strict leaves writable."""

    def __init__(self, chroot, unit):
        self.unit = parse_unit((chroot / f"lib/systemd/system/{unit}").read_text())
        service = self.unit["Service"]
        user = service["User"][-1]
        self.cwd = service.get("WorkingDirectory", ["/"])[-1]
        passwd = chroot.run("getent", "passwd", user).stdout.strip().split(":")
        self.user = (user, int(passwd[3]))  # Group= unset: the user's primary group
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "USER": user,
               "LOGNAME": user, "HOME": passwd[5], "SHELL": passwd[6]}
        for item in service.get("Environment", []):
            for word in shlex.split(item):
                k, _, v = word.partition("=")
                env[k] = v
        for path in service.get("EnvironmentFile", []):
            optional = path.startswith("-")
            path = path.lstrip("-")
            if optional and not chroot.exists(path):
                continue
            env.update(parse_env_file((chroot / path).read_text()))
        self.env = env
        self.argv = split_exec(service["ExecStart"][-1], env)
        self.writable = [f"/var/lib/{d}" for v in service.get("StateDirectory", [])
                         for d in v.split()]
        self.writable += [p.lstrip("-") for v in service.get("ReadWritePaths", [])
                          for p in v.split()]
        self.umask = service.get("UMask", ["0022"])[-1]
        self.hardened = {k: service.get(k, [""])[-1] for k in
                         ("ProtectSystem", "ProtectHome", "PrivateTmp", "NoNewPrivileges")}


# ------------------------------------------------------------------ background processes

def spawn(chroot, argv, env=None, cwd="/", user=None, sandbox=None, log=None):
    """Start argv inside the chroot in the background; return the Popen (of `unshare`).

    Like chroots.Chroot.run, it runs in private mount and PID namespaces, so everything it
    mounted and started goes when stop() kills it. With `user` ((name, gid)), it runs through
    setpriv as that user with no new privileges and an empty capability bounding set. With
    `sandbox` (a UnitCommand), the file system looks as systemd's hardening makes it look:
    everything read-only (ProtectSystem=strict) but the writable paths, private /tmp and
    /var/tmp (PrivateTmp=), empty inaccessible /home and /root (ProtectHome=)."""
    root = str(chroot.root)
    mounts = ['mount --bind "$r" "$r"', 'mount -t proc proc "$r/proc"']
    if sandbox is not None:
        if sandbox.hardened["PrivateTmp"] == "yes":
            mounts += ['mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"',
                       'mount -t tmpfs -o mode=1777 tmpfs "$r/var/tmp"']
        if sandbox.hardened["ProtectHome"] == "yes":
            mounts += ['mount -t tmpfs -o mode=000 tmpfs "$r/home"',
                       'mount -t tmpfs -o mode=000 tmpfs "$r/root"']
        mounts += [f'mount --bind "$r{p}" "$r{p}"' for p in sandbox.writable]
        if sandbox.hardened["ProtectSystem"] == "strict":
            mounts.append('mount -o remount,bind,ro "$r"')
    environ = [f"{k}={v}" for k, v in (env or {}).items()]
    # privileges are dropped first, then env changes directory (as the user, like systemd's
    # WorkingDirectory=) and replaces the environment
    inner = ["/usr/bin/env", "-i", "-C", cwd, *environ, *argv]
    if user:
        name, gid = user
        inner = ["/usr/bin/setpriv", f"--reuid={name}", f"--regid={gid}", "--init-groups",
                 "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", *inner]
    umask = sandbox.umask if sandbox is not None else "0022"
    script = ("set -e; r=$1; m=$2; shift 2; " + "; ".join(mounts) +
              '; exec chroot "$r" /bin/sh -c \'umask "$0"; exec "$@"\' "$m" "$@"')
    cmd = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private",
           "/bin/sh", "-c", script, "sh", root, umask, *inner]
    out = open(log, "w") if log else subprocess.DEVNULL
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={"PATH": chroots.SYSTEM_PATH, "LC_ALL": "C.UTF-8"},
                            start_new_session=True)


def stop(proc, timeout=20):
    """Stop a spawn()ed command: SIGTERM to its namespace's first process, then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(port, timeout=60, differs_from=None, proc=None, log=None):
    """GET http://127.0.0.1:port/ until it answers (and, with differs_from, until the pid in
    the answer is another one); return the decoded JSON."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
                data = json.loads(resp.read())
            if differs_from is None or data["pid"] != differs_from:
                return data
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last = exc
        time.sleep(0.3)
    text = Path(log).read_text(errors="replace")[-3000:] if log and Path(log).exists() else ""
    raise AssertionError(f"nothing answered on 127.0.0.1:{port} ({last!r}); output:\n{text}")


def host_pid(chroot, ns_pid, needle):
    """The host PID of the process inside the chroot whose PID in its own namespace is ns_pid
    and whose command line contains `needle`."""
    root = os.path.realpath(chroot.root)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/root") != root:
                continue
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            nspid = [ln for ln in Path(f"/proc/{entry}/status").read_text().splitlines()
                     if ln.startswith("NSpid:")][0].split()[1:]
        except (OSError, IndexError):
            continue
        if needle in cmdline and int(nspid[-1]) == ns_pid:
            return int(entry)
    raise AssertionError(f"no process {ns_pid} running {needle!r} in {root}")


def forbid_service_starts(chroot):
    """policy-rc.d 101, as in containers: packages may not start daemons in this chroot."""
    path = chroot / "usr/sbin/policy-rc.d"
    path.write_text("#!/bin/sh\nexit 101\n")
    path.chmod(0o755)


def verify_units(deb, units, workdir):
    """`systemd-analyze verify` of the package's units, against the package's own files (so
    ExecStart is found) plus the host's systemd units (targets the units refer to)."""
    root = Path(workdir) / "verify-root"
    run(["dpkg-deb", "-x", str(deb), str(root)])
    system = root / "lib" / "systemd" / "system"
    for unit in Path("/lib/systemd/system").iterdir():
        if not (system / unit.name).exists():
            if unit.is_symlink():
                (system / unit.name).symlink_to(os.readlink(unit))
            elif unit.is_file():
                shutil.copy2(unit, system / unit.name)
    return run(["systemd-analyze", "verify", f"--root={root}", *units],
               env={"PATH": chroots.SYSTEM_PATH, "LC_ALL": "C.UTF-8", "SYSTEMD_LOG_LEVEL": "info"},
               check=False)


def exposure(unit_path):
    """systemd-analyze security's overall exposure (0 safest .. 10) of a unit file."""
    proc = run(["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit_path)],
               env={"PATH": chroots.SYSTEM_PATH, "LC_ALL": "C.UTF-8"}, check=False)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout)
    assert m, proc.stdout[-2000:]
    return float(m.group(1)), proc.stdout
