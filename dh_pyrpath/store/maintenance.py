"""Keeping a cache in bounds: what it holds (--cache-info) and removing what is unused
(--cache-prune), without disturbing the builds that use it meanwhile."""
import time

from .cache import SUM
from .entries import last_used
from .files import DISCARDED, remove_tree, tree_size


def contents(cache, describe=lambda found: {entry: entry.name for entry in found}):
    """What the cache holds: [(kind, name, bytes, last used as a timestamp)]; `describe` names
    the interpreter entries from their directories ({entry: name}; the store cannot: it does
    not read payloads)."""
    rows = []
    found = cache.interpreter_entries()
    names = describe(found)
    for entry in found:
        name = names[entry]
        rows.append(("interpreter", name, tree_size(entry), last_used(entry)))
    for kind, pattern in (("source", "sources/*"), ("wheel", "wheels/*.whl")):
        for path in sorted(cache.root.glob(pattern)):
            # not a link an older version stored (cache.add_source_file): it may point at what
            # this user cannot read
            if not path.is_symlink() and path.is_file():
                rows.append((kind, path.name, path.stat().st_size, path.stat().st_mtime))
    for kind, where in (("pip cache", cache.path("pip")), ("bytecode", cache.bytecode_dir()),
                        ("temporary", cache.path("tmp"))):
        if where.exists():
            rows.append((kind, where.name + "/", tree_size(where), None))
    return rows


def prune(cache, max_age_days, now=None):
    """Remove what was not used for max_age_days (0: everything not in use right now).

    Interpreter entries in use (locked) are skipped; wheels, sources and compiled modules
    age from when they were stored. In a shared cache, what another user owns and this one may
    not remove is skipped (root's prune removes everything). Returns [(kind, name, bytes)]
    removed.
    """
    now = time.time() if now is None else now
    cutoff = now - max_age_days * 86400
    removed = []

    def remove(kind, path, name=None):
        size = (path.lstat().st_size if path.is_symlink()
                else tree_size(path) if path.is_dir() else path.stat().st_size)
        try:
            if path.is_dir() and not path.is_symlink():
                remove_tree(path)
            else:
                path.unlink()
        except PermissionError:
            return False
        removed.append((kind, name or path.name, size))
        return True

    for entry in cache.interpreter_entries():
        if last_used(entry) > cutoff and max_age_days > 0:
            continue
        with cache.lock(f"interpreter-{entry.name}", blocking=False) as held:
            if held is not None:
                remove("interpreter", entry)
    for kind, pattern in (("source", "sources/*"), ("wheel", "wheels/*.whl")):
        for path in sorted(cache.root.glob(pattern)):
            if path.is_symlink():  # what an older version stored from a file: mirror
                remove(kind, path)
            elif path.is_file() and (max_age_days == 0 or path.stat().st_mtime <= cutoff):
                if remove(kind, path):
                    path.with_name(path.name + SUM).unlink(missing_ok=True)
    # Compiled modules (thousands of small files) age from when they were stored, and are
    # reported as one row: a build that needs one again compiles it again.
    stale = [path for path in sorted(cache.bytecode_dir().glob("*/*"))
             if path.is_file() and (max_age_days == 0 or path.stat().st_mtime <= cutoff)]
    if stale:
        size, count = 0, 0
        for path in stale:
            path_size = path.stat().st_size
            try:
                path.unlink()
            except PermissionError:
                continue
            size, count = size + path_size, count + 1
        if count:
            removed.append(("bytecode", f"bytecode/ ({count} modules)", size))
    if cache.path("pip").exists() and max_age_days == 0:
        remove("pip cache", cache.path("pip"), "pip/")
    # Staging directories of builds that died: their key's lock is free.
    for path in sorted(cache.path("tmp").glob("*")):
        key = path.name.split("-")[1] if path.name.startswith("interpreter-") else None
        if key:
            with cache.lock(f"interpreter-{key}", blocking=False) as held:
                if held is not None:
                    remove("temporary", path)
        elif path.stat().st_mtime <= now - 86400:
            remove("temporary", path)
    # What discard() renamed aside because another user owned it.
    for parent in (cache.root, cache.path("interpreters"), cache.path("tmp")):
        for path in sorted(parent.glob(DISCARDED + "*")):
            remove("discarded", path)
    return removed
