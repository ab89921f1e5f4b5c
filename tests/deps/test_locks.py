"""Lock files read for one target: the real locks of tests/data/locks (made by uv, pdm and
poetry; see make-locks there), markers for the private interpreter and the Debian
architecture, and the entries a package cannot be built from."""
import shutil
import textwrap
from pathlib import Path

import pytest

from dh_pyrpath.deps import locks
from dh_pyrpath.deps import markers
from dh_pyrpath.deps import poetrylock
from dh_pyrpath.deps import requirements
from dh_pyrpath.errors import PyrpathError

DATA = Path(__file__).resolve().parents[1] / "data"
LOCKS = DATA / "locks"
PROJECT = DATA / "sources" / "locked"
ALL = ["uv.lock", "pylock.toml", "pylock.pdm.toml", "poetry.lock", "poetry1/poetry.lock"]


def _pins(name, python="3.11.2", arch="amd64"):
    project = LOCKS / "poetry1" if name.startswith("poetry1/") else PROJECT
    lock = locks.read(LOCKS / name, project, markers.environment(python, arch))
    return {p.name: p.version for p in lock.pins}, lock


@pytest.mark.parametrize("name", ALL)
def test_each_lock_gives_the_targets_set_and_nothing_else(name):
    """Python 3.11 on amd64: six 1.17.0 and attrs 24.2.0; not six 1.16.0 (older Pythons),
    attrs 23.2.0 (aarch64), tomli (< 3.11), colorama (Windows, or the extra), iniconfig (dev)."""
    pins, lock = _pins(name)
    assert pins == {"attrs": "24.2.0", "click": "8.1.7", "docopt": "0.6.2", "six": "1.17.0"}
    assert "locked" not in pins  # the project itself is built from its source
    assert any(p.startswith("six 1.16.0") for p in lock.left_out)
    for pin in lock.pins:
        assert pin.hashes and all(h.startswith("sha256:") and len(h) == 71 for h in pin.hashes)


@pytest.mark.parametrize("name", ALL)
def test_markers_follow_the_architecture_and_the_python_version(name):
    assert _pins(name, arch="arm64")[0]["attrs"] == "23.2.0"
    older = _pins(name, python="3.10.4")[0]
    assert older["six"] == "1.16.0" and older["tomli"] == "2.0.1"


def test_pin_requirement_line_carries_every_hash_of_the_lock():
    _, lock = _pins("uv.lock")
    docopt = next(p for p in lock.pins if p.name == "docopt")
    assert docopt.requirement() == (
        "docopt==0.6.2 --hash=sha256:"
        "49b3a825280bd66b3aa83585ef59c4a8c82f2c8a522dbe754a8bc8d08c85c491")
    click = next(p for p in lock.pins if p.name == "click")
    assert len(click.hashes) == 2  # sdist and wheel: pip takes whichever fits
    wheel = next(a for a in click.artifacts if a.filename.endswith(".whl"))
    assert click.url_for(wheel.hash.split(":")[1]) == wheel.url


def test_pdm_pylock_groups_are_evaluated():
    """pdm writes `"default" in dependency_groups`, which packaging before 25 cannot parse."""
    text = (LOCKS / "pylock.pdm.toml").read_text()
    assert '\\"default\\" in dependency_groups' in text
    pins, lock = _pins("pylock.pdm.toml")
    assert "iniconfig" not in pins and any(p.startswith("iniconfig") for p in lock.left_out)


def test_pylock_environments_must_include_the_target():
    with pytest.raises(PyrpathError, match="made for other environments only.*regenerate it"):
        _pins("pylock.pdm.toml", arch="ppc64el")


def test_requires_python_must_allow_the_private_interpreter():
    with pytest.raises(PyrpathError, match=r"made for Python >=3.9, but the package's CPython is "
                                           r"3.8.10"):
        _pins("uv.lock", python="3.8.10")


def test_find_default_order(tmp_path):
    debian, project = tmp_path / "debian", tmp_path
    debian.mkdir()
    assert locks.find_default(project, debian) is None
    for name in ("poetry.lock", "uv.lock", "pylock.toml"):
        (project / name).write_text("")
        assert locks.find_default(project, debian) == project / name
    (debian / "deb-requirements.txt").write_text("")
    assert locks.find_default(project, debian) == debian / "deb-requirements.txt"


