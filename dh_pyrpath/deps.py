"""What the package installs besides CPython: the pinned dependencies, then the project.

1. plan(): which input (a lock file, a requirements file, or the project's own declared
   dependencies), read and checked before anything is built: requirements that cannot work in
   a package are refused, unpinned ones warned about (an error with require-pins).
2. select(): the pins of a lock for the private interpreter on the target architecture.
3. preflight(): before the CPython build, whether the build needs the index and, if so,
   whether it answers; with vendored files, whether they hold every pin.
4. install_dependencies(), install_project(): pip (piprun.Pip, isolated from the host's pip
   configuration) installs them, each step returning what it installed (artifacts.Installed)
   for build-info and the SBOM.
5. vendor(): every file a build needs, downloaded into one directory for offline builds.

Where files come from:
- hashed pins (a lock, a requirements file with --hash): the exact files are downloaded once,
  checked, kept in the cache by sha256 (cache.sources) and installed from there with
  --no-index; pip checks every one against its pinned hash again;
- pinned requirements without hashes: through the wheel cache (cache/wheels), as before;
- vendored files: --no-index --find-links=<vendored dir> and nothing else.
The project is built as pip would build it (pip wheel --use-pep517 --no-deps), so a setup.py
with setup_requires gets them as build requirements; in the cache each build requirement is a
wheel, and the backend is asked for its dynamic ones (get_requires_for_build_wheel) in an
isolated environment, as pypa/build does, so a warm build needs no index.
"""
import json
import os
import re
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from . import locks, markers, piprun
from .artifacts import Installed
from .cache import sha256_file, share_modes
from .errors import PyrpathError
from .log import redact

try:  # Python 3.11+
    import tomllib
except ImportError:  # pragma: no cover
    tomllib = None

# pip's build requirements for a project without a [build-system] table, and its backend.
DEFAULT_BUILD_REQUIRES = ["setuptools>=40.8.0", "wheel"]
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
# Never copied into a package's build: the source's VCS data, debhelper's own output, caches.
PROJECT_IGNORE = (".git", ".hg", ".svn", ".pc", "debian", ".tox", ".nox", ".venv", "venv",
                  "build", "dist", "__pycache__", "*.egg-info", ".pytest_cache", ".mypy_cache",
                  ".cache")
# Files of a project whose change changes what it needs to build or install (vendor inputs).
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
SUM = ".sha256"
SDIST = re.compile(r"\.(tar\.gz|tgz|tar\.bz2|tar\.xz|zip)$")


# ---------------------------------------------------------------- 1. the plan

@dataclass
class Plan:
    """What to install and where that was found."""
    kind: str                    # "lock", "requirements" or "project"
    path: Path | None            # the lock or requirements file
    label: str                   # for the stage line: "uv.lock (the project's own)"
    project_dir: Path
    requirements: locks.Requirements | None = None
    lock: locks.Lock | None = None   # set by select()
    env: dict | None = None          # the marker environment select() used
    inputs: list = field(default_factory=list)  # files whose change makes a vendor set stale


def plan(settings, project_dir, log, debian_dir="debian"):
    """Find and check what to install (before anything is built): refuse requirements that
    cannot work in a package, warn about unpinned ones (an error with require-pins)."""
    project_dir = Path(project_dir)
    if settings.requirements_explicit:
        path = Path(settings.requirements)
        if not path.is_file():
            raise PyrpathError(f"requirements file {path} not found: create it, or drop the "
                               "requirements setting (a lock file of the project's own is "
                               "found by itself)")
        how = "the requirements setting"
    else:
        path = locks.find_default(project_dir, debian_dir)
        how = "the project's own" if path and path.parent.resolve() == project_dir.resolve() \
            else "the default"
    inputs = [project_dir / name for name in PROJECT_FILES if (project_dir / name).is_file()]
    if path is None:
        if settings.require_pins:
            raise PyrpathError("require-pins is set, but no lock file or requirements file pins "
                               "the dependencies (debian/deb-requirements.txt, or the project's "
                               "pylock.toml, uv.lock or poetry.lock): add one")
        return Plan("project", None, "the project's declared dependencies (resolved now)",
                    project_dir, inputs=inputs)
    shown = os.path.relpath(path)
    label = f"{path if shown.startswith('..') else shown} ({how})"
    if locks.kind_of(path):
        return Plan("lock", path, label, project_dir, inputs=[path, *inputs])
    reqs = locks.read_requirements(path)
    if reqs.unpinned:
        names = ", ".join(reqs.unpinned)
        if settings.require_pins:
            raise PyrpathError(f"{path}: not pinned to one version: {names}: pin them "
                               "(name==version, as pip freeze writes) or drop require-pins")
        log.warn(f"{path}: not pinned to one version, so the package may differ from build "
                 f"to build: {names} (pin them; require-pins makes this an error)")
    return Plan("requirements", path, label, project_dir, requirements=reqs,
                inputs=[*reqs.files, *inputs])


