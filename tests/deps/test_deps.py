"""What a build installs and from where: the plan (which input, refusals, unpinned warnings),
whether the index is needed, vendored files, install reports, the lock's set."""
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from dh_pyrpath.deps import backends
from dh_pyrpath.deps import install as depsinstall
from dh_pyrpath.deps import locks
from dh_pyrpath.deps import markers
from dh_pyrpath.deps import planning
from dh_pyrpath.deps import preflight
from dh_pyrpath.store.cache import Cache
from dh_pyrpath.errors import PyrpathError
from dh_pyrpath.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data"
PROJECT = DATA / "sources" / "locked"


class Log:
    def __init__(self):
        self.warnings, self.lines = [], []
        self.path = None

    def warn(self, text):
        self.warnings.append(text)

    def write(self, text):
        self.lines.append(text)


@pytest.fixture
def source(tmp_path, monkeypatch):
    """A source tree: the locked project with debian/, as the working directory."""
    src = tmp_path / "src"
    shutil.copytree(PROJECT, src)
    monkeypatch.chdir(src)
    return src


def _plan(src, **settings):
    log = Log()
    return planning.plan(Settings(package="locked", **settings), src, log, src / "debian"), log


def test_without_requirements_the_project_resolves_its_own(source):
    plan, _ = _plan(source)
    assert plan.kind == "project" and plan.path is None
    with pytest.raises(PyrpathError, match="require-pins is set, but no lock file or "
                                           "requirements file pins"):
        _plan(source, require_pins=True)


def test_default_lock_is_found_and_named(source):
    shutil.copy(DATA / "locks" / "poetry.lock", source)
    shutil.copy(DATA / "locks" / "uv.lock", source)
    plan, _ = _plan(source)
    assert plan.kind == "lock" and plan.path.name == "uv.lock"
    assert plan.label == "uv.lock (the project's own)"
    (source / "debian" / "deb-requirements.txt").write_text("click==8.1.7\n")
    plan, _ = _plan(source)
    assert plan.kind == "requirements" and plan.label == "debian/deb-requirements.txt (the default)"
    planning.select(plan, "3.11.2", "amd64", Log())  # no lock: nothing to evaluate
    assert plan.lock is None and plan.env["platform_machine"] == "x86_64"


def test_explicit_setting_must_exist(source):
    with pytest.raises(PyrpathError, match="requirements file nope.txt not found"):
        _plan(source, requirements="nope.txt", requirements_explicit=True)


def test_select_evaluates_the_lock_for_the_target(source):
    shutil.copy(DATA / "locks" / "pylock.toml", source)
    plan, _ = _plan(source, requirements="pylock.toml", requirements_explicit=True)
    log = Log()
    planning.select(plan, "3.11.2", "arm64", log)
    assert {p.name: p.version for p in plan.lock.pins}["attrs"] == "23.2.0"
    assert any("left out" in line and "attrs 24.2.0" in line for line in log.lines)
    assert plan.label == "pylock.toml (the requirements setting)"


def test_refusals_come_before_anything_is_written(source):
    before = sorted(p for p in source.rglob("*"))
    (source / "debian" / "deb-requirements.txt").write_text("click==8.1.7\n-e .\n")
    with pytest.raises(PyrpathError, match="editable requirement '-e .'"):
        _plan(source)
    assert sorted(p for p in source.rglob("*")) == sorted(
        before + [source / "debian" / "deb-requirements.txt"])


def test_unpinned_requirements_warn_or_fail(source):
    (source / "debian" / "deb-requirements.txt").write_text("click>=8\nsix\nattrs==24.2.0\n")
    _, log = _plan(source)
    assert len(log.warnings) == 1 and "click>=8, six" in log.warnings[0]
    with pytest.raises(PyrpathError, match=r"not pinned to one version: click>=8, six: pin "
                                           "them"):
        _plan(source, require_pins=True)


def test_vendor_inputs_are_the_lock_and_the_project_files(source):
    shutil.copy(DATA / "locks" / "uv.lock", source)
    plan, _ = _plan(source)
    assert [p.name for p in plan.inputs] == ["uv.lock", "pyproject.toml"]


