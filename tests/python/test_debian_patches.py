"""Which of Debian's python3.X patches dh_pyrpath applies, and how it fails."""
import io
import tarfile

import pytest

from dh_pyrpath.python import debian_patches
from dh_pyrpath.errors import PyrpathError
from dh_pyrpath.python.sources import DebianPatches
from dh_pyrpath.log import BuildLog

DIFF = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"

# Headers as they come in bookworm's python3.11 and trixie's python3.13 sources.
UPSTREAM = {
    "CVE-2024-0397.diff": DIFF,  # no header at all: the name says it
    "0001-3.11-gh-123270-Replaced-SanitizedNames.patch": "From fc0b8259 Mon Sep 17\n" + DIFF,
    "shutdown-deadlock.diff": "Origin: upstream, https://github.com/python/cpython/commit/026f\n"
                              "\n" + DIFF,
    "CVE-2024-6232.patch": "Origin: backport, https://github.com/python/cpython/commit/d449\n" + DIFF,
    "frame_dealloc-crash.diff": "Origin: https://github.com/python/cpython/commit/46cae02\n" + DIFF,
    "relfile-nullptr-dereference.patch": "Bug-Upstream: https://github.com/python/cpython/"
                                         "issues/102281\n" + DIFF,
    "dict-use-after-free.patch": "From d567f451 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] [3.13]"
                                 " gh-130555: Fix use-after-free in dict.clear()\n---\n" + DIFF,
    "gchead-alignment.diff": "Subject: [PATCH] Specify minimum alignment\n"
                             "Origin: Backported from upstream, https://github.com/x/cpython\n"
                             + DIFF,
}
DEBIANS_OWN = {
    "deb-setup.diff": "# DP: Don't run the test suite when building modules in setup.py.\n" + DIFF,
    "distutils-install-layout.diff": "Forwarded: not-needed\n" + DIFF,
    "sysconfig-debian-schemes.diff": "Description: Add Debian specific schemes\n" + DIFF,
    # Debian's own, although its name or subject names an issue
    "skip-xml-tests-expat-CVE-2023-52425.patch": "Origin: vendor\n" + DIFF,
    "stable-abi-multiarch.diff": "Subject: [PATCH 1/3] gh-122917 Allow stable API extensions\n"
                                 "Forwarded: https://github.com/python/cpython/pull/122917\n" + DIFF,
    "fix-py_compile.diff": "Bug-upstream: https://bugs.python.org/issue45428\n"
                           "Forwarded: https://github.com/python/cpython/pull/28848\n" + DIFF,
}


@pytest.mark.parametrize("name", sorted(UPSTREAM))
def test_upstream_fixes_are_recognised(name):
    assert debian_patches.is_upstream_fix(name, UPSTREAM[name])


@pytest.mark.parametrize("name", sorted(DEBIANS_OWN))
def test_debians_own_changes_are_left_out(name):
    assert not debian_patches.is_upstream_fix(name, DEBIANS_OWN[name])


def test_only_the_header_counts():
    # a diff that merely mentions "cherry picked from commit" in the code it changes
    text = "Description: multiarch paths\n" + DIFF + "+# cherry picked from commit abc\n"
    assert not debian_patches.is_upstream_fix("multiarch.diff", text)


def test_series_order_comments_and_options():
    series = "deb-setup.diff\n#lto-link-flags.diff\n\nCVE-1.patch -p1\n  CVE-2.patch # note\n"
    assert debian_patches.series_names(series) == ["deb-setup.diff", "CVE-1.patch", "CVE-2.patch"]


def _debian_tar(path, patches, series=None):
    with tarfile.open(path, "w:xz") as tar:
        files = dict(patches)
        files["series"] = series if series is not None else "".join(f"{n}\n" for n in patches)
        for name, text in files.items():
            data = text.encode()
            member = tarfile.TarInfo(f"debian/patches/{name}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return DebianPatches(path, "00" * 32, "python3.11 3.11.2-6+deb12u8")


def _tree(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "x.py").write_text("a = 1\n")
    (src / "y.py").write_text("b = 1\n")
    return src


def test_applies_the_upstream_fixes_in_series_order(tmp_path):
    second = "Origin: upstream\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a = 2\n+a = 3\n"
    own = "Forwarded: not-needed\n--- a/y.py\n+++ b/y.py\n@@ -1 +1 @@\n-b = 1\n+b = 2\n"
    deb = _debian_tar(tmp_path / "p.debian.tar.xz",
                      {"CVE-2025-1.patch": DIFF, "multiarch.diff": own, "fix.diff": second})
    log = BuildLog(str(tmp_path / "log"), "svc")
    src = _tree(tmp_path)
    assert debian_patches.apply(deb, src, tmp_path / "work", log) == ["CVE-2025-1.patch",
                                                                       "fix.diff"]
    log.close()
    assert (src / "x.py").read_text() == "a = 3\n"  # both, the second on top of the first
    assert (src / "y.py").read_text() == "b = 1\n"  # Debian's own change left out
    assert "applied 2 of the 3 patches" in (tmp_path / "log").read_text()


def test_a_fix_that_does_not_apply_exactly_is_an_error_naming_it(tmp_path):
    # the context line differs: patch would apply it with fuzz, dh_pyrpath does not
    fuzzy = ("--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n context\n-a = 1\n+a = 9\n other\n")
    deb = _debian_tar(tmp_path / "p.debian.tar.xz", {"CVE-2025-2.patch": fuzzy})
    log = BuildLog(str(tmp_path / "log"), "svc")
    src = _tree(tmp_path)
    (src / "x.py").write_text("kontext\na = 1\nother\n")
    with pytest.raises(PyrpathError, match=r"Debian's patch CVE-2025-2\.patch from python3\.11 "
                                           r"3\.11\.2-6\+deb12u8 failed .*pin a version"):
        debian_patches.apply(deb, src, tmp_path / "work", log)
    log.close()
    assert (src / "x.py").read_text() == "kontext\na = 1\nother\n"


def test_a_series_naming_a_missing_patch_is_an_error(tmp_path):
    deb = _debian_tar(tmp_path / "p.debian.tar.xz", {"CVE-2025-1.patch": DIFF},
                      series="CVE-2025-1.patch\nCVE-2025-9.patch\n")
    with pytest.raises(PyrpathError, match="names CVE-2025-9.patch, which is not in the tarball"):
        debian_patches.upstream_fixes(deb.tarball)


def test_an_unreadable_tarball_is_an_error(tmp_path):
    bad = tmp_path / "p.debian.tar.xz"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(PyrpathError, match="not a readable Debian tarball"):
        debian_patches.read_patches(bad)