def select(plan, python_version, deb_arch, log):
    """Evaluate a lock for CPython `python_version` (X.Y.Z) on Debian architecture `deb_arch`:
    sets plan.lock to the pins for that target."""
    plan.env = markers.environment(python_version, deb_arch)
    if plan.kind == "lock":
        plan.lock = locks.read(plan.path, plan.project_dir, plan.env)
        log.write(f"{plan.path}: for CPython {python_version} on {deb_arch}: "
                  + ", ".join(f"{p.name}=={p.version}" for p in plan.lock.pins))
        if plan.lock.left_out:
            log.write(f"{plan.path}: left out (other environments, dev groups, extras): "
                      + ", ".join(plan.lock.left_out))
    return plan


# ---------------------------------------------------------------- 3. before the CPython build

def _stored(cache, hashes):
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


def _hash_groups(plan):
    """Per pin, the hashes any one of which satisfies it (hashed plans only)."""
    if plan.lock is not None:
        return {p.requirement(): p.hashes for p in plan.lock.pins if not p.vcs}
    if plan.requirements is not None and plan.requirements.hashed:
        return {" ".join(h): h for h in plan.requirements.hashes}
    return {}


def _wheelhouse_has(wheelhouse, requirement):
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


def index_needed(plan, cache):
    """Why the build must reach the index (one phrase), or None when the cache holds all."""
    if plan.kind == "lock" and plan.lock is None:
        raise AssertionError("select() the plan for a target first")
    if cache is None:
        return "no cache"
    if plan.kind == "project":
        return "the project's dependencies are resolved at build time"
    if plan.lock is not None and any(p.vcs for p in plan.lock.pins):
        return "the lock has VCS entries"
    groups = _hash_groups(plan)
    for requirement, hashes in groups.items():
        if _stored(cache, hashes) is None:
            return f"{requirement.split(' ')[0]} is not in the cache"
    wheelhouse = cache.path("wheels")
    if not groups:
        if plan.requirements.unpinned:
            return "unpinned requirements are resolved at build time"
        for line in plan.requirements.lines:
            if not _wheelhouse_has(wheelhouse, line):
                return f"{line} is not in the wheel cache"
    requires, _, _ = build_system(plan.project_dir)
    for line in requires:
        if not _wheelhouse_has(wheelhouse, line):
            return f"the project's build requirement {line} is not in the wheel cache"
    return None


def _vendored_files(vendored):
    return {p.name: p for p in Path(vendored).iterdir() if p.is_file()}


def check_vendored(plan, vendored):
    """Every hashed pin has its file among the vendored ones; else one line naming it."""
    files = _vendored_files(vendored)
    digests = None
    for requirement, hashes in _hash_groups(plan).items():
        if digests is None:
            digests = {f"sha256:{sha256_file(p)}" for p in files.values()}
        if not digests & set(hashes):
            raise PyrpathError(f"{requirement.split(' ')[0]} (pinned by {plan.path}) is not "
                               f"among the vendored files in {vendored}: {piprun.VENDOR_FIX}")
    if plan.lock is not None and any(p.vcs for p in plan.lock.pins):
        raise PyrpathError(f"{plan.path} has VCS entries, which cannot be vendored: publish "
                           "them to an index as wheels or sdists and lock those")
    if plan.requirements is not None and not plan.requirements.hashed:
        have = set()
        for name in files:
            try:
                dist, version = _dist_name(name), _dist_version(name)
            except ValueError:
                continue
            have.add((dist, version))
        for line in plan.requirements.lines:
            pinned = _pinned_version(line)
            if pinned and pinned not in have:
                raise PyrpathError(f"{line} (from {plan.path}) is not among the vendored files "
                                   f"in {vendored}: {piprun.VENDOR_FIX}")


