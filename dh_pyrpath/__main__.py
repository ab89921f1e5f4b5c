"""dh_pyrpath's command line: debhelper's shared options plus this command's own.

The one place that prints errors and maps exceptions to exit codes.
"""
import argparse
import os
import shlex
import signal
import sys
from pathlib import Path

from . import (__version__, audit_cli, debhelper, host, pipeline, settings as settingslib,
               standalone, vendor)
from .errors import PyrpathError, UsageError
from .python import shlibs
from .store import remote as remotelib
from .store.location import default_location, open_cache
from .log import BuildLog

LOG_ROOT = Path("debian/.debhelper/dh_pyrpath")
# Options that mean something to --audit only.
AUDIT_ONLY = {"paths": "PATH", "installed": "--installed", "osv": "--osv",
              "no_pypi": "--no-pypi", "json": "--json"}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message}: see dh_pyrpath --help")


def _keep_values(value):
    return [v for v in value.replace(",", " ").split() if v]


def make_parser():
    p = _Parser(prog="dh_pyrpath", description="Build a private, RPATH-isolated CPython for each "
                "package, install the project and its pinned dependencies into it, and leave "
                "the tree under /opt/<package> (see dh_pyrpath(1)).")
    dh = p.add_argument_group("debhelper options")
    dh.add_argument("-p", "--package", action="append", dest="packages", default=[],
                    help="act on this package (repeatable)")
    dh.add_argument("-N", "--no-package", action="append", dest="no_packages", default=[],
                    help="do not act on this package (repeatable)")
    dh.add_argument("-a", "--arch", "-s", "--same-arch", action="store_true", dest="arch",
                    help="act on architecture-dependent packages")
    dh.add_argument("-i", "--indep", action="store_true",
                    help="act on architecture-independent packages (refused: a CPython is "
                         "architecture-specific)")
    dh.add_argument("-v", "--verbose", action="store_true", help="echo every command run")
    dh.add_argument("--no-act", action="store_true", help="say what would be done, do nothing")
    dh.add_argument("-O", action="append", dest="passthrough", default=[], metavar="OPTION",
                    help="option passed on by dh; unknown ones are ignored")
    for flag in ("-n", "--no-scripts"):
        dh.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    dh.add_argument("--mainpackage", help=argparse.SUPPRESS)

    own = p.add_argument_group("dh_pyrpath options (also settable in debian/<package>.pyrpath)")
    own.add_argument("--python-source", help="CPython source: debian:python3.X[=version] "
                     "(default: the host's default python3), a tarball path, or an http(s) URL")
    own.add_argument("--python-sha256", help="sha256 the tarball must have (required for a "
                     "path or URL)")
    own.add_argument("--install-root", help="the prefix becomes INSTALL_ROOT/<package> "
                     f"(default {settingslib.DEFAULT_INSTALL_ROOT})")
    own.add_argument("--prefix", help="the full install prefix (one package only)")
    own.add_argument("--requirements", help="what to install: a requirements file, a "
                     "pylock.toml, uv.lock or poetry.lock (default "
                     f"{settingslib.DEFAULT_REQUIREMENTS}, else the project's own lock file; "
                     "without any, the project's declared dependencies)")
    own.add_argument("--require-pins", action="store_const", const=True, default=None,
                     help="refuse requirements that are not pinned to one version (default: "
                          "warn)")
    own.add_argument("--project-dir", help="the Python project's directory (default .)")
    own.add_argument("--index-url", help="package index URL (env DH_PYRPATH_INDEX_URL)")
    own.add_argument("--extra-index-url", action="append", default=[],
                     help="extra package index URL, repeatable (env DH_PYRPATH_EXTRA_INDEX_URL)")
    own.add_argument("--find-links", action="append", default=[],
                     help="directory or URL of wheels, repeatable (env DH_PYRPATH_FIND_LINKS)")
    own.add_argument("--no-index", action="store_const", const=True, default=None,
                     help="use no package index, only --find-links and the wheel cache")
    own.add_argument("--keep", action="append", default=[], type=_keep_values,
                     help="keep parts the trim step removes: "
                     + ", ".join(settingslib.TRIMMABLE))
    own.add_argument("--keep-build-tools", action="store_const", const=True, default=None,
                     help="ship pip and setuptools in the package")
    own.add_argument("--shebang-flags", help="interpreter flags for the scripts in bin/ "
                     f"(default {settingslib.DEFAULT_SHEBANG_FLAGS}; '' for none)")
    own.add_argument("--optimize", action="store_const", const=True, default=None,
                     help="build CPython with PGO and LTO (slower build, faster interpreter)")
    own.add_argument("--cache-dir", help="cache directory (env DH_PYRPATH_CACHE_DIR; default "
                     "~/.cache/dh-pyrpath)")
    own.add_argument("--no-cache", action="store_const", const=True, default=None,
                     help="build everything in debian/.debhelper, share nothing")
    own.add_argument("--ca-bundle", help="CA certificates pip and downloads verify TLS with "
                     f"(env DH_PYRPATH_CA_BUNDLE; default {host.SYSTEM_CA_BUNDLE})")
    own.add_argument("--vendor-dir", help="where --vendor writes and builds read vendored "
                     f"files (default {settingslib.DEFAULT_VENDOR_DIR})")
    own.add_argument("--remote-cache", metavar="URL", help="shared HTTP cache of interpreters, "
                     "sources and wheels (env DH_PYRPATH_REMOTE_CACHE)")
    own.add_argument("--remote-cache-readonly", action="store_const", const=True, default=None,
                     help="fetch from the remote cache, never publish to it (env "
                          "DH_PYRPATH_REMOTE_CACHE_READONLY=1)")
    offline = p.add_argument_group("offline builds")
    offline.add_argument("--vendor", action="store_true",
                        help="download everything the packages' builds need (CPython source, "
                             "wheels and sdists, build requirements) into --vendor-dir, then "
                             "exit; later builds need no network")
    cache = p.add_argument_group("cache maintenance (no debian/ needed)")
    cache.add_argument("--cache-info", action="store_true",
                       help="list what the cache holds and its size, then exit")
    cache.add_argument("--cache-prune", action="store_true",
                       help="remove cache contents not used for --max-age days, then exit")
    cache.add_argument("--cache-share", metavar="DIR",
                       help="make DIR the build host's cache shared by --group (created when "
                            "missing; an existing cache keeps every entry), then exit")
    cache.add_argument("--group", default=standalone.SHARED_GROUP,
                       help=f"for --cache-share (default {standalone.SHARED_GROUP})")
    cache.add_argument("--max-age", type=float, default=30, metavar="DAYS",
                       help="for --cache-prune (default 30; 0 removes all not in use)")
    pythons = p.add_argument_group("CPython from Debian (no debian/ needed)")
    pythons.add_argument("--list-pythons", action="store_true",
                         help="list the python3.X sources of this host's release, the newer "
                              "stable ones, testing and unstable, with their newest revisions "
                              "and whether the archive serves them, then exit")
    audit = p.add_argument_group("security audit (no debian/ needed)")
    audit.add_argument("--audit", action="store_true",
                       help="check packages dh-pyrpath built (PATH: .deb files or directories "
                            "of them) for a newer Debian revision of their CPython and for "
                            "advisories about their Python dependencies, then exit: 0 nothing "
                            "to fix, 1 something to fix, 2 something could not be audited")
    audit_cli.add_arguments(audit, during="for --audit: ")
    audit_cli.add_paths(p, during="for --audit: ")
    p.add_argument("--version", action="version", version=f"dh_pyrpath {__version__}")
    return p


