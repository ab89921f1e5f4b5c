"""Today's Python on yesterday's Debian: a project whose requires-python the host's release
cannot satisfy. make-deb picks the newer stable release's python3.X (trixie's 3.13 on
bookworm), dh_pyrpath takes its source through a private apt configuration and builds it
against the host's own libraries; the package installs and runs on the host, whose
/usr/bin/python3 stays what it was; /etc/apt is byte for byte what it was. Its vendored copy
then builds with no network at all, into the same bytes."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import HOST_XY, apt, build_deb, build_env, dh_pyrpath, run
from dh_pyrpath import host
from dh_pyrpath.python import releases

pytestmark = pytest.mark.e2e
PACKAGE = "newer-py"
MAKE_DEB_ARGS = ["--yes", "--maintainer-name", "Deb Packager", "--maintainer-email",
                 "deb@example.org"]


def _etc_apt():
    return {p: p.read_bytes() for p in Path("/etc/apt").rglob("*") if p.is_file()}


def _project(root, minor):
    (root / "src" / "newer_py").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{PACKAGE}"\nversion = "1.0"\ndescription = "Needs a newer Python"\n'
        f'requires-python = ">=3.{minor}"\nauthors = [{{name = "Jane Doe", '
        'email = "jane@example.org"}]\n[project.scripts]\nnewer-py = "newer_py:main"\n')
    (root / "src" / "newer_py" / "__init__.py").write_text(
        "import json, sqlite3, ssl, sys\n\n\ndef main():\n"
        "    print(json.dumps({'version': list(sys.version_info[:3]), 'prefix': sys.prefix,\n"
        "                      'ssl': ssl.OPENSSL_VERSION, 'sqlite': sqlite3.sqlite_version}))\n")
    return root


@pytest.fixture(scope="module")
def built(tool_installed, suite_cache, tmp_path_factory):
    here = host.host_codename()
    newer = releases.newer_stable(here)
    if not newer:
        pytest.skip(f"no stable Debian release is newer than this host's ({here})")
    minor = int(HOST_XY.split(".")[1]) + 1
    before = _etc_apt()
    work = tmp_path_factory.mktemp("newer")
    project = _project(work / PACKAGE, minor)
    env = build_env(SOURCE_DATE_EPOCH="1700000000")
    made = run(["/usr/bin/make-deb", *MAKE_DEB_ARGS], cwd=project, env=env)
    assert f"@{newer[0]}: the project requires Python >=3.{minor}" in made.stdout, made.stdout
    spec = next(line.split(" = ", 1)[1] for line in
                (project / f"debian/{PACKAGE}.pyrpath").read_text().splitlines()
                if line.startswith("python-source = "))
    # the vendored copy, taken before the build: in a directory of its own, since its .deb
    # has the same name
    pristine = work / "offline" / PACKAGE
    shutil.copytree(project, pristine)
    debs = build_deb(project)
    assert _etc_apt() == before, "the build changed /etc/apt"
    return project, pristine, debs[0], spec, newer[0]


def test_the_pin_names_the_newer_release(built):
    _, _, _, spec, release = built
    assert spec.startswith("debian:python3.") and spec.endswith(f"@{release}"), spec
    assert int(spec.split(".")[1].split("=")[0]) > int(HOST_XY.split(".")[1])


def test_it_installs_and_runs_the_newer_python_on_the_old_host(built):
    project, _, deb, spec, release = built
    xy = spec[len("debian:python"):].split("=")[0]
    depends = run(["dpkg-deb", "-f", str(deb), "Depends"]).stdout
    installed_ssl = run(["dpkg-query", "-W", "-f", "${Package}\n", "libssl3*"]).stdout.split()
    assert any(name in depends for name in installed_ssl), depends  # the host's libssl
    apt("install", str(deb))
    try:
        out = json.loads(run([f"/opt/{PACKAGE}/bin/newer-py"]).stdout)
        assert ".".join(map(str, out["version"][:2])) == xy and out["prefix"] == f"/opt/{PACKAGE}"
        system = run(["/usr/bin/python3", "-c", "import sys; print(sys.version_info[:2])"])
        assert system.stdout.strip() == str(tuple(int(x) for x in HOST_XY.split(".")))
        info = json.loads(Path(f"/opt/{PACKAGE}/share/dh-pyrpath/build-info.json").read_text())
        assert info["python_release"] == release and info["python"].startswith(xy + ".")
        sbom = Path(f"/opt/{PACKAGE}/share/dh-pyrpath/sbom.cdx.json").read_text()
        assert '"name": "dh-pyrpath:debian-release"' in sbom and f'"value": "{release}"' in sbom
    finally:
        apt("purge", PACKAGE)


def test_its_vendored_copy_builds_with_no_network_into_the_same_bytes(built, suite_cache):
    _, pristine, deb, _, _ = built
    vendored = dh_pyrpath("--vendor", cwd=pristine)
    assert vendored.returncode == 0, vendored.stdout
    proc = subprocess.run(["unshare", "--net", "dpkg-buildpackage", "-us", "-uc", "-b"],
                          cwd=pristine, env=build_env(), text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "vendored: building from" in proc.stdout
    (offline,) = [p for p in pristine.parent.glob("*.deb") if "-dbgsym_" not in p.name]
    assert offline.name == deb.name and offline.parent != deb.parent
    assert offline.read_bytes() == deb.read_bytes()