def preflight(settings, plan, cache, vendored, log, pip_source=None):
    """Fail fast, before the CPython build, when the dependencies cannot be had.

    With `vendored` (a directory): every hashed pin must be there. Otherwise, when the build
    will need the index (not everything is in the cache), the index must answer (a short
    request; the error names the cause: TLS and the CA bundle, proxy, DNS, 401/403, ...).
    `pip_source` tells which pip will run when no index-url is set (its default index): an
    unpacked pip, a pip wheel, or the CPython source tarball that bundles it."""
    if vendored:
        check_vendored(plan, vendored)
        log.write(f"preflight: vendored files in {vendored} hold every hashed pin")
        return
    why = index_needed(plan, cache)
    if why is None:
        log.write("preflight: the cache holds every pin: the index is not needed")
        return
    if settings.no_index:
        log.write(f"preflight: {why}; no-index is set: pip looks in find-links only")
        return
    url = settings.index_url or (piprun.default_index_url(pip_source) if pip_source else None)
    if not url:
        log.write(f"preflight: {why}; pip's default index is not known yet: not probed")
        return
    first = (plan.lock.pins[0].name if plan.lock is not None and plan.lock.pins else "pip")
    log.write(f"preflight: {why}: probing {redact(url)}")
    problem = piprun.probe_index(url, first, settings, missing_ok=True)
    if problem:
        raise PyrpathError(f"{problem} (preflight check: {why})")


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


def _offline(pip):
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


# ---------------------------------------------------------------- 4. installing

def _installed(report, origin, pins=()):
    """artifacts.Installed for each distribution of a pip install --report file."""
    urls = {}
    for pin in pins:
        for artifact in pin.artifacts:
            if artifact.hash.startswith("sha256:"):
                urls[artifact.hash[len("sha256:"):]] = (artifact.url, artifact.filename)
    records = []
    for item in json.loads(Path(report).read_text()).get("install", []):
        meta, info = item["metadata"], item.get("download_info", {})
        url = info.get("url", "")
        archive = info.get("archive_info", {})
        digest = (archive.get("hashes") or {}).get("sha256")
        if not digest and archive.get("hash", "").startswith("sha256="):
            digest = archive["hash"].split("=", 1)[1]
        if url.startswith("file:"):
            path = Path(unquote(urlsplit(url).path))
            artifact, digest, shown = path.name, sha256_file(path), None
        elif "vcs_info" in info:
            artifact = f"{url}@{info['vcs_info'].get('commit_id')}"
            shown = redact(artifact)
        else:
            artifact, shown = unquote(urlsplit(url).path.rsplit("/", 1)[-1]), redact(url)
        if digest in urls:  # a pinned file: the lock says where it comes from
            shown, artifact = urls[digest][0], urls[digest][1] or artifact
        records.append(Installed(meta["name"], meta["version"], artifact, digest, origin,
                                 shown))
    return sorted(records, key=lambda r: canonicalize_name(r.name))


def _report_install(pip, args, what, fix, origin, pins=(), attempt=False):
    """pip install `args` --report; the Installed records (None if `attempt` failed)."""
    report = pip.workdir / "install-report.json"
    report.unlink(missing_ok=True)
    command = ["install", "--report", str(report), *args]
    if attempt:
        if not pip.try_run(command, what):
            return None
    else:
        pip.run(command, what, fix)
    return _installed(report, origin, pins)


def _link(path, links):
    links.mkdir(parents=True, exist_ok=True)
    target = links / (path.name.split("-", 1)[1] if path.parent.name == "sources" else path.name)
    if not target.exists():
        target.symlink_to(path.resolve())
    return target


