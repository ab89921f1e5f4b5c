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
