"""The local store: source tarballs, wheels and entries under one directory, shared by builds.

What is stored is named by its content (a sha256, or a key whose document hashes to it:
entries.py). Everything is made in a temporary directory on the cache's file system and
published with one rename, under a per-name lock, so concurrent builds neither corrupt what
they share nor make it twice.

With a remote cache (remote.py), a local miss looks there before the caller makes it, and what
is made or held here is offered there; everything fetched is verified as a local file is.

A cache directory whose group may write and that has the setgid bit (sharing.py, docs/cache.md)
is shared by the users of that group: what one publishes, the others use and may replace.
"""
import fcntl
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import PyrpathError
from .files import discard, sha256_file
from .remote import BadBlob, RemoteError, is_sha256
from .sharing import is_shared

SUM = ".sha256"  # beside each wheel in the wheelhouse: its sha256, written before the wheel


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
        self.fetched = set()  # interpreter keys this run took from the remote

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

    def bytecode_dir(self):
        """Compiled modules, one file per compiler, installed name and source (written and
        read by package/helpers/compile_pycs.py, which also checks each file's own sha256)."""
        return self.path("bytecode")

    # ------------------------------------------------------------ source tarballs

    def source_path(self, name, sha256):
        return self.path("sources", f"{sha256}-{name}")

    def source_file(self, name, sha256, log=None):
        """The cached file `name` with this sha256 (checked now), else the remote's (verified),
        or None. A local one the remote lacks is offered to it."""
        path = self.source_path(name, sha256)
        if path.is_symlink():
            # what an older dh-pyrpath stored from a file: mirror (see add_source_file): its
            # target may be gone or unreadable to this user, so it counts as missing
            try:
                path.unlink()
            except OSError:
                return None
        if path.is_file() and sha256_file(path) == sha256:
            self._offer_blob(path, sha256, f"source {name}", log)
            return path
        return self._fetch_blob(sha256, path, f"source-{sha256}", f"source {name}", log)

    def add_source_file(self, tmp, name, sha256, log=None):
        """Publish a verified file (moved from `tmp`) as a source; return its cached path."""
        final = self.source_path(name, sha256)
        if os.path.islink(tmp):
            # apt's file: method links to the mirror instead of copying: keep the bytes, not a
            # link to a directory that may go away (and that other users may not read)
            copy = Path(f"{tmp}.copy")
            shutil.copyfile(tmp, copy)
            os.unlink(tmp)
            tmp = copy
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
        remote = self.remote_for()
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
            self.remote_trouble(exc, log, f"wheel {name}", "not used")
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
        remote = self.remote_for(write=True)
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
                self.remote_trouble(exc, log, f"wheel {final.name}", "left as it is")
        return final

    def wheel_set(self, key, log=None):
        """The wheels recorded for `key` (a name deps derives from everything that decides a
        resolution) as local paths, each from the wheelhouse or the remote; None unless all
        of them are there now."""
        remote = self.remote_for()
        if remote is None:
            return None
        try:
            record = remote.get_record("wheel-set", key)
        except (RemoteError, BadBlob) as exc:
            self.remote_trouble(exc, log, f"wheel set {key}", "not used")
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
        remote = self.remote_for(write=True)
        if remote is None:
            return
        value = {"wheels": sorted([Path(p).name, _checked_sum(Path(p))] for p in paths)}
        if any(sha is None for _, sha in value["wheels"]):
            return  # a wheel that no longer matches its checksum: record nothing
        try:
            if remote.get_record("wheel-set", key) != value:
                remote.put_record("wheel-set", key, value)
        except (RemoteError, BadBlob) as exc:
            self.remote_trouble(exc, log, f"wheel set {key}", "left as it is")

    def _place_wheel(self, path, sha256):
        wheels = self.path("wheels")
        wheels.mkdir(parents=True, exist_ok=True)
        side = path.with_name(path.name + SUM)
        side.write_text(sha256 + "\n")
        os.replace(side, wheels / side.name)  # checksum first: a wheel without one is removed
        os.replace(path, wheels / path.name)
        return wheels / path.name

    # ------------------------------------------------------------ the remote cache (remote.py)

    def remote_for(self, write=False):
        remote = self.remote
        if remote is None or not (remote.writable if write else remote.usable):
            return None
        return remote

    def remote_trouble(self, exc, log, what, outcome):
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
        remote = self.remote_for()
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
            progress(log, f"remote cache: fetched {what}", size, start)
            return final
        except (RemoteError, BadBlob) as exc:
            self.remote_trouble(exc, log, what, "discarded, not used")
            return None
        finally:
            discard(tmp)

    def _offer_blob(self, path, sha256, what, log):
        """Upload a verified local file the remote lacks (a HEAD when it has it)."""
        remote = self.remote_for(write=True)
        if remote is None:
            return
        start = time.monotonic()
        try:
            if remote.publish_blob(sha256, path):
                progress(log, f"remote cache: published {what}", path.stat().st_size, start)
        except RemoteError as exc:
            self.remote_trouble(exc, log, what, "not published")

    def interpreter_entries(self):
        return sorted(p for p in self.path("interpreters").glob("*") if p.is_dir())


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


def progress(log, what, size, start, always=False):
    """'<what> (18.9 MB in 0.4 s)': a progress line for large transfers, a log line else."""
    if log is None:
        return
    line = f"{what} ({size / 1e6:.1f} MB in {time.monotonic() - start:.1f} s)"
    if always or size >= 1 << 20:
        log.say(line)
    else:
        log.write(line)
