"""`dh_pyrpath --cache-share`: a user's cache becomes the build host's shared one and keeps
every entry. The route docs/cache.md used to give (chmod -R g+rwX) changed the modes entries'
manifests record, and every interpreter was compiled again."""
import os
import stat
import subprocess

from test_remote import make_entry

from dh_pyrpath.store import cache as cachelib
from dh_pyrpath.store import entries
from dh_pyrpath.store import files as storefiles
from dh_pyrpath.store import sharing


def _private_cache(root):
    """A cache as one user's own: nothing for the group, an entry, a wheel, pip's cache."""
    root.mkdir(mode=0o700)
    c = cachelib.Cache(root)
    key = make_entry(c, tag="kept")
    entries.touch_last_used(c.path("interpreters", key))
    (root / "wheels").mkdir()
    wheel = root / "wheels" / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    wheel.chmod(0o600)
    (root / "pip" / "http").mkdir(parents=True, mode=0o700)
    return key


def test_share_keeps_every_entry_and_gives_the_group_the_rest(tmp_path):
    root = tmp_path / "cache"
    key = _private_cache(root)
    gid = os.getgid()
    assert not sharing.is_shared(root)
    assert sharing.share(root, gid) > 0
    assert sharing.is_shared(root) and cachelib.Cache(root).shared
    entry = root / "interpreters" / key
    assert entries.entry_problems(entry) == []  # kept: not one mode its manifest records moved
    assert stat.S_IMODE(entry.stat().st_mode) == 0o2775
    assert stat.S_IMODE((entry / "last-used").stat().st_mode) & 0o060 == 0o060
    assert stat.S_IMODE((root / "wheels/demo-1.0-py3-none-any.whl").stat().st_mode) == 0o660
    assert stat.S_IMODE((root / "pip/http").stat().st_mode) == 0o2770
    for name in sharing.SUBDIRS:
        assert stat.S_IMODE((root / name).stat().st_mode) & 0o2070 == 0o2070, name
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            assert os.lstat(os.path.join(dirpath, name)).st_gid == gid
    assert sharing.share(root, gid) == 0  # again: nothing left to change


def test_share_makes_a_missing_directory(tmp_path):
    root = tmp_path / "var-cache" / "dh-pyrpath"
    sharing.share(root, os.getgid())
    assert sharing.is_shared(root)
    assert sorted(p.name for p in root.iterdir()) == sorted(sharing.SUBDIRS)


def test_the_old_chmod_route_damages_entries(tmp_path):
    """The control: what --cache-share avoids, and how the build now names it."""
    root = tmp_path / "cache"
    key = _private_cache(root)
    subprocess.run(["chmod", "-R", "g+rwX", str(root)], check=True)
    problems = entries.entry_problems(root / "interpreters" / key)
    assert problems and storefiles.only_modes_changed(problems)
    assert any(p.startswith("tree/bin/python3.11 has mode 0775") for p in problems)
