"""Other Debian releases as CPython sources: which releases there are and which are offered,
the private apt configuration's sources, and the python-source syntax."""
import datetime

import pytest

from dh_pyrpath.errors import UsageError
from dh_pyrpath.python import catalog, releases, sources

TODAY = datetime.date(2026, 12, 6)
# distro-info-data's rows as of this writing (the real file is read in the e2e tests)
ROWS = [
    {"codename": "bullseye", "version": "11", "release": datetime.date(2021, 8, 14),
     "eol": datetime.date(2024, 8, 14), "eol_lts": datetime.date(2026, 8, 31)},
    {"codename": "bookworm", "version": "12", "release": datetime.date(2023, 6, 10),
     "eol": datetime.date(2026, 7, 11), "eol_lts": datetime.date(2028, 6, 30)},
    {"codename": "trixie", "version": "13", "release": datetime.date(2025, 8, 9),
     "eol": datetime.date(2028, 8, 9), "eol_lts": datetime.date(2030, 6, 30)},
    {"codename": "forky", "version": "14", "release": None, "eol": None, "eol_lts": None},
    {"codename": "duke", "version": "15", "release": None, "eol": None, "eol_lts": None},
    {"codename": "sid", "version": "", "release": datetime.date(1993, 8, 16), "eol": None,
     "eol_lts": None},
]


@pytest.mark.parametrize("name, expected", [
    ("bookworm", ("bookworm", "stable")),    # LTS: security support goes on
    ("trixie", ("trixie", "stable")),
    ("stable", ("trixie", "stable")),
    ("forky", ("forky", "development")),
    ("testing", ("forky", "development")),
    ("unstable", ("sid", "development")),
    ("sid", ("sid", "development")),
    ("duke", ("duke", "development")),       # not released yet
    ("bullseye", ("bullseye", "ended")),     # LTS over in August 2026
])
def test_classify(name, expected):
    assert releases.classify(name, TODAY, ROWS) == expected


def test_unknown_release_is_one_line_naming_the_known_ones():
    with pytest.raises(UsageError) as err:
        releases.classify("trixy", TODAY, ROWS)
    assert str(err.value).startswith("unknown Debian release 'trixy': use one of bookworm, "
                                     "trixie, forky, duke, sid, stable, testing, unstable")


def test_newer_stable_releases_only():
    assert releases.newer_stable("bookworm", TODAY, ROWS) == ["trixie"]
    assert releases.newer_stable("trixie", TODAY, ROWS) == []
    assert releases.newer_stable("nonesuch", TODAY, ROWS) == []


def test_listed_releases(monkeypatch):
    monkeypatch.setattr(releases, "table", lambda path=None: ROWS)
    assert catalog.releases_to_list("bookworm", TODAY) == [
        ("bookworm", "this host"), ("trixie", "stable"), ("forky", "development"),
        ("sid", "development")]


def test_private_sources_are_signed_and_include_security_for_stable_only():
    text = releases.sources_entries("trixie", "http://mirror/debian/",
                                    "http://mirror/debian-security/")
    assert "Suites: trixie trixie-updates\n" in text
    assert "Suites: trixie-security\n" in text
    assert text.count(f"Signed-By: {releases.KEYRING}\n") == 2
    dev = releases.sources_entries("sid", "http://mirror/debian/", "http://mirror/sec/",
                                   stable=False)
    assert "Suites: sid\n" in dev and "security" not in dev


@pytest.mark.parametrize("spec, parsed", [
    ("python3.13", ("python3.13", None, None)),
    ("python3.13@trixie", ("python3.13", None, "trixie")),
    ("python3.13=3.13.5-2+deb13u5@trixie", ("python3.13", "3.13.5-2+deb13u5", "trixie")),
    ("python3.11=3.11.2-6+deb12u8", ("python3.11", "3.11.2-6+deb12u8", None)),
])
def test_debian_spec(spec, parsed):
    assert sources.parse_debian(spec) == parsed


@pytest.mark.parametrize("spec", ["python3.13@", "python3.13@Trixie", "Python3.13", "=1@x"])
def test_bad_debian_spec(spec):
    with pytest.raises(UsageError, match=r"is not debian:python3\.X\[=<version>\]\[@<release>\]"):
        sources.parse_debian(spec)
