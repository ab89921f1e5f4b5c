"""make-deb for real: scaffold each fixture project, build it with dpkg-buildpackage through
dh_pyrpath, check it with lintian, install it with apt and run its console script. One project
per build backend, each pinning its backend's version; make-deb -v must say that version read
the metadata (from the package index, not Debian's).

Slow (the first build compiles CPython into the shared suite cache; later ones reuse it); marked
e2e. By default the dh-pyrpath package is built and installed first (conftest's
tool_installed). With MAKE_DEB_E2E_FROM_CHECKOUT=1 the builds use dh_pyrpath and pyrpath.pm
straight from this checkout instead (PATH and PERL5LIB, `dpkg-buildpackage -d`), for working on
make-deb before the tool's own packaging is done.
"""
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from debian.deb822 import Deb822

from conftest import SYSTEM_PATH, ZSTD_MEMBERS, build_deb, build_env, lintian, run
from test_make_deb_backends import git_checkout

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "data" / "make_deb"
# fixture -> (package, console script, what make-deb -v says read the metadata)
SHAPES = {
    "setuppy_kwargs": ("hello-kwargs", "hello-kwargs", r"setuptools [\d.]+ from the package index"),
    "setupcfg_only": ("my-cool-app", "cool-app", r"setuptools [\d.]+ from the package index"),
    "pep621_setuptools": ("pep621-service", "pep621-service",
                          r"setuptools [\d.]+ from the package index"),
    "flit_tool": ("flit-tool", "flit-tool", r"flit_core 3\.12\.0 from the package index"),
    "scm_tool": ("scm-tool", "scm-tool", r"setuptools 80\.9\.0 from the package index"),
    "hatch_tool": ("hatch-tool", "hatch-tool", r"hatchling 1\.27\.0 from the package index"),
    "poetry2_tool": ("poetry2-tool", "poetry2-tool", r"poetry-core 2\.1\.3 from the package index"),
    "poetry1_tool": ("poetry1-tool", "poetry1-tool", r"poetry-core 1\.9\.1 from the package index"),
    "pdm_tool": ("pdm-tool", "pdm-tool", r"pdm-backend 2\.4\.5 from the package index"),
    # uv_build takes no dynamic fields: read statically, built by uv_build from the index
    "uv_tool": ("uv-tool", "uv-tool", r"metadata from pyproject\.toml \[project\]"),
}
# lintian tags about what make-deb writes from the project's texts (issue 17)
TEXT_TAGS = re.compile(r"description|synopsis|copyright|license|dep5")


def make_deb(project, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO), "SOURCE_DATE_EPOCH": "1700000000"}
    env.pop("CI", None)
    return run(["/usr/bin/python3", "-m", "make_deb", "--yes", "-v", "--maintainer-name",
                "Deb Packager", "--maintainer-email", "deb@example.org", *args],
               cwd=project, env=env)


def lintian_tags(deb):
    """Lintian's errors, and its warnings about descriptions and copyright, that are not
    overridden (overridden ones are not printed)."""
    proc = lintian(deb)
    return [ln for ln in proc.stdout.splitlines() if ln.startswith("E: ") or (
        ln.startswith("W: ") and TEXT_TAGS.search(ln))], proc.stdout


@pytest.mark.parametrize("shape", SHAPES)
def test_scaffold_build_lint_install_run(shape, tmp_path, pyrpath_build, suite_cache):
    package, script, backend = SHAPES[shape]
    project = tmp_path / shape
    shutil.copytree(FIXTURES / shape, project)
    if shape == "scm_tool":
        git_checkout(project, "v1.4.0")  # the version comes from the tag
    start = time.monotonic()
    out = make_deb(project).stdout
    assert re.search(backend, out), out
    assert "Debian's" not in out, out
    build_args, build_env_extra = pyrpath_build
    debs = build_deb(project, *build_args, env=build_env_extra)
    main = [d for d in debs if d.name.startswith(f"{package}_") and "-dbgsym_" not in d.name]
    assert main, f"no {package} .deb among {debs}"
    deb = main[0]

    # make-deb's debian/rules asks dh_builddeb for zstd (issue 25)
    assert run(["ar", "t", str(deb)]).stdout.split() == ZSTD_MEMBERS
    tags, report = lintian_tags(deb)
    assert not tags, report
    contents = run(["dpkg-deb", "--contents", str(deb)]).stdout
    assert f"./usr/share/lintian/overrides/{package}" in contents
    assert re.search(rf"\./usr/bin/{re.escape(script)} -> /?opt/{package}/bin/{script}", contents)

    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "install", "-y", "--no-install-recommends", str(deb)], env=env)
    try:
        # LD_LIBRARY_PATH must not change which libpython the private interpreter loads
        hostile = {**os.environ, "LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu"}
        out = run([f"/usr/bin/{script}"], env=hostile).stdout
        assert f"/opt/{package}" in out, out
        if shape == "scm_tool":
            assert out.startswith("scm-tool 1.4.0 "), out  # the tag's version, in the wheel
    finally:
        run(["apt-get", "purge", "-y", package], env=env, check=False)
    assert not Path(f"/opt/{package}").exists()
    print(f"{shape}: make-deb, build, lintian, install, run, purge in "
          f"{time.monotonic() - start:.0f} s")


def test_maturin_needs_cargo_to_build(tmp_path):
    """maturin: make-deb reads the metadata without Rust and puts cargo in Build-Depends; a
    build host without Debian's cargo is told so before anything is built."""
    project = tmp_path / "maturin_tool"
    shutil.copytree(FIXTURES / "maturin_tool", project)
    make_deb(project)
    control = (project / "debian/control").read_text()
    assert "Build-Depends: debhelper-compat (= 13), dh-sequence-pyrpath, cargo\n" in control
    assert "Package: maturin-tool\n" in control
    # dpkg's database as on a host without cargo, whatever this one has (the extended tier
    # installs it)
    admindir = tmp_path / "dpkg"
    admindir.mkdir()
    with open("/var/lib/dpkg/status", encoding="utf-8") as fh:
        kept = [p for p in Deb822.iter_paragraphs(fh) if p.get("Package") != "cargo"]
    (admindir / "status").write_text("\n".join(str(p) for p in kept), encoding="utf-8")
    proc = run(["dpkg-checkbuilddeps", f"--admindir={admindir}"], cwd=project, check=False,
               env=build_env(PATH=SYSTEM_PATH))
    assert proc.returncode != 0
    unmet = [ln for ln in proc.stdout.splitlines() if "Unmet build dependencies" in ln]
    assert unmet and re.search(r"\bcargo\b", unmet[0]), proc.stdout
