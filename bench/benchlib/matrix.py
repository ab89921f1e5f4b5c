"""bench/matrix: the tiny service (bench/projects/matrix-service) built by dh_pyrpath once per
CPython source, each with its own empty cache; per version: build time and dh_pyrpath's
stages, .deb and installed sizes, the isolation result, pass or fail.

A source that cannot be had (apt knows no such package, or the archive does not serve the
revisions its index lists) is reported as "source not obtainable: <reason>", not an error."""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dh_pyrpath import host as dh_host
from dh_pyrpath.package import verify
from dh_pyrpath.python import apt
from dh_pyrpath.python import sources
from dh_pyrpath.errors import PyrpathError

from . import aptsrc, builds, host
from .builds import MB, build_env, build_source, fresh_caches, fresh_dir
from .proc import SYSTEM_PATH, BenchError, run, say
from .report import profile_of, stages
from .text import fmt_s, table
from .variants import IGNORE, write_pyrpath_debian

PROJECT = host.BENCH / "projects" / "matrix-service"
UNSTABLE = "sid"  # where a debian: source the host's apt does not know is looked for
SPEC_RE = re.compile(r"^debian:(python3\.\d+)(?:=([^@\s]+))?(?:@([a-z][a-z0-9-]*))?$")
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
# How dh_pyrpath says it could not get the source (sources.py): a build that fails so is
# "source not obtainable" too.
SOURCE_ERRORS = ("does not serve", "cannot download", "knows no source package",
                 "has no source package", "apt-get source", "no deb-src entries")


@dataclass
class Entry:
    """One CPython source of the matrix and what became of it."""
    asked: str                      # as given: host, other, debian:python3.X..., a tarball
    where: str = "host apt"         # which apt sources resolve it (or "tarball")
    spec: str = None                # python-source of the build: pinned debian: or a path
    sha256: str = None
    version: str = None             # CPython X.Y.Z (or the X.Y of the package before building)
    package: str = None
    status: str = "pending"         # pass, FAIL, source not obtainable
    reason: str = None
    apt_config: str = None
    build: dict = field(default_factory=dict)
    isolation: dict = field(default_factory=dict)


# ---------------------------------------------------------------- which sources

def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/matrix", description="Build a tiny service with dh_pyrpath for each CPython "
        "source and report build time, sizes and isolation per version.")
    ap.add_argument("--source", action="append", default=[], metavar="SPEC",
                    help="host (the host's default python3), other (the other supported Debian "
                         "release's, through a private apt configuration), or "
                         "debian:python3.X[=VERSION][@SUITE]; repeatable")
    ap.add_argument("--tarball", action="append", default=[], type=Path, metavar="PATH",
                    help="a CPython release tarball; each needs a --sha256, in the same order")
    ap.add_argument("--sha256", action="append", default=[], metavar="HEX")
    ap.add_argument("--no-defaults", action="store_true",
                    help="only the sources given (default: host and other, plus those given)")
    ap.add_argument("--noopt", action="store_true",
                    help="DEB_BUILD_OPTIONS=noopt: the plain interpreter (no PGO, -O0), quicker")
    ap.add_argument("--output", type=Path, default=host.BENCH / "results" / "matrix.txt",
                    help="report file (default bench/results/matrix.txt; the raw results go "
                         "beside it as .json)")
    ap.add_argument("--keep", action="store_true",
                    help=f"keep the work directory under {host.WORK_ROOT}")
    ap.add_argument("--render", type=Path, metavar="JSON",
                    help="build nothing: print the report of a results file again")
    args = ap.parse_args(argv)
    if args.render:
        return args
    if len(args.tarball) != len(args.sha256):
        ap.error("each --tarball PATH needs one --sha256 HEX (given in the same order)")
    for spec in args.source:
        if spec not in ("host", "other") and not SPEC_RE.match(spec):
            ap.error(f"--source {spec}: give host, other or debian:python3.X[=VERSION][@SUITE]")
    for digest in args.sha256:
        if not SHA256_RE.match(digest):
            ap.error(f"--sha256 {digest}: give the 64 hex digits of sha256sum")
    asked = ([] if args.no_defaults else ["host", "other"]) + args.source
    args.entries = [Entry(a) for a in dict.fromkeys(asked)]
    args.entries += [Entry(str(p), where="tarball", spec=str(p.resolve()), sha256=h.lower())
                     for p, h in zip(args.tarball, args.sha256)]
    if not args.entries:
        ap.error("no sources: give --source or --tarball, or leave out --no-defaults")
    return args


