"""A content-addressed cache shared by builds: interpreters, source tarballs and wheels.

Entries are built in a temporary directory on the cache's filesystem and published with one
rename, under a per-entry lock, so concurrent builds neither corrupt an entry nor build it twice.
Each interpreter entry carries a manifest of every file's sha256; an entry that does not match
its manifest is discarded and rebuilt, never used.

With a remote cache (remote.py), a local miss looks there before building, and what is built
or held here is offered there; everything fetched is verified as a local entry is.

A cache directory whose group may write and that has the setgid bit (docs/cache.md) is shared
by the users of that group: what one publishes, the others use and may replace.
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

from .errors import PyrpathError
from .remote import (ENTRY_FORMAT, BadBlob, RemoteError, blob_path, is_sha256, pack_entry,
                     unpack_entry)

MANIFEST = "manifest.json"
SUM = ".sha256"  # beside each wheel in the wheelhouse: its sha256, written before the wheel
# The build host's cache, shared by group dh-pyrpath (docs/cache.md): used by default by every
# user who may write it.
SYSTEM_LOCATION = Path("/var/cache/dh-pyrpath")
# Made group-writable up front in a shared cache, whoever comes first.
SUBDIRS = ("interpreters", "sources", "wheels", "locks", "tmp", "pip")


def default_location(env=None, system=SYSTEM_LOCATION):
    """$DH_PYRPATH_CACHE_DIR, else the build host's shared cache when this user may write it,
    else $XDG_CACHE_HOME/dh-pyrpath, else ~/.cache/dh-pyrpath."""
    env = os.environ if env is None else env
    if env.get("DH_PYRPATH_CACHE_DIR"):
        return Path(env["DH_PYRPATH_CACHE_DIR"])
    if system and os.path.isdir(system) and os.access(system, os.W_OK | os.X_OK):
        return Path(system)
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "dh-pyrpath"
    home = env.get("HOME")
    if home:
        return Path(home) / ".cache" / "dh-pyrpath"
    return None


def open_cache(location, remote=None):
    """A Cache at `location` (with a remote.Remote behind it, or None), or None when it cannot be
    created or written (caching is off).

    In a shared cache this process's umask stops masking the group's bits, so that everything
    it writes there (pip's cache and wheels included) stays usable by the group's other users.
    """
    if location is None:
        return None
    try:
        location = Path(location)
        location.mkdir(parents=True, exist_ok=True)
        if is_shared(location):
            share_with_group(location)
        probe = tempfile.NamedTemporaryFile(dir=location, prefix=".probe-")
        probe.close()
    except OSError:
        return None
    return Cache(location, remote)


def is_shared(root):
    """A cache directory its group may write, with the setgid bit: docs/cache.md's set-up."""
    try:
        mode = os.stat(root).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_ISGID and mode & stat.S_IWGRP)


