"""Cutting a freshly built CPython down to what a server runs, once per cache entry: the parts
a service never needs removed (unless kept), ELF files stripped, and ensurepip's wheels set
aside with an unpacked pip that builds run outside the tree."""
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from .. import host
from ..errors import PyrpathError
from ..package import relocate


def strip_elf_files(tree, log):
    """Strip as dh_strip would, once, in the cache.

    Every package then ships a stripped interpreter without per-build strip, dwz and -dbgsym
    work, and two services never ship -dbgsym packages that clash on identical build-ids.
    DEB_BUILD_OPTIONS=nostrip builds (and caches) an unstripped interpreter instead.
    """
    executables, libraries = [], []
    for path in relocate.elf_files(tree):
        (libraries if ".so" in os.path.basename(path) else executables).append(path)
    common = ["--remove-section=.comment", "--remove-section=.note"]
    if libraries:
        log.run(["strip", *common, "--strip-unneeded", *libraries], "strip the interpreter",
                env={"PATH": host.SYSTEM_PATH})
    if executables:
        log.run(["strip", *common, *executables], "strip the interpreter",
                env={"PATH": host.SYSTEM_PATH})


def set_aside_bundled(tree, xy, payload, keep):
    """ensurepip's wheels: pip runs from an unpacked copy outside the tree; the tree keeps
    the wheels only with --keep ensurepip."""
    bundled_src = tree / "lib" / f"python{xy}" / "ensurepip" / "_bundled"
    bundled = payload / "bundled"
    bundled.mkdir()
    for whl in sorted(bundled_src.glob("*.whl")):
        shutil.copy2(whl, bundled / whl.name)
        if "ensurepip" not in keep:
            whl.unlink()
    pip_wheels = sorted(bundled.glob("pip-*.whl"))
    if not pip_wheels:
        raise PyrpathError("this CPython source has no bundled pip wheel (ensurepip/_bundled): "
                           "use CPython 3.9 or newer")
    with zipfile.ZipFile(pip_wheels[-1]) as zf:
        zf.extractall(payload / "pip")
    # Compiled now, so running pip never writes into a published cache entry.
    # -s/-p: the pycs name pip/..., not this build's random staging path.
    subprocess.run([tree / "bin" / f"python{xy}", "-I", "-m", "compileall", "-q", "-j0",
                    "--invalidation-mode", "checked-hash", "-s", payload / "pip", "-p", "pip",
                    payload / "pip"],
                   check=True, stdout=subprocess.DEVNULL)


def trim(tree, xy, keep):
    """Remove what a server never needs, except the parts named in `keep`."""
    lib = Path(tree) / "lib" / f"python{xy}"
    dynload = lib / "lib-dynload"
    doomed = []
    if "test" not in keep:
        doomed.append(lib / "test")
        doomed += [p for pat in ("*/test", "*/tests", "*/idle_test") for p in lib.glob(pat)]
        doomed += [p for pat in ("_test*.so", "_ctypes_test*.so", "_xxtest*.so", "xxlimited*.so",
                                 "_xxsubinterpreters*.so", "xxsubtype*.so")
                   for p in dynload.glob(pat)]
    if "static" not in keep:
        doomed += list(lib.glob("config-*/libpython*.a"))
    if "idle" not in keep:
        doomed.append(lib / "idlelib")
        doomed += list((Path(tree) / "bin").glob("idle*"))
    if "tkinter" not in keep:
        doomed.append(lib / "tkinter")
        doomed += list(dynload.glob("_tkinter*.so"))
    if "turtledemo" not in keep:
        doomed.append(lib / "turtledemo")
    if "opt-pyc" not in keep:
        doomed += list(lib.rglob("__pycache__/*.opt-[12].pyc"))
    for path in doomed:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
    # Stdlib modules are not scripts: a few are installed executable with shebangs such as
    # /usr/local/bin/python, which a server has no business running (and lintian rejects).
    for path in lib.rglob("*.py"):
        mode = path.lstat().st_mode
        if not path.is_symlink() and mode & 0o111:
            path.chmod(mode & ~0o111)
