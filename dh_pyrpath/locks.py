"""What to install, as the project pinned it: a lock file (PEP 751 pylock.toml, uv.lock,
poetry.lock) or a requirements file, read into pins for one target.

Nothing is resolved at build time. A lock names every distribution for every environment it
was made for; the pins for the package are those whose markers hold for the private
interpreter on the target architecture (markers.py), found the way each tool defines it:
- pylock.toml: every package carries its own `marker` (PEP 751);
- uv.lock: universal; the dependency graph is walked from the project with each edge's marker
  (dev groups left out, extras only where a dependency asks for them), which picks one of the
  versions a name may have under different `resolution-markers`;
- poetry.lock: lock-version 2.1 gives each package its groups and markers; 2.0 has neither,
  and its graph is walked from the project's dependencies in pyproject.toml.
Every pin must carry a hash (pip checks each artifact against it) or be a VCS reference pinned
to a full commit; anything else is refused with one line naming the entry and the fix.

Parsed with tomllib and packaging (Debian's; its pylock module, packaging 25+, is newer than
bookworm's 23.0 and trixie's 24.2, and a newer packaging fetched at build time would be one
more thing to pin and vendor): the formats are plain TOML and the semantics above are not in
any library anyway.
"""
import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from . import markers
from .errors import PyrpathError

# pip's --hash accepts these; a lock may name others too (PEP 751 allows any hashlib name).
PIP_HASHES = ("sha256", "sha384", "sha512")
# Looked for, in this order, when no requirements setting is given.
DEFAULT_REQUIREMENTS = "deb-requirements.txt"          # in debian/
PROJECT_LOCKS = ("pylock.toml", "uv.lock", "poetry.lock")
_PYLOCK_NAME = re.compile(r"^pylock(\.[^.]+)?\.toml$")
_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_VCS = re.compile(r"^(git|hg|svn|bzr)\+")


@dataclass(frozen=True)
class Artifact:
    """A file the lock names for a pin (any platform's; pip picks the target's)."""
    filename: str
    url: str | None
    hash: str                # "sha256:<hex>"


@dataclass(frozen=True)
class Pin:
    """One distribution to install, exactly: name==version and its hashes, or a direct
    reference (an archive URL, a VCS URL at a commit)."""
    name: str                # canonical
    version: str | None
    artifacts: tuple = ()    # Artifact, sorted
    direct: str | None = None  # "https://.../x.whl" or "git+https://...@<commit>"

    @property
    def hashes(self):
        return sorted({a.hash for a in self.artifacts})

    @property
    def vcs(self):
        return bool(self.direct and _VCS.match(self.direct))

    def requirement(self):
        """The line of a pip requirements file that installs exactly this pin."""
        head = f"{self.name} @ {self.direct}" if self.direct else f"{self.name}=={self.version}"
        return " ".join([head] + [f"--hash={h}" for h in self.hashes])

    def url_for(self, sha256):
        """The lock's URL of the artifact with this sha256, or None."""
        for artifact in self.artifacts:
            if artifact.hash == f"sha256:{sha256}":
                return artifact.url
        return None


@dataclass
class Lock:
    """A lock file's pins for one target."""
    path: Path
    kind: str                # "pylock.toml", "uv.lock", "poetry.lock"
    pins: list               # Pin, sorted by name
    left_out: list = field(default_factory=list)  # "name version" for other environments


def kind_of(path):
    """"pylock.toml", "uv.lock" or "poetry.lock" for a lock file's name, else None (a
    requirements file)."""
    name = Path(path).name
    if _PYLOCK_NAME.match(name):
        return "pylock.toml"
    if name in ("uv.lock", "poetry.lock"):
        return name
    return None


def find_default(project_dir, debian_dir):
    """What a build installs when no requirements setting is given: debian/deb-requirements.txt,
    else the project's own pylock.toml, uv.lock or poetry.lock (first found), else None (the
    project's declared dependencies, resolved at build time)."""
    candidates = [Path(debian_dir) / DEFAULT_REQUIREMENTS]
    candidates += [Path(project_dir) / name for name in PROJECT_LOCKS]
    for path in candidates:
        if path.is_file():
            return path
    return None


