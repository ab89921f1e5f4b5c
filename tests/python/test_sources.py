"""Where CPython comes from, and what the host's apt says about it: the host's default python3,
deb-src diagnostics, the security archive, stale indexes, newer revisions, tarball facts."""
import io
import tarfile

import pytest

from dh_pyrpath import host
from dh_pyrpath.python import apt
from dh_pyrpath.python import sources
from dh_pyrpath.errors import PyrpathError
from dh_pyrpath.log import BuildLog

def _stanza(version, dsc, orig, debian):
    return (f"Package: python3.11\nVersion: {version}\nChecksums-Sha256:\n"
            f" {dsc} 3805 python3.11_{version}.dsc\n"
            f" {orig} 26437858 python3.11_3.11.2.orig.tar.gz\n"
            f" {debian} 279556 python3.11_{version}.debian.tar.xz\n")


# what `apt-cache showsrc python3.11` says on bookworm, digests shortened: two older revisions
# (one with its own orig) and the security archive's newest, in apt's order
SHOWSRC = "\n".join([_stanza("3.11.2-6+deb12u5", "aaaa", "1111", "bbbb"),
                     _stanza("3.11.2-6+deb12u8", "cccc", "2222", "dddd"),
                     _stanza("3.11.2-6+deb12u9", "eeee", "2222", "ffff")])


def test_the_default_python3_is_read_from_the_system(tmp_path):
    defaults = tmp_path / "debian_defaults"
    defaults.write_text("[DEFAULT]\n# the default python3 version\n"
                        "default-version = python3.13\nsupported-versions = python3.13\n")
    assert host.host_default_package(defaults) == "python3.13"
    assert host.host_default_source(defaults) == "debian:python3.13"
    defaults.write_text("[DEFAULT]\nsupported-versions = python3.13\n")
    with pytest.raises(PyrpathError, match="set python-source"):
        host.host_default_package(defaults)
    # and on this host: whatever python3-minimal says, a python3.X
    assert host.host_default_package().startswith("python3.")


def test_revisions_are_newest_first_with_their_files():
    revs = apt.revisions(SHOWSRC)
    assert [r.version for r in revs] == ["3.11.2-6+deb12u9", "3.11.2-6+deb12u8",
                                         "3.11.2-6+deb12u5"]
    assert revs[0].orig == ("python3.11_3.11.2.orig.tar.gz", "2222")
    assert revs[0].debian == ("python3.11_3.11.2-6+deb12u9.debian.tar.xz", "ffff")


def test_newest_orig_from_apt_data():
    assert apt.newest_orig(SHOWSRC) == ("3.11.2-6+deb12u9", "python3.11_3.11.2.orig.tar.gz",
                                            "2222")
    assert apt.newest_orig("Package: x\nVersion: 1\n") is None


def test_orig_of_a_pinned_version():
    assert apt.newest_orig(SHOWSRC, "3.11.2-6+deb12u5") == (
        "3.11.2-6+deb12u5", "python3.11_3.11.2.orig.tar.gz", "1111")
    assert apt.newest_orig(SHOWSRC, "3.11.9-1") is None


def test_the_debian_tarball_is_found_in_apt_data():
    assert apt.debian_tarball(SHOWSRC, "3.11.2-6+deb12u8") == (
        "python3.11_3.11.2-6+deb12u8.debian.tar.xz", "dddd")
    assert apt.debian_tarball(SHOWSRC, "3.11.2-6+deb12u5")[1] == "bbbb"
    assert apt.debian_tarball(SHOWSRC, "9") is None


def _target(codename, filename="/nonexistent"):
    return {"Codename": codename, "Suite": codename, "Release": codename, "Filename": filename}


def test_security_gap_names_the_missing_security_suite():
    plain = [_target("bookworm"), _target("bookworm-updates")]
    assert apt.security_gap(plain, "bookworm") == "bookworm-security"
    assert apt.security_gap(plain + [_target("bookworm-security")], "bookworm") is None
    assert apt.security_gap(plain, "sid") is None  # unstable has no security archive
    assert apt.security_gap([], "bookworm") is None  # no deb-src at all: its own error


