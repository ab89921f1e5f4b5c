"""bench/run: its options, and the order of the measurements.

Order: cold builds, warm rebuilds, sizes, then the default builds installed side by side with
dh-virtualenv's for start-up and speed; a provisional report; then the --optimize build, its
start-up and speed, and the final report."""
import argparse
import datetime
import json
import os
import shlex
import shutil
import signal
from pathlib import Path

from . import builds, host
from .builds import build, fresh_caches, interpreter_part_bytes, keep_deb
from .installs import disk_usage, purge_bench_packages, time_installs
from .proc import SYSTEM_PATH, BenchError, apt_get, say
from .projects import PROJECTS, VARIANTS, package_name, prefix_of, python_of, script_of
from .report import report, write_report
from .speed import run_pybench
from .timing import changed, files_under, smoke, time_commands

DESCRIPTION = "Benchmark dh-pyrpath against dh-virtualenv, side by side, in one run; print the numbers."


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="bench/run", description=DESCRIPTION)
    ap.add_argument("--quick", action="store_true",
                    help="development run: 1 run of everything, hello-service only")
    ap.add_argument("--skip-optimize", action="store_true",
                    help="do not build the --optimize interpreter (the workload, then "
                         "CPython's own PGO task, + LTO: the run's longest build)")
    ap.add_argument("--cold-runs", type=int, default=None, help="cold builds per variant (1)")
    ap.add_argument("--warm-runs", type=int, default=None, help="warm rebuilds per variant (3)")
    ap.add_argument("--startup-runs", type=int, default=None, help="timed start-ups (20)")
    ap.add_argument("--startup-warmup", type=int, default=3, help="untimed start-ups first (3)")
    ap.add_argument("--install-runs", type=int, default=None,
                    help="timed `dpkg -i` of each package, purged before each (5)")
    ap.add_argument("--bench-rounds", type=int, default=None,
                    help="rounds of bench/pybench.py (20)")
    ap.add_argument("--projects", default=None,
                    help="comma-separated subset of: " + ", ".join(PROJECTS))
    ap.add_argument("--output", type=Path, default=None,
                    help="report file (default bench/results/latest.txt; quick.txt for --quick)")
    ap.add_argument("--keep", action="store_true",
                    help=f"keep the work directory under {host.WORK_ROOT} and the installed packages")
    ap.add_argument("--render", type=Path, metavar="JSON",
                    help="measure nothing: print the report of a results file again (its raw "
                         "numbers, with its own command's options)")
    args = ap.parse_args(argv)
    q = args.quick
    args.cold_runs = args.cold_runs if args.cold_runs is not None else 1
    args.warm_runs = args.warm_runs if args.warm_runs is not None else (1 if q else 3)
    args.startup_runs = args.startup_runs if args.startup_runs is not None else (10 if q else 20)
    args.bench_rounds = args.bench_rounds if args.bench_rounds is not None else (5 if q else 20)
    args.install_runs = args.install_runs if args.install_runs is not None else (3 if q else 5)
    if q:
        args.startup_warmup = min(args.startup_warmup, 2)
    if args.projects:
        args.projects = args.projects.split(",")
        unknown = set(args.projects) - set(PROJECTS)
        if unknown:
            ap.error(f"unknown project(s): {', '.join(sorted(unknown))}")
    else:
        args.projects = ["hello-service"] if q else list(PROJECTS)
    if min(args.cold_runs, args.startup_runs, args.bench_rounds, args.install_runs) < 1 \
            or args.warm_runs < 0:
        ap.error("--cold-runs, --startup-runs, --install-runs and --bench-rounds must be >= 1, "
                 "--warm-runs >= 0")
    if args.output is None:
        args.output = host.BENCH / "results" / ("quick.txt" if q else "latest.txt")
    return args


def render(path):
    """The report of a results file, as its run printed it."""
    try:
        res = json.loads(Path(path).read_text())
        argv = shlex.split(res["meta"]["command"])[1:]
    except (OSError, ValueError, KeyError) as exc:
        raise BenchError(f"{path} is not a results file of bench/run ({exc}): give a "
                         "bench/results/*.json") from None
    args = parse_args(argv)
    for line in report(res, args):
        say(line)
    return 0


