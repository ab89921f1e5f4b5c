"""``make-deb``: the one place that parses arguments, prints and picks exit codes.

Exit codes: 0 success, 1 error (bad project, bad template, cannot write, ...), 2 bad usage
(unknown option or malformed flag value), 3 required fields missing in a non-interactive run,
130 interrupted.
"""
import argparse
import logging
import os
import shutil
import sys
from pathlib import Path

from dh_pyrpath.deps import locks

from . import (__version__, buildenv, fields, metadata, python_source, refresh, render,
               requirements)
from .errors import MakeDebError, UsageError

PROG = "make-deb"


def build_parser():
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Write a debian/ directory that builds this Python project, with its own "
                    "private CPython, through dh_pyrpath (dpkg-buildpackage -us -uc).",
        epilog="Values come from flags, then DEBFULLNAME/DEBEMAIL, then the project's metadata; "
               "missing required ones are asked for on a terminal. See make-deb(1).")
    p.add_argument("directory", nargs="?", default=".",
                   help="root of the Python project (default: the current directory)")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    g = p.add_argument_group("behaviour")
    g.add_argument("-y", "--yes", action="store_true",
                   help="never ask: fail listing the missing fields instead (implied without a "
                        "terminal or with CI set)")
    g.add_argument("-f", "--force", action="store_true",
                   help="overwrite the debian/ files make-deb generates (other files are kept)")
    g.add_argument("-n", "--dry-run", action="store_true",
                   help="write nothing; print the files as a unified diff against debian/")
    g.add_argument("--refresh", action="store_true",
                   help="in a project that has debian/: move the pinned python-source to the "
                        "newest Debian revision the archive serves, add a debian/changelog "
                        "entry naming it and its CVE ids, and report locked dependencies "
                        "with advisories (--osv); nothing else changes")
    g.add_argument("--osv", metavar="DIR|ZIP", action="append", default=[],
                   help="for --refresh: OSV advisory records (a directory searched for *.json, "
                        "or a zip) to check the locked dependencies against; repeatable")
    g.add_argument("--templates", metavar="DIR",
                   help="directory whose *.j2 templates replace the built-in ones of that name")
    g.add_argument("-v", "--verbose", action="store_true", help="say what is being done")
    f = p.add_argument_group("package fields")
    f.add_argument("--package", metavar="NAME",
                   help="binary package name (default: the project name in Debian form)")
    f.add_argument("--source-package", metavar="NAME",
                   help="source package name (default: the binary package name)")
    f.add_argument("--upstream-version", metavar="VERSION",
                   help="PEP 440 version to use instead of the project's")
    f.add_argument("--maintainer-name", metavar="NAME",
                   help="maintainer's full name (default: DEBFULLNAME, then the metadata)")
    f.add_argument("--maintainer-email", metavar="EMAIL",
                   help="maintainer's email (default: DEBEMAIL, then the metadata)")
    f.add_argument("--description", metavar="TEXT",
                   help="one-line synopsis (default: the project's summary)")
    f.add_argument("--homepage", metavar="URL", help="Homepage (default: from the metadata)")
    f.add_argument("--license", metavar="NAME",
                   help="license as SPDX id or name, e.g. MIT (default: from the metadata)")
    f.add_argument("--section", metavar="SECTION", default="misc",
                   help="Debian section (default: %(default)s)")
    f.add_argument("--distribution", metavar="DIST", default="unstable",
                   help="changelog distribution (default: %(default)s)")
    d = p.add_argument_group("dh_pyrpath settings")
    d.add_argument("--python-source", metavar="SOURCE",
                   help="CPython to build: debian:python3.X (written pinned to the newest "
                        "revision the archive serves), debian:python3.X=<revision>, or a "
                        "tarball path/URL (default: the host's default python3)")
    d.add_argument("--install-root", metavar="DIR", default=fields.DEFAULT_INSTALL_ROOT,
                   help="the package installs into DIR/<package> (default: %(default)s)")
    d.add_argument("--no-links", action="store_true",
                   help="do not link console scripts into /usr/bin")
    d.add_argument("--requirements", action="store_true",
                   help="also write debian/deb-requirements.txt with the dependencies pinned "
                        "by pip (needs the index)")
    d.add_argument("--index-url", metavar="URL",
                   help="package index for the build backend and --requirements, also written "
                        "for dh_pyrpath (default: DH_PYRPATH_INDEX_URL, else pip's)")
    d.add_argument("--find-links", metavar="DIR", action="append", default=[],
                   help="directory of wheels for the project's build backend, used when the "
                        "index is unreachable; repeatable (also DH_PYRPATH_FIND_LINKS)")
    s = p.add_argument_group("services (see docs/services.md)")
    s.add_argument("--service", metavar="[NAME=]COMMAND", action="append",
                   help="run COMMAND (a console script, with arguments, or 'python3 -m MODULE') "
                        "as a service: a systemd unit NAME.service (default NAME: the script's "
                        "name); repeatable")
    s.add_argument("--supervisor", action="store_true",
                   help="write a supervisord program section in "
                        "/etc/supervisor/conf.d/<package>.conf instead of systemd units")
    s.add_argument("--user", metavar="NAME",
                   help="system user the services run as, created at install (default: the "
                        "package name)")
    s.add_argument("--env", metavar="NAME=VALUE", action="append",
                   help="default setting written to /etc/default/<package>, the services' "
                        "environment file; repeatable")
    s.add_argument("--config", metavar="FILE", action="append",
                   help="project file shipped as /etc/<package>/<name of FILE> (a conffile: "
                        "local edits survive upgrades); repeatable")
    return p