def test_kind_of():
    assert locks.kind_of("a/pylock.toml") == locks.kind_of("pylock.web.toml") == "pylock.toml"
    assert locks.kind_of("uv.lock") == "uv.lock" and locks.kind_of("x/poetry.lock") == "poetry.lock"
    assert locks.kind_of("requirements.txt") is None and locks.kind_of("pylock.a.b.toml") is None


def _edited(tmp_path, name, old, new):
    """A copy of the project with an edited copy of lock `name`."""
    project = tmp_path / "p"
    shutil.copytree(PROJECT if not name.startswith("poetry1/") else LOCKS / "poetry1", project)
    text = (LOCKS / name).read_text()
    assert old in text
    target = project / Path(name).name
    target.write_text(text.replace(old, new, 1))
    return target, project


def _read(target, project):
    return locks.read(target, project, markers.environment("3.11.2", "amd64"))


def test_entry_without_hash_is_refused_naming_it(tmp_path):
    target, project = _edited(tmp_path, "pylock.toml",
                              'hashes = { sha256 = "49b3a825280bd66b3aa83585ef59c4a8c82f2c8a522'
                              'dbe754a8bc8d08c85c491" }', "hashes = {}")
    with pytest.raises(PyrpathError, match=r"docopt 0.6.2: docopt-0.6.2.tar.gz has no "
                                           r"sha256/sha384/sha512 hash: regenerate"):
        _read(target, project)


def test_uv_entry_without_hash_is_refused(tmp_path):
    target, project = _edited(tmp_path, "uv.lock", ', hash = "sha256:49b3a825280bd66b3aa83585e'
                              'f59c4a8c82f2c8a522dbe754a8bc8d08c85c491"', "")
    with pytest.raises(PyrpathError, match="docopt 0.6.2: docopt-0.6.2.tar.gz has no sha256"):
        _read(target, project)


def test_entry_for_another_target_may_lack_what_it_needs(tmp_path):
    """Only the target's entries are checked: a Windows-only entry is not installed."""
    target, project = _edited(tmp_path, "pylock.toml", 'name = "colorama"\nversion = "0.4.6"',
                              'name = "colorama"\nversion = "0.4.6"\ndirectory = { path = "../x" }')
    assert "colorama" not in {p.name for p in _read(target, project).pins}


def test_path_and_unpinned_vcs_entries_are_refused(tmp_path):
    target, project = _edited(tmp_path, "uv.lock",
                              'name = "docopt"\nversion = "0.6.2"\n'
                              'source = { registry = "https://pypi.org/simple" }',
                              'name = "docopt"\nversion = "0.6.2"\n'
                              'source = { path = "../docopt" }')
    with pytest.raises(PyrpathError, match=r"docopt 0.6.2: a path entry \(a local path.*: "
                                           "publish it to an index"):
        _read(target, project)
    target, project = _edited(tmp_path / "2", "uv.lock",
                              'name = "docopt"\nversion = "0.6.2"\n'
                              'source = { registry = "https://pypi.org/simple" }',
                              'name = "docopt"\nversion = "0.6.2"\n'
                              'source = { git = "https://example.org/docopt?branch=main#main" }')
    with pytest.raises(PyrpathError, match="docopt 0.6.2: a VCS entry not pinned to a full "
                                           "commit hash"):
        _read(target, project)


