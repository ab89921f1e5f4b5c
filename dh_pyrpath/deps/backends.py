"""Build backends: a project's [build-system] (or setuptools' legacy one), the dynamic build
requirements its backend asks for (get_requires_for_build_wheel, in an isolated environment
as pypa/build does), kept as wheels in the wheel cache, and unpacking sdists to build them."""
import json
import re
import shutil
import tarfile
import tomllib
import zipfile
from pathlib import Path


from ..errors import PyrpathError
from .wheelhouse import fill_wheelhouse

# pip's build requirements for a project without a [build-system] table, and its backend.
DEFAULT_BUILD_REQUIRES = ["setuptools>=40.8.0", "wheel"]
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
# The file names of source distributions.
SDIST = re.compile(r"\.(tar\.gz|tgz|tar\.bz2|tar\.xz|zip)$")


# ---------------------------------------------------------------- build requirements

def build_system(srcdir):
    """(requires, backend, backend-path) of a source tree, pip's defaults where its
    pyproject.toml has no [build-system]."""
    pyproject = Path(srcdir) / "pyproject.toml"
    data = {}
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("build-system", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PyrpathError(f"{pyproject} is not valid TOML ({exc}): fix the file") from None
    if "build-backend" not in data:
        return list(data.get("requires", DEFAULT_BUILD_REQUIRES)), LEGACY_BACKEND, []
    return list(data.get("requires", [])), data["build-backend"], list(data.get("backend-path",
                                                                              []))


# Run by the private interpreter in a source tree: the backend's own build requirements.
# site.addsitedir processes .pth files (setuptools' distutils hack needs its own).
_HOOK = r"""
import importlib, json, os, site, sys
out, env, backend = sys.argv[1:4]
sys.path[:0] = [os.path.abspath(p) for p in sys.argv[4:]]
site.addsitedir(env)
module, _, attrs = backend.partition(":")
obj = importlib.import_module(module)
for attr in filter(None, attrs.split(".")):
    obj = getattr(obj, attr)
hook = getattr(obj, "get_requires_for_build_wheel", None)
requires = list(hook({})) if hook else []
with open(out, "w") as fh:
    json.dump(requires, fh)
"""


def backend_requirements(pip, srcdir, find_links, online, what=None, fix=None):
    """The build requirements the backend of `srcdir` asks for (get_requires_for_build_wheel)
    beyond its static ones, asked in an isolated environment that holds exactly the static
    ones (from `find_links`, and the index if `online`), as pypa/build does. `what` and `fix`
    name the step in errors."""
    requires, backend, backend_path = build_system(srcdir)
    name = Path(srcdir).name
    env = pip.workdir / f"build-env-{name}"
    out = pip.workdir / f"build-requires-{name}.json"
    for path in (env, out):
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    where = [a for d in find_links for a in ("--find-links", str(d))]
    if requires:
        pip.run(["install", *([] if online else ["--no-index"]), *where, "--target", str(env),
                 *requires], what or f"install the build requirements of {name}",
                fix or "check its [build-system] requires")
    else:
        env.mkdir()
    hook_env = {k: v for k, v in pip.env.items() if k != "PYTHONPATH"}
    pip.log.run([pip.python, "-I", "-S", "-c", _HOOK, out, env, backend, *backend_path],
                what or f"ask the build backend of {name} for its build requirements",
                cwd=srcdir, env=hook_env, fix=fix or f"its build backend ({backend}) failed: "
                "run `python -m build` in it to see why")
    dynamic = json.loads(out.read_text())
    shutil.rmtree(env, ignore_errors=True)
    return [r for r in dynamic if r not in requires]


def fill_build_requirements(pip, srcdir, what, fix=None):
    """Put every build requirement of `srcdir` (static and dynamic) into the wheel cache."""
    fix = fix or f"the build requirements of {Path(srcdir).name} cannot be had: see the log"
    requires, _, _ = build_system(srcdir)
    if requires:
        fill_wheelhouse(pip, requires, what, fix)
    dynamic = backend_requirements(pip, srcdir, [pip.wheelhouse], online=False, what=what,
                                   fix=fix)
    if dynamic:
        pip.log.write(f"{Path(srcdir).name}: the build backend also needs {', '.join(dynamic)}")
        fill_wheelhouse(pip, dynamic, what, fix)


def unpack_sdist(sdist, dest):
    """Unpack an sdist into dest; return its top directory."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if str(sdist).endswith(".zip"):
        with zipfile.ZipFile(sdist) as zf:
            zf.extractall(dest)
    else:
        with tarfile.open(sdist) as tf:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4+
                tf.extractall(dest, filter="data")
            else:  # refuse what the data filter refuses: paths out of dest, links, devices
                for member in tf.getmembers():
                    target = (dest / member.name).resolve()
                    if dest.resolve() not in target.parents or not (member.isfile()
                                                                     or member.isdir()):
                        raise PyrpathError(f"{Path(sdist).name}: member {member.name} is not a "
                                           "plain file inside the sdist: refusing to unpack it")
                tf.extractall(dest)
    tops = [p for p in dest.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 else dest