def _interactive(opts):
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return not opts.yes and not ci and sys.stdin.isatty()


def _prompter():
    def write(text):
        sys.stderr.write(text)
        sys.stderr.flush()
    return fields.Prompter(sys.stdin.readline, write)


# What --refresh reads besides the directory: every other option writes a debian/ anew.
REFRESH_OPTIONS = {"directory", "refresh", "osv", "dry_run", "verbose", "yes"}


def run_refresh(opts, parser):
    given = sorted(f"--{name.replace('_', '-')}" for name, value in vars(opts).items()
                   if name not in REFRESH_OPTIONS and value != parser.get_default(name))
    if given:
        raise UsageError(f"{', '.join(given)}: not with --refresh, which changes only the "
                         "python-source pin and debian/changelog")
    project = Path(opts.directory).resolve()
    result = refresh.plan(project, opts.osv)
    out = sys.stderr if opts.dry_run else sys.stdout
    if opts.dry_run:
        sys.stdout.write(render.diff(project, result.files))
    else:
        refresh.write(project, result.files)
    verb = "would move" if opts.dry_run else "moved"
    for move in result.moves:
        ids = ("CVE ids unknown" if move.ids is None else
               f"fixes {', '.join(move.ids)}" if move.ids else "no CVE named")
        print(f"{PROG}: {move.pin.rel}: {verb} python-source {move.pin.spec()} -> "
              f"{move.pin.spec(move.newest)} ({ids})", file=out)
    for pin in result.current:
        print(f"{PROG}: {pin.rel}: python-source {pin.spec()} is the newest revision apt "
              "lists; nothing to refresh", file=out)
    for note in result.notes:
        print(f"{PROG}: note: {note}", file=out)
    for where, finding in result.advisories:
        print(f"{PROG}: advisory: {finding.name} {finding.installed} ({where}): "
              f"{', '.join(finding.ids)}; fix: {finding.fix} (update {where} with the tool that "
              "made it: --refresh changes no lock)", file=out)
    if result.moves and not opts.dry_run:
        print(f"{PROG}: {refresh.CHANGELOG}: new entry {result.version}")
        print(f"{PROG}: build with: dpkg-buildpackage -us -uc -b")


def run(opts):
    log = logging.getLogger("make_deb")
    if opts.osv:
        raise UsageError("--osv: only with --refresh")
    project = Path(opts.directory).resolve()
    fields.early_checks(opts)
    templates = render.check_templates_dir(opts.templates)
    if not opts.dry_run:
        render.check_overwrite(project, render.FIXED_OUTPUTS, opts.force)
    index = buildenv.IndexSettings.from_options(opts.index_url, opts.find_links)
    log.info("reading metadata of %s", project)
    meta = metadata.read(project, index)
    log.info("metadata from %s: %s %s", meta.source, meta.name, meta.version)
    if meta.console_scripts:
        log.info("console scripts from %s: %s", meta.scripts_from,
                 ", ".join(sorted(meta.console_scripts)))
    settings = fields.resolve(meta, opts, project, _prompter() if _interactive(opts) else None)
    for warning in settings.warnings:
        log.warning("%s", warning)
    settings.python_source = python_source.pin(settings.python_source)
    fields.check_requires_python(meta.requires_python, settings.python_source)
    log.info("python-source: %s", settings.python_source)
    if not opts.requirements:
        # a lock file the project keeps (pylock.toml, uv.lock, poetry.lock) is what the package
        # installs, and the settings file says so
        found = locks.find_default(project, project / "debian")
        if found is not None and found.parent == project:
            settings.lock_file = found.name
            log.info("the project's %s pins its dependencies", found.name)
    if opts.requirements:
        log.info("pinning %d dependencies with pip", len(settings.requires_dist))
        settings.pinned = requirements.pin(settings.requires_dist, settings.python_source,
                                           index)
    files = render.render(settings, templates)
    staged = render.stage(files)  # rendered into a temporary directory ...
    try:
        # ... validated as read back from there ...
        render.validate({rel: (staged / rel).read_text("utf-8") for rel in files}, settings)
        if opts.dry_run:
            sys.stdout.write(render.diff(project, files))
            return
        render.install(project, staged, files, opts.force)  # ... and only then moved in
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    if settings.python_source_why:
        print(f"{PROG}: python-source {settings.python_source}: {settings.python_source_why}")
    print(f"{PROG}: wrote {', '.join(files)}")
    print(f"{PROG}: build with: dpkg-buildpackage -us -uc -b")


class _Formatter(logging.Formatter):
    def format(self, record):
        prefix = f"{PROG}: warning: " if record.levelno >= logging.WARNING else f"{PROG}: "
        return prefix + record.getMessage()


def main(argv=None):
    parser = build_parser()
    opts = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    log = logging.getLogger("make_deb")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO if opts.verbose else logging.WARNING)
    log.propagate = False
    try:
        if opts.refresh:
            run_refresh(opts, parser)
        else:
            run(opts)
    except MakeDebError as exc:
        # one line whatever the message: that line is the whole interface of a failure
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"\n{PROG}: error: interrupted; nothing was written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
