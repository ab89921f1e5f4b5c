"""The commands that need no debian/ directory: --cache-info, --cache-prune, --cache-share,
--list-pythons and --audit. Each prints its report and returns the exit code; errors are
raised for __main__ to print."""
import grp
import os
import sys
import time
from pathlib import Path

from . import host, settings as settingslib
from .audit import advisories, check, interpreter as interpreter_checks, report as reportlib
from .errors import PyrpathError, UsageError
from .python import catalog, interpreter, releases
from .store import entries, maintenance, remote as remotelib, sharing
from .store.files import summarize
from .store.location import default_location, open_cache

# The group of a build host's shared cache (docs/cache.md).
SHARED_GROUP = "dh-pyrpath"


def megabytes(n):
    return f"{n / 1e6:8.1f} MB"


def _remote_for_cache_info(opts, env=None):
    """The remote cache the options or the environment name (no package settings here)."""
    env = os.environ if env is None else env
    url = opts.remote_cache or env.get(settingslib.ENVIRONMENT["remote-cache"])
    if not url:
        return None
    readonly = opts.remote_cache_readonly or settingslib.parse_bool(
        env.get(settingslib.ENVIRONMENT["remote-cache-readonly"], ""),
        settingslib.ENVIRONMENT["remote-cache-readonly"])
    ca_bundle = opts.ca_bundle or env.get(settingslib.ENVIRONMENT["ca-bundle"]) or None
    return remotelib.Remote(url, readonly=readonly, ca_bundle=ca_bundle)


def share_command(opts):
    """dh_pyrpath --cache-share DIR: docs/cache.md's one way to a shared cache."""
    try:
        gid = grp.getgrnam(opts.group).gr_gid
    except KeyError:
        raise UsageError(f"group {opts.group} does not exist: create it (groupadd --system "
                         f"{opts.group}) or name another with --group") from None
    root = Path(opts.cache_share)
    try:
        changed = sharing.share(root, gid)
    except PermissionError as exc:
        raise PyrpathError(f"cannot give {exc.filename} to group {opts.group} "
                           f"({exc.strerror}): run dh_pyrpath --cache-share as root or as "
                           "the owner of the cache") from None
    except OSError as exc:
        raise PyrpathError(f"cannot make {root} a shared cache: {exc}") from None
    cache = open_cache(root)
    kept, damaged = 0, []
    for entry in cache.interpreter_entries():
        problems = entries.entry_problems(entry)
        if problems:
            damaged.append((entry.name, problems))
        else:
            kept += 1
    print(f"cache {root}: shared with group {opts.group} ({changed} paths changed); "
          f"{kept} interpreter entries intact and kept")
    for key, problems in damaged:
        print(f"damaged  interpreter {key}: {summarize(problems)}: it is rebuilt when next "
              "used")
    return 0


def cache_command(opts):
    location = Path(opts.cache_dir) if opts.cache_dir else default_location()
    cache = open_cache(location)
    if cache is None:
        raise PyrpathError(f"no usable cache at {location}: set DH_PYRPATH_CACHE_DIR or "
                           "--cache-dir")
    if opts.cache_prune:
        removed = maintenance.prune(cache, opts.max_age)
        for kind, name, size in removed:
            print(f"removed  {kind:<12} {megabytes(size)}  {name}")
        print(f"pruned {len(removed)} items, {megabytes(sum(r[2] for r in removed)).strip()} "
              f"from {cache.root}")
        return 0
    rows = maintenance.contents(cache, interpreter.describe_entries)
    print(f"cache {cache.root}" + (" (shared with its group)" if cache.shared else ""))
    remote = _remote_for_cache_info(opts)
    if remote is not None:
        print(f"remote {remote.label}: {remote.probe()}")
    for kind, name, size, used in rows:
        when = time.strftime("%Y-%m-%d", time.localtime(used)) if used else ""
        print(f"{kind:<12} {megabytes(size)}  {when:<10}  {name}")
    print(f"{'total':<12} {megabytes(sum(r[2] for r in rows))}")
    return 0


def audit_command(opts, env=None, prog="dh_pyrpath"):
    """dh_pyrpath --audit (and dh-pyrpath-audit, `prog`): the report on stdout, skips, notes
    and problems on stderr."""
    env = os.environ if env is None else env
    if not opts.paths and not opts.installed:
        raise UsageError("nothing to audit: give .deb files or directories of them, or "
                         "--installed")
    index = None
    if not opts.no_pypi:
        url = (opts.index_url or env.get(settingslib.ENVIRONMENT["index-url"])
               or env.get("PIP_INDEX_URL") or None)
        ca_bundle = opts.ca_bundle or env.get(settingslib.ENVIRONMENT["ca-bundle"]) or (
            host.SYSTEM_CA_BUNDLE if os.path.exists(host.SYSTEM_CA_BUNDLE) else None)
        index = advisories.IndexAdvisories(url, ca_bundle)
    with releases.apt_root(opts.cache_dir) as root:  # other releases' indexes
        report = check.audit(opts.paths, opts.installed, opts.osv, index,
                             interpreter_checks.Interpreters(root))
    reportlib.show(report, opts.json, sys.stdout, sys.stderr, prog)
    return report.exit_code


def list_command(opts):
    """dh_pyrpath --list-pythons: what CPython Debian offers this host, release by release."""
    with releases.apt_root(opts.cache_dir) as root:
        found = catalog.offers(root)
    for line in catalog.table(found):
        print(line)
    return 0