def _load_toml(path):
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PyrpathError(f"{path} is not valid TOML ({exc}): regenerate it with the tool "
                           "that made it") from None


def project_name(project_dir):
    """The canonical name in the project's pyproject.toml ([project] or [tool.poetry]), or
    None."""
    pyproject = Path(project_dir) / "pyproject.toml"
    if not pyproject.is_file():
        return None
    data = _load_toml(pyproject)
    name = data.get("project", {}).get("name") or data.get("tool", {}).get(
        "poetry", {}).get("name")
    return canonicalize_name(name) if name else None


def read(path, project_dir, env):
    """The pins of lock file `path` for the marker environment `env` (markers.environment)."""
    path = Path(path)
    kind = kind_of(path)
    reader = {"pylock.toml": _read_pylock, "uv.lock": _read_uv,
              "poetry.lock": _read_poetry}[kind]
    context = _Context(path, Path(project_dir), env)
    pins, left_out = reader(_load_toml(path), context)
    seen = defaultdict(list)
    for pin in pins:
        seen[pin.name].append(pin.version or pin.direct)
    for name, versions in sorted(seen.items()):
        if len(versions) > 1:
            raise context.error(name, None, f"selects {len(versions)} versions ("
                                f"{', '.join(map(str, versions))}) for this target",
                                "regenerate the lock so its markers exclude each other")
    return Lock(path, kind, sorted(pins, key=lambda p: p.name), sorted(left_out))


class _Context:
    """The lock being read, the project, the target: and errors that name them."""

    def __init__(self, path, project_dir, env):
        self.path = path
        self.project_dir = project_dir.resolve()
        self.env = env
        self.project = project_name(project_dir)

    def error(self, name, version, problem, fix):
        entry = f"{name} {version}" if version else name
        return PyrpathError(f"{self.path}: {entry}: {problem}: {fix}")

    def holds(self, marker, name, extras=(), groups=()):
        return markers.evaluate(marker, self.env, extras, groups,
                                where=f"{self.path}: {name}")

    def check_requires_python(self, spec):
        if not spec:
            return
        python = self.env["python_full_version"]
        try:
            ok = Version(python) in SpecifierSet(spec, prereleases=True)
        except (InvalidSpecifier, InvalidVersion):
            ok = True  # not PEP 440 (poetry's "^3.9"): the pins' own markers decide
        if not ok:
            raise PyrpathError(f"{self.path}: made for Python {spec}, but the package's "
                               f"CPython is {python}: regenerate the lock for it, or set "
                               "python-source to a version it allows")

    def is_project_dir(self, relpath):
        return (self.path.parent / relpath).resolve() == self.project_dir


def _hash_of(table):
    """"sha256:<hex>" from a PEP 751 `hashes` table, strongest pip-accepted first."""
    for algo in reversed(PIP_HASHES):
        if table.get(algo):
            return f"{algo}:{table[algo].lower()}"
    return None


def _filename(url):
    return urlsplit(url).path.rsplit("/", 1)[-1] if url else None


def _pinned_vcs(ctx, name, version, url, commit, subdirectory=None):
    """git+URL@commit, or the error for a VCS entry that names no full commit."""
    if not commit or not _COMMIT.match(commit):
        raise ctx.error(name, version, "a VCS entry not pinned to a full commit hash",
                        "regenerate the lock from a commit, or publish the distribution to "
                        "an index")
    scheme = url.split("+", 1)[0] if _VCS.match(url) else "git"
    base = url if _VCS.match(url) else f"{scheme}+{url}"
    ref = f"{base}@{commit}"
    return ref + (f"#subdirectory={subdirectory}" if subdirectory else "")


