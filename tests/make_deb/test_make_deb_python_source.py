"""python-source: the host's default python3, written pinned to the revision the archive
serves (dh_pyrpath.host and dh_pyrpath.python read the host and apt; nothing here names a
release or a version the host must have)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dh_pyrpath import host
from dh_pyrpath.python import apt
from dh_pyrpath.python import sources
from make_deb import fields, python_source, requirements
from make_deb.errors import MetadataError

REPO = Path(__file__).resolve().parents[2]
GOOD = ('[project]\nname = "pinned-app"\nversion = "1.0"\ndescription = "Pinned app"\n'
        'authors = [{name = "Jane Doe", email = "jane@example.org"}]\n')


def make_deb(project, *args, env=None):
    return subprocess.run([sys.executable, "-m", "make_deb", "--yes", *args], cwd=project,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO),
                               "SOURCE_DATE_EPOCH": "1700000000", **(env or {})})


def written_source(project):
    lines = (project / "debian/pinned-app.pyrpath").read_text().splitlines()
    return [ln.split(" = ", 1)[1] for ln in lines if ln.startswith("python-source = ")][0]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text(GOOD)
    return tmp_path


def test_default_is_the_host_python3_pinned(project):
    proc = make_deb(project, "-v")
    assert proc.returncode == 0, proc.stderr
    package = host.host_default_package()
    spec = written_source(project)
    assert spec.startswith(f"debian:{package}=")
    assert spec == sources.pinned_spec(package)
    assert f"make-deb: python-source: {spec}" in proc.stderr
    # the pin names a revision apt knows and the archive serves
    revision = spec.split("=", 1)[1]
    assert revision in [r.version for r in apt.revisions(apt.showsrc(package))]
    assert apt.archive_serves(package, revision)


def test_named_debian_source_is_pinned_too(project):
    package = host.host_default_package()
    assert make_deb(project, "--python-source", f"debian:{package}").returncode == 0
    assert written_source(project) == sources.pinned_spec(package)


@pytest.mark.parametrize("given", ["debian:python3.13=3.13.5-2",
                                   "/srv/src/Python-3.12.7.tar.xz",
                                   "https://example.org/Python-3.12.7.tgz"])
def test_pinned_specs_and_tarballs_are_written_as_given(project, given):
    proc = make_deb(project, "--python-source", given)
    assert proc.returncode == 0, proc.stderr
    assert written_source(project) == given


def test_no_deb_src_at_all_fails_with_sources_error(project, tmp_path):
    """An apt configuration without any source list (its own cache, so the host's apt is
    untouched): the one-line error of dh_pyrpath.python.apt, nothing written."""
    state = tmp_path / "apt"
    (state / "lists" / "partial").mkdir(parents=True)
    (state / "cache" / "archives" / "partial").mkdir(parents=True)
    conf = tmp_path / "apt.conf"
    conf.write_text(f'Dir::Etc::SourceList "/dev/null";\nDir::Etc::SourceParts "{state}/none";\n'
                    f'Dir::State::Lists "{state}/lists";\nDir::Cache "{state}/cache";\n')
    before = sorted(p.name for p in project.iterdir())
    proc = make_deb(project, env={"APT_CONFIG": str(conf)})
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
    assert errors == proc.stderr.splitlines()[-1:], proc.stderr
    assert errors[0].startswith("make-deb: error: apt has no deb-src entries, so it knows no "
                                f"source package {host.host_default_package()}: add "), \
        proc.stderr
    assert sorted(p.name for p in project.iterdir()) == before


@pytest.mark.parametrize("spec, version", [
    ("debian:python3.11=3.11.2-6+deb12u8", (3, 11, 2)),
    ("debian:python3.13=3.13.0~rc1-2", (3, 13, 0)),
    ("debian:python3.14", (3, 14)),
    ("/srv/Python-3.12.7.tar.xz", (3, 12, 7)),
    ("https://example.org/3.12/Python-3.12.tgz", (3, 12)),
    ("/srv/cpython.tar.gz", None),
])
def test_version_of_a_source(spec, version):
    assert python_source.version(spec) == version


def test_requires_python_against_pinned_and_unpinned_sources():
    fields.check_requires_python(">=3.11", "debian:python3.11=3.11.2-6+deb12u8")
    fields.check_requires_python(">=3.11.1,<3.12", "debian:python3.11")
    fields.check_requires_python("!=3.11.3", "debian:python3.11=3.11.2-6+deb12u8")
    with pytest.raises(MetadataError, match=r"requires Python >=3.11.4 but --python-source "
                                            r"debian:python3.11=3.11.2-6\+deb12u8 is Python "
                                            r"3.11.2"):
        fields.check_requires_python(">=3.11.4", "debian:python3.11=3.11.2-6+deb12u8")
    with pytest.raises(MetadataError, match="is Python 3.12; pass a matching"):
        fields.check_requires_python("<3.12", "debian:python3.12")
    fields.check_requires_python("<3.0", "/srv/cpython.tar.gz")  # unknown version: no check


def test_requirements_resolve_for_the_resolved_version():
    running = (3, 11, 2)
    assert requirements.target_version("debian:python3.11=3.11.2-6+deb12u8", running) is None
    assert requirements.target_version("debian:python3.11", running) is None
    assert requirements.target_version("debian:python3.11=3.11.9-1", running) == "3.11.9"
    assert requirements.target_version("debian:python3.13=3.13.5-2", running) == "3.13.5"
    assert requirements.target_version("debian:python3.14", running) == "3.14"
    assert requirements.target_version("/srv/cpython.tar.gz", running) is None
