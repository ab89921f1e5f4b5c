"""Files and trees in the store: checksums, manifests, modes, sizes, and removal that works on
read-only trees and on what another user of a shared cache owns."""
import hashlib
import os
import shutil
import stat
import time
from pathlib import Path

from ..errors import PyrpathError


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
    """What differs between the tree and its manifest, one phrase a person can act on per
    path (empty when the tree is intact): which file, and whether its content, its mode, its
    kind or its link target changed."""
    actual = tree_manifest(root)
    problems = []
    for rel in sorted(set(manifest) | set(actual)):
        if rel not in actual:
            problems.append(f"{rel} is missing")
        elif rel not in manifest:
            problems.append(f"{rel} is not in the manifest (added later)")
        elif actual[rel] != manifest[rel]:
            problems.append(describe_change(rel, manifest[rel], actual[rel]))
    return problems


def describe_change(rel, recorded, found):
    """How `rel` differs from its manifest record ([kind, mode, size or target, sha256])."""
    if not (isinstance(recorded, list) and len(recorded) == 4 and isinstance(recorded[1], int)):
        return f"{rel} has no readable record in the manifest"
    kind, mode, size, digest = recorded
    now_kind, now_mode, now_size, now_digest = found
    if now_kind != kind:
        return f"{rel} is a {now_kind} now, the manifest records a {kind}"
    if kind == "link" and now_size != size:
        return f"{rel} points to {now_size}, the manifest records {size}"
    if now_size != size or now_digest != digest:
        sizes = (f"{now_size} bytes, {size} recorded" if now_size != size
                 else "same size, other bytes")
        return f"{rel} has other content ({sizes})"
    return f"{rel} has mode {now_mode:04o}, the manifest records {mode:04o}"


def summarize(problems):
    """The first problem, and how many more there are: for a one-line message."""
    more = len(problems) - 1
    return problems[0] + (f" (and {more} more)" if more else "")


def only_modes_changed(problems):
    """Whether every problem is a changed mode (a chmod, not damaged content)."""
    return bool(problems) and all(" has mode " in p for p in problems)


def tree_size(path):
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


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


DISCARDED = ".discarded-"


def discard(path):
    """Remove a file or directory tree, making read-only directories writable first.

    A directory another user of a shared cache owns (a damaged entry) cannot be emptied by
    this one: it is renamed aside (DISCARDED...) in its parent, out of use, for its owner's or
    root's --cache-prune."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        try:
            remove_tree(path)
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


def remove_tree(path):
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, 0o755)
    shutil.rmtree(path)
