"""The extended tier (tests/run --extended): proofs too expensive for every CI run.

Two cold builds of the default (PGO+LTO) interpreter, from empty caches, in directories of other
names and depths, one after the other, the second as on another machine (another host name, an
unlimited stack, a PID namespace of its own): the cache entries are the same file by file, and
so are the packaged trees. The core tier proves the same for one cold build against an entry built
earlier (test_offline_e2e.py); this is the pair from scratch. About 15 minutes on 2 cores.
"""
import json
import shutil

import pytest

from conftest import REPO, SUITE_CACHE, copy_source, dh_pyrpath

pytestmark = [pytest.mark.e2e, pytest.mark.extended]

EXAMPLE = REPO / "examples" / "hello-service"


# What the PGO training's process sees of the machine, changed (each changed the profile once)
ELSEWHERE = ("unshare", "--uts", "--pid", "--fork", "--kill-child", "/bin/sh", "-c",
             'hostname another-build-host.example.org; ulimit -S -s unlimited; exec "$@"', "sh")


def _cold(where, elsewhere=False):
    cache = where / "cache"
    (cache / "sources").mkdir(parents=True)
    for path in (SUITE_CACHE / "sources").glob("*"):  # no download: the same verified files
        shutil.copy2(path, cache / "sources" / path.name)
    src = copy_source(EXAMPLE, where)
    proc = dh_pyrpath(cwd=src, env={"DH_PYRPATH_CACHE_DIR": str(cache)}, check=True,
                      prefix=ELSEWHERE if elsewhere else ())
    assert "instrumented for PGO" in proc.stdout, proc.stdout  # really compiled, with PGO
    tree = src / "debian" / "hello-service" / "opt" / "hello-service"
    key = json.loads((tree / "share/dh-pyrpath/build-info.json").read_text())["interpreter_key"]
    manifest = json.loads((cache / "interpreters" / key / "manifest.json").read_text())
    return key, manifest, tree


def _files(tree):
    return {str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def test_two_cold_default_builds_elsewhere_are_byte_identical(tmp_path):
    key_a, manifest_a, tree_a = _cold(tmp_path / "a")
    key_b, manifest_b, tree_b = _cold(tmp_path / "somewhere" / "much" / "deeper",
                                      elsewhere=True)
    assert key_a == key_b
    differ = sorted(p for p in set(manifest_a) | set(manifest_b)
                    if manifest_a.get(p) != manifest_b.get(p))
    assert not differ, f"two cold builds differ in {len(differ)} files: {differ[:10]}"
    a, b = _files(tree_a), _files(tree_b)
    assert a.keys() == b.keys()
    assert [p for p in a if a[p] != b[p]] == []