def unobtainable(entry, reason):
    entry.status, entry.reason = "source not obtainable", reason
    return entry


def resolve(entry):
    """Fill in where the entry's source comes from and the exact python-source to build, or
    mark it not obtainable. Nothing is downloaded but apt's lists and a .dsc probe."""
    if entry.where == "tarball":
        return resolve_tarball(entry)
    conf = None
    try:
        if entry.asked == "host":
            package, pinned, suite = host.python(), None, None
        elif entry.asked == "other":
            suite = aptsrc.other_release(dh_host.host_codename())
            if suite is None:
                return unobtainable(entry, f"this host's release ({dh_host.host_codename()}) is "
                                           f"not one of {', '.join(aptsrc.RELEASES)}: no other "
                                           "release to take")
            conf = aptsrc.config(suite)
            entry.where = f"{suite} deb-src (private apt configuration)"
            package, pinned = aptsrc.default_python(conf), None
            if package is None:
                return unobtainable(entry, f"{suite}'s deb-src lists no python3-defaults")
        else:
            package, pinned, suite = SPEC_RE.match(entry.asked).groups()
            if suite is None:
                with aptsrc.using(None):
                    known_here = bool(apt.showsrc(package).strip())
                suite = None if known_here else UNSTABLE
            if suite is not None:
                conf = aptsrc.config(suite)
                entry.where = f"{suite} deb-src (private apt configuration)"
    except BenchError as exc:
        return unobtainable(entry, f"apt could not fetch the source lists: {first_line(exc)}")
    entry.apt_config = str(conf) if conf else None
    entry.version = package[len("python"):]
    entry.package = package_name(entry.version, suite if conf else "host")
    with aptsrc.using(conf):
        return resolve_debian(entry, package, pinned)


def resolve_debian(entry, package, pinned):
    text = apt.showsrc(package)
    if not text.strip():
        return unobtainable(entry, str(apt.missing_source_error(package)))
    known = apt.revisions(text)
    if pinned:
        known = [r for r in known if r.version == pinned]
        if not known:
            return unobtainable(entry, f"apt knows no {package} {pinned}")
    for rev in known:
        if apt.archive_serves(package, rev.version):
            entry.spec = f"debian:{package}={rev.version}"
            return entry
    listed = ", ".join(r.version for r in known) or "none"
    return unobtainable(entry, f"apt's index lists {package} {listed}, but the archive does not "
                               "serve the files (their .dsc did not download)")


def resolve_tarball(entry):
    path = Path(entry.spec)
    if not path.is_file():
        return unobtainable(entry, f"{path} not found")
    try:
        sources.check_sha256(path, entry.sha256, path.name, fix="check the --sha256 given")
        facts = sources.facts(sources.Source(path, entry.sha256, path.name))
    except PyrpathError as exc:
        return unobtainable(entry, str(exc))
    entry.version = facts["version"]
    entry.package = package_name(entry.version, "tarball")
    return entry


def package_name(version, where):
    """bench-matrix-py313-trixie: the CPython X.Y and where its source comes from."""
    return f"bench-matrix-py{''.join(version.split('.')[:2])}-{where}"


def name_apart(entries):
    """Number the package names that two entries share (the same version from one place, asked
    twice in other words), so that no two builds share a directory."""
    seen = {}
    for entry in entries:
        if entry.package:
            seen[entry.package] = seen.get(entry.package, 0) + 1
            if seen[entry.package] > 1:
                entry.package += f"-{seen[entry.package]}"


def first_line(exc):
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# ---------------------------------------------------------------- one build

