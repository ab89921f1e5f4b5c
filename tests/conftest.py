"""Shared fixtures: one interpreter/wheel cache for the whole suite, the tool's own .deb
built and installed once, and a helper that runs a real dpkg-buildpackage."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dh_pyrpath import host

# What the host is: the tests build for whatever Debian release runs them (bookworm: python3.11,
# trixie: python3.13), read from the system as dh_pyrpath's default is.
HOST_PYTHON = host.host_default_package()          # "python3.11"
HOST_XY = HOST_PYTHON[len("python"):]                 # "3.11"
HOST_ABI = "cpython-" + HOST_XY.replace(".", "")      # "cpython-311", in pyc and .so names
HOST_CODENAME = host.host_codename()

# One cache for the whole suite, outside the checkout: every run on this machine (a CI clone, a
# developer's checkout) reuses its verified interpreter entries. Entries are keyed by everything
# that changes their bytes, so a stale one is never used; tests that prove cold or damaged-cache
# behaviour make caches of their own.
TEST_STATE = Path(os.environ.get("DH_PYRPATH_TEST_STATE", "/var/cache/dh-pyrpath-tests"))
SUITE_CACHE = Path(os.environ.get("DH_PYRPATH_TEST_CACHE", TEST_STATE / "cache"))
# Debian's own tools must find Debian's python3, not one a developer put first on PATH.
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def build_env(**extra):
    """The environment of a package build: system PATH, the suite's cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DH_", "DEB_"))}
    env.update(PATH=SYSTEM_PATH, DH_PYRPATH_CACHE_DIR=str(SUITE_CACHE), LC_ALL="C.UTF-8")
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}  # None: remove the variable


def run(cmd, cwd=None, env=None, check=True, timeout=3600):
    """Run a command, capturing output; on failure show its tail in the assertion."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout)
    if check and proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-60:])
        raise AssertionError(f"{cmd!r} exited {proc.returncode}:\n{tail}")
    return proc


@pytest.fixture(scope="session")
def suite_cache():
    SUITE_CACHE.mkdir(parents=True, exist_ok=True)
    os.environ["DH_PYRPATH_CACHE_DIR"] = str(SUITE_CACHE)
    return SUITE_CACHE


@pytest.fixture(scope="session")
def tool_installed(tmp_path_factory):
    """Build dh-pyrpath's own .debs with dpkg-buildpackage and install them with apt; the
    dh-pyrpath .deb (tool_debs gives it with its sibling dh-pyrpath-audit, which it depends
    on with the same version)."""
    work = tmp_path_factory.mktemp("tool") / "dh-pyrpath"
    shutil.copytree(REPO, work, ignore=shutil.ignore_patterns(".git", ".cache", "__pycache__",
                                                               "*.egg-info", "build"))
    run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=work, env=build_env())
    debs = sorted(work.parent.glob("dh-pyrpath_*.deb"))
    assert debs, "dpkg-buildpackage produced no dh-pyrpath .deb"
    apt("install", "--reinstall", "--no-install-recommends", *map(str, tool_debs(debs[-1])))
    return debs[-1]


def tool_debs(deb):
    """[the dh-pyrpath .deb, the dh-pyrpath-audit .deb built with it]: installing the first
    needs the second."""
    audit = deb.with_name(deb.name.replace("dh-pyrpath_", "dh-pyrpath-audit_", 1))
    assert audit.is_file(), f"no {audit.name} beside {deb.name}"
    return [deb, audit]


# What `dpkg-deb -Zzstd` writes (make-deb's debian/rules asks for it).
ZSTD_MEMBERS = ["debian-binary", "control.tar.zst", "data.tar.zst"]


def lintian(*debs, args=(), env=None):
    """lintian's report on .debs. bookworm's lintian (2.116) tags every zstd member
    malformed-deb-archive although dpkg reads zstd since 1.21.18: for .debs whose members are
    exactly what dpkg-deb -Zzstd writes (checked here with ar) that one tag is suppressed."""
    zstd = [d for d in debs if run(["ar", "t", str(d)]).stdout.split() == ZSTD_MEMBERS]
    extra = ["--suppress-tags", "malformed-deb-archive"] if zstd else []
    return run(["lintian", "--tag-display-limit", "0", *extra, *args, *map(str, debs)],
               check=False, env=env)


def apt(*args):
    """apt-get on this host, waiting for the dpkg lock rather than failing on it."""
    return run(["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=600", *args],
               env=build_env(DEBIAN_FRONTEND="noninteractive"))


def build_deb(srcdir, *extra, env=None):
    """Run a real `dpkg-buildpackage -us -uc -b` in srcdir; return the .deb files it made
    (not the -dbgsym ones)."""
    srcdir = Path(srcdir)
    before = set(srcdir.parent.glob("*.deb"))
    run(["dpkg-buildpackage", "-us", "-uc", "-b", *extra], cwd=srcdir, env=build_env(**(env or {})))
    return sorted(p for p in set(srcdir.parent.glob("*.deb")) - before if "-dbgsym_" not in p.name)


def dh_pyrpath(*args, cwd, env=None, check=False, prefix=()):
    """Run dh_pyrpath from this checkout (not the installed one) in a source tree; `prefix` is
    a command that runs it (unshare ..., ending in what execs its arguments)."""
    return run([*prefix, "/usr/bin/python3", "-m", "dh_pyrpath", *args], cwd=cwd, check=check,
               env=build_env(PYTHONPATH=str(REPO), **(env or {})))


def copy_source(src, dest_parent):
    """Copy a source package into a fresh directory (builds write next to it)."""
    dest = Path(dest_parent) / Path(src).name
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", ".debhelper"))
    return dest


def vendored_copy(src, dest_parent):
    """copy_source, then `dh_pyrpath --vendor` in the copy (with network and the suite's
    cache): a source package that builds with no network. Returns (copy, its output)."""
    dest = copy_source(src, dest_parent)
    proc = dh_pyrpath("--vendor", cwd=dest, check=True)
    assert (dest / "pyrpath-vendor" / "MANIFEST.json").is_file(), proc.stdout
    return dest, proc.stdout


def tree_files(tree):
    """{relative path: bytes} of the regular files under `tree` (links left out)."""
    tree = Path(tree)
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def pyrpath_build_setup(request, tmp_path_factory):
    """(extra dpkg-buildpackage args, extra build environment) for building with dh_pyrpath:
    the installed dh-pyrpath package (tool_installed), or this checkout's dh_pyrpath and
    sequence file with MAKE_DEB_E2E_FROM_CHECKOUT=1 (a quicker loop while developing)."""
    if os.environ.get("MAKE_DEB_E2E_FROM_CHECKOUT") != "1":
        request.getfixturevalue("tool_installed")
        return [], {}
    root = tmp_path_factory.mktemp("checkout-tool")
    seq = root / "perl" / "Debian" / "Debhelper" / "Sequence"
    seq.mkdir(parents=True)
    shutil.copy(REPO / "debhelper" / "pyrpath.pm", seq / "pyrpath.pm")
    (root / "bin").mkdir()
    wrapper = root / "bin" / "dh_pyrpath"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec /usr/bin/python3 -m dh_pyrpath \"$@\"\n")
    wrapper.chmod(0o755)
    return ["-d"], {"PATH": f"{root / 'bin'}:{SYSTEM_PATH}", "PERL5LIB": str(root / "perl")}


@pytest.fixture(scope="session")
def pyrpath_build(request, tmp_path_factory):
    return pyrpath_build_setup(request, tmp_path_factory)