def _install_hashed(pip, req_file, groups, no_deps, what, fix, origin, pins=()):
    """Install a hash-checked requirements file through the cache's store of pinned files:
    download what the store lacks (once; pip checks the hashes), then install with --no-index
    from exactly those files, and wheels of the build requirements of any sdist among them."""
    base = ["--require-hashes", *(["--no-deps"] if no_deps else []), "-r", str(req_file)]
    if pip.vendored:
        return _report_install(pip, base, what, fix, "vendored" if origin != "lock" else origin,
                               pins)
    if pip.cache is None:
        return _report_install(pip, base, what, fix, origin, pins)
    links = pip.workdir / "pinned-files"
    if links.exists():
        shutil.rmtree(links)
    stored = {key: _stored(pip.cache, hashes) for key, hashes in groups.items()}
    offline = ["--no-index", "--find-links", str(links)]
    if stored and all(stored.values()):
        for path in stored.values():
            _link(path, links)
        _link_build_wheels(pip, links)
        found = _report_install(pip, [*offline, *base], f"{what} (from the cache)", fix, origin,
                                pins, attempt=True)
        if found is not None:
            return found
    pip.log.write(f"{what}: not all in the cache; downloading the pinned files")
    tmp = pip.cache.tempdir("pinned-")
    try:
        pip.run(["download", *base, "-d", str(tmp)], f"{what} (download)", fix)
        for path in sorted(tmp.iterdir()):
            digest = sha256_file(path)
            _link(pip.cache.add_source_file(path, path.name, digest), links)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for sdist in sorted(p for p in links.iterdir() if SDIST.search(p.name)):
        src = unpack_sdist(sdist, pip.workdir / "sdists" / sdist.name)
        fill_build_requirements(pip, src, f"fetch the build requirements of {sdist.name}")
    _link_build_wheels(pip, links)
    return _report_install(pip, [*offline, *base], what, fix, origin, pins)


def _link_build_wheels(pip, links):
    """Wheels of the cache for building sdists, except any of a pinned name: pip in
    hash-checking mode must find the pinned file only."""
    if not pip.wheelhouse or not pip.wheelhouse.is_dir():
        return
    _offline(pip)  # checks the wheel cache once
    pinned = set()
    for path in links.iterdir():
        try:
            pinned.add(_dist_name(path.name))
        except ValueError:
            pass
    for whl in sorted(pip.wheelhouse.glob("*.whl")):
        if parse_wheel_filename(whl.name)[0] not in pinned:
            _link(whl, links)


def _dist_version(filename):
    if filename.endswith(".whl"):
        return parse_wheel_filename(filename)[1]
    return parse_sdist_filename(filename)[1]


def _pinned_version(line):
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


def _dist_name(filename):
    if filename.endswith(".whl"):
        return parse_wheel_filename(filename)[0]
    return parse_sdist_filename(filename)[0]


def install_dependencies(pip, plan):
    """Install what the plan pins (nothing for a "project" plan); return [Installed]."""
    if plan.kind == "lock":
        return _install_lock(pip, plan)
    if plan.kind != "requirements":
        return []
    req_file = plan.path.resolve()
    what, fix = "install dependencies", f"check the requirements in {plan.path}"
    if plan.requirements.hashed:
        return _install_hashed(pip, req_file, _hash_groups(plan), False, what, fix,
                               "requirements")
    args = ["-r", str(req_file)]
    if pip.vendored:
        return _report_install(pip, args, what, fix, "vendored")
    if pip.wheelhouse is None:
        return _report_install(pip, args, what, fix, "index")
    if not plan.requirements.unpinned and pip.wheelhouse.is_dir():
        found = _report_install(pip, [*_offline(pip), *args], f"{what} (from the wheel cache)",
                                fix, "wheel cache", attempt=True)
        if found is not None:
            return found
    pip.log.write(f"{what}: not all in the wheel cache; resolving with the index")
    fill_wheelhouse(pip, args, what, fix)
    return _report_install(pip, [*_offline(pip), *args], what, fix, "wheel cache")


def _install_lock(pip, plan):
    lock = plan.lock
    if lock is None:
        raise AssertionError("select() the plan for a target first")
    what = f"install the dependencies {lock.path.name} pins"
    fix = f"check {plan.path}"
    hashed = [p for p in lock.pins if not p.vcs]
    req_file = pip.workdir / "locked-requirements.txt"
    req_file.write_text("".join(p.requirement() + "\n" for p in hashed))
    installed = []
    if hashed:
        installed += _install_hashed(pip, req_file, _hash_groups(plan), True, what, fix, "lock",
                                     lock.pins)
    vcs = [p for p in lock.pins if p.vcs]
    if vcs:
        if pip.vendored:
            check_vendored(plan, pip.vendored)  # raises: VCS entries cannot be vendored
        vcs_file = pip.workdir / "locked-vcs.txt"
        vcs_file.write_text("".join(p.requirement() + "\n" for p in vcs))
        installed += _report_install(pip, ["--no-deps", "-r", str(vcs_file)],
                                     f"{what} (VCS entries at their commits)", fix, "lock", vcs)
    check_lock_set(lock, installed)
    return installed