def _split_passthrough(argv):
    """-O options as dh passes them: `-O--foo=bar` or `-O --foo=bar`."""
    direct, passed = [], []
    it = iter(argv)
    for arg in it:
        if arg == "-O":
            passed.append(next(it, ""))
        elif arg.startswith("-O"):
            passed.append(arg[2:])
        else:
            direct.append(arg)
    return direct, passed


def parse(argv, environ=None):
    """Options from argv, with -O and DH_OPTIONS options underneath (unknown ones ignored)."""
    environ = os.environ if environ is None else environ
    direct, passed = _split_passthrough(argv)
    parser = make_parser()
    opts = parser.parse_args(direct)
    lenient = shlex.split(environ.get("DH_OPTIONS", "")) + passed
    if lenient:
        under, _ = parser.parse_known_args(_split_passthrough(lenient)[0])
        defaults = vars(parser.parse_args([]))
        for key, value in vars(under).items():
            if key in AUDIT_ONLY:
                continue  # --audit is a command of its own: only its command line says what
            if getattr(opts, key) == defaults[key]:
                setattr(opts, key, value)
    opts.keep = [v for group in opts.keep for v in group]
    opts.verbose = opts.verbose or environ.get("DH_VERBOSE", "") not in ("", "0")
    opts.quiet = environ.get("DH_QUIET", "") not in ("", "0") and not opts.verbose
    return opts


def _cli_settings(opts):
    return {k: getattr(opts, k.replace("-", "_")) for k in settingslib.KEYS}


