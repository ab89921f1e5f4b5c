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

# One cache for the whole suite (CPython is built at most once per run); inside the checkout so a
# fresh CI clone really exercises the cold path once.
SUITE_CACHE = Path(os.environ.get("DH_PYRPATH_TEST_CACHE", REPO / ".cache" / "test-cache"))


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
    """Build dh-pyrpath's own .deb with dpkg-buildpackage and install it with apt."""
    work = tmp_path_factory.mktemp("tool") / "dh-pyrpath"
    shutil.copytree(REPO, work, ignore=shutil.ignore_patterns(".git", ".cache", "__pycache__",
                                                               "*.egg-info", "build"))
    run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=work)
    debs = sorted(work.parent.glob("dh-pyrpath_*.deb"))
    assert debs, "dpkg-buildpackage produced no dh-pyrpath .deb"
    run(["apt-get", "install", "-y", "--reinstall", "--no-install-recommends", str(debs[-1])],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return debs[-1]


def build_deb(srcdir, *extra, env=None):
    """Run a real `dpkg-buildpackage -us -uc -b` in srcdir; return the .deb files it made."""
    srcdir = Path(srcdir)
    before = set(srcdir.parent.glob("*.deb"))
    run(["dpkg-buildpackage", "-us", "-uc", "-b", *extra], cwd=srcdir,
        env={**os.environ, **(env or {})})
    return sorted(set(srcdir.parent.glob("*.deb")) - before)
