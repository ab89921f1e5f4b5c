"""The interpreter's revision check: CVE ids read from a Debian changelog, the real one of
python3.X-minimal downloaded with apt where this host's archive lists it."""
import subprocess

import pytest
from debian.changelog import Changelog

from conftest import HOST_CODENAME, HOST_PYTHON
from dh_pyrpath.audit import interpreter
from dh_pyrpath.audit.interpreter import cves_since, item_cves
from dh_pyrpath.errors import AuditError
from dh_pyrpath.python import apt

# Measured on bookworm (docs/how-it-works.md): the archive lists deb12u9, builds here carry
# deb12u8, and deb12u9's changelog names 13 CVEs.
BOOKWORM_BUILT, BOOKWORM_NEWER = "3.11.2-6+deb12u8", "3.11.2-6+deb12u9"

CHANGELOG = """\
python3.11 (3.11.2-6+deb12u3) bookworm-security; urgency=medium

  * Fix CVE-2024-0003 and CVE-2024-0004: two fixes in one
  * debian/patches/CVE-2024-0005.patch: from upstream.
  * CVE-2024-0006: Apply CVE-2019-9999's approach
    to another module (CVE-2019-8888 mentioned on the second line).

 -- A Maintainer <a@example.org>  Wed, 07 Oct 2026 14:35:07 +0200

python3.11 (3.11.2-6+deb12u2) bookworm; urgency=medium

  * Apply upstream patches for the following CVEs:
    - CVE-2024-0002: a description
  * Not a security fix.

 -- A Maintainer <a@example.org>  Tue, 12 May 2026 12:17:27 +0700

python3.11 (3.11.2-6+deb12u1) bookworm; urgency=medium

  * CVE-2024-0001: the oldest.

 -- A Maintainer <a@example.org>  Mon, 11 May 2026 12:17:27 +0700
"""


def test_an_item_names_its_own_fixes_first():
    assert item_cves("CVE-2026-8328: Apply CVE-2021-4189 PASV fix to ftplib.ftpcp()") == [
        "CVE-2026-8328"]
    assert item_cves("Fix CVE-2024-0003 and CVE-2024-0004: two") == ["CVE-2024-0003",
                                                                     "CVE-2024-0004"]
    assert item_cves("cve-2024-0010, CVE-2024-0011: lower case too") == ["CVE-2024-0010",
                                                                          "CVE-2024-0011"]
    # no heading of ids: every id the item names
    assert item_cves("debian/patches/CVE-2024-0005.patch: from upstream") == ["CVE-2024-0005"]
    assert item_cves("Apply upstream fix for CVE-2024-0007 (Closes: #1)") == ["CVE-2024-0007"]


def test_cves_of_the_entries_between_two_revisions():
    assert cves_since(CHANGELOG, "3.11.2-6+deb12u2") == (
        "CVE-2024-0003", "CVE-2024-0004", "CVE-2024-0005", "CVE-2024-0006")
    assert cves_since(CHANGELOG, "3.11.2-6+deb12u1", newest="3.11.2-6+deb12u2") == (
        "CVE-2024-0002",)
    assert cves_since(CHANGELOG, "3.11.2-6+deb12u3") == ()
    assert len(cves_since(CHANGELOG, "3.11.2-1")) == 6


def test_a_changelog_that_does_not_parse_is_an_audit_error():
    with pytest.raises(AuditError, match="does not parse"):
        cves_since("this is not\na changelog\n", "1.0")


def test_binary_package_is_the_minimal_one():
    assert interpreter.binary_package("python3.13") == "python3.13-minimal"


@pytest.fixture(scope="module")
def newest_changelog(tmp_path_factory):
    """(revision, text) of the changelog of the newest python3.X-minimal apt lists here,
    downloaded with apt-get download as the audit does."""
    binary = interpreter.binary_package(HOST_PYTHON)
    versions = apt.binary_versions(binary)
    if not versions:
        pytest.skip(f"apt's indexes list no {binary} on this host (run apt-get update)")
    version = versions[0][0]
    dest = tmp_path_factory.mktemp("changelog")
    subprocess.run(["apt-get", "download", f"{binary}={version}"], cwd=dest, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (deb,) = dest.glob("*.deb")
    return version, interpreter.changelog_of(deb, binary)


def test_the_real_changelog_lists_the_fixes_since_each_older_revision(newest_changelog):
    version, text = newest_changelog
    assert text.startswith(f"{HOST_PYTHON} (")
    older = [str(b.version) for b in Changelog(text)][1:6]
    counts = [len(cves_since(text, rev)) for rev in older]
    assert counts == sorted(counts) and counts[-1] > 0  # older revisions: more fixes since


def test_bookworm_deb12u9_fixes_13_cves_since_deb12u8(newest_changelog):
    version, text = newest_changelog
    if HOST_CODENAME != "bookworm" or version != BOOKWORM_NEWER:
        pytest.skip(f"measured on bookworm with {BOOKWORM_NEWER} the newest (here: "
                    f"{HOST_CODENAME}, {version})")
    ids = cves_since(text, BOOKWORM_BUILT)
    assert len(ids) == 13
    assert {"CVE-2026-1502", "CVE-2026-19445", "CVE-2026-15310"} <= set(ids)
    # named in the description of CVE-2026-8328's fix, not fixed by this upload
    assert "CVE-2021-4189" not in ids and "CVE-2026-8328" in ids


@pytest.mark.e2e
def test_another_releases_interpreter_is_checked_against_that_release(tmp_path):
    """A package whose CPython came from trixie (a bookworm host's newer stable release, or
    bookworm's from a trixie host) is compared with that release's binary index, read
    through a private apt configuration, not with the host's."""
    from dh_pyrpath.python import releases
    other = (releases.newer_stable(HOST_CODENAME) or
             ["bookworm" if HOST_CODENAME != "bookworm" else "trixie"])[0]
    package = {"bookworm": "python3.11", "trixie": "python3.13"}.get(other)
    if package is None:
        pytest.skip(f"no python3.X known for Debian {other} here")
    checks = interpreter.Interpreters(tmp_path)
    newest, binary_version, index = checks.newest(package, other)
    assert f" {other}" in index and index.endswith(" Packages"), index
    assert (tmp_path / "apt" / f"{other}-deb" / "apt.conf").is_file()
    newer, problem = checks.check(package, "3.0.0-1", other)  # far behind: stale
    assert newer.newest == newest and newer.release == other and problem is None
    assert newer.fix == f"python-source = debian:{package}={newest}@{other}"
    assert newer.ids  # read from that release's python3.X-minimal changelog
    # without a place for private configurations, only the host's apt is asked
    with pytest.raises(AuditError, match=f"the package took it from {other}"):
        interpreter.Interpreters().newest(package, other)