def _no_path(ctx, name, version, what):
    return ctx.error(name, version, f"a {what} entry (a local path: no hash, and nothing a "
                     "clean build can fetch)", "publish it to an index or a find-links "
                     "directory and lock that, or make it part of the project")


# ---------------------------------------------------------------- PEP 751 pylock.toml

def _read_pylock(data, ctx):
    version = str(data.get("lock-version", ""))
    if not version.startswith("1."):
        raise PyrpathError(f"{ctx.path}: lock-version '{version}' is not one dh_pyrpath reads "
                           "(1.x, PEP 751): regenerate it")
    environments = data.get("environments")
    if environments and not any(ctx.holds(m, "environments") for m in environments):
        raise PyrpathError(f"{ctx.path}: made for other environments only ({'; '.join(environments)}), "
                           f"not CPython {ctx.env['python_full_version']} on "
                           f"{ctx.env['platform_machine']}: regenerate it for that target")
    ctx.check_requires_python(data.get("requires-python"))
    extras = ()  # a package installs none of the project's optional extras
    groups = tuple(data.get("default-groups", ()))
    pins, left_out = [], []
    for package in data.get("packages", []):
        name = canonicalize_name(package.get("name", ""))
        version = package.get("version")
        if not ctx.holds(package.get("marker"), name, extras, groups):
            left_out.append(f"{name} {version}")
            continue
        if "directory" in package:
            if name == ctx.project or ctx.is_project_dir(package["directory"].get("path", "")):
                continue  # the project itself: built from its source, not from the lock
            raise _no_path(ctx, name, version, "directory")
        if "vcs" in package:
            vcs = package["vcs"]
            direct = _pinned_vcs(ctx, name, version, f"{vcs.get('type', 'git')}+{vcs.get('url')}",
                                 vcs.get("commit-id"), vcs.get("subdirectory"))
            pins.append(Pin(name, version, (), direct))
            continue
        files = []
        if "archive" in package:
            archive = package["archive"]
            if not archive.get("url"):
                raise _no_path(ctx, name, version, "archive path")
            files.append((archive, archive["url"]))
        if package.get("sdist"):
            files.append((package["sdist"], package["sdist"].get("url")))
        files += [(w, w.get("url")) for w in package.get("wheels", [])]
        if not files:
            raise ctx.error(name, version, "has no sdist, wheels, archive or vcs", "regenerate "
                            "the lock")
        artifacts = []
        for table, url in files:
            digest = _hash_of(table.get("hashes", {}))
            filename = table.get("name") or _filename(url) or table.get("path")
            if not digest:
                raise ctx.error(name, version, f"{filename} has no sha256/sha384/sha512 hash",
                                "regenerate the lock with hashes")
            artifacts.append(Artifact(filename, url, digest))
        direct = package["archive"]["url"] if "archive" in package else None
        pins.append(Pin(name, version, tuple(sorted(artifacts, key=lambda a: a.filename)),
                        direct))
    return pins, left_out


# ---------------------------------------------------------------- uv.lock

def _uv_artifacts(ctx, package):
    name, version = canonicalize_name(package["name"]), package.get("version")
    tables = ([package["sdist"]] if package.get("sdist") else []) + package.get("wheels", [])
    artifacts = []
    for table in tables:
        url = table.get("url")
        filename = table.get("filename") or _filename(url) or table.get("path")
        digest = table.get("hash")
        if not digest or digest.split(":", 1)[0] not in PIP_HASHES:
            raise ctx.error(name, version, f"{filename} has no sha256 hash in the lock",
                            "regenerate the lock (uv lock) from an index that serves hashes")
        artifacts.append(Artifact(filename, url, digest.lower()))
    return tuple(sorted(artifacts, key=lambda a: a.filename))


