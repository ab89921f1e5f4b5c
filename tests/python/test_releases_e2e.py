"""Another release's CPython source through a private apt configuration, for real: the
archive, its signed index, apt-get source; the host's /etc/apt is never changed."""
from pathlib import Path

import pytest

from dh_pyrpath import host
from dh_pyrpath.errors import PyrpathError
from dh_pyrpath.log import BuildLog
from dh_pyrpath.python import catalog, releases, sources
from dh_pyrpath.store import cache as cachelib

pytestmark = pytest.mark.e2e


def _etc_apt():
    return {p: p.read_bytes() for p in Path("/etc/apt").rglob("*") if p.is_file()}


@pytest.fixture
def other():
    """A release other than the host's that has a python3.X source the archive serves."""
    here = host.host_codename()
    newer = releases.newer_stable(here)
    return newer[0] if newer else ("bookworm" if here != "bookworm" else "trixie")


def test_another_releases_source_through_a_private_configuration(tmp_path, other):
    before = _etc_apt()
    cache = cachelib.Cache(tmp_path / "cache")
    log = BuildLog(str(tmp_path / "build.log"), "svc", quiet=True)
    offered = [o for o in catalog.offers_of(other, "stable", cache.root) if o.served]
    assert offered, f"Debian {other} serves no python3.X source"
    package = offered[-1].package
    source = sources.resolve(f"debian:{package}@{other}", None, cache, tmp_path, log)
    assert source.release == other and source.package == package
    assert source.revision == offered[-1].version and source.debian is not None
    assert sources.facts(source)["version"] == source.revision.split("-")[0].split("+")[0]
    # pinned, from the cache now: the same files
    again = sources.resolve(f"debian:{package}={source.revision}@{other}", None, cache,
                            tmp_path, log)
    assert (again.sha256, again.debian.sha256) == (source.sha256, source.debian.sha256)
    assert (cache.root / "apt" / other / "apt.conf").is_file()
    assert _etc_apt() == before  # the host's apt configuration, byte for byte


def test_list_pythons_says_what_is_served(tmp_path):
    found = catalog.offers(tmp_path)
    lines = catalog.table(found)
    here = host.host_codename()
    default = host.host_default_package()
    assert any(o.release == here and o.package == default and o.served for o in found)
    assert lines[0].split() == ["release", "support", "source", "revision", "files",
                                "python-source"]
    served = [o for o in found if o.served]
    for offer in served:
        assert any(f"debian:{offer.package}={offer.version}@{offer.release}" in line
                   for line in lines)
    for offer in (o for o in found if not o.served):
        assert any(offer.version in line and "listed, not served" in line for line in lines)


def test_unreachable_archive_is_one_line(tmp_path):
    with pytest.raises(PyrpathError) as err:
        releases.config("trixie", tmp_path, archive="http://127.0.0.1:9/debian/",
                        security=None)
    assert str(err.value).startswith("Debian trixie's archive is unreachable from this host:")


def test_missing_key_is_one_line_naming_the_keyring(tmp_path):
    empty = tmp_path / "empty.gpg"
    empty.write_bytes(b"")
    with pytest.raises(PyrpathError) as err:
        releases.config("trixie", tmp_path, keyring=empty)
    assert str(err.value).startswith(f"apt cannot verify Debian trixie's index with {empty}")
    assert "install a debian-archive-keyring" in str(err.value)


def test_a_release_the_archive_does_not_have(tmp_path):
    with pytest.raises(PyrpathError) as err:
        releases.config("buzz", tmp_path, stable=False)  # Debian 1.1: long gone from it
    assert str(err.value).startswith("the archive has no release buzz"), str(err.value)


def test_an_ended_release_is_refused(tmp_path):
    log = BuildLog(str(tmp_path / "build.log"), "svc", quiet=True)
    with pytest.raises(PyrpathError, match="security support has ended"):
        sources.resolve("debian:python3.7@buster", None, None, tmp_path, log)
