"""poetry.lock: lock-version 2.1 gives each package its groups and markers; 2.0 has neither,
and its graph is walked from the project's dependencies in pyproject.toml (with poetry's
own version constraints: ^, ~, wildcards)."""
import re
from collections import defaultdict

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..errors import PyrpathError
from .lockfile import PIP_HASHES, Artifact, Pin, load_toml, no_path, pinned_vcs

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
        return Pin(name, version, (), pinned_vcs(
            ctx, name, version, source.get("url", ""), source.get("resolved_reference"),
            source.get("subdirectory")))
    if kind in ("directory", "file"):
        raise no_path(ctx, name, version, kind)
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


def read(data, ctx):
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
    data = load_toml(pyproject) if pyproject.is_file() else {}
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
