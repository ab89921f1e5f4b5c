"""One CPython build per fleet, for real: two runners with empty caches of their own and one
remote cache (Debian's nginx on loopback, docs/cache.md's PUT location). Runner A builds the
example with dpkg-buildpackage, compiling CPython and publishing it; runner B builds the same
example in another directory and compiles nothing, and the two .debs are the same bytes.

Runner A's interpreter is a plain -O0 build (DEB_BUILD_OPTIONS=noopt, a key of its own): what
is proven is the cache's behaviour, not the interpreter's speed. It compiles CPython: run it
under the machine's CPU lock (flock /var/lock/dh-pyrpath-cpu.lock)."""
from pathlib import Path

import pytest

from cache_servers import Nginx
from conftest import REPO, build_deb, copy_source
from test_cache_e2e import configure_ran

pytestmark = pytest.mark.e2e
EXAMPLE = REPO / "examples" / "hello-service"
LOG = Path("debian/.debhelper/dh_pyrpath/hello-service/build.log")


def test_runner_b_builds_nothing_and_makes_the_same_deb(tmp_path, pyrpath_build):
    extra, tool_env = pyrpath_build
    server = Nginx(tmp_path)
    try:
        debs, logs = {}, {}
        for runner in ("a", "b"):
            src = copy_source(EXAMPLE, tmp_path / runner)
            env = dict(tool_env, DEB_BUILD_OPTIONS="noopt",
                       DH_PYRPATH_CACHE_DIR=str(tmp_path / f"cache-{runner}"),
                       DH_PYRPATH_REMOTE_CACHE=server.url())
            debs[runner] = build_deb(src, *extra, env=env)
            logs[runner] = (src / LOG).read_text()
    finally:
        server.stop()
    assert configure_ran(logs["a"]), "runner A did not build CPython: not a cold build"
    assert "remote cache: published interpreter" in logs["a"]
    assert not configure_ran(logs["b"]), "runner B built CPython"
    assert "remote cache: fetched interpreter" in logs["b"]
    assert "apt-get source" not in logs["b"], "runner B downloaded the CPython source again"
    assert "warning: remote cache" not in logs["a"] + logs["b"]
    assert [d.name for d in debs["a"]] == [d.name for d in debs["b"]] != []
    for a, b in zip(debs["a"], debs["b"]):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between the runners"
    stored = sorted(p.parent.name for p in server.store.rglob("*") if p.is_file())
    assert set(stored) == {"ac", "cas"}


@pytest.mark.parametrize("fault", ["refused", "hanging"])
def test_a_remote_that_is_down_or_hangs_costs_one_warning(suite_cache, tmp_path, fault):
    """dh_pyrpath itself, warm local cache (the suite's), remote unusable: the build succeeds,
    says so once, and a hanging remote costs about its 5-second timeout."""
    import time
    from cache_servers import Hanging, refused_url
    from conftest import dh_pyrpath
    server = Hanging() if fault == "hanging" else None
    try:
        url = server.url if server else refused_url()
        src = copy_source(EXAMPLE, tmp_path)
        start = time.monotonic()
        proc = dh_pyrpath(cwd=src, env={"DH_PYRPATH_REMOTE_CACHE": url})
        elapsed = time.monotonic() - start
    finally:
        if server:
            server.stop()
    assert proc.returncode == 0, proc.stdout
    warnings = [line for line in proc.stdout.splitlines() if "remote cache" in line]
    assert len(warnings) == 1, warnings
    assert ("no answer within 5 s" if server else "connection refused") in warnings[0]
    assert "going on without it" in warnings[0]
    assert "interpreter: cached CPython" in proc.stdout
    assert (src / "debian/hello-service/opt/hello-service/bin/hello-service").is_file()
    print(f"{fault}: {elapsed:.1f} s")
