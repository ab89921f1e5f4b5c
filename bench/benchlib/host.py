"""The build host: its default python3.X, the comparison tool installed, the snapshot of this
checkout's dh_pyrpath that every build runs, and the checkout's git state."""
import functools
import hashlib
import os
import platform
import shutil
from pathlib import Path

from dh_pyrpath import host

from .proc import SYSTEM_PATH, BenchError, apt_get, installed_version, run, say

REPO = Path(__file__).resolve().parent.parent.parent
BENCH = REPO / "bench"
WORK_ROOT = Path("/var/tmp/dh-pyrpath-bench")


@functools.lru_cache(maxsize=None)
def python():
    """The host release's default python3.X ("python3.11" on bookworm, "python3.13" on trixie):
    what dh-virtualenv's packages run on, what dh-pyrpath's are built from, and the speed
    reference."""
    return host.host_default_package()


def system_python():
    return f"/usr/bin/{python()}"


def xy():
    return python()[len("python"):]


def tool_is_stale():
    """True when the installed dh-pyrpath is missing or differs from this checkout."""
    if not Path("/usr/bin/dh_pyrpath").exists():
        return "missing"
    installed = Path("/usr/lib/python3/dist-packages/dh_pyrpath")
    for path in sorted((REPO / "dh_pyrpath").rglob("*.py")):
        other = installed / path.relative_to(REPO / "dh_pyrpath")
        if not other.is_file() or other.read_bytes() != path.read_bytes():
            return f"differs from the checkout ({path.relative_to(REPO)})"
    pm = Path("/usr/share/perl5/Debian/Debhelper/Sequence/pyrpath.pm")
    if not pm.is_file() or pm.read_bytes() != (REPO / "debhelper" / "pyrpath.pm").read_bytes():
        return "differs from the checkout (debhelper/pyrpath.pm)"
    return None


def prepare(work):
    """dh-virtualenv installed for the comparison; dh-pyrpath installed for its dependencies
    (the builds run the checkout's snapshot)."""
    log = work / "logs" / "host-setup.log"
    say("host: apt-get install dh-virtualenv python3-venv (the comparison tool)")
    try:
        apt_get("install", "--no-install-recommends", "dh-virtualenv", "python3-venv", log=log)
    except BenchError:
        apt_get("update", log=log)
        apt_get("install", "--no-install-recommends", "dh-virtualenv", "python3-venv", log=log)
    ensure_tool(log)


def ensure_tool(log):
    """dh-pyrpath installed (examples/setup-host when it is missing), for what it depends on."""
    stale = tool_is_stale()
    if stale == "missing":
        say("host: dh-pyrpath is not installed: running examples/setup-host")
        run([REPO / "examples" / "setup-host"], log=log, env={**os.environ, "PATH": SYSTEM_PATH})
        stale = tool_is_stale()
    if stale:
        say(f"host: the installed dh-pyrpath {stale}; the builds use a snapshot of the "
            "checkout anyway (the installed package provides its dependencies)")


def snapshot_tool(work):
    """Copy this checkout's dh_pyrpath and its dh sequence into the work directory; builds
    find them first (PATH, PERL5LIB). Other people reinstalling dh-pyrpath on this host during
    the run then cannot change the tool half-way through the measurements."""
    snap = work / "tool"
    shutil.copytree(REPO / "dh_pyrpath", snap / "lib" / "dh_pyrpath",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    seq = snap / "perl" / "Debian" / "Debhelper" / "Sequence"
    seq.mkdir(parents=True)
    shutil.copy(REPO / "debhelper" / "pyrpath.pm", seq / "pyrpath.pm")
    (snap / "bin").mkdir()
    wrapper = snap / "bin" / "dh_pyrpath"
    wrapper.write_text("#!/usr/bin/python3\nimport sys\n"
                       f"sys.path.insert(0, {str(snap / 'lib')!r})\n"
                       "from dh_pyrpath.__main__ import main\nsys.exit(main())\n")
    wrapper.chmod(0o755)
    digest = hashlib.sha256()
    for path in sorted(p for p in snap.rglob("*") if p.is_file() and p != wrapper):
        digest.update(str(path.relative_to(snap)).encode() + b"\0" + path.read_bytes())
    return {"bin": str(snap / "bin"), "perl": str(snap / "perl"),
            "digest": digest.hexdigest()[:12]}


def git_state():
    """The checkout's commit, marked when dh_pyrpath/ or debhelper/ have uncommitted changes."""
    git = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], check=False).strip()
    dirty = run(["git", "--no-optional-locks", "-C", REPO, "status", "--porcelain", "--",
                 "dh_pyrpath", "debhelper"], check=False).strip()
    return git + (" + uncommitted changes in dh_pyrpath/ or debhelper/" if dirty else "")


def meta(command, tool_digest, packages):
    """The header facts of a results file."""
    return {"host": platform.node(), "cpus": os.cpu_count(), "command": command,
            "git": git_state(), "tool": tool_digest,
            "versions": {p: installed_version(p) for p in packages}}
