"""make-deb for real: scaffold each fixture project, build it with dpkg-buildpackage through
dh_pyrpath, check it with lintian, install it with apt and run its console script.

Slow (the first build compiles CPython into the shared suite cache); marked e2e. By default the
dh-pyrpath package is built and installed first (conftest's tool_installed). With
MAKE_DEB_E2E_FROM_CHECKOUT=1 the builds use dh_pyrpath and pyrpath.pm straight from this checkout
instead (PATH and PERL5LIB, `dpkg-buildpackage -d`), for working on make-deb before the tool's
own packaging is done.
"""
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import build_deb, run

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "data" / "make_deb"
# fixture -> (package, console script)
SHAPES = {
    "setuppy_kwargs": ("hello-kwargs", "hello-kwargs"),
    "setupcfg_only": ("my-cool-app", "cool-app"),
    "pep621_setuptools": ("pep621-service", "pep621-service"),
    "flit_tool": ("flit-tool", "flit-tool"),
}


def make_deb(project, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO), "SOURCE_DATE_EPOCH": "1700000000"}
    env.pop("CI", None)
    return run(["/usr/bin/python3", "-m", "make_deb", "--yes", "--maintainer-name",
                "Deb Packager", "--maintainer-email", "deb@example.org", *args],
               cwd=project, env=env)


def lintian_errors(deb):
    """Lintian's E: tags that are not overridden (overridden ones are not printed)."""
    proc = run(["lintian", "--tag-display-limit", "0", str(deb)], check=False)
    return [ln for ln in proc.stdout.splitlines() if ln.startswith("E: ")], proc.stdout


@pytest.mark.parametrize("shape", SHAPES)
def test_scaffold_build_lint_install_run(shape, tmp_path, pyrpath_build, suite_cache):
    if shape == "flit_tool":
        pytest.importorskip("flit_core", reason="Debian package 'flit' provides flit_core")
    package, script = SHAPES[shape]
    project = tmp_path / shape
    shutil.copytree(FIXTURES / shape, project)
    make_deb(project)
    build_args, build_env = pyrpath_build
    debs = build_deb(project, *build_args, env=build_env)
    main = [d for d in debs if d.name.startswith(f"{package}_") and "-dbgsym_" not in d.name]
    assert main, f"no {package} .deb among {debs}"
    deb = main[0]

    errors, report = lintian_errors(deb)
    assert not errors, report
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
    finally:
        run(["apt-get", "purge", "-y", package], env=env, check=False)
    assert not Path(f"/opt/{package}").exists()