def check_lock_set(lock, installed):
    """The installed set must be the lock's set for the target, exactly."""
    want = {(p.name, p.version) for p in lock.pins}
    got = {(canonicalize_name(i.name), i.version) for i in installed}
    if _normal(want) != _normal(got):
        extra = sorted(f"{n}=={v}" for n, v in _normal(got) - _normal(want))
        missing = sorted(f"{n}=={v}" for n, v in _normal(want) - _normal(got))
        raise PyrpathError(f"{lock.path}: what pip installed differs from the lock (missing: "
                           f"{', '.join(missing) or '-'}; not in it: {', '.join(extra) or '-'}): "
                           "regenerate the lock")


def _normal(pairs):
    out = set()
    for name, version in pairs:
        try:
            version = str(Version(version)) if version else version
        except InvalidVersion:
            pass
        out.add((name, version))
    return out


def copy_project(project_dir, dest):
    """Copy the project without debian/, VCS data or build leftovers: the build never writes
    into the user's source tree, and no stray egg-info leaks into the package. Modes are made
    those of a cache entry (share_modes: readable by all, written by the owner): a wheel
    records its files' modes, and its hash is in the SBOM, so a checkout made under umask 077
    must build the same wheel as one under 022."""
    shutil.copytree(project_dir, dest, symlinks=True,
                    ignore=shutil.ignore_patterns(*PROJECT_IGNORE))
    share_modes(dest)
    return dest


def build_project(pip, project_dir):
    """Build the project's wheel as pip would (PEP 517, build isolation, --use-pep517 also for
    a setup.py of its own) in a copy of its source; return the wheel's path."""
    src = pip.workdir / "project-src"
    if src.exists():
        shutil.rmtree(src)
    copy_project(project_dir, src)
    dist = pip.workdir / "project-dist"
    if dist.exists():
        shutil.rmtree(dist)
    dist.mkdir()
    # --no-cache-dir: pip would keep this wheel in its cache, and directories made there under
    # umask 022 (below) would shut the other users of a shared cache out
    args = ["wheel", "--use-pep517", "--no-deps", "--no-cache-dir", "-w", str(dist), str(src)]
    fix = ("the project's build failed: run `pip wheel --use-pep517 .` in the project to see "
           "why, and fix its setup.py/setup.cfg/pyproject.toml")
    # the files the backend writes (metadata, build/) go into the wheel with their modes:
    # one umask, whatever the build user's
    umask = 0o022
    if pip.wheelhouse is None:
        pip.run(args, "build the project", fix, umask=umask)
    elif not pip.try_run([*args[:1], *_offline(pip), *args[1:]],
                         "build the project (build requirements from the wheel cache)",
                         umask=umask):
        fill_build_requirements(pip, src, "build the project", fix)
        shutil.rmtree(dist)
        dist.mkdir()
        pip.run([*args[:1], *_offline(pip), *args[1:]], "build the project", fix, umask=umask)
    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != 1:
        raise PyrpathError(f"building the project produced {len(wheels)} wheels, expected one",
                           log=pip.log.path)
    return wheels[0]


def install_project(pip, plan, project_dir):
    """Build the project and install it: alone when a lock or requirements file pinned its
    dependencies, else with them (resolved now). Returns [Installed], the project first."""
    wheel = build_project(pip, project_dir)
    fix = "check the project's dependencies"
    if plan.kind != "project":
        records = _report_install(pip, ["--no-deps", "--no-index", str(wheel)],
                                  "install the project", "see the log", "project")
    elif pip.vendored or pip.wheelhouse is None:
        records = _report_install(pip, [str(wheel)], "install the project and its declared "
                                  "dependencies", fix, "vendored" if pip.vendored else "index")
    else:
        fill_wheelhouse(pip, [str(wheel)], "fetch the project's declared dependencies", fix)
        records = _report_install(pip, [*_offline(pip), str(wheel)], "install the project and "
                                  "its declared dependencies", fix, "wheel cache")
    own = {Path(wheel).name}
    project = [r for r in records if r.artifact in own]
    project = [Installed(r.name, r.version, r.artifact, r.sha256, "project", None)
               for r in project]
    return project + [r for r in records if r.artifact not in own]


