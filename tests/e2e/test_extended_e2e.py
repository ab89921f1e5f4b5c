"""The extended tier (tests/run --extended): proofs too expensive for every CI run.

Two cold builds of the default (PGO+LTO) interpreter, from empty caches, in directories of other
names and depths, one after the other, the second as on another machine (another host name, an
unlimited stack, a PID namespace of its own): the cache entries are the same file by file, and
so are the packaged trees. The core tier proves the same for one cold build against an entry built
earlier (test_offline_e2e.py); this is the pair from scratch. About 15 minutes on 2 cores.

Then the same key built on the host and in a build chroot as sbuild's unshare backend makes one
(docs/targets.md, "What reproducible covers"): about 15 minutes more.
"""
import json
import shutil

import pytest

import chroots
from conftest import REPO, SUITE_CACHE, copy_source, dh_pyrpath, tree_files, vendored_copy

pytestmark = [pytest.mark.e2e, pytest.mark.extended]

EXAMPLE = REPO / "examples" / "hello-service"


# What the PGO training's process sees of the machine, changed (each changed the profile once)
ELSEWHERE = ("unshare", "--uts", "--pid", "--fork", "--kill-child", "/bin/sh", "-c",
             'hostname another-build-host.example.org; ulimit -S -s unlimited; exec "$@"', "sh")


def _cold(where, elsewhere=False):
    cache = where / "cache"
    (cache / "sources").mkdir(parents=True)
    for path in (SUITE_CACHE / "sources").glob("*"):  # no download: the same verified files
        try:
            shutil.copy2(path, cache / "sources" / path.name)
        except FileNotFoundError:  # pruned by another session on the shared cache meanwhile
            pass
    src = copy_source(EXAMPLE, where)
    proc = dh_pyrpath(cwd=src, env={"DH_PYRPATH_CACHE_DIR": str(cache)}, check=True,
                      prefix=ELSEWHERE if elsewhere else ())
    assert "instrumented for PGO" in proc.stdout, proc.stdout  # really compiled, with PGO
    tree = src / "debian" / "hello-service" / "opt" / "hello-service"
    key = json.loads((tree / "share/dh-pyrpath/build-info.json").read_text())["interpreter_key"]
    manifest = json.loads((cache / "interpreters" / key / "manifest.json").read_text())
    return key, manifest, tree


def test_two_cold_default_builds_elsewhere_are_byte_identical(tmp_path):
    key_a, manifest_a, tree_a = _cold(tmp_path / "a")
    key_b, manifest_b, tree_b = _cold(tmp_path / "somewhere" / "much" / "deeper",
                                      elsewhere=True)
    assert key_a == key_b
    differ = sorted(p for p in set(manifest_a) | set(manifest_b)
                    if manifest_a.get(p) != manifest_b.get(p))
    assert not differ, f"two cold builds differ in {len(differ)} files: {differ[:10]}"
    a, b = tree_files(tree_a), tree_files(tree_b)
    assert a.keys() == b.keys()
    assert [p for p in a if a[p] != b[p]] == []


# What a chroot shares with the host so that it builds the same key: the installed packages (the
# key names the versions of the toolchain and -dev packages, docs/targets.md), i.e. /usr, dpkg's
# database and the alternatives their maintainer scripts set (cc, c++, awk). Everything else is
# the chroot's own: /etc (passwd, hosts, host name, no openssl.cnf, its own ld.so.cache), /var
# (the build directory /var/tmp/dh-pyrpath-build among it), /opt, /tmp.
SAME_PACKAGES = ("/usr", "/var/lib/dpkg", "/etc/alternatives")


def _in_build_chroot(where, src):
    """dh_pyrpath in a minbase chroot entered as sbuild's unshare backend enters one: root in
    user, mount, PID, UTS and IPC namespaces of its own, host name sbuild, no network (loopback
    only), HOME=/nonexistent, no cache, building the vendored source."""
    box = chroots.Chroot.unpack(chroots.MINBASE, where / "root")
    try:
        binds = [(p, p) for p in SAME_PACKAGES] + [(REPO, REPO), (src.parent, src.parent)]
        proc = box.run("/usr/bin/python3", "-m", "dh_pyrpath", cwd=src, binds=binds,
                       network=False, hostname="sbuild", user_namespace=True, timeout=3600,
                       check=False, env={"HOME": "/nonexistent", "PYTHONPATH": str(REPO),
                                         "DH_PYRPATH_NO_CACHE": "1",
                                         "PYTHONDONTWRITEBYTECODE": "1"})
        assert proc.returncode == 0, proc.stdout[-4000:]
        return proc.stdout
    finally:
        box.destroy()


def test_host_and_build_chroot_give_the_same_interpreter(tmp_path):
    """The issue-26 pair: an online build on the host (a cold cache) and the vendored source
    built offline in an sbuild-like chroot with a minbase /etc. Same key, and every file of
    the packaged tree the same bytes, the PGO-trained, LTO-linked bin/python3.X included."""
    key_a, _, tree_a = _cold(tmp_path / "host")
    src, _ = vendored_copy(EXAMPLE, tmp_path / "chroot-src" / "build")
    log = _in_build_chroot(tmp_path / "chroot", src)
    assert "vendored: building from" in log and "instrumented for PGO" in log, log[-3000:]
    tree_b = src / "debian" / "hello-service" / "opt" / "hello-service"
    key_b = json.loads((tree_b / "share/dh-pyrpath/build-info.json").read_text())[
        "interpreter_key"]
    assert key_a == key_b
    a, b = tree_files(tree_a), tree_files(tree_b)
    assert a.keys() == b.keys()
    python = next(p for p in a if p.startswith("bin/python3."))
    differ = [p for p in a if a[p] != b[p]]
    assert python not in differ and differ == [], differ