def _uv_pin(ctx, package):
    name, version = canonicalize_name(package["name"]), package.get("version")
    source = package.get("source", {})
    if "git" in source:
        parts = urlsplit(source["git"])
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return Pin(name, version, (), _pinned_vcs(ctx, name, version, url, parts.fragment,
                                                  query.get("subdirectory")))
    for kind in ("editable", "directory", "path", "virtual"):
        if kind in source:
            raise _no_path(ctx, name, version, kind)
    artifacts = _uv_artifacts(ctx, package)
    if not artifacts:
        raise ctx.error(name, version, "the lock names no file to install", "regenerate it")
    return Pin(name, version, artifacts, source.get("url"))


def _uv_key(package):
    return (canonicalize_name(package["name"]), package.get("version"),
            tuple(sorted(package.get("source", {}).items())))


def _uv_root(ctx, packages):
    for package in packages:
        source = package.get("source", {})
        for kind in ("editable", "virtual", "directory"):
            if kind in source and ctx.is_project_dir(source[kind]):
                return package
    named = [p for p in packages if canonicalize_name(p["name"]) == ctx.project]
    if len(named) == 1:
        return named[0]
    raise PyrpathError(f"{ctx.path}: no package in it is the project "
                       f"({ctx.project or ctx.project_dir}): use the uv.lock of this project, "
                       "or set project-dir")


def _read_uv(data, ctx):
    if data.get("version") != 1:
        raise PyrpathError(f"{ctx.path}: uv.lock version {data.get('version')} is not one "
                           "dh_pyrpath reads (1): regenerate it with a uv that writes it")
    ctx.check_requires_python(data.get("requires-python"))
    packages = data.get("package", [])
    by_name = defaultdict(list)
    for package in packages:
        by_name[canonicalize_name(package["name"])].append(package)
    root = _uv_root(ctx, packages)

    def resolve(dep):
        name = canonicalize_name(dep["name"])
        found = [p for p in by_name.get(name, [])
                 if ("version" not in dep or p.get("version") == dep["version"])
                 and ("source" not in dep or p.get("source") == dep["source"])]
        if len(found) != 1:
            raise ctx.error(name, dep.get("version"), f"{len(found)} lock entries match a "
                            "dependency on it", "regenerate the lock (uv lock)")
        return found[0]

    chosen, seen = {}, set()
    todo = [(root, ())]
    while todo:
        package, extras = todo.pop()
        if (_uv_key(package), extras) in seen:
            continue
        seen.add((_uv_key(package), extras))
        deps = list(package.get("dependencies", []))
        for extra in extras:
            deps += package.get("optional-dependencies", {}).get(extra, [])
        for dep in deps:
            if ctx.holds(dep.get("marker"), dep["name"]):
                target = resolve(dep)
                if target is not root:
                    chosen[_uv_key(target)] = target
                    todo.append((target, tuple(sorted(dep.get("extra", ())))))
    pins = [_uv_pin(ctx, p) for p in chosen.values()]
    left_out = [f"{canonicalize_name(p['name'])} {p.get('version')}" for p in packages
                if p is not root and _uv_key(p) not in chosen]
    return pins, left_out


# ---------------------------------------------------------------- poetry.lock

