"""Placing a cached interpreter where a build uses it: its tree at the package's staged prefix,
pip and the bundled wheels in the work directory (pipeline.py, and vendor.py, whose pip must run
on the target's interpreter)."""
import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

from ..package import relocate
from ..store.files import discard
from .recipe import PLACEHOLDER


def place(interp, staged, workdir):
    """Copy the interpreter out of the cache: its tree to the package's staged prefix, pip and
    the bundled wheels to the work directory. Nothing refers to the cache entry afterwards."""
    staged = Path(staged)
    if staged.exists():
        discard(staged)
    staged.parent.mkdir(parents=True, exist_ok=True)
    copy_tree_linking_bytecode(interp.tree, staged)
    for part in ("pip", "bundled"):
        subprocess.run(["cp", "-a", str(getattr(interp, part)), str(workdir / part)], check=True)
    # pip and extension builds read sysconfig: make it name the staged prefix until relocation.
    relocate.rewrite_text_files(staged, {PLACEHOLDER: str(staged)})
    return dataclasses.replace(interp, tree=staged, pip=workdir / "pip",
                               bundled=workdir / "bundled")


def _link(path, out):
    try:
        os.link(path, out)
        return True
    except OSError:  # another filesystem, or protected_hardlinks and another owner: copy
        return False


def copy_tree_linking_bytecode(src, dest):
    """cp -a, except that pyc files are hard links into the cache entry.

    The stdlib's pycs (a third of the entry) only serve pip while the package is built, then
    relocation drops them (the package's own are compiled at the final path): nothing writes to them in between
    (PYTHONDONTWRITEBYTECODE, and rewrites replace files rather than write into them), so
    copying them would only cost time. Every other file is copied: debhelper later changes
    modes and contents in place.
    """
    src, dest = Path(src), Path(dest)
    dirs = []
    for dirpath, dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        target = dest / rel
        target.mkdir()
        dirs.append((Path(dirpath), target))
        for name in list(dirnames) + filenames:
            path, out = Path(dirpath) / name, target / name
            if path.is_symlink():
                os.symlink(os.readlink(path), out)
                if name in dirnames:
                    dirnames.remove(name)
            elif name in dirnames:
                continue
            elif rel.name == "__pycache__" and _link(path, out):
                pass
            else:
                shutil.copy2(path, out)
    for source, target in reversed(dirs):
        shutil.copystat(source, target)
