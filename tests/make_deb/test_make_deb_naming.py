"""Debian names and versions: conversions, and version ordering checked against real dpkg."""
import functools
import subprocess

import pytest
from packaging.version import Version

from make_deb.errors import NamingError, VersionError
from make_deb.naming import PACKAGE_NAME_RE, check_package_name, debian_version, package_name


@pytest.mark.parametrize("name, expected", [
    ("My_Cool.App", "my-cool-app"),
    ("requests", "requests"),
    ("Flask-SQLAlchemy", "flask-sqlalchemy"),
    ("zope.interface", "zope-interface"),
    ("Café_Crème", "cafe-creme"),
    ("__private__tool", "private-tool"),
    ("2to3", "2to3"),
    ("a--b__c..d", "a-b-c-d"),
    ("x1", "x1"),
    ("ÜBER", "uber"),
])
def test_package_name(name, expected):
    assert package_name(name) == expected
    assert PACKAGE_NAME_RE.match(expected)


@pytest.mark.parametrize("name", ["", "_", "x", "-", "日本語", "..", "é", "__a__"])
def test_package_name_unconvertible(name):
    with pytest.raises(NamingError, match="--package NAME"):
        package_name(name)


@pytest.mark.parametrize("name", ["Upper", "a", "-lead", "with_underscore", "sp ace", "ü-x"])
def test_check_package_name_rejects(name):
    with pytest.raises(NamingError, match="not a valid Debian package name"):
        check_package_name(name)


def test_check_package_name_accepts_debian_syntax():
    for name in ("ab", "g++", "libfoo1.0", "0ad", "python3-foo"):
        assert check_package_name(name) == name


@pytest.mark.parametrize("pep440, deb", [
    ("1.0", "1.0"),
    ("1.0rc1", "1.0~rc1"),
    ("1.0c1", "1.0~rc1"),          # normalised by packaging first
    ("1.0.dev3", "1.0~~dev3"),
    ("1.0a1.dev2", "1.0~a1~dev2"),
    ("1.0-beta.2", "1.0~b2"),
    ("1!2.0", "1:2.0"),
    ("1.0+local.1", "1.0+local.1"),
    ("1.0+Local_7", "1.0+local.7"),
    ("1.0.post2", "1.0+post2"),
    ("1.0-2", "1.0+post2"),        # PEP 440 implicit post release
    ("1.0.post2.dev1", "1.0+post2~dev1"),
    ("1.0a1.post1", "1.0~a1+post1"),
    ("v2.1", "2.1"),
    ("2024.01.15", "2024.1.15"),
])
def test_debian_version(pep440, deb):
    assert debian_version(pep440) == deb


@pytest.mark.parametrize("bad", ["latest", "1.0-beta_x!", "", "1..0", "one.two", "1.0 rc1 x"])
def test_debian_version_invalid(bad):
    with pytest.raises(VersionError, match="not a valid PEP 440 version"):
        debian_version(bad)


ORDERED = [
    "0.1", "0.9", "0.9.post1", "0.10",
    "1.0.dev1", "1.0.dev3", "1.0a1.dev1", "1.0a1.dev2", "1.0a1", "1.0a1.post1.dev1",
    "1.0a1.post1", "1.0a2", "1.0b1", "1.0b2.post3", "1.0rc1.dev1", "1.0rc1", "1.0rc2",
    "1.0", "1.0+abc", "1.0+local.1", "1.0+local.2", "1.0.post1.dev1", "1.0.post1",
    "1.0.post1+x", "1.0.post2", "1.0.1.dev1", "1.0.1a1", "1.0.1", "1.0.1.post1", "1.0.2",
    "1.1", "1.10", "2.0rc1", "2.0", "10.0", "2024.1", "1!0.1", "1!2.0.dev1", "1!2.0",
]


def dpkg_compare(a, op, b):
    return subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0


def test_ordering_matches_dpkg():
    """Sorting the Debian versions with dpkg gives the order packaging gives the PEP 440 ones."""
    assert sorted(ORDERED, key=Version) == ORDERED
    debs = [debian_version(v) for v in ORDERED]

    def cmp(a, b):
        return -1 if dpkg_compare(a, "lt", b) else (0 if dpkg_compare(a, "eq", b) else 1)
    assert sorted(reversed(debs), key=functools.cmp_to_key(cmp)) == debs
    for a, b in zip(debs, debs[1:]):  # strictly increasing, pair by pair
        assert dpkg_compare(a, "lt", b), (a, b)


def test_documented_ordering_limits():
    """docs/make-deb.md names two cases where dpkg and PEP 440 disagree; keep the doc honest."""
    # a local label sorting after "post" ...
    assert Version("1.0+ubuntu1") < Version("1.0.post1")
    assert dpkg_compare(debian_version("1.0+ubuntu1"), "gt", debian_version("1.0.post1"))
    # ... and release segments that differ only by trailing zeros
    assert Version("1.0.0a1") < Version("1.0")
    assert dpkg_compare(debian_version("1.0.0a1"), "gt", debian_version("1.0"))
