"""A project's PEP 517 backend, run the way pypa/build runs it, to read the project's metadata.

The project is copied into a temporary directory (without debian/, build output, virtualenvs
and caches; version-control directories are copied, setuptools-scm and friends need them), so
no ``*.egg-info`` or ``build/`` ever appears in the user's tree. The backend runs in an isolated
environment holding the project's own build requirements from the package index (buildenv.py);
Debian's python3 with its dist-packages is only the last fallback, when neither the index nor a
wheelhouse can provide them, and make-deb says so.

Console scripts: from the hook's entry_points.txt; where a backend's metadata hook writes none
(hatchling's), from the static ``[project.scripts]`` table, which PEP 621 makes authoritative;
else from the .dist-info of a wheel built in the same environment.
"""
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from . import buildenv
from .errors import MetadataError

log = logging.getLogger("make_deb")

LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
DEFAULT_REQUIRES = ["setuptools>=40.8.0"]  # PEP 518's default, as pip and pypa/build use
HOOK_TIMEOUT = 300
# Backends whose prepare_metadata_for_build_wheel writes entry_points.txt whenever the project
# has console scripts (tests/test_make_deb_backends.py shows it for each): when the file is
# missing there are none, and no wheel has to be built to find out. Others (hatchling's hook
# writes METADATA only; unknown backends) get their wheel built.
WRITES_ENTRY_POINTS = {"setuptools", "flit_core", "poetry", "pdm", "maturin", "uv_build"}
# Build requirements that compile Rust: the package then needs cargo to build.
RUST_BUILDERS = {"maturin", "setuptools-rust"}
# Build requirements that take the version from git tags through setuptools-scm, which honours
# SETUPTOOLS_SCM_PRETEND_VERSION (a source package has no .git).
SCM_VERSIONERS = {"setuptools-scm", "hatch-vcs", "flit-scm"}
# Never copied when reading metadata: build output, caches, virtualenvs, our own debian/.
_SKIP_TOP = {"debian", "build", "dist", ".tox", ".nox", ".venv", "venv", "node_modules", ".eggs",
             ".mypy_cache", ".pytest_cache", ".ruff_cache", ".cache", ".pybuild", "target"}
# Debian package that provides a backend, for the offline fallback's message.
_BACKEND_PACKAGES = {"setuptools": "python3-setuptools", "flit_core": "flit",
                     "hatchling": "python3-hatchling", "poetry": "python3-poetry-core",
                     "pdm": "python3-pdm-backend", "mesonpy": "python3-mesonpy",
                     "scikit_build_core": "python3-scikit-build-core"}


@dataclass
class BuildSystem:
    backend: str
    backend_path: list
    requires: list
    legacy: bool  # no build-backend named: setuptools' legacy backend (setup.py, setup.cfg)

    @property
    def config(self):
        return "setup.py/setup.cfg" if self.legacy else "pyproject.toml"

    @property
    def module(self):
        return self.backend.split(":")[0]

    def needs_cargo(self):
        return bool(RUST_BUILDERS & set(_names(self.requires)))

    def version_from_vcs(self):
        return bool(SCM_VERSIONERS & set(_names(self.requires)))


@dataclass
class HookResult:
    metadata: str            # METADATA text
    entry_points: str | None
    backend_label: str       # "hatchling 1.27.0 from the package index"
    scripts_from_wheel: bool = False


def build_system(pyproject):
    system = pyproject.get("build-system", {})
    if not isinstance(system, dict):
        raise MetadataError("pyproject.toml: [build-system] must be a table; see PEP 518")
    backend = system.get("build-backend")
    backend_path = system.get("backend-path", [])
    requires = system.get("requires", DEFAULT_REQUIRES)
    if not isinstance(backend or "", str) or not isinstance(backend_path, list) \
            or not isinstance(requires, list) \
            or not all(isinstance(x, str) for x in backend_path + requires):
        raise MetadataError("pyproject.toml: [build-system] build-backend must be a string, "
                            "requires and backend-path arrays of strings; see PEP 517/518")
    for req in requires:
        try:
            Requirement(req)
        except InvalidRequirement as exc:
            raise MetadataError(f"pyproject.toml: build-system.requires entry {req!r} is not a "
                                f"valid PEP 508 requirement ({str(exc).splitlines()[0]}); fix "
                                f"it") from None
    return BuildSystem(backend or LEGACY_BACKEND, backend_path, requires, not backend)


