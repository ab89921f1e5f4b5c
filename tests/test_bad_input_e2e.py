"""Bad input: one clear error line naming the problem and the fix, a non-zero exit, the full log's
path where there is one, and nothing half-written left in the package tree."""
import hashlib
from pathlib import Path

import pytest

from conftest import REPO, copy_source, dh_pyrpath

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
    return errors


def test_unknown_option(src):
    fails(src, "--pyhton-source=debian:python3.11", code=2, contains=["unrecognized arguments"])


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
    errors = fails(src, f"--python-source={junk}",
                   "--python-sha256=" + hashlib.sha256(b"\x00" * 512).hexdigest(),
                   contains=["does not contain a CPython source tree"])


def test_missing_requirements_file(src):
    fails(src, "--requirements=debian/nope.txt", contains=["debian/nope.txt not found"])


def test_dependency_that_does_not_exist(src, suite_cache):
    (src / "debian" / "deb-requirements.txt").write_text("dh-pyrpath-no-such-package==1.0\n")
    errors = fails(src, contains=["no distribution matches dh-pyrpath-no-such-package==1.0"])


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
    fails(src, "--python-source=debian:python3.11=0.0-1",
          contains=["apt knows no version 0.0-1 of source package python3.11", "it knows: 3.11"])
