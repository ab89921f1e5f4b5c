"""The dependency supply chain, for real: dh_pyrpath run alone on source trees with the suite's
interpreter cache (no CPython compile), pip from the package index.

- a project with only a uv.lock, pylock.toml or poetry.lock: the package holds exactly the
  lock's set for the target, whatever the builder's own pip configuration says;
- requirements that cannot work in a package are refused, the project left as it was;
- a setup.py project with setup_requires builds as pip would build it;
- an index whose certificate the CA bundle lacks: the error names TLS and the bundle, and the
  ca-bundle setting fixes it;
- vendored files: an offline install (no network at all) from what vendoring.vendor() fetched.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HOST_XY, REPO, SUITE_CACHE, copy_source, dh_pyrpath
from pip_index import make_certificate, serve

pytestmark = pytest.mark.e2e

SOURCES = REPO / "tests" / "data" / "sources"
LOCKS = REPO / "tests" / "data" / "locks"
TARGET_SET = ["attrs==24.2.0", "click==8.1.7", "docopt==0.6.2", "locked==1.0", "six==1.17.0"]


def _hostile_pip_config(tmp_path):
    """What a builder's machine may carry (this one does): a user pip.conf and PIP_* variables
    that would change or break every install if they reached dh_pyrpath's pip."""
    home = tmp_path / "home"
    (home / ".config" / "pip").mkdir(parents=True)
    bad = tmp_path / "constraints.txt"
    bad.write_text("click==0.1\nsix==1.16.0\n")
    (home / ".config" / "pip" / "pip.conf").write_text(
        f"[global]\nconstraint = {bad}\nindex-url = https://127.0.0.1:9/simple\n")
    return {"HOME": str(home), "PIP_CONSTRAINT": str(bad), "PIP_FIND_LINKS": "/nonexistent",
            "PIP_INDEX_URL": "https://127.0.0.1:9/simple", "PIP_NO_BINARY": ":all:"}