def build_entry(entry, work, noopt):
    """Build the tiny service with entry's CPython from an empty cache; then check the .deb."""
    dest = fresh_dir(work / "builds" / entry.package)
    src = dest / entry.package
    shutil.copytree(PROJECT, src, ignore=IGNORE)
    settings = f"python-source = {entry.spec}\n"
    if entry.sha256:
        settings += f"python-sha256 = {entry.sha256}\n"
    settings += "install-root = /opt\n"
    write_pyrpath_debian(src, entry.package, "matrix-service", PROJECT / "requirements.txt",
                         settings)
    caches = fresh_caches(work, entry.package)
    extra = {"APT_CONFIG": entry.apt_config} if entry.apt_config else {}
    if noopt:
        extra["DEB_BUILD_OPTIONS"] = "noopt"
    log = work / "logs" / f"{entry.package}.log"
    try:
        entry.build = build_source(src, entry.package, build_env(caches, extra), log,
                                   f"{entry.package} ({entry.spec})")
    except BenchError:
        error = build_error(log)
        if any(m in error for m in SOURCE_ERRORS):
            unobtainable(entry, error)
        else:
            entry.status, entry.reason = "FAIL", f"{error} (log: {log})"
        return entry
    finally:
        shutil.rmtree(caches, ignore_errors=True)
    entry.isolation = isolation(Path(entry.build["deb"]), entry.package, work)
    entry.isolation["verify"] = "verify" in entry.build["stages"]
    entry.version = entry.isolation.get("version") or entry.version
    problems = isolation_problems(entry.isolation)
    entry.status = "FAIL" if problems else "pass"
    entry.reason = "; ".join(problems) or None
    shutil.rmtree(dest, ignore_errors=True)
    return entry


def build_error(log):
    """dh_pyrpath's (or dpkg-buildpackage's) error line in a build log."""
    text = Path(log).read_text(errors="replace") if Path(log).exists() else ""
    lines = [re.sub(r"^\[\s*\d+\.\d+\] ", "", line) for line in text.splitlines()]
    for line in lines:
        if line.startswith("dh_pyrpath: error:"):
            return line[len("dh_pyrpath: error:"):].strip()
    errors = [line for line in lines if "error" in line.lower()]
    return errors[-1].strip() if errors else "the build failed"


def isolation(deb, package, work):
    """dh_pyrpath's own checks (verify.py) run again on the tree the .deb ships, unpacked:
    the ELF layout (no libpython needed by bin/python3.X; DT_RPATH on the shared one), the
    loader (`ldd`, with and without LD_LIBRARY_PATH at the system's libraries), the running
    interpreter (/proc/self/maps holds no libpython; sys.path and modules inside the prefix);
    then the service's own selftest with that interpreter."""
    root = fresh_dir(work / "unpacked" / package)
    run(["dpkg-deb", "-x", deb, root])
    prefix = root / "opt" / package
    pythons = sorted(p.name for p in (prefix / "bin").glob("python3.*")
                     if re.fullmatch(r"python3\.\d+", p.name))
    if not pythons:
        return {"elf": [f"the .deb has no bin/python3.X under /opt/{package}"]}
    xy = pythons[0][len("python"):]
    found = {"elf": verify.check_elf(str(prefix), xy),
             "loader": verify.check_loader(str(prefix), xy),
             "runtime": verify.check_runtime(str(prefix), xy, smoke=True)}
    proc = subprocess.run([prefix / "bin" / f"python{xy}", "-I", "-m", "matrix_service"],
                          text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd="/",
                          env={"PATH": SYSTEM_PATH, "LC_ALL": "C.UTF-8", "HOME": "/nonexistent"})
    out = proc.stdout.strip()
    found["service"] = out if proc.returncode == 0 and out.startswith("ok ") else \
        f"selftest failed: {out.splitlines()[-1] if out else proc.returncode}"
    if found["service"].startswith("ok "):
        found["version"] = found["service"].split()[1]
    shutil.rmtree(root, ignore_errors=True)
    return found


def isolation_problems(found):
    problems = [p for key in ("elf", "loader", "runtime") for p in found.get(key, [])]
    if not found.get("verify"):
        problems.insert(0, "dh_pyrpath's verify stage did not run in the build")
    if not str(found.get("service", "")).startswith("ok "):
        problems.append(found.get("service") or "the service's selftest did not run")
    return problems


# ---------------------------------------------------------------- report

def isolation_cell(entry):
    if entry.status == "source not obtainable" or not entry.isolation:
        return "-"
    problems = isolation_problems(entry.isolation)
    return "ok" if not problems else f"FAILED ({len(problems)})"


