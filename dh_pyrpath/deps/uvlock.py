"""uv.lock: universal; the dependency graph is walked from the project with each edge's marker
(dev groups left out, extras only where a dependency asks for them), which picks one of the
versions a name may have under different `resolution-markers`."""
from collections import defaultdict
from urllib.parse import urlsplit, urlunsplit

from packaging.utils import canonicalize_name

from ..errors import PyrpathError
from .lockfile import PIP_HASHES, Artifact, Pin, no_path, pinned_vcs, url_file_name

# ---------------------------------------------------------------- uv.lock

def _uv_artifacts(ctx, package):
    name, version = canonicalize_name(package["name"]), package.get("version")
    tables = ([package["sdist"]] if package.get("sdist") else []) + package.get("wheels", [])
    artifacts = []
    for table in tables:
        url = table.get("url")
        filename = table.get("filename") or url_file_name(url) or table.get("path")
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
        return Pin(name, version, (), pinned_vcs(ctx, name, version, url, parts.fragment,
                                                  query.get("subdirectory")))
    for kind in ("editable", "directory", "path", "virtual"):
        if kind in source:
            raise no_path(ctx, name, version, kind)
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


def read(data, ctx):
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
