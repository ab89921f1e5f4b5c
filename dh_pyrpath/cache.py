"""A content-addressed cache shared by builds: interpreters, source tarballs and wheels.

Entries are built in a temporary directory on the cache's filesystem and published with one
rename, under a per-entry lock, so concurrent builds neither corrupt an entry nor build it twice.
Each interpreter entry carries a manifest of every file's sha256; an entry that does not match
its manifest is discarded and rebuilt, never used.
"""
import fcntl
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

MANIFEST = "manifest.json"


def default_location(env=None):
    """$DH_PYRPATH_CACHE_DIR, else $XDG_CACHE_HOME/dh-pyrpath, else ~/.cache/dh-pyrpath."""
    env = os.environ if env is None else env
    if env.get("DH_PYRPATH_CACHE_DIR"):
        return Path(env["DH_PYRPATH_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "dh-pyrpath"
    home = env.get("HOME")
    if home:
        return Path(home) / ".cache" / "dh-pyrpath"
    return None


def open_cache(location):
    """A Cache at `location`, or None when it cannot be created or written (caching is off)."""
    if location is None:
        return None
    try:
        location = Path(location)
        location.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=location, prefix=".probe-")
        probe.close()
    except OSError:
        return None
    return Cache(location)


def sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def tree_manifest(root):
    """{relative path: [kind, mode, size or link target, sha256]} for every entry under root."""
    root = Path(root)
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                entries[rel] = ["link", mode, os.readlink(path), ""]
            elif stat.S_ISDIR(st.st_mode):
                entries[rel] = ["dir", mode, 0, ""]
            else:
                entries[rel] = ["file", mode, st.st_size, sha256_file(path)]
    return entries


def manifest_problems(root, manifest):
    """What differs between the tree and its manifest (empty when it is intact)."""
    actual = tree_manifest(root)
    problems = []
    for rel in sorted(set(manifest) | set(actual)):
        if rel not in actual:
            problems.append(f"missing {rel}")
        elif rel not in manifest:
            problems.append(f"unexpected {rel}")
        elif actual[rel] != manifest[rel]:
            problems.append(f"changed {rel}")
    return problems


class Lock:
    def __init__(self, fh):
        self._fh = fh

    def share(self):
        """Let other readers in; writers (rebuilds, prune) keep waiting."""
        fcntl.flock(self._fh, fcntl.LOCK_SH)


class Cache:
    def __init__(self, root, remote=None):
        self.root = Path(root)
        self.remote = remote  # remote.Remote or None (a shared HTTP cache)

    def path(self, *parts):
        return self.root.joinpath(*parts)

    @contextmanager
    def lock(self, name, blocking=True):
        """An exclusive lock on `name`, held across processes (flock).

        Yields a Lock whose share() downgrades it so that readers may proceed together, or
        None when blocking=False and someone else holds it.
        """
        lockdir = self.path("locks")
        lockdir.mkdir(parents=True, exist_ok=True)
        with open(lockdir / f"{name}.lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield None
                return
            try:
                yield Lock(fh)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def tempdir(self, prefix):
        """A fresh directory on the cache's filesystem, so publish() is one atomic rename."""
        tmp = self.path("tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=tmp))

    def publish(self, staged, final):
        """Move a finished directory or file into place atomically (caller holds the lock)."""
        final = Path(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            discard(final)
        if Path(staged).is_dir():
            os.chmod(staged, 0o755)  # mkdtemp makes 0700; the cache is shared between users
        os.rename(staged, final)

    # ------------------------------------------------------------ source tarballs

    def source_path(self, name, sha256):
        return self.path("sources", f"{sha256}-{name}")

    def source_file(self, name, sha256, log=None):
        """The cached file `name` with this sha256 (checked now), or None."""
        path = self.source_path(name, sha256)
        if path.is_file() and sha256_file(path) == sha256:
            return path
        return None

    def add_source_file(self, tmp, name, sha256, log=None):
        """Publish a verified file (moved from `tmp`) as a source; return its cached path."""
        final = self.source_path(name, sha256)
        with self.lock(f"source-{sha256}"):
            self.publish(tmp, final)
        return final

    # ------------------------------------------------------------ the remote cache (remote.py)

    def fetch_interpreter(self, key, log):
        """Bring interpreter entry `key` from the remote cache into place, verified; True when
        it is there now. The caller holds the key's lock. Without a remote: False."""
        return False

    def offer_interpreter(self, key, log):
        """Publish the local entry `key` to the remote cache (unless read-only or absent)."""
        return None

    def interpreter_entries(self):
        return sorted(p for p in self.path("interpreters").glob("*") if p.is_dir())

    def contents(self):
        """What the cache holds: [(kind, name, bytes, last used as a timestamp)]."""
        rows = []
        for entry in self.interpreter_entries():
            info = entry / "payload" / "info.json"
            try:
                desc = json.loads(info.read_text())
                name = f"{entry.name} CPython {desc['version']} ({desc['source']})"
            except (OSError, ValueError, KeyError):
                name = f"{entry.name} (incomplete)"
            rows.append(("interpreter", name, tree_size(entry), last_used(entry)))
        for kind, pattern in (("source", "sources/*"), ("wheel", "wheels/*.whl")):
            for path in sorted(self.root.glob(pattern)):
                if path.is_file():
                    rows.append((kind, path.name, path.stat().st_size, path.stat().st_mtime))
        for kind, sub in (("pip cache", "pip"), ("temporary", "tmp")):
            if self.path(sub).exists():
                rows.append((kind, sub + "/", tree_size(self.path(sub)), None))
        return rows

    def prune(self, max_age_days, now=None):
        """Remove what was not used for max_age_days (0: everything not in use right now).

        Interpreter entries in use (locked) are skipped; wheels and sources age from when
        they were stored. Returns [(kind, name, bytes)] removed.
        """
        now = time.time() if now is None else now
        cutoff = now - max_age_days * 86400
        removed = []
        for entry in self.interpreter_entries():
            if last_used(entry) > cutoff and max_age_days > 0:
                continue
            with self.lock(f"interpreter-{entry.name}", blocking=False) as held:
                if held is None:
                    continue
                size = tree_size(entry)
                discard(entry)
                removed.append(("interpreter", entry.name, size))
        for kind, pattern in (("source", "sources/*"), ("wheel", "wheels/*.whl")):
            for path in sorted(self.root.glob(pattern)):
                if path.is_file() and (max_age_days == 0 or path.stat().st_mtime <= cutoff):
                    removed.append((kind, path.name, path.stat().st_size))
                    path.unlink()
                    path.with_name(path.name + ".sha256").unlink(missing_ok=True)
        if self.path("pip").exists() and max_age_days == 0:
            removed.append(("pip cache", "pip/", tree_size(self.path("pip"))))
            discard(self.path("pip"))
        # Staging directories of builds that died: their key's lock is free.
        for path in sorted(self.path("tmp").glob("*")):
            key = path.name.split("-")[1] if path.name.startswith("interpreter-") else None
            if key:
                with self.lock(f"interpreter-{key}", blocking=False) as held:
                    if held is not None:
                        removed.append(("temporary", path.name, tree_size(path)))
                        discard(path)
            elif path.stat().st_mtime <= now - 86400:
                removed.append(("temporary", path.name, tree_size(path)))
                discard(path)
        return removed


def tree_size(path):
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


LAST_USED = "last-used"


def touch_last_used(entry):
    """Stamp an entry as used now (outside its payload, so the manifest stays valid)."""
    (Path(entry) / LAST_USED).write_text("")


def last_used(entry):
    stamp = Path(entry) / LAST_USED
    return (stamp if stamp.exists() else Path(entry)).stat().st_mtime


def write_manifest(entry, tree):
    """Record the manifest of `tree` in `entry`/manifest.json."""
    with open(Path(entry) / MANIFEST, "w", encoding="utf-8") as fh:
        json.dump(tree_manifest(tree), fh, sort_keys=True)


def read_manifest(entry):
    try:
        with open(Path(entry) / MANIFEST, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def discard(path):
    """Remove a file or directory tree, making read-only directories writable first."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        for dirpath, dirnames, _ in os.walk(path):
            for d in dirnames:
                p = os.path.join(dirpath, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o755)
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