def poetry_allows(constraint, version):
    """Whether `version` satisfies a poetry constraint ("^1.2", "~1.2.3", ">=3.9,<4",
    "1.2.*", "3.8 || >=3.10"), which is PEP 440 plus caret, tilde and `||`."""
    version = Version(version)
    for alternative in str(constraint).split("||"):
        clauses = [c for c in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", alternative.strip()) if c]
        if all(_poetry_clause(c, version) for c in clauses):
            return True
    return False


def _poetry_clause(clause, version):
    if clause in ("*", ""):
        return True
    if clause[0] in "^~" and not clause.startswith("~="):
        base = clause[1:].strip()
        parts = [int(p) for p in base.split(".") if p.isdigit()]
        if clause[0] == "^":  # bump the first non-zero part (the last given if all are 0)
            bump = next((i for i, p in enumerate(parts) if p), len(parts) - 1)
        else:                 # ~1 -> <2, ~1.2 and ~1.2.3 -> <1.3
            bump = min(1, len(parts) - 1)
        upper = parts[:bump] + [parts[bump] + 1]
        spec = f">={base},<{'.'.join(map(str, upper))}"
    elif clause[0].isdigit():
        spec = f"=={clause}"
    else:
        spec = clause
    return version in SpecifierSet(spec, prereleases=True)


def _poetry_artifacts(ctx, package):
    name, version = canonicalize_name(package["name"]), package.get("version")
    url = package.get("source", {}).get("url") if package.get("source", {}).get(
        "type") == "url" else None
    artifacts = []
    for table in package.get("files", []):
        digest = table.get("hash", "")
        if digest.split(":", 1)[0] not in PIP_HASHES:
            raise ctx.error(name, version, f"{table.get('file')} has no sha256 hash in the "
                            "lock", "regenerate the lock (poetry lock)")
        artifacts.append(Artifact(table.get("file"), table.get("url") or url, digest.lower()))
    return tuple(sorted(artifacts, key=lambda a: a.filename or ""))


def _poetry_pin(ctx, package):
    name, version = canonicalize_name(package["name"]), package.get("version")
    source = package.get("source", {})
    kind = source.get("type")
    if kind == "git":
        return Pin(name, version, (), _pinned_vcs(
            ctx, name, version, source.get("url", ""), source.get("resolved_reference"),
            source.get("subdirectory")))
    if kind in ("directory", "file"):
        raise _no_path(ctx, name, version, kind)
    artifacts = _poetry_artifacts(ctx, package)
    if not artifacts:
        raise ctx.error(name, version, "the lock names no file with a hash", "regenerate "
                        "the lock (poetry lock)")
    return Pin(name, version, artifacts, source.get("url") if kind == "url" else None)


def _poetry_marker(package):
    value = package.get("markers")
    if isinstance(value, dict):  # per group: the main group's
        return value.get("main")
    return value


def _read_poetry(data, ctx):
    version = str(data.get("metadata", {}).get("lock-version", ""))
    packages = data.get("package", [])
    ctx.check_requires_python(data.get("metadata", {}).get("python-versions"))
    if version == "2.1" or (version.startswith("2.") and Version(version) > Version("2.1")):
        chosen = [p for p in packages if "main" in p.get("groups", ["main"])
                  and ctx.holds(_poetry_marker(p), p["name"])]
    elif version in ("1.1", "2.0"):
        chosen = _poetry_walk(ctx, packages)
    else:
        raise PyrpathError(f"{ctx.path}: lock-version '{version}' is not one dh_pyrpath reads "
                           "(2.0, 2.1): regenerate it with poetry lock")
    ids = {id(p) for p in chosen}
    left_out = [f"{canonicalize_name(p['name'])} {p.get('version')}" for p in packages
                if id(p) not in ids]
    return [_poetry_pin(ctx, p) for p in chosen], left_out


def _poetry_root_deps(ctx):
    """[(name, constraint table)] of the project's main dependencies, from pyproject.toml."""
    pyproject = ctx.project_dir / "pyproject.toml"
    data = _load_toml(pyproject) if pyproject.is_file() else {}
    table = data.get("tool", {}).get("poetry", {}).get("dependencies")
    if table is not None:
        return [(n, v) for n, v in table.items() if canonicalize_name(n) != "python"]
    deps = []
    for line in data.get("project", {}).get("dependencies", []):
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise PyrpathError(f"{pyproject}: dependency '{line}' does not parse ({exc}): fix "
                               "it") from None
        deps.append((req.name, {"version": str(req.specifier) or "*",
                                "markers": str(req.marker) if req.marker else None,
                                "extras": sorted(req.extras)}))
    if not deps and not data:
        raise PyrpathError(f"{ctx.path}: lock-version 2.0 has no markers of its own, and "
                           f"{pyproject} (which names the project's dependencies) is missing: "
                           "regenerate the lock with poetry 2 (lock-version 2.1)")
    return deps


def _poetry_edges(ctx, name, spec):
    """The (constraint, extras) alternatives of one dependency entry that hold here."""
    alternatives = spec if isinstance(spec, list) else [spec]
    edges = []
    for alt in alternatives:
        alt = {"version": alt} if isinstance(alt, str) else alt
        if alt.get("optional"):
            continue
        if alt.get("python") and not poetry_allows(alt["python"],
                                                   ctx.env["python_full_version"]):
            continue
        if alt.get("platform") and alt["platform"] != ctx.env["sys_platform"]:
            continue
        if not ctx.holds(alt.get("markers"), name):
            continue
        edges.append((alt.get("version", "*"), tuple(sorted(alt.get("extras", ())))))
    return edges


def _poetry_walk(ctx, packages):
    by_name = defaultdict(list)
    for package in packages:
        by_name[canonicalize_name(package["name"])].append(package)
    chosen, seen = {}, set()
    todo = [(n, s, False) for n, s in _poetry_root_deps(ctx)]
    while todo:
        name, spec, optional_ok = todo.pop()
        if isinstance(spec, dict) and spec.get("optional") and optional_ok:
            spec = {**spec, "optional": False}  # asked for through an extra
        for constraint, extras in _poetry_edges(ctx, name, spec):
            found = [p for p in by_name.get(canonicalize_name(name), [])
                     if poetry_allows(constraint, p["version"])]
            if len(found) != 1:
                raise ctx.error(canonicalize_name(name), None, f"{len(found)} lock entries "
                                f"match '{constraint}'", "regenerate the lock (poetry lock)")
            package = found[0]
            if (id(package), extras) in seen:
                continue
            seen.add((id(package), extras))
            chosen[id(package)] = package
            wanted = {canonicalize_name(re.split(r"[\s(\[;<>=!~]", e, 1)[0])
                      for x in extras for e in package.get("extras", {}).get(x, [])}
            for dep_name, dep_spec in package.get("dependencies", {}).items():
                todo.append((dep_name, dep_spec, canonicalize_name(dep_name) in wanted))
    return list(chosen.values())


# ---------------------------------------------------------------- requirements files

# Options of a requirements file that choose where pip looks: dh_pyrpath passes pip only its
# own settings (and records them), so these are refused rather than obeyed.
_INDEX_OPTIONS = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--no-index",
                  "--trusted-host")
