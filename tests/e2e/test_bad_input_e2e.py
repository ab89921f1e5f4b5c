"""Bad input: one clear error line naming the problem and the fix, a non-zero exit, the full log's
path where there is one, and nothing half-written left in the package tree."""
import hashlib
from pathlib import Path

import pytest

from conftest import HOST_PYTHON, HOST_XY, REPO, copy_source, dh_pyrpath

TWINS = REPO / "tests" / "data" / "sources" / "twins"


@pytest.fixture
def src(tmp_path):
    return copy_source(TWINS, tmp_path)


def snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*"))
            if p.is_file() and ".debhelper" not in p.parts and p.parts[-2:-1] != ("twin-a",)}


def fails(src, *args, code=1, contains=(), env=None):
    before = snapshot(src / "debian")
    proc = dh_pyrpath("-p", "twin-a", *args, cwd=src, env=env)
    lines = proc.stdout.strip().splitlines()
    errors = [l for l in lines if l.startswith("dh_pyrpath: error:")]
    assert proc.returncode == code, proc.stdout
    assert errors, proc.stdout
    for fragment in contains:
        assert fragment in errors[0], errors[0]
    # nothing half-written where debhelper would package it, and the user's files intact
    assert not (src / "debian" / "twin-a" / "opt").exists()
    after = snapshot(src / "debian")
    assert after == before
    fails.output = proc.stdout  # for the tests that look at the warnings too
    return errors


def test_unknown_option(src):
    fails(src, f"--pyhton-source=debian:{HOST_PYTHON}", code=2, contains=["unrecognized arguments"])


def test_bad_settings_file(src):
    (src / "debian" / "twin-a.pyrpath").write_text("instal-root = /srv\n")
    fails(src, code=2, contains=["twin-a.pyrpath:1", "unknown setting 'instal-root'"])


def test_source_path_without_checksum_is_refused(src, tmp_path):
    tarball = tmp_path / "Python-3.11.2.tgz"
    tarball.write_bytes(b"not really")
    fails(src, f"--python-source={tarball}", contains=["no checksum", "--python-sha256"])


def test_wrong_sha256_is_refused(src, tmp_path):
    tarball = tmp_path / "Python-3.11.2.tgz"
    tarball.write_bytes(b"not really")
    fails(src, f"--python-source={tarball}", "--python-sha256=" + "0" * 64,
          contains=["sha256 is " + hashlib.sha256(b"not really").hexdigest(), "expected 000"])


def test_missing_source(src, tmp_path):
    fails(src, f"--python-source={tmp_path}/gone.tgz", "--python-sha256=" + "a" * 64,
          contains=["gone.tgz not found"])


def test_source_that_is_not_a_tarball(src, tmp_path, suite_cache):
    junk = tmp_path / "Python-3.11.2.tgz"
    junk.write_bytes(b"\x00" * 512)
    fails(src, f"--python-source={junk}",
          "--python-sha256=" + hashlib.sha256(b"\x00" * 512).hexdigest(),
          contains=["does not contain a CPython source tree"])
    # a tarball source gets none of Debian's fixes: said once, before anything is built
    notices = [l for l in fails.output.splitlines() if "gets none of Debian's security fixes"
               in l]
    assert len(notices) == 1 and notices[0].startswith("dh_pyrpath: warning: twin-a:"), \
        fails.output


def test_missing_requirements_file(src):
    fails(src, "--requirements=debian/nope.txt", contains=["debian/nope.txt not found"])


def test_dependency_that_does_not_exist(src, suite_cache):
    (src / "debian" / "deb-requirements.txt").write_text("dh-pyrpath-no-such-package==1.0\n")
    fails(src, contains=["no distribution matches dh-pyrpath-no-such-package==1.0"])


def test_unreachable_index(src, suite_cache):
    # a pin that is not in the wheel cache, and an index nobody listens on (loopback)
    (src / "debian" / "deb-requirements.txt").write_text("six==1.10.0\n")
    # this machine's own pip configuration (extra indexes, find-links) is set aside
    fails(src, "--index-url=http://127.0.0.1:9/simple", contains=["index is unreachable"],
          env={"PIP_RETRIES": "1", "PIP_TIMEOUT": "5", "PIP_CONFIG_FILE": "/dev/null",
               "PIP_FIND_LINKS": None, "PIP_EXTRA_INDEX_URL": None, "PIP_INDEX_URL": None})


def test_project_whose_setup_py_raises(src, suite_cache):
    (src / "setup.py").write_text("raise RuntimeError('setup.py is broken on purpose')\n")
    proc = dh_pyrpath("-p", "twin-a", cwd=src)
    assert proc.returncode == 1
    assert "dh_pyrpath: error: twin-a: build the project failed" in proc.stdout
    assert "setup.py is broken on purpose" in proc.stdout  # the log's tail is shown
    assert "full log: debian/.debhelper/dh_pyrpath/twin-a/build.log" in proc.stdout
    assert not (src / "debian" / "twin-a" / "opt").exists()


def test_not_a_python_project(src):
    (src / "setup.py").unlink()
    fails(src, contains=["has no setup.py, setup.cfg or pyproject.toml"])


def test_control_without_misc_depends(src):
    control = src / "debian" / "control"
    text = control.read_text()
    assert "${misc:Depends}" in text
    control.write_text(text.replace(", ${misc:Depends}", "").replace("${misc:Depends}, ", ""))
    fails(src, contains=["twin-a has no ${misc:Depends}", "add it"])


def test_pinned_debian_version_that_apt_does_not_know(src):
    """(and a debian: source gets no tarball notice)"""
    fails(src, f"--python-source=debian:{HOST_PYTHON}=0.0-1",
          contains=[f"apt knows no version 0.0-1 of source package {HOST_PYTHON}",
                    f"it knows: {HOST_XY}"])
    assert "gets none of Debian's security fixes" not in fails.output


def test_debian_source_this_release_does_not_have(src):
    """apt has deb-src entries, but none of them has python3.9: the error says that this is the
    case (not a missing deb-src entry) and lists the python3.X sources apt does know."""
    errors = fails(src, "--python-source=debian:python3.9",
                   contains=["have no source package python3.9", f"it knows {HOST_PYTHON}",
                             f"use python-source = debian:{HOST_PYTHON}"])
    assert "add a deb-src entry for a release that has python3.9" in errors[0]


def test_no_deb_src_entries_at_all(src, tmp_path):
    """A private apt configuration without any deb-src entry: the error says so, and how to add
    them (or vendor), instead of sending the user to look for a missing package."""
    (tmp_path / "apt" / "lists" / "partial").mkdir(parents=True)
    (tmp_path / "apt" / "sources.list.d").mkdir()
    conf = tmp_path / "apt.conf"
    conf.write_text(f'Dir::Etc::sourcelist "/dev/null";\n'
                    f'Dir::Etc::sourceparts "{tmp_path}/apt/sources.list.d";\n'
                    f'Dir::State::lists "{tmp_path}/apt/lists";\n'
                    f'Dir::Cache "{tmp_path}/apt/cache";\n')
    fails(src, env={"APT_CONFIG": str(conf)},
          contains=["apt has no deb-src entries", "add deb-src entries", "dh_pyrpath --vendor"])
