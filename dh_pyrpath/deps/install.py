"""Installing the pinned dependencies into the prefix with pip: from a lock or a requirements
file, hashed files from the store with --no-index, each step reporting what it installed
(artifacts.Installed) for build-info and the SBOM."""
import json
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ..errors import PyrpathError
from ..log import redact
from ..store.files import sha256_file
from .artifacts import Installed
from .backends import SDIST, fill_build_requirements, unpack_sdist
from .planning import hash_groups
from .preflight import check_vendored
from .wheelhouse import cached_file, dist_name, fill_wheelhouse, offline_args

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


def report_install(pip, args, what, fix, origin, pins=(), attempt=False):
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
        return report_install(pip, base, what, fix, "vendored" if origin != "lock" else origin,
                               pins)
    if pip.cache is None:
        return report_install(pip, base, what, fix, origin, pins)
    links = pip.workdir / "pinned-files"
    if links.exists():
        shutil.rmtree(links)
    stored = {key: cached_file(pip.cache, hashes) for key, hashes in groups.items()}
    offline = ["--no-index", "--find-links", str(links)]
    if stored and all(stored.values()):
        for path in stored.values():
            _link(path, links)
        _link_build_wheels(pip, links)
        found = report_install(pip, [*offline, *base], f"{what} (from the cache)", fix, origin,
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
    return report_install(pip, [*offline, *base], what, fix, origin, pins)


def _link_build_wheels(pip, links):
    """Wheels of the cache for building sdists, except any of a pinned name: pip in
    hash-checking mode must find the pinned file only."""
    if not pip.wheelhouse or not pip.wheelhouse.is_dir():
        return
    offline_args(pip)  # checks the wheel cache once
    pinned = set()
    for path in links.iterdir():
        try:
            pinned.add(dist_name(path.name))
        except ValueError:
            pass
    for whl in sorted(pip.wheelhouse.glob("*.whl")):
        if parse_wheel_filename(whl.name)[0] not in pinned:
            _link(whl, links)


def install_dependencies(pip, plan):
    """Install what the plan pins (nothing for a "project" plan); return [Installed]."""
    if plan.kind == "lock":
        return _install_lock(pip, plan)
    if plan.kind != "requirements":
        return []
    req_file = plan.path.resolve()
    what, fix = "install dependencies", f"check the requirements in {plan.path}"
    if plan.requirements.hashed:
        return _install_hashed(pip, req_file, hash_groups(plan), False, what, fix,
                               "requirements")
    args = ["-r", str(req_file)]
    if pip.vendored:
        return report_install(pip, args, what, fix, "vendored")
    if pip.wheelhouse is None:
        return report_install(pip, args, what, fix, "index")
    if not plan.requirements.unpinned and pip.wheelhouse.is_dir():
        found = report_install(pip, [*offline_args(pip), *args], f"{what} (from the wheel cache)",
                                fix, "wheel cache", attempt=True)
        if found is not None:
            return found
    pip.log.write(f"{what}: not all in the wheel cache; resolving with the index")
    fill_wheelhouse(pip, args, what, fix)
    return report_install(pip, [*offline_args(pip), *args], what, fix, "wheel cache")


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
        installed += _install_hashed(pip, req_file, hash_groups(plan), True, what, fix, "lock",
                                     lock.pins)
    vcs = [p for p in lock.pins if p.vcs]
    if vcs:
        if pip.vendored:
            check_vendored(plan, pip.vendored)  # raises: VCS entries cannot be vendored
        vcs_file = pip.workdir / "locked-vcs.txt"
        vcs_file.write_text("".join(p.requirement() + "\n" for p in vcs))
        installed += report_install(pip, ["--no-deps", "-r", str(vcs_file)],
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