def _names(requirements):
    out = []
    for raw in requirements:
        try:
            out.append(canonicalize_name(Requirement(raw).name))
        except InvalidRequirement:
            continue
    return out


def first_line(text, limit=300):
    """One line for a message that may span several (exception texts often do)."""
    line = " ".join(text.split()) or "no message"
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _copy_ignore(root):
    def ignore(directory, names):
        skipped = set()
        for name in names:
            path = os.path.join(directory, name)
            if (directory == root and name in _SKIP_TOP) or name == "__pycache__" \
                    or name.endswith(".egg-info"):
                skipped.add(name)
            elif not (os.path.islink(path) or os.path.isfile(path) or os.path.isdir(path)):
                skipped.add(name)  # sockets, fifos: copying a fifo would block forever
        return skipped
    return ignore


class Runner:
    """Calls the hooks of one project copy in child interpreters."""

    def __init__(self, work, copy, system, python, paths=None):
        self.work, self.copy, self.system, self.python = work, copy, system, python
        self.paths = paths  # None: Debian's python3 with its dist-packages
        self.calls = 0

    def call(self, mode, ask_requires=False):
        self.calls += 1
        tmp = self.work / f"call{self.calls}"
        (tmp / "metadata").mkdir(parents=True)
        (tmp / "wheel").mkdir()
        request = {"backend": self.system.backend, "backend_path": self.system.backend_path,
                   "requires": self.system.requires, "paths": [str(p) for p in self.paths or []],
                   "mode": mode, "ask_requires": ask_requires,
                   "metadata_dir": str(tmp / "metadata"), "wheel_dir": str(tmp / "wheel"),
                   "result": str(tmp / "result.json")}
        (tmp / "request.json").write_text(json.dumps(request), encoding="utf-8")
        hook = Path(__file__).with_name("_hook.py").read_text(encoding="utf-8")
        # -I: no PYTHONPATH, no user site; -S (isolated): no site-packages at all, the hook adds
        # the environment's layers; -B: bytecode would land in the layers, or Debian's tree
        flags = ["-I", "-B"] + (["-S"] if self.paths is not None else [])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
        env["PIP_CONFIG_FILE"] = os.devnull  # a backend that runs pip gets no builder config
        # maturin without cargo would download a Rust toolchain from outside the package index
        # (puccinialin); the package needs Debian's cargo anyway (Build-Depends), so say that
        env["MATURIN_NO_INSTALL_RUST"] = "1"
        if self.paths:
            # as in pypa/build's environment: the requirements' programs are on PATH (uv_build
            # and maturin are executables their Python shims look up there), and a Python
            # script among them imports from the layers
            env["PATH"] = os.pathsep.join([str(p / "bin") for p in self.paths]
                                          + [os.environ.get("PATH", os.defpath)])
            env["PYTHONPATH"] = os.pathsep.join(str(p) for p in self.paths)
        try:
            proc = subprocess.run([self.python, *flags, "-c", hook, str(tmp / "request.json")],
                                  cwd=self.copy, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=HOOK_TIMEOUT)
            output = proc.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as exc:
            path = buildenv.save_log((exc.stdout or b"").decode("utf-8", "replace"))
            raise MetadataError(f"{self.system.backend} did not finish reading the metadata "
                                f"within {HOOK_TIMEOUT} s; does setup.py wait for input or the "
                                f"network? (full log: {path})") from None
        except OSError as exc:
            raise MetadataError(f"cannot run {self.python} to read the metadata: "
                                f"{exc.strerror}; install python3") from None
        try:
            result = json.loads((tmp / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            path = buildenv.save_log(output)
            raise MetadataError(f"{self.system.backend} crashed while reading the metadata "
                                f"(exit code {proc.returncode}); see the full log: "
                                f"{path}") from None
        result["output"] = output
        return result

    def failure(self, result, offline=None):
        """The one-line error for a failed hook call; `offline` is why Debian's python3 ran it
        (the index and the wheelhouses could not provide the build requirements)."""
        path = buildenv.save_log(result["output"])
        error = first_line(result.get("error", ""))
        backend = self.system.backend
        if offline is not None:
            pkg = _BACKEND_PACKAGES.get(self.system.module.split(".")[0])
            wheels = (f"give wheels of {', '.join(offline.requirements)} with --find-links "
                      f"DIR")
            if result["stage"] == "import":
                apt = f", or apt-get install {pkg}" if pkg else ""
                return MetadataError(
                    f"{offline.summary()}, and Debian's python3 cannot import {backend!r} "
                    f"either ({error}): {offline.cause.fix}, or {wheels}{apt} "
                    f"(full log: {path})")
            return MetadataError(f"{offline.summary()}, and Debian's own {backend} failed "
                                 f"instead ({error}): {offline.cause.fix}, or {wheels} "
                                 f"(full log: {path})")
        if result["stage"] == "import":
            return MetadataError(f"build backend {backend!r} cannot be imported from "
                                 f"build-system.requires ({error}); add the distribution that "
                                 f"provides it to build-system.requires (full log: {path})")
        if self.system.needs_cargo() and not shutil.which("cargo"):
            return MetadataError(f"reading the metadata with {backend} needs cargo, which is not "
                                 f"installed ({error}); apt-get install cargo, or make the "
                                 f"fields the backend computes static in [project] "
                                 f"(full log: {path})")
        what = "setup.py/setup.cfg" if self.system.legacy else "the project's build config"
        return MetadataError(f"reading the metadata with {backend} failed: {error}; fix {what} "
                             f"(full log: {path})")


def _isolated(work, copy, system, index, python):
    env = buildenv.Environment(work / "env", index, python)
    (work / "env").mkdir()
    env.install(system.requires, "build-system.requires in pyproject.toml")
    runner = Runner(work, copy, system, python, env.paths)
    result = runner.call("metadata", ask_requires=True)
    if result["ok"] and "requires" in result:
        env.install(env.unsatisfied(result["requires"]),
                    "setup_requires in setup.py" if system.legacy else
                    "what the backend asks for (get_requires_for_build_wheel)")
        runner.paths = env.paths
        result = runner.call("metadata")
    if not result["ok"]:
        raise runner.failure(result)
    dist = result.get("backend_dist")
    name = f"{dist[0]} {dist[1]}" if dist else system.module
    origin = " and ".join(dict.fromkeys(env.origins)) or "the package index"
    return runner, result, f"{name} from {origin}"


def _debian(work, copy, system, python, offline):
    runner = Runner(work, copy, system, python)
    result = runner.call("metadata")
    if not result["ok"]:
        raise runner.failure(result, offline)
    dist = result.get("backend_dist")
    name = f"{dist[0]} {dist[1]}" if dist else system.module
    log.warning("%s: reading the metadata with Debian's own %s (dist-packages) instead, which "
                "may be older than the project needs; %s, or give wheels of %s with --find-links "
                "DIR to use the project's own backend", offline.summary(), name,
                offline.cause.fix, ", ".join(offline.requirements))
    return runner, result, f"Debian's {name} (dist-packages)"


def read(project_dir, system, index, python, static_scripts=None):
    """Run the project's metadata hook; return a HookResult.

    `static_scripts` is the [project.scripts] table when PEP 621 makes it authoritative (the
    project has [project] and "scripts" is not dynamic), else None."""
    with tempfile.TemporaryDirectory(prefix="make-deb-meta-") as tmp:
        work = Path(tmp)
        copy = work / "project"
        try:
            shutil.copytree(project_dir, copy, symlinks=True,
                            ignore=_copy_ignore(str(project_dir)))
        except (OSError, shutil.Error) as exc:
            raise MetadataError(f"cannot copy the project to read its metadata: "
                                f"{first_line(str(exc))}; check file permissions") from None
        try:
            runner, result, label = _isolated(work, copy, system, index, python)
        except buildenv.Offline as exc:
            runner, result, label = _debian(work, copy, system, python, exc)
        dist_info = Path(result["dist_info"])
        metadata = (dist_info / "METADATA").read_bytes().decode("utf-8", "replace")
        entry_points = dist_info / "entry_points.txt"
        out = HookResult(metadata, None, label)
        if entry_points.is_file():
            out.entry_points = entry_points.read_text("utf-8")
        elif static_scripts is None and result.get("hook") == "prepare_metadata" and \
                system.module.split(".")[0] not in WRITES_ENTRY_POINTS:
            out.entry_points = _entry_points_of_wheel(runner)
            out.scripts_from_wheel = True
        return out


def _entry_points_of_wheel(runner):
    """entry_points.txt of the wheel the backend builds ('' when it has none)."""
    log.info("the metadata hook of %s lists no console scripts: building the wheel to find "
             "them", runner.system.backend)
    result = runner.call("wheel")
    if not result["ok"]:
        raise runner.failure(result)
    path = Path(result["dist_info"], "entry_points.txt")
    return path.read_text("utf-8") if path.is_file() else ""