def say_plan(args):
    """What the run will measure, in order, before it starts (docs/bench.md says more)."""
    say(f"bench/run: {', '.join(args.projects)}; dh-pyrpath (python-source = "
        f"debian:{host.python()}, default build: PGO+LTO) against dh-virtualenv "
        f"(--python {host.system_python()})")
    steps = [f"cold builds x{args.cold_runs} (dpkg-buildpackage -b, empty caches: CPython "
             "compiled for each project)",
             f"warm rebuilds x{args.warm_runs} (same command, caches warm)",
             f"start-up x{args.startup_runs} rounds (+{args.startup_warmup} warm-up) of the "
             "installed console scripts",
             f"install x{args.install_runs} rounds (dpkg -i, purged before each)",
             f"pybench x{args.bench_rounds} rounds against {host.system_python()}"]
    if not args.skip_optimize:
        steps.append("then the --optimize build (the workload, then CPython's own PGO task, "
                     "+ LTO), its start-up and pybench again")
    for i, step in enumerate(steps, 1):
        say(f"  {i}. {step}")


def measure_builds(args, work, projects):
    """Cold builds (fresh, empty caches per project and run), then warm rebuilds with the
    caches of the last cold build, alternating the tools' order."""
    warm_caches = {}
    for i in range(args.cold_runs):
        for project in args.projects:
            say(f"cold builds, {project}, run {i + 1}/{args.cold_runs}")
            caches = fresh_caches(work, f"{project}-cold{i}")
            old = warm_caches.get(project)
            for v in VARIANTS:
                r = build(project, v, work, caches, f"{project}-{v}-cold{i}")
                projects[project]["builds"][v]["cold"].append(r)
                keep_deb(r, work)
            warm_caches[project] = caches
            if old:
                shutil.rmtree(old)
    for i in range(args.warm_runs):
        for project in args.projects:
            say(f"warm rebuilds, {project}, run {i + 1}/{args.warm_runs}")
            for v in (VARIANTS if i % 2 == 0 else VARIANTS[::-1]):
                r = build(project, v, work, warm_caches[project], f"{project}-{v}-warm{i}")
                projects[project]["builds"][v]["warm"].append(r)
                keep_deb(r, work)
            # dh-virtualenv with the compressor make-deb chooses: the same-compressor ratio
            r = build(project, "venv", work, warm_caches[project], f"{project}-venv-zstd-warm{i}",
                      {"DPKG_DEB_COMPRESSOR_TYPE": "zstd"})
            projects[project]["builds"]["venv"].setdefault("warm-zstd", []).append(r)
            shutil.rmtree(Path(r["deb"]).parent)  # its .deb is not the one installs time
    for caches in warm_caches.values():
        shutil.rmtree(caches)


def last_deb(projects, project, variant):
    runs = projects[project]["builds"][variant]
    return (runs["warm"] or runs["cold"])[-1]["deb"]


def measure_installed(args, work, projects, hostlog):
    """The interpreter's share of the .deb; the default builds and dh-virtualenv's installed
    side by side (distinct package names and prefixes): smoke runs, start-up, files written;
    then each installed again with `dpkg -i`, timed, as on a target."""
    for project in args.projects:
        projects[project]["interpreter_part"] = interpreter_part_bytes(
            last_deb(projects, project, "pyrpath"), package_name(project, "pyrpath"), work)
    debs = [last_deb(projects, project, v) for project in args.projects
            for v in projects[project]["builds"]]
    say(f"installing {len(debs)} packages with apt-get")
    apt_get("install", "--no-install-recommends", *debs, log=hostlog)
    for project in args.projects:
        pres = projects[project]
        before = {v: files_under(prefix_of(project, v)) for v in VARIANTS}
        pres["smoke"] = {v: smoke(project, v) for v in VARIANTS}
        cmds = {}
        for v in VARIANTS:
            cmds[f"script-{v}"] = script_of(project, v)
            cmds[f"python-{v}"] = [str(python_of(project, v)), "-I", "-c", "pass"]
        say(f"start-up, {project}: {args.startup_runs} runs of each, interleaved")
        pres["startup"] = time_commands(cmds, args.startup_runs, args.startup_warmup)
        pres["written"] = {v: changed(before[v], files_under(prefix_of(project, v)))
                           for v in VARIANTS}
        say(f"install, {project}: `dpkg -i` of each package, {args.install_runs} rounds, "
            "purged before each (timed: unpack, maintainer scripts, triggers)")
        pres["install"] = time_installs(
            {v: (package_name(project, v), last_deb(projects, project, v)) for v in VARIANTS},
            args.install_runs, hostlog)
        pres["installed_bytes"] = {v: disk_usage(prefix_of(project, v)) for v in VARIANTS}