def report(res):
    meta = res["meta"]
    out = ["dh-pyrpath version matrix: a tiny service built with each CPython source",
           f"date: {meta['date']}   host: {meta['host']} ({meta['cpus']} cpus)   "
           f"command: {meta['command']}",
           f"dh-pyrpath: this checkout, {meta['git']} (snapshot {meta['tool']})   interpreter "
           f"builds: {meta['profile']}   load average (1 min): start {meta['load_start']:.1f}, "
           f"end {meta.get('load_end', float('nan')):.1f}",
           "build: wall time of dpkg-buildpackage -b with an empty cache (CPython's source "
           "fetched and compiled); isolation: dh_pyrpath's verify in the build, then its ELF, "
           "ldd (also with LD_LIBRARY_PATH) and /proc/self/maps checks on the .deb's tree, "
           "and the service's selftest", ""]
    rows = []
    for e in res["entries"]:
        b = e["build"]
        rows.append([e["version"] or "?", e["spec"] or e["asked"], e["where"], e["status"],
                     fmt_s(b.get("seconds")),
                     (profile_of(b) or "cached") if b else "-",
                     f"{b['deb_bytes'] / MB:.2f} MB" if b else "-",
                     f"{b['installed_kib'] * 1024 / MB:.1f} MB" if b else "-",
                     isolation_cell(Entry(**e))])
    out += table(["CPython", "source", "from", "result", "build", "interpreter", ".deb",
                  "installed", "isolation"], rows)
    for e in res["entries"]:
        name = e["version"] or e["asked"]
        if e["build"]:
            out.append(f"  {name}: dh_pyrpath stages: {stages(e['build'])}")
        if e["status"] == "source not obtainable":
            out.append(f"  {name} ({e['asked']}): source not obtainable: {e['reason']}")
        elif e["reason"]:
            out.append(f"  {name}: {e['status']}: {e['reason']}")
        if e["isolation"].get("service"):
            out.append(f"  {name}: selftest with the packaged interpreter: "
                       f"{e['isolation']['service']}")
    return out


def write(res, output, final=True):
    lines = report(res)
    if not final:
        lines += ["", "(provisional: more versions are still being built)"]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines) + "\n")
    output.with_suffix(".json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    return lines


# ---------------------------------------------------------------- the command

def render(path):
    try:
        res = json.loads(Path(path).read_text())
        lines = report(res)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"{path} is not a results file of bench/matrix ({exc}): give a "
                         "bench/results/matrix.json") from None
    for line in lines:
        say(line)
    return 0


def main(argv):
    args = parse_args(argv)
    if args.render:
        return render(args.render)
    if os.geteuid() != 0:
        raise BenchError("run as root: it fetches apt lists into private configurations and "
                         "may install dh-pyrpath's build dependencies (sudo bench/matrix)")
    os.environ["PATH"] = SYSTEM_PATH
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    work = host.WORK_ROOT / datetime.datetime.now().strftime("matrix-%Y%m%d-%H%M%S")
    work.mkdir(parents=True)
    ok = False
    try:
        host.ensure_tool(work / "logs" / "host-setup.log")
        builds.TOOL.update(host.snapshot_tool(work))
        res = {"meta": {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
                        **host.meta(" ".join(["bench/matrix", *argv]), builds.TOOL["digest"],
                                    ("dh-pyrpath", "debhelper")),
                        "profile": "plain (DEB_BUILD_OPTIONS=noopt)" if args.noopt else
                                   "default (PGO+LTO)",
                        "load_start": os.getloadavg()[0]},
               "entries": []}
        say(f"work directory: {work}")
        say("resolving the sources (apt lists of other releases are fetched once a day)")
        for entry in args.entries:
            resolve(entry)
            say(f"  {entry.asked}: " + (entry.spec if entry.status == "pending" else
                                        f"{entry.status}: {entry.reason}"))
        name_apart(args.entries)
        res["entries"] = [asdict(e) for e in args.entries]
        for i, entry in enumerate(args.entries):
            if entry.status == "pending":
                say(f"building with CPython {entry.version} ({entry.spec}), empty cache: the "
                    "interpreter is compiled")
                build_entry(entry, work, args.noopt)
                say(f"  CPython {entry.version}: {entry.status}, isolation "
                    f"{isolation_cell(entry)}" + (f": {entry.reason}" if entry.reason else ""))
            res["entries"][i] = asdict(entry)
            res["meta"]["load_end"] = os.getloadavg()[0]
            write(res, args.output, final=i + 1 == len(args.entries))
        say("")
        for line in report(res):
            say(line)
        say(f"\nwritten: {args.output} and {args.output.with_suffix('.json')}")
        ok = True
    finally:
        if args.keep:
            say(f"kept: {work}")
        elif ok and all(e.status != "FAIL" for e in args.entries):
            shutil.rmtree(work, ignore_errors=True)
        else:
            for child in work.iterdir():
                if child.name != "logs":
                    shutil.rmtree(child, ignore_errors=True)
            say(f"bench/matrix: logs kept in {work / 'logs'}")
    return 0 if all(e.status != "FAIL" for e in args.entries) else 1