def _tree_digest(root):
    """sha256 of every file and symlink under root, debhelper's own log directory aside."""
    digest = {}
    for path in sorted(Path(root).rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[:2] == ("debian", ".debhelper"):
            continue
        if path.is_symlink():
            digest[str(rel)] = "link:" + os.readlink(path)
        elif path.is_file():
            digest[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            digest[str(rel)] = "dir"
    return digest


def _project_digest(src, digest=None):
    """The part of a tree digest outside debian/: the project itself."""
    digest = _tree_digest(src) if digest is None else digest
    return {k: v for k, v in digest.items() if not k.startswith("debian")}


@pytest.mark.parametrize("lock", ["uv.lock", "pylock.toml", "poetry.lock"])
def test_lock_file_alone_gives_the_targets_set(tmp_path, suite_cache, lock):
    src = copy_source(SOURCES / "locked", tmp_path)
    shutil.copy(LOCKS / lock, src / lock)
    proc = dh_pyrpath("-p", "locked", cwd=src, env=_hostile_pip_config(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"install deps: from {lock} (the project's own)" in proc.stdout
    prefix = src / "debian" / "locked" / "opt" / "locked"
    info = prefix / "share" / "dh-pyrpath"
    assert (info / "installed-requirements.txt").read_text().split() == TARGET_SET
    build_info = json.loads((info / "build-info.json").read_text())
    assert build_info["pip"]["config_files"].startswith("none")
    assert build_info["pip"]["find_links"] == [] and build_info["pip"]["index_url"] is None
    out = subprocess.run([prefix / "bin" / f"python{HOST_XY}", "-I", "-c",
                          "import locked; locked.main()"], text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    assert out.returncode == 0, out.stdout
    versions = json.loads(out.stdout)
    assert (versions["attrs"], versions["six"], versions["docopt"]) == ("24.2.0", "1.17.0",
                                                                       "0.6.2")


REFUSED = [
    ("-e .\n", "editable requirement '-e .'"),
    ("click==8.1.7\n./vendor/foo\n", "local path requirement './vendor/foo'"),
    ("git+https://example.org/foo.git@main#egg=foo\n", "not pinned to a full commit hash"),
    ("--extra-index-url https://example.org/simple\nclick==8.1.7\n", "changes where pip looks"),
]


@pytest.mark.parametrize("text,message", REFUSED)
def test_refused_requirements_leave_the_project_untouched(tmp_path, text, message):
    src = copy_source(SOURCES / "twins", tmp_path)
    (src / "debian" / "deb-requirements.txt").write_text(text)
    before = _tree_digest(src)
    proc = dh_pyrpath("-p", "twin-a", cwd=src)
    assert proc.returncode != 0
    errors = [line for line in proc.stdout.splitlines() if line.startswith("dh_pyrpath: error:")]
    assert errors and message in errors[0] and "deb-requirements.txt:" in errors[0], proc.stdout
    assert _tree_digest(src) == before
    assert not list(src.rglob("*.egg-info")) and not (src / "debian" / "twin-a").exists()


def test_unpinned_requirements_fail_with_require_pins(tmp_path):
    src = copy_source(SOURCES / "twins", tmp_path)
    (src / "debian" / "deb-requirements.txt").write_text("click>=8\n")
    before = _tree_digest(src)
    proc = dh_pyrpath("-p", "twin-a", "--require-pins", cwd=src)
    assert proc.returncode != 0 and "not pinned to one version: click>=8" in proc.stdout
    assert _tree_digest(src) == before


@pytest.fixture
def cold_wheel_cache(tmp_path):
    """A cache with the suite's interpreter entries (hard links: no compile) and no wheels: the
    build must fetch what it needs."""
    cache = tmp_path / "cache"
    cache.mkdir()
    subprocess.run(["cp", "-al", str(SUITE_CACHE / "interpreters"), str(cache / "interpreters")],
                   check=True)
    return cache


def test_setup_requires_become_build_requirements(tmp_path, suite_cache, cold_wheel_cache):
    src = copy_source(SOURCES / "setup-requires", tmp_path)
    before = _tree_digest(src)
    proc = dh_pyrpath("-p", "oldstyle", cwd=src,
                      env={"DH_PYRPATH_CACHE_DIR": str(cold_wheel_cache)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    log = (src / "debian" / ".debhelper" / "dh_pyrpath" / "oldstyle" / "build.log").read_text()
    assert "the build backend also needs pytest-runner==6.0.1" in log
    assert list((cold_wheel_cache / "wheels").glob("pytest_runner-6.0.1-*.whl"))
    prefix = src / "debian" / "oldstyle" / "opt" / "oldstyle"
    assert "oldstyle==3.1" in (prefix / "share" / "dh-pyrpath" / "installed-requirements.txt"
                               ).read_text()
    # pytest-runner served the build only; the project got no .eggs, build/ or egg-info
    assert _project_digest(src) == _project_digest(src, before)
    # warm: everything from the wheel cache, no index needed
    again = dh_pyrpath("-p", "oldstyle", cwd=src, env={
        "DH_PYRPATH_CACHE_DIR": str(cold_wheel_cache), "DH_PYRPATH_INDEX_URL":
        "https://127.0.0.1:9/simple", "DH_PYRPATH_NO_INDEX": "1"})
    assert again.returncode == 0, again.stdout[-3000:]


@pytest.fixture
def tls_index(tmp_path, suite_cache):
    """The suite's wheels served over HTTPS on the loopback with a test CA's certificate."""
    if not list((SUITE_CACHE / "wheels").glob("click-8.1.7-*.whl")):
        # the suite's builds fill its wheel cache; on a fresh machine this test may come
        # before any of them (tests/deps/ runs before tests/e2e/): one build of the twins
        warm = copy_source(SOURCES / "twins", tmp_path / "warm")
        built = dh_pyrpath("-p", "twin-a", cwd=warm)
        assert built.returncode == 0, built.stdout[-3000:]
    cert, key = make_certificate(tmp_path)
    files = tmp_path / "index-files"
    files.mkdir()
    for whl in (SUITE_CACHE / "wheels").glob("*.whl"):
        shutil.copy(whl, files)
    assert list(files.glob("click-8.1.7-*.whl")), "the suite's wheel cache lacks click"
    with serve(files, cert, key) as (url, requests):
        yield url, cert, requests


def test_index_tls_failure_names_the_ca_bundle_and_the_setting_fixes_it(
        tmp_path, suite_cache, cold_wheel_cache, tls_index):
    url, cert, requests = tls_index
    src = copy_source(SOURCES / "twins", tmp_path)
    env = {"DH_PYRPATH_CACHE_DIR": str(cold_wheel_cache), "DH_PYRPATH_INDEX_URL": url}
    proc = dh_pyrpath("-p", "twin-a", cwd=src, env=env)
    assert proc.returncode != 0
    error = next(line for line in proc.stdout.splitlines() if "error:" in line)
    assert "TLS verification of 127.0.0.1:" in error and "self-signed" in error, error
    assert "/etc/ssl/certs/ca-certificates.crt" in error and "DH_PYRPATH_CA_BUNDLE" in error
    assert "preflight check" in error
    assert not (cold_wheel_cache / "wheels").exists()  # failed before pip ran

    proc = dh_pyrpath("-p", "twin-a", cwd=src, env={**env, "DH_PYRPATH_CA_BUNDLE": str(cert)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert any(r.startswith("/files/click-8.1.7") for r in requests), requests
    info = json.loads((src / "debian" / "twin-a" / "opt" / "twin-a" / "share" / "dh-pyrpath" /
                       "build-info.json").read_text())
    assert info["pip"]["ca_bundle"] == str(cert) and info["pip"]["index_url"] == url


OFFLINE_INSTALL = r"""
import json, socket, sys
from pathlib import Path
assert [name for _, name in socket.if_nameindex()] == ["lo"], "this must run with no network"
sys.path.insert(0, sys.argv[1])
from dh_pyrpath.deps import install as depsinstall, piprun, planning, preflight
from dh_pyrpath.deps import project as depsproject
from dh_pyrpath.log import BuildLog
from dh_pyrpath.settings import Settings
python, pip_dir, project, vendored, work = sys.argv[2:7]
log = BuildLog(work + "/offline.log", "locked", quiet=True)
settings = Settings(package="locked", requirements=project + "/uv.lock", requirements_explicit=True)
plan = planning.select(planning.plan(settings, Path(project), log, Path(project) / "debian"),
                       "3.11.2", "amd64", log)
preflight.preflight(settings, plan, None, vendored, log)
pip = piprun.Pip(python, pip_dir, settings, None, work, log, vendored=vendored)
records = depsinstall.install_dependencies(pip, plan) + depsproject.install_project(pip, plan, Path(project))
print(json.dumps([[r.name, r.version, r.origin, r.url] for r in records]))
"""


def _placed_interpreter(tmp_path, name):
    """The suite's cached interpreter for this host's default CPython (built by a first run of
    dh_pyrpath on the twins when the cache lacks it), placed at a prefix of its own as a build
    places it."""
    from dh_pyrpath.python import interpreter, placement
    twins = copy_source(SOURCES / "twins", tmp_path / f"{name}-twins")
    built = dh_pyrpath("-p", "twin-a", cwd=twins, check=True)
    info = json.loads((twins / "debian/twin-a/opt/twin-a/share/dh-pyrpath/build-info.json")
                      .read_text())
    entry = SUITE_CACHE / "interpreters" / info["interpreter_key"]
    assert entry.is_dir(), built.stdout
    work = tmp_path / f"{name}-work"
    work.mkdir()
    interp = placement.place(interpreter._load(entry, entry.name), tmp_path / name / "prefix",
                             work)
    return interp, work


def test_vendored_files_install_with_no_network(tmp_path, suite_cache):
    from dh_pyrpath.deps import vendoring
    from dh_pyrpath.log import BuildLog
    from dh_pyrpath.settings import Settings
    src = copy_source(SOURCES / "locked", tmp_path)
    shutil.copy(LOCKS / "uv.lock", src / "uv.lock")
    interp, work = _placed_interpreter(tmp_path, "vendoring")
    vendored = tmp_path / "vendored"
    log = BuildLog(str(tmp_path / "vendor.log"), "locked", quiet=True)
    cwd = os.getcwd()
    os.chdir(src)
    try:
        result = vendoring.vendor(Settings(package="locked"), ".",
                                  interp.tree / "bin" / f"python{HOST_XY}", interp.pip,
                             interp.version, "amd64", vendored, work, log)
    finally:
        os.chdir(cwd)
    files = result["files"]
    # the lock's files for the target, the project's build requirement, docopt's (an sdist)
    assert "docopt-0.6.2.tar.gz" in files and any(f.startswith("six-1.17.0-") for f in files)
    assert any(f.startswith("setuptools-") for f in files)
    assert any(f.startswith("wheel-") for f in files)  # docopt's (setup.py) build requirement
    assert not any(f.startswith(("six-1.16.0", "attrs-23.2.0", "colorama", "iniconfig"))
                   for f in files)
    assert set(result["inputs"]) == {"uv.lock", "pyproject.toml"}

    offline, owork = _placed_interpreter(tmp_path, "offline")

    def install():
        return subprocess.run(
            ["unshare", "--net", sys.executable, "-c", OFFLINE_INSTALL, str(REPO),
             str(offline.tree / "bin" / f"python{HOST_XY}"), str(offline.pip), str(src),
             str(vendored), str(owork)], text=True, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})

    proc = install()
    assert proc.returncode == 0, proc.stdout[-3000:]
    records = json.loads(proc.stdout.splitlines()[-1])
    assert sorted(f"{n.lower()}=={v}" for n, v, _, _ in records) == TARGET_SET
    assert {o for n, _, o, _ in records if n != "locked"} == {"lock"}
    assert all(u and u.startswith("https://") for n, _, _, u in records if n != "locked")

    (vendored / "docopt-0.6.2.tar.gz").unlink()
    proc = install()
    assert proc.returncode != 0
    assert "docopt==0.6.2 (pinned by" in proc.stdout and "dh_pyrpath --vendor" in proc.stdout


CLICK_WHEEL = "ae74fb96c20a0277a1d615f1e4d73c8414f5a98db8b799a7931d1582f3390c28"
CLICK_SDIST = "ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de"


def test_hash_checking_requirements_and_a_hash_that_does_not_match(tmp_path, suite_cache,
                                                                    cold_wheel_cache):
    src = copy_source(SOURCES / "twins", tmp_path)
    requirements = src / "debian" / "deb-requirements.txt"
    requirements.write_text(f"click==8.1.7 --hash=sha256:{CLICK_WHEEL} "
                            f"--hash=sha256:{CLICK_SDIST}\n")
    env = {"DH_PYRPATH_CACHE_DIR": str(cold_wheel_cache)}
    proc = dh_pyrpath("-p", "twin-a", cwd=src, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    # the exact file is kept by its sha256: the next build needs no index
    assert (cold_wheel_cache / "sources" / f"{CLICK_WHEEL}-click-8.1.7-py3-none-any.whl"
            ).is_file()
    again = dh_pyrpath("-p", "twin-a", cwd=src, env={**env, "DH_PYRPATH_NO_INDEX": "1"})
    assert again.returncode == 0, again.stdout[-3000:]

    requirements.write_text(f"click==8.1.7 --hash=sha256:{'0' * 64}\n")
    proc = dh_pyrpath("-p", "twin-a", cwd=src, env=env)
    assert proc.returncode != 0
    error = next(line for line in proc.stdout.splitlines() if "error:" in line)
    assert "does not match the hash it is pinned to" in error and f"got {CLICK_WHEEL}" in error
