"""dh-pyrpath-audit: `dh_pyrpath --audit` as a command of its own, for servers.

A server that runs services dh-pyrpath built has no business with build-essential and
CPython's -dev packages, which the dh-pyrpath package depends on. The dh-pyrpath-audit
package ships this library and this command, and depends only on what the audit runs (apt,
dpkg, python3-debian, python3-packaging). Both commands take the audit's options from
add_arguments, so they cannot drift apart.
"""
import argparse
import signal
import sys

from . import __version__, host, standalone
from .errors import PyrpathError, UsageError

PROG = "dh-pyrpath-audit"


def add_arguments(group, during=""):
    """The audit's own options, on an argparse group; `during` starts each help text
    ("for --audit: " where the command does other things too)."""
    group.add_argument("--installed", action="store_true",
                       help=f"{during}the installed packages dh-pyrpath built")
    group.add_argument("--osv", action="append", default=[], metavar="DIR|ZIP",
                       help=f"{during}OSV advisory records (a directory searched for *.json, "
                            "or a zip), repeatable")
    group.add_argument("--no-pypi", action="store_true",
                       help=f"{during}do not ask the package index's JSON API for advisories")
    group.add_argument("--json", action="store_true", help=f"{during}print JSON for CI")
    return group


def add_paths(parser, during=""):
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help=f"{during}.deb files, or directories searched for them (an apt "
                             "repository's pool)")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message}: see {PROG} --help")


def make_parser():
    p = _Parser(prog=PROG, description="Check packages dh-pyrpath built for a newer Debian "
                "revision of their CPython and for advisories about their Python "
                "dependencies. Exit 0: nothing to fix, 1: something to fix, 2: something "
                "could not be audited (see dh-pyrpath-audit(1)).")
    add_arguments(p)
    p.add_argument("--index-url", help="package index whose JSON API is asked for advisories "
                   "(env DH_PYRPATH_INDEX_URL, PIP_INDEX_URL; default: pip's)")
    p.add_argument("--ca-bundle", help="CA certificates to verify the index with (env "
                   f"DH_PYRPATH_CA_BUNDLE; default {host.SYSTEM_CA_BUNDLE})")
    p.add_argument("--cache-dir", help="where other Debian releases' apt lists are kept (env "
                   "DH_PYRPATH_CACHE_DIR; default ~/.cache/dh-pyrpath)")
    add_paths(p)
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


def _terminated(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _terminated)
    try:
        return standalone.audit_command(make_parser().parse_args(argv), prog=PROG)
    except PyrpathError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        for line in (exc.tail or [])[-15:]:
            print(f"  | {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
