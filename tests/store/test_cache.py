"""The shared cache: location, manifests that catch damage, locking, atomic publish."""
import hashlib
import multiprocessing
import os
import time

from dh_pyrpath.store import cache as cachelib
from dh_pyrpath.store import entries
from dh_pyrpath.store import files as storefiles
from dh_pyrpath.store import location
from dh_pyrpath.store import maintenance
from dh_pyrpath.store import sharing


def test_default_location_order(tmp_path):
    """Without a build host's shared cache (the host's own /var/cache/dh-pyrpath, which a host
    set up as docs/cache.md says has, is not this test's business)."""
    def where(env):
        return location.default_location(env, system=tmp_path / "no-shared-cache")
    assert str(where({"DH_PYRPATH_CACHE_DIR": "/c", "HOME": "/h"})) == "/c"
    assert str(where({"XDG_CACHE_HOME": "/x", "HOME": "/h"})) == "/x/dh-pyrpath"
    assert str(where({"HOME": "/h"})) == "/h/.cache/dh-pyrpath"
    assert where({}) is None


def test_unwritable_location_turns_caching_off(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert location.open_cache(blocker / "cache") is None
    assert location.open_cache(None) is None
    assert isinstance(location.open_cache(tmp_path / "ok"), cachelib.Cache)


def test_manifest_detects_truncation_tampering_and_extras(tmp_path):
    tree = tmp_path / "payload"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin" / "python").write_bytes(b"x" * 100)
    os.symlink("python", tree / "bin" / "python3")
    entries.write_manifest(tmp_path, tree)
    manifest = entries.read_manifest(tmp_path)
    assert storefiles.manifest_problems(tree, manifest) == []
    (tree / "bin" / "python").write_bytes(b"x" * 99)
    assert storefiles.manifest_problems(tree, manifest) == [
        "bin/python has other content (99 bytes, 100 recorded)"]
    (tree / "bin" / "python").write_bytes(b"y" * 100)
    assert storefiles.manifest_problems(tree, manifest) == [
        "bin/python has other content (same size, other bytes)"]
    (tree / "bin" / "python").write_bytes(b"x" * 100)
    (tree / "stray").write_text("")
    assert storefiles.manifest_problems(tree, manifest) == [
        "stray is not in the manifest (added later)"]


def test_manifest_problems_say_what_changed(tmp_path):
    """Modes, kinds, link targets and missing files are told apart, in words (issue: a
    chmod -R was reported as 'changed bundled, ...')."""
    tree = tmp_path / "tree"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin" / "python").write_bytes(b"x" * 10)
    (tree / "bundled").mkdir()
    os.symlink("python", tree / "bin" / "python3")
    (tree / "gone").write_text("")
    entries.write_manifest(tmp_path, tree)
    manifest = entries.read_manifest(tmp_path)
    (tree / "bundled").chmod(0o2775)
    (tree / "bin" / "python").chmod(0o775)
    problems = storefiles.manifest_problems(tree, manifest)
    assert problems == ["bin/python has mode 0775, the manifest records 0644",
                        "bundled has mode 2775, the manifest records 0755"]
    assert storefiles.only_modes_changed(problems)
    assert storefiles.summarize(problems) == problems[0] + " (and 1 more)"
    (tree / "bin" / "python3").unlink()
    os.symlink("python3.11", tree / "bin" / "python3")
    (tree / "gone").unlink()
    (tree / "gone").mkdir()
    problems = storefiles.manifest_problems(tree, manifest)
    assert "bin/python3 points to python3.11, the manifest records python" in problems
    assert "gone is a dir now, the manifest records a file" in problems
    assert not storefiles.only_modes_changed(problems)
    (tree / "gone").rmdir()
    assert "gone is missing" in storefiles.manifest_problems(tree, manifest)


def _hold(root, name, delay, out):
    c = cachelib.Cache(root)
    with c.lock(name):
        out.put(("in", time.monotonic()))
        time.sleep(delay)
        out.put(("out", time.monotonic()))


def test_lock_excludes_other_processes(tmp_path):
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_hold, args=(tmp_path, "k", 0.3, q)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    # in time order: each process's queue feeder thread may deliver after the other's
    events = sorted((q.get() for _ in range(4)), key=lambda event: event[1])
    assert [e[0] for e in events] == ["in", "out", "in", "out"]


def test_publish_replaces_atomically(tmp_path):
    c = cachelib.Cache(tmp_path)
    staged = c.tempdir("x-")
    (staged / "f").write_text("new")
    final = tmp_path / "entries" / "k"
    final.mkdir(parents=True)
    (final / "f").write_text("old")
    c.publish(staged, final)
    assert (final / "f").read_text() == "new" and not staged.exists()


def test_default_location_prefers_the_shared_build_host_cache(tmp_path):
    system = tmp_path / "var-cache-dh-pyrpath"
    env = {"XDG_CACHE_HOME": "/x", "HOME": "/h"}
    assert str(location.default_location(env, system=system)) == "/x/dh-pyrpath"  # absent
    system.mkdir()
    assert location.default_location(env, system=system) == system
    assert str(location.default_location({"DH_PYRPATH_CACHE_DIR": "/c"}, system=system)) == "/c"


def test_share_modes_gives_one_canonical_form(tmp_path):
    tree = tmp_path / "payload"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin" / "python").write_text("")
    (tree / "bin" / "python").chmod(0o4770)
    (tree / "data").write_text("")
    (tree / "data").chmod(0o600)
    (tree / "bin").chmod(0o2770)
    os.symlink("python", tree / "bin" / "python3")
    storefiles.share_modes(tree)
    modes = {p.name: p.lstat().st_mode & 0o7777 for p in tree.rglob("*") if not p.is_symlink()}
    assert modes == {"bin": 0o755, "python": 0o755, "data": 0o644}
    assert tree.stat().st_mode & 0o7777 == 0o755


def _open_shared(root, out):
    opened = location.open_cache(root)
    out.put((os.umask(0), opened.shared,
             {n: (root / n).stat().st_mode & 0o7777 for n in sharing.SUBDIRS}))


def test_open_cache_on_a_shared_directory(tmp_path):
    root = tmp_path / "shared"
    root.mkdir()
    root.chmod(0o2775)
    q = multiprocessing.Queue()
    old = os.umask(0o027)  # inherited by the child; open_cache changes the child's only
    try:
        p = multiprocessing.Process(target=_open_shared, args=(root, q))
        p.start()
        p.join()
    finally:
        os.umask(old)
    umask, shared, modes = q.get()
    assert shared and umask == 0o007
    assert set(modes.values()) == {0o2770}  # group rwx and setgid; others as the umask said
    root.chmod(0o755)
    assert not sharing.is_shared(root) and not cachelib.Cache(root).shared


def test_a_source_apt_linked_is_stored_as_bytes_and_old_links_count_as_missing(tmp_path):
    """apt's file: method links the downloaded file to the mirror: the cache keeps the bytes
    (a link could point at a directory that goes away, or that another user cannot read), and
    a link an older version stored is no cached source, and --cache-info and --cache-prune
    pass over it."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "x.tar.gz").write_bytes(b"source bytes")
    sha = hashlib.sha256(b"source bytes").hexdigest()
    cache = cachelib.Cache(tmp_path / "cache")
    tmp = cache.tempdir("dl") / "x.tar.gz"
    os.symlink(mirror / "x.tar.gz", tmp)
    stored = cache.add_source_file(tmp, "x.tar.gz", sha)
    assert not stored.is_symlink() and stored.read_bytes() == b"source bytes"
    assert cache.source_file("x.tar.gz", sha) == stored

    old = cache.source_path("y.tar.gz", "0" * 64)
    os.symlink(tmp_path / "gone" / "y.tar.gz", old)  # dangling, as after a test's mirror went
    assert [r[1] for r in maintenance.contents(cache) if r[0] == "source"] == [stored.name]
    assert cache.source_file("y.tar.gz", "0" * 64) is None and not os.path.lexists(old)
    os.symlink(tmp_path / "gone" / "y.tar.gz", old)
    removed = maintenance.prune(cache, 30)
    assert [r[1] for r in removed] == [old.name] and stored.exists()
