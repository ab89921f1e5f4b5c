"""PEP 751 pylock.toml: every package carries its own marker, its artifacts and hashes."""

from packaging.utils import canonicalize_name

from ..errors import PyrpathError
from .lockfile import Artifact, Pin, hash_of, no_path, pinned_vcs, url_file_name

# ---------------------------------------------------------------- PEP 751 pylock.toml

def read(data, ctx):
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
            raise no_path(ctx, name, version, "directory")
        if "vcs" in package:
            vcs = package["vcs"]
            direct = pinned_vcs(ctx, name, version, f"{vcs.get('type', 'git')}+{vcs.get('url')}",
                                 vcs.get("commit-id"), vcs.get("subdirectory"))
            pins.append(Pin(name, version, (), direct))
            continue
        files = []
        if "archive" in package:
            archive = package["archive"]
            if not archive.get("url"):
                raise no_path(ctx, name, version, "archive path")
            files.append((archive, archive["url"]))
        if package.get("sdist"):
            files.append((package["sdist"], package["sdist"].get("url")))
        files += [(w, w.get("url")) for w in package.get("wheels", [])]
        if not files:
            raise ctx.error(name, version, "has no sdist, wheels, archive or vcs", "regenerate "
                            "the lock")
        artifacts = []
        for table, url in files:
            digest = hash_of(table.get("hashes", {}))
            filename = table.get("name") or url_file_name(url) or table.get("path")
            if not digest:
                raise ctx.error(name, version, f"{filename} has no sha256/sha384/sha512 hash",
                                "regenerate the lock with hashes")
            artifacts.append(Artifact(filename, url, digest))
        direct = package["archive"]["url"] if "archive" in package else None
        pins.append(Pin(name, version, tuple(sorted(artifacts, key=lambda a: a.filename)),
                        direct))
    return pins, left_out