def test_missing_source_says_which_case_it_is(tmp_path):
    none = apt.missing_source_error("python3.13", targets=[], codename="bookworm")
    assert "apt has no deb-src entries" in str(none) and "for bookworm" in str(none)
    never = apt.missing_source_error("python3.13", targets=[_target("bookworm")],
                                         codename="bookworm")
    assert "were never downloaded" in str(never) and "apt-get update" in str(never)


def _log(tmp_path):
    return BuildLog(str(tmp_path / "log"), "svc", quiet=True)


def test_a_pinned_older_revision_is_reported_never_failed(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(apt, "deb_src_targets", lambda: [_target("bookworm"),
                                                             _target("bookworm-security")])
    monkeypatch.setattr(host, "host_codename", lambda: "bookworm")
    monkeypatch.setattr(apt, "installed_binary_version", lambda package: None)
    log = _log(tmp_path)
    log.quiet = False
    sources.report_host_state("python3.11", apt.revisions(SHOWSRC), "3.11.2-6+deb12u8", log)
    out = capsys.readouterr()
    assert "python3.11 3.11.2-6+deb12u9 is available: update python-source" in out.out
    assert "debian:python3.11=3.11.2-6+deb12u9" in out.out and not out.err
    # the newest pinned: nothing to say
    sources.report_host_state("python3.11", apt.revisions(SHOWSRC), "3.11.2-6+deb12u9", log)
    assert capsys.readouterr() == ("", "")


def test_stale_index_and_missing_security_archive_warn(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(apt, "deb_src_targets", lambda: [_target("bookworm")])
    monkeypatch.setattr(host, "host_codename", lambda: "bookworm")
    monkeypatch.setattr(apt, "installed_binary_version", lambda package: "3.11.2-6+deb12u10")
    sources.report_host_state("python3.11", apt.revisions(SHOWSRC), "", _log(tmp_path))
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert "lack bookworm-security, Debian's security archive" in err[0]
    assert "installed python3.11 binaries (3.11.2-6+deb12u10) are newer than any python3.11 " \
           "source apt knows (3.11.2-6+deb12u9)" in err[1]


def test_newer_revision_report_with_apts_real_data(tmp_path, capsys, monkeypatch):
    """The real thing: apt (through a private configuration with unstable's
    deb-src) lists two python3.13 revisions; a pin on the older one is reported."""
    import chroots
    monkeypatch.setenv("APT_CONFIG", str(chroots.source_apt_config("sid")))
    known = apt.revisions(apt.showsrc("python3.13"))
    assert len(known) >= 2, [r.version for r in known]
    log = _log(tmp_path)
    log.quiet = False
    sources.report_host_state("python3.13", known, known[-1].version, log)
    assert f"python3.13 {known[0].version} is available" in capsys.readouterr().out


def _tarball(tmp_path, members):
    path = tmp_path / "Python-3.15.2.tar.xz"
    with tarfile.open(path, "w:xz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return sources.Source(path, "0" * 64, path.name)


def test_facts_come_from_the_tarball_itself(tmp_path):
    patchlevel = b'#define PY_VERSION "3.15.2"\n'
    with_mpdec = _tarball(tmp_path, {"Python-3.15.2/Include/patchlevel.h": patchlevel,
                                     "Python-3.15.2/Modules/_decimal/libmpdec": None})
    assert sources.facts(with_mpdec) == {"version": "3.15.2", "bundled_libmpdec": True}
    without = _tarball(tmp_path, {"Python-3.15.2/Include/patchlevel.h": patchlevel})
    assert sources.facts(without) == {"version": "3.15.2", "bundled_libmpdec": False}
    junk = _tarball(tmp_path, {"README": b"hello"})
    with pytest.raises(PyrpathError, match="does not contain a CPython source tree"):
        sources.facts(junk)