_INCLUDE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")
_ARCHIVE = re.compile(r"\.(whl|tar\.gz|tgz|tar\.bz2|tar\.xz|zip)$")
_LINE_OPTION = re.compile(r"\s--(hash|config-settings|global-option|install-option)[= ]\S+")


@dataclass
class Requirements:
    """A requirements file, checked: what it installs and what it leaves unpinned."""
    path: Path
    files: list              # the file and every file it includes (-r, -c), in order
    lines: list              # the requirement lines (options and hashes stripped)
    hashed: bool             # hash-checking mode (--hash on its lines)
    unpinned: list           # requirement lines that allow more than one version
    hashes: list = field(default_factory=list)  # per hashed line: its "sha256:<hex>" values


def _logical_lines(text):
    """(line number, text) with continuations joined and comments removed."""
    number = 0
    pending, start = "", 1
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, (pending + line).strip()
        pending = ""
    if pending.strip():
        yield start, pending.strip()


def _option(line, options):
    """The value of `line` when it is one of `options` (`-r x`, `-rx`, `--requirement=x`)."""
    for option in options:
        if line == option:
            return ""
        # a short option may be glued to its value (-rfile); a long one takes = or a space
        for sep in ("=", " ") if option.startswith("--") else (" ", "=", ""):
            if line.startswith(option + sep):
                return line[len(option) + len(sep):].strip()
    return None


