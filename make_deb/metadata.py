"""Read a project's core metadata without touching the project.

Two routes, both yielding :class:`ProjectMetadata`:

* static: ``pyproject.toml`` with a PEP 621 ``[project]`` table whose ``dynamic`` list names none
  of the fields we use is read directly with tomllib (no subprocess, no backend needed);
* backend: everything else (setup.py, setup.cfg, dynamic fields) goes through the PEP 517 hook
  ``prepare_metadata_for_build_wheel`` of the project's own backend, run by the system python3 in
  a *copy* of the project, so no ``*.egg-info`` or ``build/`` ever appears in the user's tree.
"""
import configparser
import email.parser
import email.policy
import email.utils
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MetadataError

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
HOOK_TIMEOUT = 300
# Fields of [project] this tool uses; if any is dynamic the backend has to compute it.
USED_FIELDS = {"name", "version", "description", "readme", "authors", "maintainers", "license",
               "license-files", "classifiers", "urls", "dependencies", "requires-python",
               "scripts"}
# Never copied when reading metadata: build output, caches, virtualenvs, our own debian/.
_SKIP_TOP = {"debian", "build", "dist", ".tox", ".nox", ".venv", "venv", "node_modules", ".eggs",
             ".mypy_cache", ".pytest_cache", ".ruff_cache", ".cache", ".pybuild"}
# Debian package that provides a backend, for the "not installed" message.
_BACKEND_PACKAGES = {"setuptools": "python3-setuptools", "flit_core": "flit",
                     "hatchling": "python3-hatchling", "poetry": "python3-poetry-core",
                     "pdm": "python3-pdm-pep517", "mesonpy": "python3-mesonpy",
                     "scikit_build_core": "python3-scikit-build-core", "maturin": "python3-maturin"}
_LICENSE_GLOBS = ("LICEN[CS]E*", "COPYING*", "licen[cs]e*", "copying*", "License*")


@dataclass
class Person:
    name: str = ""
    email: str = ""


@dataclass
class ProjectMetadata:
    name: str | None
    version: str | None
    summary: str = ""
    description: str = ""
    authors: list = field(default_factory=list)
    maintainers: list = field(default_factory=list)
    license: str | None = None
    license_expression: str | None = None
    license_files: list = field(default_factory=list)
    classifiers: list = field(default_factory=list)
    homepage: str | None = None
    urls: dict = field(default_factory=dict)
    requires_dist: list = field(default_factory=list)
    requires_python: str | None = None
    console_scripts: dict = field(default_factory=dict)
    source: str = ""

    def license_text(self, project_dir):
        """Text of the first license file that exists, decoded leniently (old files are often
        Latin-1; losing a © is worse than guessing the encoding)."""
        for rel in self.license_files:
            path = Path(project_dir, rel)
            if path.is_file():
                return read_text_lenient(path)
        return None


def read_text_lenient(path):
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read(project_dir, python=None):
    """Metadata of the project in ``project_dir``; raises MetadataError with the fix."""
    project_dir = Path(project_dir)
    if not project_dir.is_dir():
        raise MetadataError(f"{project_dir} is not a directory; run make-deb in (or point it at) "
                            f"the root of a Python project")
    pyproject = _load_pyproject(project_dir)
    has_setup = (project_dir / "setup.py").is_file() or (project_dir / "setup.cfg").is_file()
    project = pyproject.get("project")
    if project is not None:
        if not isinstance(project, dict):
            raise MetadataError("pyproject.toml: [project] must be a table; see PEP 621")
        dynamic = project.get("dynamic", [])
        if not isinstance(dynamic, list) or not all(isinstance(d, str) for d in dynamic):
            raise MetadataError("pyproject.toml: [project] dynamic must be a list of strings")
        if not USED_FIELDS & set(dynamic):
            meta = _static(project_dir, project)
            meta.license_files = meta.license_files or _find_license_files(project_dir)
            return meta
    elif not has_setup and "build-system" not in pyproject:
        raise MetadataError(
            f"no Python project metadata in {project_dir} (no setup.py, setup.cfg or "
            f"pyproject.toml with [project] or [build-system]); run make-deb in the project root")
    meta = _from_backend(project_dir, pyproject, python or sys.executable)
    meta.license_files = [f for f in meta.license_files if (project_dir / f).is_file()] \
        or _find_license_files(project_dir)
    return meta