def _cache_with(tmp_path, files):
    cache = Cache(tmp_path / "cache")
    for name, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        path = cache.source_path(name, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return cache


def _wheel(cache, name):
    (cache.path("wheels")).mkdir(parents=True, exist_ok=True)
    (cache.path("wheels") / name).write_bytes(b"w")


def test_index_needed_unless_the_cache_holds_every_pin(source, tmp_path):
    (source / "debian" / "deb-requirements.txt").write_text(
        "six==1.17.0 --hash=sha256:" + hashlib.sha256(b"six").hexdigest() + "\n")
    plan, _ = _plan(source)
    assert preflight.index_needed(plan, None) == "no cache"
    cache = _cache_with(tmp_path, {})
    assert "is not in the cache" in preflight.index_needed(plan, cache)
    cache = _cache_with(tmp_path, {"six-1.17.0-py2.py3-none-any.whl": b"six"})
    assert "build requirement setuptools>=61" in preflight.index_needed(plan, cache)
    _wheel(cache, "setuptools-84.2.1-py3-none-any.whl")
    assert preflight.index_needed(plan, cache) is None


def test_index_needed_for_plain_requirements(source, tmp_path):
    cache = _cache_with(tmp_path, {})
    _wheel(cache, "setuptools-84.2.1-py3-none-any.whl")
    (source / "debian" / "deb-requirements.txt").write_text("click==8.1.7\n")
    plan, _ = _plan(source)
    assert preflight.index_needed(plan, cache) == "click==8.1.7 is not in the wheel cache"
    _wheel(cache, "click-8.1.7-py3-none-any.whl")
    assert preflight.index_needed(plan, cache) is None
    (source / "debian" / "deb-requirements.txt").write_text("click>=8\n")
    plan, _ = _plan(source)
    assert "unpinned" in preflight.index_needed(plan, cache)


def test_vendored_files_must_hold_every_pin(source, tmp_path):
    shutil.copy(DATA / "locks" / "uv.lock", source)
    plan, _ = _plan(source)
    planning.select(plan, "3.11.2", "amd64", Log())
    vendored = tmp_path / "vendor"
    vendored.mkdir()
    with pytest.raises(PyrpathError, match=r"is not among the vendored files in .*vendor: run "
                                           r"`dh_pyrpath --vendor`"):
        preflight.check_vendored(plan, vendored)


def test_installed_records_from_a_pip_report(tmp_path):
    lock = locks.read(DATA / "locks" / "uv.lock", PROJECT, markers.environment("3.11.2",
                                                                               "amd64"))
    click = next(p for p in lock.pins if p.name == "click")
    wheel = next(a for a in click.artifacts if a.filename.endswith(".whl"))
    local = tmp_path / "click-8.1.7-py3-none-any.whl"
    local.write_bytes(b"click")
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"install": [
        {"metadata": {"name": "click", "version": "8.1.7"},
         "download_info": {"url": local.as_uri(), "archive_info": {}}},
        {"metadata": {"name": "Six", "version": "1.17.0"},
         "download_info": {"url": "https://u:pw@idx.example/f/six-1.17.0-py2.py3-none-any.whl",
                           "archive_info": {"hash": "sha256=4721"}}},
    ]}))
    records = depsinstall._installed(report, "lock", lock.pins)
    assert records[0].name == "click" and records[0].sha256 == hashlib.sha256(b"click").hexdigest()
    assert records[0].url is None  # a local file with no lock URL for its hash
    assert records[1].url == "https://***@idx.example/f/six-1.17.0-py2.py3-none-any.whl"
    assert records[1].sha256 == "4721" and records[1].artifact == "six-1.17.0-py2.py3-none-any.whl"
    # a pinned file: the lock's URL
    local.write_bytes(b"x")
    report.write_text(json.dumps({"install": [
        {"metadata": {"name": "click", "version": "8.1.7"},
         "download_info": {"url": "https://idx.example/" + wheel.filename,
                           "archive_info": {"hash": "sha256=" + wheel.hash[7:]}}}]}))
    assert depsinstall._installed(report, "lock", lock.pins)[0].url == wheel.url


def test_installed_set_must_equal_the_lock(tmp_path):
    from dh_pyrpath.deps.artifacts import Installed
    lock = locks.read(DATA / "locks" / "uv.lock", PROJECT, markers.environment("3.11.2",
                                                                               "amd64"))
    got = [Installed(p.name, p.version, "f", "0", "lock") for p in lock.pins]
    depsinstall.check_lock_set(lock, got)
    with pytest.raises(PyrpathError, match=r"differs from the lock \(missing: six==1.17.0; not "
                                           r"in it: colorama==0.4.6\)"):
        depsinstall.check_lock_set(lock, [r for r in got if r.name != "six"]
                            + [Installed("colorama", "0.4.6", "f", "0", "lock")])


def test_build_system_defaults_are_pips(tmp_path):
    assert backends.build_system(tmp_path) == (backends.DEFAULT_BUILD_REQUIRES, backends.LEGACY_BACKEND, [])
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = ["flit_core>=3.2"]\n'
                                             'build-backend = "flit_core.buildapi"\n'
                                             'backend-path = ["."]\n')
    assert backends.build_system(tmp_path) == (["flit_core>=3.2"], "flit_core.buildapi", ["."])


def test_vendored_files_must_hold_every_pinned_requirement(source, tmp_path):
    (source / "debian" / "deb-requirements.txt").write_text("click==8.1.7\nsix==1.17.0\n")
    plan, _ = _plan(source)
    vendored = tmp_path / "vendor"
    vendored.mkdir()
    (vendored / "click-8.1.7-py3-none-any.whl").write_bytes(b"")
    with pytest.raises(PyrpathError, match=r"six==1.17.0 \(from .*debian/deb-requirements.txt\) is "
                                           "not among the vendored files"):
        preflight.check_vendored(plan, vendored)
    (vendored / "six-1.17.0.tar.gz").write_bytes(b"")
    preflight.check_vendored(plan, vendored)
