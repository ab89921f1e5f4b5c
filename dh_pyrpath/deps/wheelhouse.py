"""The files pip installs from, kept in the store: the wheel cache (each wheel beside its
checksum, filled by pip wheel), the source files of hashed pins (by sha256), and reading names
and versions out of distribution file names."""
import os
import shutil
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ..store.files import sha256_file

SUM = ".sha256"


# ---------------------------------------------------------------- 3. before the CPython build

def cached_file(cache, hashes):
    """The cached file with one of these hashes ("sha256:<hex>"), or None."""
    if cache is None:
        return None
    for digest in hashes:
        algo, _, hexdigest = digest.partition(":")
        if algo == "sha256":
            for path in sorted(cache.path("sources").glob(f"{hexdigest}-*")):
                if path.is_file():
                    return path
    return None


def wheelhouse_has(wheelhouse, requirement):
    """Whether the wheel cache holds a wheel that satisfies `requirement` (a PEP 508 string)."""
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return False
    name = canonicalize_name(req.name)
    for whl in Path(wheelhouse).glob("*.whl"):
        try:
            wname, version, _, _ = parse_wheel_filename(whl.name)
        except ValueError:
            continue
        if wname == name and req.specifier.contains(version, prereleases=True):
            return True
    return False


# ---------------------------------------------------------------- the wheel cache

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


def offline_args(pip):
    """pip arguments that use the wheel cache and nothing else (checked once per build)."""
    if not pip.wheelhouse_checked:
        pip.wheelhouse_checked = True
        for name in check_wheelhouse(pip.wheelhouse):
            pip.log.say(f"wheel cache: {name} does not match its checksum: removed")
    return ["--no-index", "--find-links", str(pip.wheelhouse)]


def fill_wheelhouse(pip, args, what, fix):
    """Resolve `args` (pip wheel arguments) with the index; publish the wheels it made.

    A wheel given by path (the project's own) is not published: it is no dependency, and
    a stale copy must never satisfy a later build.
    """
    tmp = pip.cache.tempdir("wheels-")
    own = {Path(a).name for a in args if a.endswith(".whl")}
    try:
        pip.run(["wheel", "--find-links", str(pip.wheelhouse), "-w", str(tmp), *args], what, fix)
        pip.wheelhouse.mkdir(parents=True, exist_ok=True)
        for whl in sorted(tmp.glob("*.whl")):
            if whl.name not in own:
                # checksum first: a wheel without one is never trusted
                side = tmp / (whl.name + SUM)
                side.write_text(sha256_file(whl) + "\n")
                os.replace(side, pip.wheelhouse / side.name)
                os.replace(whl, pip.wheelhouse / whl.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def dist_version(filename):
    if filename.endswith(".whl"):
        return parse_wheel_filename(filename)[1]
    return parse_sdist_filename(filename)[1]


def pinned_version(line):
    """(canonical name, Version) of a name==version requirement line, else None."""
    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
        return None
    try:
        return canonicalize_name(req.name), Version(specs[0].version)
    except InvalidVersion:
        return None


def dist_name(filename):
    if filename.endswith(".whl"):
        return parse_wheel_filename(filename)[0]
    return parse_sdist_filename(filename)[0]
