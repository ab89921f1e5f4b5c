"""A cache shared by the users of one group (docs/cache.md): how it is recognised, and the
umask and directory modes that keep what each user writes usable by the others."""
import os
import stat
from pathlib import Path

# Made group-writable up front in a shared cache, whoever comes first.
SUBDIRS = ("interpreters", "sources", "wheels", "locks", "tmp", "pip")


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


def shared_mode(rel, mode, is_dir):
    """The mode `rel` (a path under the cache root, "" for the root) gets when the cache is
    shared, or None to keep it.

    An entry's payload keeps them: its manifest records them, so changing one would make the
    entry damaged (and they are readable by everyone already, write_manifest saw to that). The
    entry's own directory becomes 2775, as publish() makes it in a shared cache. Everything
    else (the cache's directories, an entry's manifest.json and last-used stamp, wheels,
    sources, locks, pip's cache) gets the group's share of the owner's rights, and directories
    the setgid bit that passes the group on."""
    parts = Path(rel).parts
    in_entry = len(parts) >= 3 and parts[0] == "interpreters" and not parts[1].startswith(".")
    if in_entry and parts[2] == "payload":
        return None
    if len(parts) == 2 and parts[0] == "interpreters" and is_dir:
        return 0o2775 if not parts[1].startswith(".") else None
    if is_dir:
        return mode | 0o2070
    return mode | ((mode & 0o600) >> 3)


def share(root, gid):
    """Make the cache at `root` (created when missing) the shared cache of group `gid`,
    keeping every entry: everything in it is given to the group and gets shared_mode().
    Returns the number of paths changed. Raises PermissionError (with the path) where this
    user may not change one."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name in SUBDIRS:
        (root / name).mkdir(exist_ok=True)
    changed = 0
    paths = [root]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        paths += [Path(dirpath) / name for name in sorted(dirnames + filenames)]
    for path in paths:
        st = os.lstat(path)
        before = (st.st_gid, stat.S_IMODE(st.st_mode))
        try:
            if st.st_gid != gid:
                os.chown(path, -1, gid, follow_symlinks=False)
            if not stat.S_ISLNK(st.st_mode):
                mode = shared_mode(str(path.relative_to(root)) if path != root else "",
                                   stat.S_IMODE(st.st_mode), stat.S_ISDIR(st.st_mode))
                if mode is not None and mode != before[1]:
                    os.chmod(path, mode)
        except PermissionError as exc:
            raise PermissionError(exc.errno, exc.strerror, str(path)) from None
        after = os.lstat(path)
        changed += (after.st_gid, stat.S_IMODE(after.st_mode)) != before
    return changed