def share_with_group(root):
    """Group-friendly umask for this process, and the cache's directories group-writable
    (those this user owns; setgid directories pass their group on)."""
    old = os.umask(0)
    os.umask(old & ~0o070)
    for name in SUBDIRS:
        path = Path(root) / name
        path.mkdir(exist_ok=True)
        st = path.stat()
        if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o2070 != 0o2070:
            os.chmod(path, stat.S_IMODE(st.st_mode) | 0o2070)


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
        self.shared = is_shared(self.root)
        self._fetched = set()  # interpreter keys this run took from the remote

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
        path = lockdir / f"{name}.lock"
        # Read-only: flock needs no more, and a lock file another user of a shared cache
        # created (0644 under their umask) opens for everyone.
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise PyrpathError(f"cannot open the cache lock {path} ({exc.strerror}): the cache "
                               f"{self.root} is not shared with this user; give it the set-up "
                               "of docs/cache.md (group dh-pyrpath, setgid, group-writable) or "
                               "use a cache of your own (DH_PYRPATH_CACHE_DIR)") from None
        with os.fdopen(fd, "rb") as fh:
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
            # mkdtemp makes 0700; the cache is shared between users. In a shared cache the
            # group may also stamp and replace the entry.
            os.chmod(staged, 0o2775 if self.shared else 0o755)
        os.rename(staged, final)

    # ------------------------------------------------------------ source tarballs

    def source_path(self, name, sha256):
        return self.path("sources", f"{sha256}-{name}")

    def source_file(self, name, sha256, log=None):
        """The cached file `name` with this sha256 (checked now), else the remote's (verified),
        or None. A local one the remote lacks is offered to it."""
        path = self.source_path(name, sha256)
        if path.is_file() and sha256_file(path) == sha256:
            self._offer_blob(path, sha256, f"source {name}", log)
            return path
        return self._fetch_blob(sha256, path, f"source-{sha256}", f"source {name}", log)

    def add_source_file(self, tmp, name, sha256, log=None):
        """Publish a verified file (moved from `tmp`) as a source; return its cached path."""
        final = self.source_path(name, sha256)
        with self.lock(f"source-{sha256}"):
            self.publish(tmp, final)
        self._offer_blob(final, sha256, f"source {name}", log)
        return final

    # ------------------------------------------------------------ wheels

    def wheel_file(self, name, sha256=None, log=None):
        """The wheel `name` from the wheelhouse, checked against its .sha256 (and `sha256`, when
        given); else from the remote cache (by `sha256`, or by the record of its file name),
        verified and put in the wheelhouse; else None."""
        _check_file_name(name, ".whl")
        path = self.path("wheels", name)
        have = _checked_sum(path)
        if have and (sha256 is None or have == sha256):
            return path
        remote = self._remote()
        if remote is None:
            return None
        try:
            if sha256 is None:
                record = remote.get_record("wheel", name)
                if record is None:
                    return None
                sha256 = record.get("sha256")
                if not is_sha256(sha256):
                    raise BadBlob(f"its record of wheel {name} names no sha256")
        except (RemoteError, BadBlob) as exc:
            self._remote_trouble(exc, log, f"wheel {name}", "not used")
            return None
        return self._fetch_blob(sha256, path, None, f"wheel {name}", log, wheel=True)

    def add_wheel(self, path, log=None):
        """Move the wheel at `path` into the wheelhouse (its .sha256 written first, as
        deps.check_wheelhouse expects), offer it to the remote cache; return where it is now."""
        path = Path(path)
        _check_file_name(path.name, ".whl")
        sha256 = sha256_file(path)
        final = self._place_wheel(path, sha256)
        self._offer_blob(final, sha256, f"wheel {final.name}", log)
        remote = self._remote(write=True)
        if remote is not None:
            try:
                record = remote.get_record("wheel", final.name)
                if record is None:
                    remote.put_record("wheel", final.name, {"sha256": sha256,
                                                            "size": final.stat().st_size})
                elif record.get("sha256") != sha256 and log:
                    # Wheels built from sdists often differ by build (zip timestamps): the
                    # first one published stays, and either installs the same code.
                    log.write(f"remote cache: it holds another build of {final.name}: kept")
            except (RemoteError, BadBlob) as exc:
                self._remote_trouble(exc, log, f"wheel {final.name}", "left as it is")
        return final

    def wheel_set(self, key, log=None):
        """The wheels recorded for `key` (a name deps derives from everything that decides a
        resolution) as local paths, each from the wheelhouse or the remote; None unless all
        of them are there now."""
        remote = self._remote()
        if remote is None:
            return None
        try:
            record = remote.get_record("wheel-set", key)
        except (RemoteError, BadBlob) as exc:
            self._remote_trouble(exc, log, f"wheel set {key}", "not used")
            return None
        wheels = record.get("wheels") if record else None
        if not isinstance(wheels, list) or not all(
                isinstance(w, list) and len(w) == 2 and is_sha256(w[1]) for w in wheels):
            return None
        paths = []
        for name, sha256 in wheels:
            try:
                found = self.wheel_file(name, sha256, log)
            except PyrpathError:
                found = None  # a record naming no wheel file: not ours to use
            if found is None:
                return None
            paths.append(found)
        return paths

    def offer_wheel_set(self, key, paths, log=None):
        """Record the wheels at `paths` (in the wheelhouse, each offered already) under `key`."""
        remote = self._remote(write=True)
        if remote is None:
            return
        value = {"wheels": sorted([Path(p).name, _checked_sum(Path(p))] for p in paths)}
        if any(sha is None for _, sha in value["wheels"]):
            return  # a wheel that no longer matches its checksum: record nothing
        try:
            if remote.get_record("wheel-set", key) != value:
                remote.put_record("wheel-set", key, value)
        except (RemoteError, BadBlob) as exc:
            self._remote_trouble(exc, log, f"wheel set {key}", "left as it is")

    def _place_wheel(self, path, sha256):
        wheels = self.path("wheels")
        wheels.mkdir(parents=True, exist_ok=True)
        side = path.with_name(path.name + SUM)
        side.write_text(sha256 + "\n")
        os.replace(side, wheels / side.name)  # checksum first: a wheel without one is removed
        os.replace(path, wheels / path.name)
        return wheels / path.name

    # ------------------------------------------------------------ the remote cache (remote.py)

    def _remote(self, write=False):
        remote = self.remote
        if remote is None or not (remote.writable if write else remote.usable):
            return None
        return remote

    def _remote_trouble(self, exc, log, what, outcome):
        """Report a failed remote operation in one line. A remote that is down (or refuses
        uploads) is reported once and not asked again this run."""
        remote = self.remote
        if isinstance(exc, BadBlob):
            message = f"remote cache {remote.label}: {what}: {exc}: {outcome}"
        elif exc.down or exc.no_write:
            if exc.down:
                remote.down = str(exc)
            else:
                remote.no_write = str(exc)
            outcome = "going on without it" if exc.down else "not publishing to it"
            message = f"remote cache {remote.label}: {exc}: {outcome}"
        else:
            message = f"remote cache {remote.label}: {what}: {exc}: {outcome}"
        if log is not None:
            log.warn(message)

    def _fetch_blob(self, sha256, final, lock_name, what, log, wheel=False):
        """Blob `sha256` from the remote into `final` (a wheel: into the wheelhouse, beside
        its checksum), verified; its path, or None."""
        remote = self._remote()
        if remote is None:
            return None
        tmp = self.tempdir("remote-")
        try:
            start = time.monotonic()
            with open(tmp / final.name, "wb") as out:
                size = remote.fetch_blob(sha256, out)
            if size is None:
                return None
            if wheel:
                final = self._place_wheel(tmp / final.name, sha256)
            else:
                with self.lock(lock_name):
                    self.publish(tmp / final.name, final)
            _progress(log, f"remote cache: fetched {what}", size, start)
            return final
        except (RemoteError, BadBlob) as exc:
            self._remote_trouble(exc, log, what, "discarded, not used")
            return None
        finally:
            discard(tmp)

    def _offer_blob(self, path, sha256, what, log):
        """Upload a verified local file the remote lacks (a HEAD when it has it)."""
        remote = self._remote(write=True)
        if remote is None:
            return
        start = time.monotonic()
        try:
            if remote.publish_blob(sha256, path):
                _progress(log, f"remote cache: published {what}", path.stat().st_size, start)
        except RemoteError as exc:
            self._remote_trouble(exc, log, what, "not published")

    def fetch_interpreter(self, key, log):
        """Bring interpreter entry `key` from the remote cache into place, verified; True when
        it is there now. The caller holds the key's lock. Without a remote: False."""
        remote = self._remote()
        if remote is None:
            return False
        staging = None
        try:
            record = remote.get_record("interpreter", key)
            if record is None:
                log.write(f"remote cache: no interpreter entry {key}")
                return False
            blob, size, manifest_sum = _entry_record(record)
            # named like a build's staging directory: prune removes it when the key is free
            staging = self.tempdir(f"interpreter-{key}-")
            start = time.monotonic()
            with open(staging / "blob", "wb") as out:
                if remote.fetch_blob(blob, out, size) is None:
                    log.write(f"remote cache: interpreter entry {key} names blob {blob}, which "
                              "it no longer holds")
                    return False
            unpack_entry(staging / "blob", staging / "entry")
            os.unlink(staging / "blob")
            check_entry(staging / "entry", key, manifest_sum)
            self.publish(staging / "entry", self.path("interpreters", key))
            _progress(log, f"remote cache: fetched interpreter {key}", size, start, always=True)
            self._fetched.add(key)
            return True
        except (RemoteError, BadBlob) as exc:
            self._remote_trouble(exc, log, f"interpreter entry {key}",
                                 "discarded, building it here")
            return False
        finally:
            if staging is not None:
                discard(staging)

    def offer_interpreter(self, key, log):
        """Publish the local entry `key` to the remote cache unless it has it already (one
        request), or is read-only, or the entry is not intact. An entry of this key with other
        contents on the remote is not overwritten: it is reported."""
        remote = self._remote(write=True)
        entry = self.path("interpreters", key)
        if remote is None or key in self._fetched or not (entry / MANIFEST).is_file():
            return
        tmp = None
        try:
            manifest_sum = sha256_file(entry / MANIFEST)
            record = remote.get_record("interpreter", key)
            if record is not None:
                blob, _, theirs = _entry_record(record)
                if theirs != manifest_sum:
                    log.warn(f"remote cache {remote.label}: it holds another interpreter entry "
                             f"{key} (manifest {theirs[:12]}, this host's {manifest_sum[:12]}):"
                             " not overwritten; two builds of one key differ (docs/cache.md)")
                    return
                if remote.exists(blob_path(blob)):
                    log.write(f"remote cache: has interpreter entry {key}")
                    return
                # the same entry, its blob evicted (bazel-remote ages blobs): upload it again
            problems = manifest_problems(entry / "payload", read_manifest(entry) or {})
            if problems:
                log.warn(f"remote cache: interpreter entry {key} does not match its manifest "
                         f"({problems[0]}): not published")
                return
            tmp = self.tempdir("remote-")
            start = time.monotonic()
            with open(tmp / "entry.tar.gz", "wb") as out:
                pack_entry(entry, out)
            blob, size = sha256_file(tmp / "entry.tar.gz"), (tmp / "entry.tar.gz").stat().st_size
            remote.publish_blob(blob, tmp / "entry.tar.gz")
            # the blob first: a record never names a blob that is not there yet
            remote.put_record("interpreter", key, {
                "format": ENTRY_FORMAT, "key": key, "blob": blob, "size": size,
                "manifest": manifest_sum})
            _progress(log, f"remote cache: published interpreter {key}", size, start,
                      always=True)
        except (RemoteError, BadBlob) as exc:
            self._remote_trouble(exc, log, f"interpreter entry {key}",
                                 "left as it is, not published")
        finally:
            if tmp is not None:
                discard(tmp)

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
        they were stored. In a shared cache, what another user owns and this one may not
        remove is skipped (root's prune removes everything). Returns [(kind, name, bytes)]
        removed.
        """
        now = time.time() if now is None else now
        cutoff = now - max_age_days * 86400
        removed = []

        def remove(kind, path, name=None):
            size = tree_size(path) if path.is_dir() else path.stat().st_size
            try:
                if path.is_dir() and not path.is_symlink():
                    _remove_tree(path)
                else:
                    path.unlink()
            except PermissionError:
                return False
            removed.append((kind, name or path.name, size))
            return True

        for entry in self.interpreter_entries():
            if last_used(entry) > cutoff and max_age_days > 0:
                continue
            with self.lock(f"interpreter-{entry.name}", blocking=False) as held:
                if held is not None:
                    remove("interpreter", entry)
        for kind, pattern in (("source", "sources/*"), ("wheel", "wheels/*.whl")):
            for path in sorted(self.root.glob(pattern)):
                if path.is_file() and (max_age_days == 0 or path.stat().st_mtime <= cutoff):
                    if remove(kind, path):
                        path.with_name(path.name + SUM).unlink(missing_ok=True)
        if self.path("pip").exists() and max_age_days == 0:
            remove("pip cache", self.path("pip"), "pip/")
        # Staging directories of builds that died: their key's lock is free.
        for path in sorted(self.path("tmp").glob("*")):
            key = path.name.split("-")[1] if path.name.startswith("interpreter-") else None
            if key:
                with self.lock(f"interpreter-{key}", blocking=False) as held:
                    if held is not None:
                        remove("temporary", path)
            elif path.stat().st_mtime <= now - 86400:
                remove("temporary", path)
        # What discard() renamed aside because another user owned it.
        for parent in (self.root, self.path("interpreters"), self.path("tmp")):
            for path in sorted(parent.glob(DISCARDED + "*")):
                remove("discarded", path)
        return removed


def _check_file_name(name, suffix):
    if not name.endswith(suffix) or "/" in name or name.startswith("."):
        raise PyrpathError(f"'{name}' is not a {suffix} file name")


def _checked_sum(path):
    """The sha256 recorded beside `path` when the file matches it, else None."""
    try:
        recorded = path.with_name(path.name + SUM).read_text().strip()
        return recorded if sha256_file(path) == recorded else None
    except OSError:
        return None


def _progress(log, what, size, start, always=False):
    """'<what> (18.9 MB in 0.4 s)': a progress line for large transfers, a log line else."""
    if log is None:
        return
    line = f"{what} ({size / 1e6:.1f} MB in {time.monotonic() - start:.1f} s)"
    if always or size >= 1 << 20:
        log.say(line)
    else:
        log.write(line)


def _entry_record(record):
    """(blob sha256, size, manifest sha256) of a remote interpreter record, checked."""
    blob, size, manifest = record.get("blob"), record.get("size"), record.get("manifest")
    if (record.get("format") != ENTRY_FORMAT or not is_sha256(blob) or not is_sha256(manifest)
            or not isinstance(size, int) or size < 0):
        raise BadBlob(f"its record is not a {ENTRY_FORMAT} record")
    return blob, size, manifest


def check_entry(entry, key, manifest_sum):
    """Raise BadBlob unless the unpacked `entry` is interpreter entry `key` and intact: its
    manifest is the one the record names, the payload matches it, the recipe hashes to key."""
    from .interpreter import cache_key  # interpreter.py imports this module
    entry = Path(entry)
    if sorted(p.name for p in entry.iterdir()) != [MANIFEST, "payload"]:
        raise BadBlob("the entry lacks manifest.json or payload/, or holds more")
    if sha256_file(entry / MANIFEST) != manifest_sum:
        raise BadBlob("its manifest is not the one its record names")
    manifest = read_manifest(entry)
    if not isinstance(manifest, dict):
        raise BadBlob("its manifest is not readable")
    problems = manifest_problems(entry / "payload", manifest)
    if problems:
        raise BadBlob(f"the entry does not match its manifest ({problems[0]}"
                      f"{', ...' if len(problems) > 1 else ''})")
    try:
        recipe = json.loads((entry / "payload" / "recipe.json").read_text())
    except (OSError, ValueError):
        raise BadBlob("the entry has no readable recipe.json") from None
    if cache_key(recipe) != key:
        raise BadBlob(f"its recipe is that of entry {cache_key(recipe)}")


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
    """Stamp an entry as used now (outside its payload, so the manifest stays valid).

    In a shared cache the stamp may be another user's (group-writable: utime works); where it
    cannot be stamped, the entry only ages sooner for --cache-prune."""
    stamp = Path(entry) / LAST_USED
    try:
        os.utime(stamp)
    except FileNotFoundError:
        try:
            os.close(os.open(stamp, os.O_WRONLY | os.O_CREAT, 0o666))
        except PermissionError:
            pass
    except PermissionError:
        pass


def last_used(entry):
    stamp = Path(entry) / LAST_USED
    return (stamp if stamp.exists() else Path(entry)).stat().st_mtime


def share_modes(tree):
    """Give every file and directory of `tree` the modes of a shared, read-only entry: what the
    owner may read (or run), everyone may; nobody but the owner writes; no setuid, setgid or
    sticky bits. Whatever the builder's umask or the setgid directories above, the same entry
    has the same modes, hence the same manifest and the same packed bytes."""
    paths = [str(tree)]
    for dirpath, dirnames, filenames in os.walk(tree):
        paths += [os.path.join(dirpath, name) for name in dirnames + filenames]
    for path in paths:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            continue
        mode = stat.S_IMODE(st.st_mode) & 0o755
        mode |= (0o044 if mode & 0o400 else 0) | (0o011 if mode & 0o100 else 0)
        if mode != stat.S_IMODE(st.st_mode):
            os.chmod(path, mode)


def write_manifest(entry, tree):
    """Record the manifest of `tree` in `entry`/manifest.json, its modes made shareable first
    (share_modes): the manifest is written once, when the entry is complete."""
    share_modes(tree)
    with open(Path(entry) / MANIFEST, "w", encoding="utf-8") as fh:
        json.dump(tree_manifest(tree), fh, sort_keys=True)


def read_manifest(entry):
    try:
        with open(Path(entry) / MANIFEST, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


DISCARDED = ".discarded-"


def discard(path):
    """Remove a file or directory tree, making read-only directories writable first.

    A directory another user of a shared cache owns (a damaged entry) cannot be emptied by
    this one: it is renamed aside (DISCARDED...) in its parent, out of use, for its owner's or
    root's --cache-prune."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        try:
            _remove_tree(path)
        except PermissionError:
            aside = path.with_name(f"{DISCARDED}{path.name}-{os.getpid()}-{time.time_ns()}")
            try:
                os.rename(path, aside)
            except OSError as exc:
                raise PyrpathError(f"cannot remove {path} ({exc.strerror}): it belongs to "
                                   "another user; run dh_pyrpath --cache-prune as its owner or "
                                   "root, or give the cache the set-up of docs/cache.md") from None
    elif path.exists() or path.is_symlink():
        path.unlink()


def _remove_tree(path):
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, 0o755)
    shutil.rmtree(path)
