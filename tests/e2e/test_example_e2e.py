"""The bundled example, built by a real dpkg-buildpackage with the installed tool, installed
on this host with dpkg (which has the system libpython3.X), and run."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import HOST_XY, REPO, SUITE_CACHE, apt, build_deb, copy_source, lintian, run

pytestmark = pytest.mark.e2e
EXAMPLE = REPO / "examples" / "hello-service"


@pytest.fixture(scope="module")
def example_build(tool_installed, suite_cache, tmp_path_factory):
    src = copy_source(EXAMPLE, tmp_path_factory.mktemp("example"))
    debs = build_deb(src)
    assert [d.name for d in debs] == ["hello-service_1.0.0_amd64.deb"]
    return src, debs[0]


@pytest.fixture(scope="module")
def installed(example_build):
    _, deb = example_build
    apt("install", str(deb))
    yield deb
    apt("purge", "hello-service")
    assert not Path("/opt/hello-service").exists(), "purge left files behind"


def test_control_depends_name_system_libraries_never_python(example_build):
    _, deb = example_build
    depends = run(["dpkg-deb", "-f", str(deb), "Depends"]).stdout
    names = [d.strip().split()[0] for d in depends.split(",")]
    assert "libssl3" in names and "libffi8" in names and "libc6" in names
    assert not [n for n in names if re.match(r"(lib)?python", n)], depends
    assert not [n for n in names if n.startswith(("libtcl", "libtk"))], depends


def test_no_file_contains_a_build_path(example_build, tmp_path):
    src, deb = example_build
    run(["dpkg-deb", "-x", str(deb), str(tmp_path)])
    needles = [str(src.parent), str(SUITE_CACHE), "dh-pyrpath-placeholder-prefix"]
    proc = subprocess.run(["grep", "-rlaF", *sum((["-e", n] for n in needles), []), str(tmp_path)],
                          stdout=subprocess.PIPE, text=True)
    assert proc.returncode == 1, f"build paths leaked into: {proc.stdout}"
    # and the check above can fail: the staging tree did contain such paths before relocation
    assert (tmp_path / f"opt/hello-service/lib/python{HOST_XY}/site-packages/hello_service").is_dir()


def test_package_carries_interpreter_and_pins_and_no_build_tools(example_build, tmp_path):
    _, deb = example_build
    run(["dpkg-deb", "-x", str(deb), str(tmp_path)])
    prefix = tmp_path / "opt" / "hello-service"
    frozen = (prefix / "share/dh-pyrpath/installed-requirements.txt").read_text().split()
    assert "click==8.1.7" in frozen and "pyzmq==26.4.0" in frozen and "hello-service==1.0.0" in frozen
    site = prefix / f"lib/python{HOST_XY}/site-packages"
    assert not list(site.glob("pip*")) and not list(site.glob("setuptools*"))
    assert not (prefix / f"lib/python{HOST_XY}/test").exists()
    assert not list((prefix / "lib").glob("**/libpython*.a"))
    assert (site / "pyzmq.libs").is_dir()
    # the interpreter carries libpython itself; the shared one (for embedders) finds its own lib/
    readelf = run(["readelf", "-d", str(prefix / f"bin/python{HOST_XY}")]).stdout
    assert "libpython" not in readelf
    readelf = run(["readelf", "-d", str(prefix / f"lib/libpython{HOST_XY}.so.1.0")]).stdout
    assert "(RPATH)" in readelf and "[$ORIGIN/../lib]" in readelf and "RUNPATH" not in readelf
    assert (tmp_path / "usr/bin/hello-service").is_symlink()


def _diagnose(env_extra=None):
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", **(env_extra or {})}
    out = run(["hello-service", "diagnose"], env=env).stdout
    return json.loads(out)


def test_console_script_runs(installed):
    assert run(["hello-service", "greet", "--name", "ci"]).stdout.strip() == "Hello, ci!"
    # the manylinux extension and its vendored libzmq survived dh_strip
    assert run(["hello-service", "ping"]).stdout.startswith("ping via libzmq")


@pytest.mark.parametrize("env_extra", [None, {"LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu"},
                                       {"PYTHONPATH": "/usr/lib/python3/dist-packages",
                                        "PYTHONHOME": "/usr"}])
def test_service_runs_on_its_own_interpreter(installed, env_extra):
    assert Path(f"/usr/lib/x86_64-linux-gnu/libpython{HOST_XY}.so.1.0").exists(), \
        "the host should have the system libpython for this test to mean something"
    report = _diagnose(env_extra)
    assert report["libpython"] == []  # linked in: no libpython, not even the prefix's, is mapped
    assert report["prefix"] == "/opt/hello-service"
    assert all(p.startswith("/opt/hello-service/") for p in report["path"]), report["path"]
    for name in ("json", "_json", "click", "zmq"):
        assert report["modules"][name].startswith(f"/opt/hello-service/lib/python{HOST_XY}/"), name


def test_running_the_service_writes_nothing_into_the_prefix(installed):
    before = set(run(["find", "/opt/hello-service"]).stdout.split())
    _diagnose()
    run([f"/opt/hello-service/bin/python{HOST_XY}", "-c", "import ssl, sqlite3, decimal, email.mime.text"])
    after = set(run(["find", "/opt/hello-service"]).stdout.split())
    assert after == before, sorted(after - before)[:5]


def test_lintian_reports_no_errors(example_build):
    _, deb = example_build
    out = lintian(deb).stdout
    errors = [l for l in out.splitlines() if l.startswith("E:")]
    assert not errors, out
    assert "usr/share/lintian/overrides/hello-service" in run(["dpkg-deb", "-c", str(deb)]).stdout
