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


# ------------------------------------------------------------ chosen from requires-python

def _with_requires(project, requires):
    (project / "pyproject.toml").write_text(GOOD + f'requires-python = "{requires}"\n')


def _etc_apt():
    """Every file under /etc/apt with its bytes: the choice must not change any."""
    return {p: p.read_bytes() for p in Path("/etc/apt").rglob("*") if p.is_file()}


def _served_offers():
    from dh_pyrpath.python import catalog
    root = python_source.apt_root()
    return [(o, python_source._of(o)) for codename, support in
            catalog.releases_to_list(host.host_codename())
            for o in catalog.offers_of(codename, support, root) if o.served]


def test_the_host_python3_when_it_fits(project):
    minor = int(host.host_default_package().split(".")[1])
    _with_requires(project, f">=3.{minor}")
    proc = make_deb(project)
    assert proc.returncode == 0, proc.stderr
    package = host.host_default_package()
    assert written_source(project) == sources.pinned_spec(package)
    assert f"make-deb: python-source {written_source(project)}: the host's default python3 " \
           f"(3.{minor}) fits requires-python >=3.{minor}" in proc.stdout


def test_a_newer_stable_release_when_the_host_python3_is_too_old(project):
    """bookworm (3.11) and a project that needs 3.12: trixie's python3.13, pinned, through a
    private apt configuration; /etc/apt unchanged."""
    from dh_pyrpath.python import releases
    newer = releases.newer_stable(host.host_codename())
    if not newer:
        pytest.skip(f"no stable Debian release is newer than this host's "
                    f"({host.host_codename()})")
    minor = int(host.host_default_package().split(".")[1])
    before = _etc_apt()
    _with_requires(project, f">=3.{minor + 1}")
    proc = make_deb(project)
    assert proc.returncode == 0, proc.stderr
    spec = written_source(project)
    package, pinned, release = sources.parse_debian(spec[len("debian:"):])
    assert release == newer[0] and pinned and int(package.split(".")[1]) > minor
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("make-deb: python-source ")]
    assert line == [f"make-deb: python-source {spec}: the project requires Python "
                    f">=3.{minor + 1} and the host's python3 is 3.{minor}: Debian {release} "
                    f"(stable) has {package} "
                    f"{python_source.dotted(python_source.version(spec))}"], proc.stdout
    assert _etc_apt() == before


def test_a_testing_or_unstable_only_match_needs_naming(project):
    offers = _served_offers()
    stable = [v for o, v in offers if o.support != "development"]
    newer = [(o, v) for o, v in offers if o.support == "development"
             and all(v > s for s in stable)]
    if not newer:
        pytest.skip("testing and unstable serve no CPython newer than the stable releases' now")
    offer, version = max(newer, key=lambda ov: ov[1])
    _with_requires(project, f">={python_source.dotted(version)}")
    before = {p.relative_to(project) for p in project.rglob("*")}
    proc = make_deb(project)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines()[-1].endswith(
        "but gets no security support: pass --python-source "
        f"debian:{offer.package}@{offer.release} to take it anyway"), proc.stderr
    assert {p.relative_to(project) for p in project.rglob("*")} == before  # nothing written
    # named, it is taken (and pinned)
    proc = make_deb(project, "--python-source", f"debian:{offer.package}@{offer.release}")
    assert proc.returncode == 0, proc.stderr
    assert written_source(project).endswith(f"@{offer.release}")
    assert python_source.version(written_source(project)) >= version


def test_nothing_fits_names_what_was_looked_at(project):
    _with_requires(project, ">=3.99")
    proc = make_deb(project)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("make-deb: error: the project requires Python >=3.99, which no "
                           "Debian release this host can use has (looked at "
                           f"{host.host_codename()} ({host.host_default_package()} "), last
    assert last.endswith("testing and unstable): pass --python-source with a CPython tarball "
                         "and --python-sha256")


def test_an_explicit_python_source_is_not_second_guessed(project):
    minor = int(host.host_default_package().split(".")[1])
    _with_requires(project, f">=3.{minor + 1}")
    proc = make_deb(project, "--python-source", f"debian:{host.host_default_package()}")
    assert proc.returncode == 1
    assert "but --python-source debian:python3." in proc.stderr


def test_versions_of_specs_with_a_release():
    assert python_source.version("debian:python3.13=3.13.5-2+deb13u5@trixie") == (3, 13, 5)
    assert python_source.version("debian:python3.13@trixie") == (3, 13)
