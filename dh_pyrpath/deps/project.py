"""The project itself: copied away from debian/ and VCS directories, built as pip would build
it (pip wheel --use-pep517 --no-deps, build requirements from the wheel cache) and installed;
then the prefix checked (pip check) and frozen."""
import json
import shutil
from pathlib import Path


from ..errors import PyrpathError
from ..store.files import share_modes
from .artifacts import Installed
from .backends import fill_build_requirements
from .install import report_install
from .wheelhouse import fill_wheelhouse, offline_args

# Never copied into a package's build: the source's VCS data, debhelper's own output, caches.
PROJECT_IGNORE = (".git", ".hg", ".svn", ".pc", "debian", ".tox", ".nox", ".venv", "venv",
                  "build", "dist", "__pycache__", "*.egg-info", ".pytest_cache", ".mypy_cache",
                  ".cache")


def copy_project(project_dir, dest):
    """Copy the project without debian/, VCS data or build leftovers: the build never writes
    into the user's source tree, and no stray egg-info leaks into the package. Modes are made
    those of a cache entry (share_modes: readable by all, written by the owner): a wheel
    records its files' modes, and its hash is in the SBOM, so a checkout made under umask 077
    must build the same wheel as one under 022."""
    shutil.copytree(project_dir, dest, symlinks=True,
                    ignore=shutil.ignore_patterns(*PROJECT_IGNORE))
    share_modes(dest)
    return dest


def build_project(pip, project_dir):
    """Build the project's wheel as pip would (PEP 517, build isolation, --use-pep517 also for
    a setup.py of its own) in a copy of its source; return the wheel's path."""
    src = pip.workdir / "project-src"
    if src.exists():
        shutil.rmtree(src)
    copy_project(project_dir, src)
    dist = pip.workdir / "project-dist"
    if dist.exists():
        shutil.rmtree(dist)
    dist.mkdir()
    # --no-cache-dir: pip would keep this wheel in its cache, and directories made there under
    # umask 022 (below) would shut the other users of a shared cache out
    args = ["wheel", "--use-pep517", "--no-deps", "--no-cache-dir", "-w", str(dist), str(src)]
    fix = ("the project's build failed: run `pip wheel --use-pep517 .` in the project to see "
           "why, and fix its setup.py/setup.cfg/pyproject.toml")
    # the files the backend writes (metadata, build/) go into the wheel with their modes:
    # one umask, whatever the build user's
    umask = 0o022
    if pip.wheelhouse is None:
        pip.run(args, "build the project", fix, umask=umask)
    elif not pip.try_run([*args[:1], *offline_args(pip), *args[1:]],
                         "build the project (build requirements from the wheel cache)",
                         umask=umask):
        fill_build_requirements(pip, src, "build the project", fix)
        shutil.rmtree(dist)
        dist.mkdir()
        pip.run([*args[:1], *offline_args(pip), *args[1:]], "build the project", fix, umask=umask)
    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != 1:
        raise PyrpathError(f"building the project produced {len(wheels)} wheels, expected one",
                           log=pip.log.path)
    return wheels[0]


def install_project(pip, plan, project_dir):
    """Build the project and install it: alone when a lock or requirements file pinned its
    dependencies, else with them (resolved now). Returns [Installed], the project first."""
    wheel = build_project(pip, project_dir)
    fix = "check the project's dependencies"
    if plan.kind != "project":
        records = report_install(pip, ["--no-deps", "--no-index", str(wheel)],
                                  "install the project", "see the log", "project")
    elif pip.vendored or pip.wheelhouse is None:
        records = report_install(pip, [str(wheel)], "install the project and its declared "
                                  "dependencies", fix, "vendored" if pip.vendored else "index")
    else:
        fill_wheelhouse(pip, [str(wheel)], "fetch the project's declared dependencies", fix)
        records = report_install(pip, [*offline_args(pip), str(wheel)], "install the project and "
                                  "its declared dependencies", fix, "wheel cache")
    own = {Path(wheel).name}
    project = [r for r in records if r.artifact in own]
    project = [Installed(r.name, r.version, r.artifact, r.sha256, "project", None)
               for r in project]
    return project + [r for r in records if r.artifact not in own]


def check_consistent(pip):
    pip.run(["check"], "check installed dependencies",
            "a dependency the project declares is missing or at a conflicting version: pin it "
            "in the requirements file, or regenerate the lock")


def freeze(python, log):
    """name==version of everything installed in the prefix, sorted."""
    out = log.capture([python, "-I", "-c",
                       "import importlib.metadata as m, json; print(json.dumps(sorted("
                       "f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions())))"],
                      "list installed distributions")
    return json.loads(out)


def add_build_tools(pip, bundled):
    """--keep-build-tools: pip and setuptools from the interpreter's own bundled wheels."""
    # --ignore-installed: the pip that runs (on PYTHONPATH, outside the prefix) would count
    # as pip being installed already, and pip would not land in the prefix
    pip.run(["install", "--ignore-installed", "--no-index", "--find-links", str(bundled),
             "pip", "setuptools"],
            "install pip and setuptools", "check --keep-build-tools")