def _load_pyproject(project_dir):
    path = project_dir / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise MetadataError("pyproject.toml is not valid UTF-8; TOML files must be UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise MetadataError(f"pyproject.toml is not valid TOML ({exc}); fix the syntax") from None


def _find_license_files(project_dir):
    found = []
    for pattern in _LICENSE_GLOBS:
        found += [p.name for p in sorted(project_dir.glob(pattern)) if p.is_file()]
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------- static PEP 621 reading

def _expect(value, kind, what):
    if value is not None and not isinstance(value, kind):
        names = {str: "a string", list: "an array", dict: "a table"}
        raise MetadataError(f"pyproject.toml: [project] {what} must be "
                            f"{names.get(kind, kind.__name__)}; see PEP 621")
    return value


def _read_project_file(project_dir, rel, what):
    path = (project_dir / rel)
    if not path.is_file():
        raise MetadataError(f"pyproject.toml: {what} file {rel!r} does not exist; fix the path")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MetadataError(
            f"{rel} is not valid UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start}); "
            f"build backends read it as UTF-8 and would fail too: re-save it as UTF-8") from None


def _people(value, what):
    out = []
    for entry in _expect(value, list, what) or []:
        if not isinstance(entry, dict):
            raise MetadataError(f"pyproject.toml: [project] {what} entries must be tables "
                                f"like {{name = \"...\", email = \"...\"}}")
        out.append(Person(str(entry.get("name", "")), str(entry.get("email", ""))))
    return out


def _static(project_dir, p):
    meta = ProjectMetadata(name=_expect(p.get("name"), str, "name"),
                           version=_expect(p.get("version"), str, "version"),
                           source="pyproject.toml [project]")
    if not meta.name:
        raise MetadataError("pyproject.toml: [project] has no name; add name = \"...\" "
                            "(PEP 621 requires it)")
    meta.summary = _expect(p.get("description"), str, "description") or ""
    readme = p.get("readme")
    if isinstance(readme, str):
        meta.description = _read_project_file(project_dir, readme, "readme")
    elif isinstance(readme, dict):
        if "file" in readme:
            meta.description = _read_project_file(project_dir, str(readme["file"]), "readme")
        else:
            meta.description = _expect(readme.get("text"), str, "readme.text") or ""
    elif readme is not None:
        raise MetadataError("pyproject.toml: [project] readme must be a path or a table")
    lic = p.get("license")
    if isinstance(lic, str):
        meta.license_expression = lic  # PEP 639
    elif isinstance(lic, dict):
        if "file" in lic:
            meta.license_files = [str(lic["file"])]
            _read_project_file(project_dir, str(lic["file"]), "license")
        meta.license = _expect(lic.get("text"), str, "license.text")
    elif lic is not None:
        raise MetadataError("pyproject.toml: [project] license must be a string or a table")
    globs = p.get("license-files")
    if isinstance(globs, dict):  # draft PEP 639 spelling
        globs = globs.get("paths", []) + globs.get("globs", [])
    for pattern in _expect(globs, list, "license-files") or []:
        meta.license_files += [str(x.relative_to(project_dir))
                               for x in sorted(project_dir.glob(pattern)) if x.is_file()]
    meta.authors = _people(p.get("authors"), "authors")
    meta.maintainers = _people(p.get("maintainers"), "maintainers")
    meta.classifiers = [str(c) for c in _expect(p.get("classifiers"), list, "classifiers") or []]
    meta.urls = {str(k): str(v) for k, v in (_expect(p.get("urls"), dict, "urls") or {}).items()}
    meta.homepage = pick_homepage(None, meta.urls)
    meta.requires_dist = [str(d) for d in
                          _expect(p.get("dependencies"), list, "dependencies") or []]
    meta.requires_python = _expect(p.get("requires-python"), str, "requires-python")
    meta.console_scripts = {str(k): str(v) for k, v in
                            (_expect(p.get("scripts"), dict, "scripts") or {}).items()}
    return meta


def pick_homepage(home_page, urls):
    candidates = [home_page] if home_page else []
    ranked = sorted(urls.items(), key=lambda kv: _url_rank(kv[0]))
    candidates += [url for label, url in ranked if _url_rank(label) < 9]
    for url in candidates:
        if url and re.match(r"^https?://[^\s/]+\S*$", url.strip()):
            return url.strip()
    return None


def _url_rank(label):
    key = re.sub(r"[^a-z]", "", label.lower())
    order = ["homepage", "home", "source", "sourcecode", "repository", "github", "code",
             "documentation"]
    return order.index(key) if key in order else 9


# ---------------------------------------------------------------- PEP 517 backend route

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


def _from_backend(project_dir, pyproject, python):
    system = pyproject.get("build-system", {})
    if not isinstance(system, dict):
        raise MetadataError("pyproject.toml: [build-system] must be a table; see PEP 518")
    backend = system.get("build-backend") or LEGACY_BACKEND
    backend_path = system.get("backend-path", [])
    requires = system.get("requires", ["setuptools>=40.8.0"])
    if not isinstance(backend, str) or not isinstance(backend_path, list) \
            or not isinstance(requires, list):
        raise MetadataError("pyproject.toml: [build-system] build-backend must be a string, "
                            "requires and backend-path arrays of strings; see PEP 517/518")
    with tempfile.TemporaryDirectory(prefix="make-deb-meta-") as tmp:
        tmp = Path(tmp)
        copy = tmp / "project"
        try:
            shutil.copytree(project_dir, copy, symlinks=True,
                            ignore=_copy_ignore(str(project_dir)))
        except (OSError, shutil.Error) as exc:
            raise MetadataError(f"cannot copy the project to read its metadata: "
                                f"{_first_line(str(exc))}; check file permissions") from None
        (tmp / "metadata").mkdir()
        (tmp / "wheel").mkdir()
        request = {"backend": backend, "backend_path": [str(b) for b in backend_path],
                   "requires": [str(r) for r in requires], "metadata_dir": str(tmp / "metadata"),
                   "wheel_dir": str(tmp / "wheel"), "result": str(tmp / "result.json")}
        (tmp / "request.json").write_text(json.dumps(request), encoding="utf-8")
        hook = Path(__file__).with_name("_hook.py").read_text(encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME",)}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        try:
            proc = subprocess.run([python, "-c", hook, str(tmp / "request.json")], cwd=copy,
                                  env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=HOOK_TIMEOUT)
            output = proc.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as exc:
            log = _save_log((exc.stdout or b"").decode("utf-8", "replace"))
            raise MetadataError(f"{backend} did not finish reading the metadata within "
                                f"{HOOK_TIMEOUT} s; does setup.py wait for input or the "
                                f"network? (full log: {log})") from None
        except OSError as exc:
            raise MetadataError(f"cannot run {python} to read the metadata: {exc.strerror}; "
                                f"install python3") from None
        try:
            result = json.loads((tmp / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log = _save_log(output)
            raise MetadataError(f"{backend} crashed while reading the metadata (exit code "
                                f"{proc.returncode}); see the full log: {log}") from None
        if not result["ok"]:
            raise MetadataError(_hook_failure(backend, result, _save_log(output)))
        dist_info = Path(result["dist_info"])
        meta = parse_metadata((dist_info / "METADATA").read_bytes().decode("utf-8", "replace"))
        entry_points = dist_info / "entry_points.txt"
        if entry_points.is_file():
            meta.console_scripts = parse_console_scripts(entry_points.read_text("utf-8"))
        what = "setup.py/setup.cfg" if backend == LEGACY_BACKEND else "pyproject.toml"
        meta.source = f"{backend} ({what})"
        return meta


def _first_line(text, limit=300):
    """One line for a message that may span several (exception texts often do)."""
    line = " ".join(text.split()) or "no message"
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _hook_failure(backend, result, log):
    missing = result.get("missing") or []
    error = _first_line(result.get("error", ""))
    if result["stage"] == "import":
        module = backend.split(":")[0]
        pkg = _BACKEND_PACKAGES.get(module.split(".")[0], "the package that provides it")
        return (f"build backend {backend!r} cannot be imported by {sys.executable} ({error}); "
                f"install it (apt-get install {pkg}) (full log: {log})")
    hint = (f"missing build requirements: {', '.join(missing)} (install their python3-* "
            f"packages); " if missing else "")
    what = "setup.py/setup.cfg" if backend == LEGACY_BACKEND else "the project's build config"
    return (f"reading the metadata with {backend} failed: {error}; {hint}fix {what} "
            f"(full log: {log})")


def _save_log(text):
    fd, path = tempfile.mkstemp(prefix="make-deb-metadata-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def _unfold(value):
    """Undo setuptools' RFC 822 escaping of a multi-line Description header."""
    lines = value.splitlines()
    rest = [re.sub(r"^ {0,8}\|", "", ln) if re.match(r"^ {0,8}\|", ln) else
            ln[8:] if ln.startswith(" " * 8) else ln.lstrip() for ln in lines[1:]]
    return "\n".join(lines[:1] + rest)


def parse_metadata(text):
    """Core metadata (METADATA / PKG-INFO text) -> ProjectMetadata."""
    msg = email.parser.Parser(policy=email.policy.compat32).parsestr(text)

    def get(name):
        value = msg.get(name)
        value = str(value).strip() if value is not None else ""
        return "" if value.upper() == "UNKNOWN" else value

    def all_of(name):
        return [str(v).strip() for v in msg.get_all(name) or [] if str(v).strip()]

    name = get("Name") or None
    meta = ProjectMetadata(name=name, version=get("Version") or None)
    meta.summary = " ".join(get("Summary").split())
    body = msg.get_payload()
    meta.description = body.strip("\n") if isinstance(body, str) and body.strip() \
        else _unfold(str(msg.get("Description", "")))
    meta.authors = _people_from_headers(get("Author"), get("Author-email"))
    meta.maintainers = _people_from_headers(get("Maintainer"), get("Maintainer-email"))
    meta.license = str(msg.get("License", "")).strip() or None
    if meta.license and meta.license.upper() == "UNKNOWN":
        meta.license = None
    meta.license_expression = get("License-Expression") or None
    meta.license_files = all_of("License-File")
    meta.classifiers = all_of("Classifier")
    for entry in all_of("Project-URL"):
        label, _, url = entry.partition(",")
        meta.urls[label.strip()] = url.strip()
    meta.homepage = pick_homepage(get("Home-page"), meta.urls)
    meta.requires_dist = all_of("Requires-Dist")
    meta.requires_python = get("Requires-Python") or None
    return meta


def _people_from_headers(names, emails):
    people = []
    for real, addr in email.utils.getaddresses([emails]) if emails else []:
        if addr:
            people.append(Person(real.strip(), addr.strip()))
    if not people and names:
        people = [Person(n.strip(), "") for n in re.split(r",| and ", names) if n.strip()]
    elif people and names and not people[0].name:
        people[0].name = re.split(r",| and ", names)[0].strip()
    return people


def parse_console_scripts(text):
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # script names are case-sensitive
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise MetadataError(f"entry_points.txt produced by the backend is malformed "
                            f"({_first_line(str(exc))}); fix the entry_points declaration") \
            from None
    if not parser.has_section("console_scripts"):
        return {}
    return {k.strip(): v.strip() for k, v in parser.items("console_scripts")}

