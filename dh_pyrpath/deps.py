"""Requirements -> wheels -> installed into the private prefix; then the project itself.

pip runs under the private interpreter from an unpacked copy outside the prefix, so neither pip
nor setuptools ends up in the package unless asked for. With a cache, every wheel goes through
a shared wheelhouse: pinned requirements are first installed from it with no index at all, and
only what is missing is resolved, downloaded or built once and published there.
"""
import json
import os
import re
import shutil
from pathlib import Path

from .cache import sha256_file
from .errors import PyrpathError

try:  # Python 3.11+
    import tomllib
except ImportError:  # pragma: no cover
    tomllib = None

DEFAULT_BUILD_REQUIRES = ["setuptools>=40.8.0", "wheel"]
# Never copied into a package's build: the source's VCS data, debhelper's own output, caches.
PROJECT_IGNORE = (".git", ".hg", ".svn", ".pc", "debian", ".tox", ".nox", ".venv", "venv",
                  "build", "dist", "__pycache__", "*.egg-info", ".pytest_cache", ".mypy_cache",
                  ".cache")

_PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?\s*===?\s*[^\s;,*]+\s*(;.*)?$")


def requirement_lines(text):
    """The requirement lines of a requirements file (comments, options and hashes stripped)."""
    lines = []
    for raw in re.sub(r"\\\n", " ", text).splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        line = re.sub(r"\s--hash[= ]\S+", "", line).strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def is_pinned(text):
    """True when every requirement is name==version: the wheelhouse alone can satisfy it."""
    lines = requirement_lines(text)
    has_includes = any(re.match(r"\s*(-r|--requirement|-c|--constraint)\b", raw)
                       for raw in text.splitlines())
    return bool(lines) and not has_includes and all(_PINNED.match(line) for line in lines)


def explain_pip_failure(tail, what, fix):
    """Turn the end of pip's output into one line that names the problem and the fix."""
    text = "\n".join(tail)
    missing = re.search(r"No matching distribution found for (\S+)", text)
    unreachable = re.search(r"NewConnectionError|Failed to establish a new connection|Name or "
                            r"service not known|Network is unreachable|Temporary failure in "
                            r"name resolution|ConnectTimeoutError|ProxyError", text)
    if unreachable:
        return (f"{what}: the package index is unreachable: check --index-url and the network, "
                "or build offline with --no-index --find-links=<wheelhouse>")
    if missing:
        return (f"{what}: no distribution matches {missing.group(1)} on the index: check the "
                "name and version, or add an --extra-index-url/--find-links that has it")
    if "THESE PACKAGES DO NOT MATCH THE HASHES" in text or "hash" in text.lower() and "do not match" in text.lower():
        return (f"{what}: a file pip got (from an index or --find-links) does not match its "
                "--hash: it is not the one pinned; check the requirements' hashes and where "
                "the file came from")
    return f"{what} failed: {fix}"