def read_requirements(path, _seen=None):
    """Read and check a pip requirements file (and the files it includes).

    Refused with one line naming the file, line and fix: editable and local path requirements
    (a .deb cannot carry an editable install, and a path names files outside what a clean
    build can fetch), VCS URLs not pinned to a full commit (a branch or tag moves), and options
    that change where pip looks."""
    path = Path(path)
    seen = set() if _seen is None else _seen
    if path.resolve() in seen:
        return Requirements(path, [], [], False, [])
    seen.add(path.resolve())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PyrpathError(f"cannot read requirements file {path}: {exc.strerror}: fix the "
                           "requirements setting") from None
    result = Requirements(path, [path], [], False, [])
    for number, line in _logical_lines(text):
        if not line:
            continue
        where = f"{path}:{number}"
        include = _option(line, _INCLUDE_OPTIONS)
        if include is not None:
            nested = read_requirements(path.parent / include, seen)
            result.files += nested.files
            if _option(line, ("-r", "--requirement")) is not None:
                result.lines += nested.lines
                result.unpinned += nested.unpinned
                result.hashes += nested.hashes
                result.hashed = result.hashed or nested.hashed
            continue
        if _option(line, ("-e", "--editable")) is not None:
            raise PyrpathError(f"{where}: editable requirement '{line}': a package cannot "
                               "carry an editable install: remove the line (dh_pyrpath builds "
                               "and installs the project itself) or pin a released version")
        if any(_option(line, (o,)) is not None for o in _INDEX_OPTIONS):
            raise PyrpathError(f"{where}: '{line}' changes where pip looks, which only "
                               "dh_pyrpath's settings decide: move it to index-url, "
                               "extra-index-url or find-links in debian/<package>.pyrpath")
        if line.startswith("-"):
            continue  # --pre, --prefer-binary, --only-binary, --require-hashes, ...
        hashes = re.findall(r"--hash[= ](\w+:\w+)", line)
        if hashes:
            result.hashed = True
            result.hashes.append(sorted(h.lower() for h in hashes))
        line = _LINE_OPTION.sub("", " " + line).strip()
        _check_requirement(line, where)
        result.lines.append(line)
        if not _is_pinned(line):
            result.unpinned.append(line)
    return result


def _reference(line):
    """The URL or path a requirement line refers to (`name @ url`, or a bare one), or None."""
    head = line.split(";", 1)[0].strip()
    if " @ " in head or re.match(r"^[A-Za-z0-9._-]+(\[[^\]]*\])?\s*@\s", head):
        return head.split("@", 1)[1].strip()
    if re.match(r"^[A-Za-z0-9._-]+(\[[^\]]*\])?\s*([<>=!~;]|$)", head) and not _ARCHIVE.search(
            head) and head not in (".", ".."):
        return None
    return head


def _check_requirement(line, where):
    ref = _reference(line)
    if ref is None:
        try:
            Requirement(line)
        except InvalidRequirement as exc:
            raise PyrpathError(f"{where}: '{line}' is not a requirement pip understands "
                               f"({exc}): fix the line") from None
        return
    if _VCS.match(ref):
        url = ref.split("#", 1)[0]
        path = urlsplit(url.split("+", 1)[1]).path
        commit = path.rsplit("@", 1)[1] if "@" in path else ""
        if not _COMMIT.match(commit):
            raise PyrpathError(f"{where}: VCS requirement '{line}' is not pinned to a full "
                               "commit hash (a branch or tag can move): append "
                               "@<40-hex commit> to the URL")
        return
    if re.match(r"^(https?)://", ref):
        return  # an archive on a server: pinned by its URL (and --hash, if given)
    fix = ("remove it: dh_pyrpath builds and installs the project itself"
           if ref.rstrip("/") in (".", "file:.", "file://.") else
           "build it into a wheel and serve it through the find-links setting, or make it "
           "part of the project")
    raise PyrpathError(f"{where}: local path requirement '{line}': a package's build cannot "
                       f"depend on files outside what it fetches and checks: {fix}")


def _is_pinned(line):
    """One version exactly: name==version (no wildcard), or a VCS/URL reference."""
    if _reference(line) is not None:
        return True
    req = Requirement(line)
    specs = list(req.specifier)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version
