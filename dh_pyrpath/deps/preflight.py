"""Before CPython is built: does this build need the package index, and if so does it answer;
with vendored files, do they hold every pin. A dead index or a stale vendor directory then
costs seconds, not a cold CPython build."""
from pathlib import Path


from ..errors import PyrpathError
from ..log import redact
from ..store.files import sha256_file
from . import piprun
from .backends import build_system
from .planning import hash_groups
from .wheelhouse import cached_file, dist_name, dist_version, pinned_version, wheelhouse_has


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
    groups = hash_groups(plan)
    for requirement, hashes in groups.items():
        if cached_file(cache, hashes) is None:
            return f"{requirement.split(' ')[0]} is not in the cache"
    wheelhouse = cache.path("wheels")
    if not groups:
        if plan.requirements.unpinned:
            return "unpinned requirements are resolved at build time"
        for line in plan.requirements.lines:
            if not wheelhouse_has(wheelhouse, line):
                return f"{line} is not in the wheel cache"
    requires, _, _ = build_system(plan.project_dir)
    for line in requires:
        if not wheelhouse_has(wheelhouse, line):
            return f"the project's build requirement {line} is not in the wheel cache"
    return None


def vendored_files(vendored):
    return {p.name: p for p in Path(vendored).iterdir() if p.is_file()}


def check_vendored(plan, vendored):
    """Every hashed pin has its file among the vendored ones; else one line naming it."""
    files = vendored_files(vendored)
    digests = None
    for requirement, hashes in hash_groups(plan).items():
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
                dist, version = dist_name(name), dist_version(name)
            except ValueError:
                continue
            have.add((dist, version))
        for line in plan.requirements.lines:
            pinned = pinned_version(line)
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