def check_consistent(pip):
    pip.run(["check"], "check installed dependencies",
            "a dependency the project declares is missing or at a conflicting version: pin it "
            "in the requirements file, or regenerate the lock")


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


# ---------------------------------------------------------------- 5. vendoring

def vendor(settings, project_dir, python, pip_dir, python_version, deb_arch, dest_dir,
           workdir, log, debian_dir="debian", cache=None):
    """Download into `dest_dir` (one flat directory, best empty: a staging directory) every
    file an offline build of the project needs: what the lock or requirements name for the
    target (hash-checked), the project's build requirements, and the build requirements of
    every sdist among them, recursively. `python`/`pip_dir` are a runnable private
    interpreter of the target (pip picks its wheels). Needs the index.

    Returns {"files": [names], "inputs": {path: sha256}}: `inputs` are the files whose change
    makes the set stale (the lock or requirements files, the project's pyproject.toml,
    setup.py, setup.cfg), paths as given (relative to the source tree). `cache` (optional):
    pip's HTTP cache lives there, so a repeated --vendor fetches only what is new."""
    dest = Path(dest_dir).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    the_plan = select(plan(settings, project_dir, log, debian_dir), python_version, deb_arch,
                      log)
    # with the cache, pip's own HTTP cache keeps what an earlier --vendor fetched
    pip = piprun.Pip(python, pip_dir, settings, cache, workdir, log)
    fix = "see the log"
    into = ["-d", str(dest), "--find-links", str(dest)]
    if the_plan.kind == "lock":
        if any(p.vcs for p in the_plan.lock.pins):
            check_vendored(the_plan, dest)  # raises: VCS entries cannot be vendored
        req_file = workdir / "locked-requirements.txt"
        req_file.write_text("".join(p.requirement() + "\n" for p in the_plan.lock.pins))
        pip.run(["download", "--no-deps", "--require-hashes", "-r", str(req_file), *into],
                "download the pinned files", fix)
    elif the_plan.kind == "requirements":
        pip.run(["download", *(["--require-hashes"] if the_plan.requirements.hashed else []),
                 "-r", str(the_plan.path.resolve()), *into], "download the requirements", fix)
    src = copy_project(project_dir, workdir / "vendor-project")
    if the_plan.kind == "project":
        pip.run(["download", *into, str(src)], "download the project's dependencies", fix)
    todo, done = [src], set()
    while todo:
        tree = todo.pop(0)
        before = set(_vendored_files(dest))
        requires, _, _ = build_system(tree)
        what = f"download the build requirements of {tree.name}"
        if requires:
            pip.run(["download", *into, *requires], what, fix)
        dynamic = backend_requirements(pip, tree, [dest], online=True)
        if dynamic:
            pip.run(["download", *into, *dynamic], what, fix)
        for name in sorted(set(_vendored_files(dest)) - before) + (
                sorted(before) if tree is src else []):
            if SDIST.search(name) and name not in done:
                done.add(name)
                todo.append(unpack_sdist(dest / name, workdir / "vendor-sdists" / name))
    return {"files": sorted(_vendored_files(dest)),
            "inputs": vendor_inputs(settings, project_dir, debian_dir)}


class _Silent:
    """A log for a second look at the plan: its warnings were given once already."""
    def warn(self, text):
        pass


def vendor_inputs(settings, project_dir, debian_dir="debian"):
    """{path: sha256} of the files whose change makes a vendor set stale (the lock or
    requirements files and the project's own metadata files), paths as plan() finds them from
    `project_dir`: --vendor records them, a build compares them (vendor.py)."""
    found = plan(settings, project_dir, _Silent(), debian_dir)
    return dict(sorted((str(p), sha256_file(p)) for p in found.inputs))