class Pip:
    """pip, run by the private interpreter, with the package's index settings."""

    def __init__(self, python, pip_dir, settings, cache, workdir, log):
        self.python = str(python)
        self.pip_dir = Path(pip_dir)
        self.settings = settings
        self.cache = cache
        self.workdir = Path(workdir)
        self.log = log
        self.wheelhouse = cache.path("wheels") if cache else None
        self._checked = False
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PYTHON") and k not in ("PIP_REQUIRE_VIRTUALENV",)}
        env.update({
            "PYTHONPATH": str(self.pip_dir), "PYTHONNOUSERSITE": "1",
            # pip itself lives in the shared cache: never write bytecode next to it.
            "PYTHONDONTWRITEBYTECODE": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
            "PIP_NO_WARN_SCRIPT_LOCATION": "1", "PIP_ROOT_USER_ACTION": "ignore",
            "PIP_RETRIES": env.get("PIP_RETRIES", "2"), "PIP_TIMEOUT": env.get("PIP_TIMEOUT", "30"),
            "PIP_CACHE_DIR": str(cache.path("pip") if cache else self.workdir / "pip-cache"),
        })
        # Index settings travel in the environment, not argv: no credentials in `ps` or logs.
        if settings.index_url:
            env["PIP_INDEX_URL"] = settings.index_url
        if settings.extra_index_urls:
            env["PIP_EXTRA_INDEX_URL"] = " ".join(settings.extra_index_urls)
        if settings.find_links:
            env["PIP_FIND_LINKS"] = " ".join(settings.find_links)
        if settings.no_index:
            env["PIP_NO_INDEX"] = "1"
        self.env = env

    def _command(self, args):
        if args[:1] == ["install"]:  # no bytecode: the package ships none (postinst compiles it)
            args = ["install", "--no-compile", *args[1:]]
        return [self.python, self.pip_dir / "pip", *args]

    def run(self, args, what, fix, cwd=None):
        try:
            return self.log.run(self._command(args), what, cwd=cwd, env=self.env)
        except PyrpathError as exc:
            raise PyrpathError(explain_pip_failure(exc.tail or [], what, fix), log=exc.log,
                               tail=exc.tail) from None

    def try_run(self, args, what):
        try:
            self.log.run(self._command(args), what, env=self.env)
            return True
        except PyrpathError:
            return False

    # ------------------------------------------------------------ the wheelhouse

    def _offline(self):
        if not self._checked:
            self._checked = True
            for name in check_wheelhouse(self.wheelhouse):
                self.log.say(f"wheel cache: {name} does not match its checksum: removed")
        return ["--no-index", "--find-links", str(self.wheelhouse)]

    def fill_wheelhouse(self, args, what, fix):
        """Resolve `args` (pip wheel arguments) with the index; publish the wheels it made.

        A wheel given by path (the project's own) is not published: it is no dependency, and
        a stale copy must never satisfy a later build.
        """
        tmp = self.cache.tempdir("wheels-")
        own = {Path(a).name for a in args if a.endswith(".whl")}
        try:
            self.run(["wheel", "--find-links", str(self.wheelhouse), "-w", str(tmp), *args],
                     what, fix)
            self.wheelhouse.mkdir(parents=True, exist_ok=True)
            for whl in sorted(tmp.glob("*.whl")):
                if whl.name not in own:
                    # checksum first: a wheel without one is never trusted
                    side = tmp / (whl.name + SUM)
                    side.write_text(sha256_file(whl) + "\n")
                    os.replace(side, self.wheelhouse / side.name)
                    os.replace(whl, self.wheelhouse / whl.name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def install(self, args, what, fix, pinned):
        """pip install `args`, through the wheelhouse when there is a cache."""
        if self.wheelhouse is None:
            self.run(["install", *args], what, fix)
            return "index"
        if pinned and self.wheelhouse.is_dir() and self.try_run(
                ["install", *self._offline(), *args], f"{what} (from the wheel cache)"):
            return "wheel cache"
        self.log.write(f"{what}: not all in the wheel cache; resolving with the index")
        self.fill_wheelhouse(args, what, fix)
        self.run(["install", *self._offline(), *args], what, fix)
        return "index, now cached"


SUM = ".sha256"


def check_wheelhouse(wheelhouse):
    """Remove wheels that are truncated, altered or lack a checksum; return their names."""
    bad = []
    for whl in sorted(Path(wheelhouse).glob("*.whl")):
        side = whl.with_name(whl.name + SUM)
        try:
            ok = side.read_text().strip() == sha256_file(whl)
        except OSError:
            ok = False
        if not ok:
            bad.append(whl.name)
            whl.unlink()
            side.unlink(missing_ok=True)
    return bad


def install_requirements(pip, req_file):
    """Install a pip-freeze style requirements file; honour hash-checking mode."""
    text = Path(req_file).read_text(encoding="utf-8")
    fix = f"check the requirements in {req_file}"
    if "--hash" in text:
        # Hash-checking mode: pip must see the very files the hashes describe, so no wheelhouse.
        pip.run(["install", "--require-hashes", "-r", str(req_file)], "install dependencies", fix)
        return "index (hash-checked)"
    return pip.install(["-r", str(req_file)], "install dependencies", fix, is_pinned(text))


def copy_project(project_dir, dest):
    """Copy the project without debian/, VCS data or build leftovers: the build never writes
    into the user's source tree, and no stray egg-info leaks into the package."""
    shutil.copytree(project_dir, dest, symlinks=True,
                    ignore=shutil.ignore_patterns(*PROJECT_IGNORE))
    return dest


def build_requires(project_dir):
    pyproject = Path(project_dir) / "pyproject.toml"
    if not pyproject.is_file() or tomllib is None:
        return DEFAULT_BUILD_REQUIRES
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PyrpathError(f"{pyproject} is not valid TOML ({exc}): fix the file") from None
    return data.get("build-system", {}).get("requires", DEFAULT_BUILD_REQUIRES)


def build_project(pip, project_dir):
    """Build the project's wheel (PEP 517, build isolation) in a copy of its source."""
    src = copy_project(project_dir, pip.workdir / "project-src")
    dist = pip.workdir / "project-dist"
    dist.mkdir()
    args = ["wheel", "--no-deps", "-w", str(dist), str(src)]
    fix = ("the project's build failed: run `pip wheel .` in the project to see why, and fix "
           "its setup.py/setup.cfg/pyproject.toml")
    if pip.wheelhouse is None:
        pip.run(args, "build the project", fix)
    elif not pip.try_run([*args[:1], *pip._offline(), *args[1:]],
                         "build the project (build requirements from the wheel cache)"):
        pip.fill_wheelhouse(build_requires(src), "fetch the project's build requirements", fix)
        shutil.rmtree(dist)
        dist.mkdir()
        pip.run([*args[:1], *pip._offline(), *args[1:]], "build the project", fix)
    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != 1:
        raise PyrpathError(f"building the project produced {len(wheels)} wheels, expected one",
                           log=pip.log.path)
    return wheels[0]


def check_consistent(pip):
    pip.run(["check"], "check installed dependencies",
            "a dependency the project declares is missing or at a conflicting version: pin it "
            "in the requirements file")


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
