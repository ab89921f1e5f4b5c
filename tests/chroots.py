"""Target machines for end-to-end tests: Debian chroots made from Debian's archive.

A pristine chroot is made once per recipe with mmdebstrap and kept as a tarball under
/var/cache/dh-pyrpath-tests/chroots/ (its name carries the recipe's hash; rebuilt when older than a week, so security
updates arrive); each test unpacks a fresh copy. Commands run inside a private mount and PID
namespace (`unshare`): /proc and the shared apt download cache are mounted there and vanish with
the command, so nothing is ever left mounted under a directory the tests later delete.
"""
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Shared by every checkout on this machine (tests/conftest.py's TEST_STATE).
CACHE = Path(os.environ.get("DH_PYRPATH_TEST_CHROOTS", Path(os.environ.get(
    "DH_PYRPATH_TEST_STATE", "/var/cache/dh-pyrpath-tests")) / "chroots"))
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
MAX_AGE = 7 * 86400
# Bump when the way chroots are made changes what they contain.
RECIPE_VERSION = 1
NOBODY = "65534:65534"  # nobody:nogroup on Debian


def host_suite():
    """The host's Debian release (VERSION_CODENAME): target chroots are of the same release,
    since packages built here depend on its library versions."""
    with open("/etc/os-release", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError("/etc/os-release names no VERSION_CODENAME: not a Debian release")


HOST_SUITE = host_suite()

# What changes on every apt/dpkg run whatever the package does (piuparts ignores these too).
VOLATILE = ("proc", "sys", "dev", "run", "tmp", "var/tmp", "var/cache/apt", "var/lib/apt",
            "var/log", "var/lib/dpkg", "var/cache/debconf", "var/cache/ldconfig",
            "etc/ld.so.cache", "root/.cache", "var/lib/ucf", "var/lib/systemd/deb-systemd-helper-enabled")


def _env():
    return {"PATH": SYSTEM_PATH, "LC_ALL": "C.UTF-8"}


def _run(cmd, check=True, timeout=1800, merge=True, **kw):
    """Run a command; stderr joins stdout unless merge=False. On failure show the output's tail."""
    proc = subprocess.run([str(c) for c in cmd], text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                          timeout=timeout, **kw)
    if check and proc.returncode != 0:
        text = proc.stdout + (proc.stderr or "")
        tail = "\n".join(text.splitlines()[-60:])
        raise AssertionError(f"{cmd!r} exited {proc.returncode}:\n{tail}")
    return proc


@dataclass(frozen=True)
class Recipe:
    """How a pristine chroot is made: the tarball's name carries the hash of all of this."""
    name: str
    suite: str = HOST_SUITE
    variant: str = "minbase"
    include: tuple = ()
    components: tuple = ("main",)

    def sources(self):
        comps = " ".join(self.components)
        return [f"deb {MIRROR} {self.suite} {comps}",
                f"deb {MIRROR} {self.suite}-updates {comps}",
                f"deb {SECURITY_MIRROR} {self.suite}-security {comps}"]

    def key(self):
        mmdebstrap = _run(["mmdebstrap", "--version"], env=_env()).stdout.strip()
        arch = _run(["dpkg", "--print-architecture"], env=_env()).stdout.strip()
        blob = json.dumps({**asdict(self), "sources": self.sources(), "tool": mmdebstrap,
                           "arch": arch, "recipe": RECIPE_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def tarball(self):
        return CACHE / f"{self.name}-{self.suite}-{self.key()}.tar"


MINBASE = Recipe("minbase")


@contextmanager
def _flock(name):
    (CACHE / "locks").mkdir(parents=True, exist_ok=True)
    with open(CACHE / "locks" / f"{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def pristine(recipe):
    """The tarball of a pristine chroot for `recipe`, made with mmdebstrap when missing or old."""
    final = recipe.tarball()
    with _flock(final.stem):
        if final.is_file() and time.time() - final.stat().st_mtime < MAX_AGE:
            return final
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(final.stem + ".partial.tar")  # mmdebstrap goes by the extension
        if tmp.exists():
            tmp.unlink()
        cmd = ["mmdebstrap", "--mode=root", f"--variant={recipe.variant}",
               # apt's lists stay in the tarball: an `apt-get update` in a copy is then cheap
               "--skip=cleanup/apt/lists", "--aptopt=Acquire::Languages \"none\";"]
        if recipe.include:
            cmd.append("--include=" + ",".join(recipe.include))
        cmd += [recipe.suite, str(tmp), *recipe.sources()]
        _run(cmd, env=_env(), timeout=1800)
        os.replace(tmp, final)
        for old in CACHE.glob(f"{recipe.name}-{recipe.suite}-*.tar"):
            if old != final and not old.name.endswith(".partial.tar"):
                old.unlink()
    return final


def _mounts_under(root):
    root = os.path.realpath(root)
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        points = [line.split()[4] for line in fh]
    return [p for p in points if p == root or p.startswith(root + "/")]


class Chroot:
    """A fresh, writable copy of a pristine chroot."""

    def __init__(self, root):
        self.root = Path(root)
        self.apt_archives = CACHE / "apt-archives"

    @classmethod
    def unpack(cls, recipe, dest):
        tarball = pristine(recipe)
        dest = Path(dest)
        dest.mkdir(parents=True)
        _run(["tar", "-C", dest, "--numeric-owner", "-xpf", tarball], env=_env())
        return cls(dest)

    def __truediv__(self, path):
        """The host path of a path inside the chroot."""
        return self.root / str(path).lstrip("/")

    def run(self, *cmd, user=None, env=None, check=True, timeout=900, cwd="/", merge=True,
            binds=(), network=True, hostname=None, stack_limit=None, user_namespace=False):
        """Run a command inside the chroot (as root, or as `user`, e.g. NOBODY).

        The environment is exactly PATH, LC_ALL, HOME and `env` (None values drop a key);
        merge=False keeps stderr apart from stdout (for commands that print JSON). `binds` are
        (host directory, directory inside) pairs mounted for this command only; network=False
        gives the command a network namespace of its own with nothing but a loopback device, as
        pbuilder's and sbuild's offline builds have. `hostname`: a UTS namespace of its own with
        that host name; `stack_limit`: the soft stack limit (ulimit -s, KiB or "unlimited");
        `user_namespace`: root inside a user namespace of its own (and an IPC namespace), as
        sbuild's unshare backend runs builds."""
        environ = {"PATH": SYSTEM_PATH, "LC_ALL": "C.UTF-8",
                   "HOME": "/root" if user is None else "/nonexistent",
                   "DEBIAN_FRONTEND": "noninteractive"}
        environ.update(env or {})
        environ = [f"{k}={v}" for k, v in environ.items() if v is not None]
        (self.apt_archives / "partial").mkdir(parents=True, exist_ok=True)
        mounts = ""
        for host, inside in binds:
            (self / inside).mkdir(parents=True, exist_ok=True)
            mounts += f'mount --bind {shlex.quote(str(host))} "$r"{shlex.quote(str(inside))}; '
        up = "ip link set lo up 2>/dev/null || true; " if not network else ""
        if hostname:
            up += f"hostname {shlex.quote(hostname)}; "
        if stack_limit:
            up += f"ulimit -S -s {shlex.quote(str(stack_limit))}; "
        inner = ("set -e; r=$1; a=$2; u=$3; d=$4; shift 4; "
                 'mount -t proc proc "$r/proc"; '
                 'mount --bind "$a" "$r/var/cache/apt/archives"; ' + mounts + up +
                 'if [ -n "$u" ]; then exec chroot --userspec="$u" "$r" /usr/bin/env -C "$d" -i "$@"; '
                 'else exec chroot "$r" /usr/bin/env -C "$d" -i "$@"; fi')
        argv = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private",
                *([] if network else ["--net"]), *(["--uts"] if hostname else []),
                *(["--user", "--map-root-user", "--ipc"] if user_namespace else []),
                "/bin/sh", "-c", inner, "sh", self.root, self.apt_archives, user or "", cwd,
                *environ, *[str(c) for c in cmd]]
        return _run(argv, check=check, timeout=timeout, env=_env(), merge=merge)

    def sh(self, script, **kw):
        return self.run("/bin/sh", "-c", script, **kw)

    def exists(self, path):
        return os.path.lexists(self / path)

    def apt_get(self, *args, **kw):
        # Chroots share one download cache (and its lock): one apt at a time, across processes.
        with _flock("apt-archives"):
            return self.run("apt-get", "-y", "-q", "-o", "APT::Sandbox::User=root", *args, **kw)

    def update(self):
        return self.apt_get("update")

    def copy_in(self, *files, dest="/tmp/debs"):
        """Copy host files into the chroot; return their paths inside it."""
        (self / dest).mkdir(parents=True, exist_ok=True)
        inside = []
        for f in files:
            shutil.copy2(f, self / dest / Path(f).name)
            inside.append(f"{dest}/{Path(f).name}")
        return inside

    def install_debs(self, *debs, args=()):
        """`apt-get install ./x.deb` inside the chroot: apt resolves Depends from the archive."""
        inside = self.copy_in(*debs)
        return self.apt_get("install", "--no-install-recommends", *args, *inside)

    def owned(self, package):
        """dpkg's file list of an installed package (paths inside the chroot)."""
        out = self.run("dpkg-query", "-L", package).stdout.splitlines()
        return {p for p in out if p.startswith("/")}

    def snapshot(self, ignore=VOLATILE):
        """{path: (kind, mode, uid, gid, size or link target)} of everything but volatile paths."""
        skip = {"/" + p for p in ignore}
        state = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = "/" + os.path.relpath(dirpath, self.root)
            rel_dir = "" if rel_dir == "/." else rel_dir
            dirnames[:] = sorted(d for d in dirnames if f"{rel_dir}/{d}" not in skip)
            for name in dirnames + filenames:
                rel = f"{rel_dir}/{name}"
                if rel in skip:
                    continue
                path = os.path.join(dirpath, name)
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    info = ("link", 0, st.st_uid, st.st_gid, os.readlink(path))
                elif stat.S_ISDIR(st.st_mode):
                    info = ("dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, 0)
                else:
                    info = ("file", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size)
                state[rel] = info
        return state

    def files_under(self, prefix):
        """Every path under `prefix` (inside the chroot), the prefix included."""
        host = self / prefix
        if not host.exists():
            return set()
        found = {prefix}
        for dirpath, dirnames, filenames in os.walk(host):
            for name in dirnames + filenames:
                found.add("/" + os.path.relpath(os.path.join(dirpath, name), self.root))
        return found

    def destroy(self):
        mounted = _mounts_under(self.root)
        if mounted:  # never delete through a mount point (e.g. a bind of /dev)
            raise AssertionError(f"refusing to delete {self.root}: still mounted: {mounted}")
        _run(["rm", "-rf", "--one-file-system", self.root], env=_env())


@contextmanager
def fresh(recipe, parent):
    """A fresh chroot for one test, deleted afterwards (kept with KEEP_CHROOTS=1)."""
    dest = Path(tempfile.mkdtemp(prefix=f"{recipe.name}-", dir=parent)) / "root"
    chroot = Chroot.unpack(recipe, dest)
    try:
        chroot.update()
        yield chroot
    finally:
        if not os.environ.get("KEEP_CHROOTS"):
            chroot.destroy()


def diff_snapshots(before, after):
    """(appeared, disappeared, changed) paths between two snapshots."""
    appeared = sorted(set(after) - set(before))
    disappeared = sorted(set(before) - set(after))
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    return appeared, disappeared, changed


# ---------------------------------------------------------------- apt for deb-src of other suites

def source_apt_config(suite, components=("main",)):
    """A private apt configuration that knows the deb-src of `suite` (e.g. trixie), for
    `APT_CONFIG=...`: dh_pyrpath's `apt-cache showsrc`/`apt-get source` then find that suite's
    CPython without touching the host's /etc/apt. Its lists are refreshed once a day."""
    base = CACHE / f"apt-src-{suite}"
    conf = base / "apt.conf"
    with _flock(f"apt-src-{suite}"):
        for sub in ("sources.list.d", "lists/partial", "cache/archives/partial"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        (base / "sources.list.d" / f"{suite}-src.sources").write_text(
            f"Types: deb-src\nURIs: {MIRROR}\nSuites: {suite}\nComponents: {' '.join(components)}\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
        conf.write_text(f'Dir::Etc::sourcelist "/dev/null";\n'
                        f'Dir::Etc::sourceparts "{base}/sources.list.d";\n'
                        f'Dir::State::lists "{base}/lists";\n'
                        f'Dir::Cache "{base}/cache";\n'
                        'Acquire::Languages "none";\n')
        stamp = base / "updated"
        if not stamp.exists() or time.time() - stamp.stat().st_mtime > 86400:
            _run(["apt-get", "update", "-q"], env={**_env(), "APT_CONFIG": str(conf)})
            stamp.write_text("")
    return conf


def quote(cmd):
    return " ".join(shlex.quote(str(c)) for c in cmd)