def run(opts):
    if opts.audit:
        return standalone.audit_command(opts)
    given = [flag for key, flag in AUDIT_ONLY.items() if getattr(opts, key)]
    if given:
        raise UsageError(f"{', '.join(given)}: only with --audit")
    if opts.list_pythons:
        return standalone.list_command(opts)
    if opts.cache_share:
        return standalone.share_command(opts)
    if opts.cache_info or opts.cache_prune:
        return standalone.cache_command(opts)
    control = debhelper.read_control()
    packages = debhelper.select_packages(control, opts)
    if opts.packages:
        indep = [p.name for p in packages if p.arch_all]
        if indep:
            raise UsageError(f"{', '.join(indep)}: Architecture: all, but a private CPython is "
                             "architecture-specific: make it Architecture: any")
    packages = [p for p in packages if not p.arch_all]
    if opts.prefix and len(packages) > 1:
        raise UsageError("--prefix names one directory but several packages are selected: use "
                         "--install-root, -p, or a prefix in each debian/<package>.pyrpath")
    cli = _cli_settings(opts)
    main_package = control.packages[0].name if control.packages else None
    plans = []
    for pkg in packages:
        config = debhelper.pkgfile(pkg.name, "pyrpath", main_package)
        plans.append(settingslib.resolve(pkg.name, cli, config))
        if debhelper.compat_level(control) < 14:  # 14 applies ${misc:Depends} by itself
            shlibs.check_control_uses_it(pkg.name, pkg.depends)
    build_opts = debhelper.build_options()
    if opts.vendor:
        return vendor_command(plans, opts, build_opts)
    if opts.no_act:
        for s in plans:
            print(f"dh_pyrpath: {s.package}: would build CPython from {s.python_source} and "
                  f"install {s.project_dir} into {s.prefix}")
        return 0
    for s in plans:
        cache = None
        if not s.no_cache:
            location = Path(s.cache_dir) if s.cache_dir else default_location()
            cache = open_cache(location, remotelib.connect(s.remote_cache,
                                                           s.remote_cache_readonly, s.ca_bundle))
            if cache is None and not opts.quiet:
                print(f"dh_pyrpath: {s.package}: cache: no writable cache directory "
                      f"({location}); building without a cache (set DH_PYRPATH_CACHE_DIR)")
        log = BuildLog(str(LOG_ROOT / s.package / "build.log"), s.package, opts.verbose,
                       opts.quiet)
        try:
            pipeline.build_package(s, build_opts, cache, log, debhelper.tmpdir(s.package),
                                   LOG_ROOT / s.package / "work",
                                   debhelper.pkgfile(s.package, "lintian-overrides", main_package))
        except PyrpathError as exc:
            exc.package = s.package
            if exc.log is None:
                exc.log = log.path
            log.write(f"error: {exc}")
            raise
        finally:
            log.close()
    return 0


def vendor_command(plans, opts, build_opts):
    """dh_pyrpath --vendor: every package's build inputs into the vendor directory."""
    roots = sorted({s.vendor_dir for s in plans})
    if len(roots) != 1:
        raise UsageError(f"the packages name {len(roots) or 'no'} vendor directories "
                         f"({', '.join(roots)}): give them one vendor-dir")
    first = plans[0]
    cache = None
    if not first.no_cache:
        location = Path(first.cache_dir) if first.cache_dir else default_location()
        cache = open_cache(location)
    log = BuildLog(str(LOG_ROOT / "vendor.log"), "vendor", opts.verbose, opts.quiet)
    try:
        fetched, removed, manifest = vendor.make(plans, build_opts, log, cache)
    except PyrpathError as exc:
        if exc.log is None:
            exc.log = log.path
        raise
    finally:
        log.close()
    files = manifest["files"]
    for rel in fetched:
        print(f"new      {standalone.megabytes(files[rel]['size'])}  {roots[0]}/{rel}")
    for rel in removed:
        print(f"removed  {roots[0]}/{rel}")
    total = standalone.megabytes(sum(f["size"] for f in files.values())).strip()
    new = standalone.megabytes(sum(files[r]["size"] for r in fetched)).strip()
    print(f"dh_pyrpath: vendored {len(files)} files, {total}, into {roots[0]} "
          f"({len(fetched)} new or changed, {new}; {len(removed)} removed)")
    return 0


def _terminated(signum, frame):
    raise KeyboardInterrupt  # unwinds like ^C: temporary cache directories are removed


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _terminated)
    try:
        return run(parse(argv))
    except PyrpathError as exc:
        where = f"{exc.package}: " if getattr(exc, "package", None) else ""
        print(f"dh_pyrpath: error: {where}{exc}", file=sys.stderr)
        if exc.tail:
            for line in exc.tail[-15:]:
                print(f"  | {line}", file=sys.stderr)
        if exc.log:
            print(f"dh_pyrpath: error: full log: {exc.log}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dh_pyrpath: error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