def measure_speed(res, pythons, args, again=False):
    what = ("interpreter speed again, with the --optimize build:" if again else
            "interpreter speed: bench/pybench.py x")
    say(f"{what} {args.bench_rounds} rounds on {len(pythons)} interpreters")
    median, speed, raw = run_pybench(pythons, args.bench_rounds)
    res["pybench"] = {"median": median, "speed": speed, "raw": raw}
    res["meta"]["load_end"] = os.getloadavg()[0]


def measure_optimize(args, work, projects, hostlog):
    """The --optimize builds: cold for the first project, then with that interpreter cached;
    installed; every project's start-up timed again with all three builds in the same rounds."""
    opt_project = args.projects[0]
    say(f"cold build with --optimize (PGO trained by the workload, then CPython's own test "
        f"task, LTO), {opt_project}: the longest build of the run; then the other projects "
        "with that interpreter cached")
    caches = fresh_caches(work, "opt")
    for i, project in enumerate(args.projects):
        kind = "cold" if i == 0 else "warm"
        r = build(project, "pyrpath-opt", work, caches, f"{project}-pyrpath-opt-{kind}")
        projects[project]["builds"]["pyrpath-opt"] = {"cold": [], "warm": [], kind: [r]}
        keep_deb(r, work)
        apt_get("install", "--no-install-recommends", r["deb"], log=hostlog)
        projects[project]["smoke"]["pyrpath-opt"] = smoke(project, "pyrpath-opt")
    shutil.rmtree(caches)
    for project in args.projects:
        cmds = {f"script-{v}": script_of(project, v) for v in ("pyrpath", "pyrpath-opt", "venv")}
        say(f"start-up, {project}, all three builds: {args.startup_runs} rounds")
        projects[project]["startup_all"] = time_commands(cmds, args.startup_runs,
                                                         args.startup_warmup)


def main(argv):
    args = parse_args(argv)
    if args.render:
        return render(args.render)
    if os.geteuid() != 0:
        raise BenchError("run as root: it installs packages (sudo bench/run)")
    os.environ["PATH"] = SYSTEM_PATH
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    host.WORK_ROOT.mkdir(parents=True, exist_ok=True)
    work = host.WORK_ROOT / datetime.datetime.now().strftime("run-%Y%m%d-%H%M%S")
    work.mkdir()
    hostlog = work / "logs" / "host.log"
    ok = False
    try:
        host.prepare(work)
        purge_bench_packages(hostlog)  # leftovers of an interrupted earlier run
        builds.TOOL.update(host.snapshot_tool(work))
        res = {"meta": {
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            **host.meta(" ".join(["bench/run", *argv]), builds.TOOL["digest"],
                        ("dh-pyrpath", "dh-virtualenv", "debhelper", host.python())),
            "python": host.python(),
            "load_start": os.getloadavg()[0]}, "projects": {}}
        say(f"work directory: {work}")
        say_plan(args)
        projects = {p: {"builds": {v: {"cold": [], "warm": []} for v in VARIANTS}}
                    for p in args.projects}
        res["projects"] = projects
        measure_builds(args, work, projects)
        measure_installed(args, work, projects, hostlog)
        opt_project = args.projects[0]
        pythons = {"system": host.system_python(),
                   "pyrpath": str(python_of(opt_project, "pyrpath")),
                   "venv": str(python_of(opt_project, "venv"))}
        measure_speed(res, pythons, args)
        # the report without the --optimize build, written now: that build takes long
        write_report(res, args, final=args.skip_optimize)
        if not args.skip_optimize:
            measure_optimize(args, work, projects, hostlog)
            pythons["pyrpath-opt"] = str(python_of(opt_project, "pyrpath-opt"))
            measure_speed(res, pythons, args, again=True)
            write_report(res, args, final=True)
        ok = True
    finally:
        finish(args, work, hostlog, ok)
    return 0


def finish(args, work, hostlog, ok):
    """Purge the bench packages and remove the work directory (a failed run keeps its logs),
    unless --keep."""
    if args.keep:
        say(f"kept: {work} (and the installed bench-* packages)")
        return
    try:
        purged = purge_bench_packages(hostlog)
        if purged:
            say(f"purged: {', '.join(purged)}")
    except BenchError as exc:
        say(f"bench/run: warning: purging the benchmark packages failed: {exc}")
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    else:  # keep the logs of a failed run, nothing else
        for child in work.iterdir():
            if child.name != "logs":
                shutil.rmtree(child, ignore_errors=True)
        say(f"bench/run: logs kept in {work / 'logs'}")