def test_vcs_entry_at_a_commit_is_a_direct_pin(tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    target, project = _edited(tmp_path, "uv.lock",
                              'name = "docopt"\nversion = "0.6.2"\n'
                              'source = { registry = "https://pypi.org/simple" }',
                              'name = "docopt"\nversion = "0.6.2"\n'
                              f'source = {{ git = "https://example.org/docopt?rev=v1#{commit}" }}')
    docopt = next(p for p in _read(target, project).pins if p.name == "docopt")
    assert docopt.vcs and docopt.requirement() == f"docopt @ git+https://example.org/docopt@{commit}"


def test_two_versions_for_one_target_is_an_error(tmp_path):
    target, project = _edited(tmp_path, "pylock.toml", "marker = \"python_full_version < '3.11'\"",
                              "marker = \"python_full_version < '3.12'\"")
    with pytest.raises(PyrpathError, match=r"six: selects 2 versions \(1.16.0, 1.17.0\)"):
        _read(target, project)


def test_poetry_constraints():
    allows = poetrylock.poetry_allows
    assert allows("^1.2.3", "1.9") and not allows("^1.2.3", "2.0") and not allows("^1.2.3", "1.2")
    assert allows("^0.2.3", "0.2.9") and not allows("^0.2.3", "0.3.0")
    assert allows("~1.2.3", "1.2.9") and not allows("~1.2.3", "1.3.0")
    assert allows(">=3.9,<4", "3.11.2") and not allows("<3.11", "3.11.2")
    assert allows("3.8 || >=3.10", "3.11.2") and not allows("3.8 || >=3.12", "3.11.2")
    assert allows("1.2.*", "1.2.7") and allows("*", "5") and allows("8.1.7", "8.1.7")


def test_markers_environment_is_the_targets_not_the_hosts():
    env = markers.environment("3.13.5", "arm64")
    assert env["python_version"] == "3.13" and env["platform_machine"] == "aarch64"
    assert env["platform_release"] == "" and env["sys_platform"] == "linux"
    assert markers.evaluate("python_version >= '3.12' and platform_machine == 'aarch64'", env)
    assert not markers.evaluate("sys_platform == 'win32'", env)
    assert markers.evaluate("extra == 'x'", env, extras=("x",))
    assert markers.evaluate("'dev' not in dependency_groups", env, groups=("default",))
    assert not markers.evaluate("'dev' in dependency_groups", env, groups=("default",))
    with pytest.raises(PyrpathError, match="Debian architecture vax has no known"):
        markers.environment("3.11.2", "vax")
    with pytest.raises(PyrpathError, match="marker 'python_version >>> 3' does not parse"):
        markers.evaluate("python_version >>> 3", env)


def test_python_version_from_sources():
    assert markers.python_version("python3.11_3.11.2.orig.tar.gz") == "3.11.2"
    assert markers.python_version("3.11.2-6+deb12u8") == "3.11.2"
    assert markers.python_version("Python-3.15.0a1.tar.xz") == "3.15.0a1"
    assert markers.python_version("3.15.0~a1-1") == "3.15.0a1"
    assert markers.python_version("python.tar") is None


def test_requirements_files_refuse_what_cannot_work_in_a_package(tmp_path):
    def check(text, pattern):
        path = tmp_path / "req.txt"
        path.write_text(textwrap.dedent(text))
        with pytest.raises(PyrpathError, match=pattern):
            requirements.read_requirements(path)

    check("click==8.1.7\n-e .\n", r"req.txt:2: editable requirement '-e \.'.*remove the line")
    check("--editable=git+https://x/y\n", "editable requirement")
    check(".\n", r"local path requirement '\.'.*dh_pyrpath builds and installs the project")
    check("./libs/foo\n", "local path requirement './libs/foo'.*find-links setting")
    check("foo @ file:///tmp/foo\n", "local path requirement")
    check("dist/foo-1.0-py3-none-any.whl\n", "local path requirement")
    check("git+https://example.org/r.git@v1.0#egg=x\n", "not pinned to a full commit hash")
    check("x @ git+https://example.org/r.git\n", "not pinned to a full commit hash")
    check("--index-url https://example.org/simple\nfoo==1\n", "changes where pip looks")
    check("-f /opt/wheels\n", "changes where pip looks.*find-links in debian")
    (tmp_path / "inner.txt").write_text("-e ../x\n")
    check("-r inner.txt\n", r"inner.txt:1: editable requirement")


def test_requirements_file_lines_pins_and_hashes(tmp_path):
    (tmp_path / "base.txt").write_text("attrs==24.2.0\n")
    path = tmp_path / "req.txt"
    path.write_text("-r base.txt\nclick==8.1.7  # why\nrequests[socks]==2.31.0 ; python_version "
                    ">= '3' \\\n    --hash=sha256:AB --hash=sha256:cd\nfoo>=1\nbar\n--pre\n"
                    "git+https://h/r.git@0123456789abcdef0123456789abcdef01234567#egg=x\n"
                    "x @ https://h/x-1.whl\nclick==8.*\n")
    reqs = requirements.read_requirements(path)
    assert reqs.lines == ["attrs==24.2.0", "click==8.1.7",
                          "requests[socks]==2.31.0 ; python_version >= '3'", "foo>=1", "bar",
                          "git+https://h/r.git@0123456789abcdef0123456789abcdef01234567#egg=x",
                          "x @ https://h/x-1.whl", "click==8.*"]
    assert reqs.unpinned == ["foo>=1", "bar", "click==8.*"]
    assert reqs.hashed and reqs.hashes == [["sha256:ab", "sha256:cd"]]
    assert reqs.files == [path, tmp_path / "base.txt"]
