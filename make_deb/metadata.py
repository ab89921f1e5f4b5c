"""Read a project's core metadata without touching the project.

Two routes, both yielding :class:`ProjectMetadata`:

* static: ``pyproject.toml`` with a PEP 621 ``[project]`` table whose ``dynamic`` list names none
  of the fields we use is read directly with tomllib (no subprocess, no backend needed);
* backend: everything else (setup.py, setup.cfg, dynamic fields) goes through the project's own
  PEP 517 backend in an isolated environment, in a *copy* of the project (backend.py).
"""
import configparser
import email.parser
import email.policy
import email.utils
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import backend, buildenv, markdown
from .errors import MetadataError

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

# Fields of [project] this tool uses; if any is dynamic the backend has to compute it.
USED_FIELDS = {"name", "version", "description", "readme", "authors", "maintainers", "license",
               "license-files", "classifiers", "urls", "dependencies", "requires-python",
               "scripts"}
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
    description_content_type: str = ""   # "text/markdown", "text/x-rst", ... or unknown
    scripts_from: str = "[project.scripts] in pyproject.toml"
    needs_cargo: bool = False            # a Rust build backend (maturin, setuptools-rust)
    version_from_vcs: bool = False       # setuptools-scm and friends

    def license_text(self, project_dir):
        """Text of the first license file that exists, decoded leniently (old files are often
        Latin-1; losing a © is worse than guessing the encoding); a markdown file (LICENSE.md)
        as plain text, so that no markup lands in debian/copyright."""
        for rel in self.license_files:
            path = Path(project_dir, rel)
            if path.is_file():
                text = read_text_lenient(path)
                if path.suffix.lower() in markdown.SUFFIXES:
                    text = markdown.to_text(text)
                return text
        return None


def read_text_lenient(path):
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read(project_dir, index=None, python=None):
    """Metadata of the project in ``project_dir``; raises MetadataError with the fix.

    `index` (buildenv.IndexSettings) says where a backend's build requirements come from."""
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
    elif not has_setup and "build-system" not in pyproject:
        raise MetadataError(
            f"no Python project metadata in {project_dir} (no setup.py, setup.cfg or "
            f"pyproject.toml with [project] or [build-system]); run make-deb in the project root")
    system = backend.build_system(pyproject)
    if project is not None and not USED_FIELDS & set(dynamic):
        meta = _static(project_dir, project)
        meta.license_files = meta.license_files or _find_license_files(project_dir)
    else:
        index = index or buildenv.IndexSettings.from_options()
        meta = _from_backend(project_dir, pyproject, system, index, python or sys.executable)
        meta.license_files = [f for f in meta.license_files if (project_dir / f).is_file()] \
            or _find_license_files(project_dir)
    meta.needs_cargo = system.needs_cargo()
    meta.version_from_vcs = system.version_from_vcs()
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
        meta.description_content_type = _content_type(readme)
    elif isinstance(readme, dict):
        if "file" in readme:
            meta.description = _read_project_file(project_dir, str(readme["file"]), "readme")
        else:
            meta.description = _expect(readme.get("text"), str, "readme.text") or ""
        meta.description_content_type = str(readme.get("content-type") or "") or \
            _content_type(str(readme.get("file", "")))
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


def _content_type(path):
    """PEP 621's content types of readme files by suffix (backends use the same rule)."""
    suffix = Path(path).suffix.lower()
    return {".md": "text/markdown", ".markdown": "text/markdown", ".rst": "text/x-rst",
            ".txt": "text/plain"}.get(suffix, "")


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

def _from_backend(project_dir, pyproject, system, index, python):
    project = pyproject.get("project")
    static_scripts = None
    if isinstance(project, dict) and "scripts" not in project.get("dynamic", []):
        # PEP 621: a field neither given nor dynamic is absent; backends may not add it
        static_scripts = {str(k): str(v) for k, v in
                          (_expect(project.get("scripts"), dict, "scripts") or {}).items()}
    result = backend.read(project_dir, system, index, python, static_scripts)
    meta = parse_metadata(result.metadata)
    if result.entry_points is not None:
        meta.console_scripts = parse_console_scripts(result.entry_points)
        meta.scripts_from = ("the wheel the backend built" if result.scripts_from_wheel
                             else "entry_points.txt of the metadata hook")
    else:
        meta.console_scripts = static_scripts or {}
        meta.scripts_from = "[project.scripts] in pyproject.toml"
    meta.source = f"{system.backend} ({system.config}; {result.backend_label})"
    return meta


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
    meta.description_content_type = get("Description-Content-Type")
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
                            f"({backend.first_line(str(exc))}); fix the entry_points declaration") \
            from None
    if not parser.has_section("console_scripts"):
        return {}
    return {k.strip(): v.strip() for k, v in parser.items("console_scripts")}

