"""The report: plain-text tables made from the raw results (the JSON written beside it), so a
results file can be rendered again (`bench/run --render FILE.json`)."""
import json
import statistics

from . import targets
from .builds import MB, interpreter_profile
from .projects import LABEL, PROJECTS, VARIANTS, pins
from .proc import say
from .speed import geomean
from .text import fmt_s, ratio, table
from .timing import paired


def median_of(results, key):
    vals = [r[key] for r in results]
    return statistics.median(vals) if vals else None


def reference(meta):
    """The name of the system interpreter the run compared with ("python3.11")."""
    return meta.get("python") or next(p for p in meta["versions"] if p.startswith("python3."))


def header(res, args):
    meta = res["meta"]
    python = reference(meta)
    installs = (f"install {args.install_runs}, "
                if any("install" in p for p in res["projects"].values()) else "")
    return ["dh-pyrpath benchmark: dh-pyrpath vs dh-virtualenv",
            f"date: {meta['date']}   host: {meta['host']} ({meta['cpus']} cpus)   "
            f"command: {meta['command']}",
            f"dh-pyrpath: this checkout, {meta['git']} (snapshot {meta['tool']})   "
            f"dh-virtualenv {meta['versions']['dh-virtualenv']}   "
            f"debhelper {meta['versions']['debhelper']}   {python} "
            f"{meta['versions'][python]}",
            f"runs: cold {args.cold_runs}, warm {args.warm_runs}, start-up {args.startup_runs} "
            f"(+{args.startup_warmup} warm-up), {installs}pybench rounds "
            f"{args.bench_rounds}; every "
            f"figure is a median (a start-up ratio: of the ratios within each round).   "
            f"load average (1 min): start {meta['load_start']:.1f}, "
            f"end {meta.get('load_end', float('nan')):.1f}", ""]


def project_section(project, pres, python, found):
    """The table of one project; what the targets need goes into `found`."""
    out = []
    b = pres["builds"]
    out.append(f"== {project} ({pins(project)} pinned dependencies) ==")
    rows = []
    cold = {v: median_of(b[v]["cold"], "seconds") for v in VARIANTS}
    warm = {v: median_of(b[v]["warm"], "seconds") for v in VARIANTS}
    profile = profile_of(b["pyrpath"]["cold"][-1]) if b["pyrpath"]["cold"] else None
    rows.append([f"cold build, empty caches (interpreter: {profile or 'cached'})",
                 fmt_s(cold["pyrpath"]),
                 fmt_s(cold["venv"]), ratio(cold["pyrpath"], cold["venv"])])
    rows.append(["warm rebuild, caches warm (each tool's default .deb compression)",
                 fmt_s(warm["pyrpath"]), fmt_s(warm["venv"]),
                 ratio(warm["pyrpath"], warm["venv"])])
    warm_zstd = median_of(b["venv"].get("warm-zstd", []), "seconds")
    if warm_zstd:
        rows.append(["  same, dh-virtualenv with zstd too", fmt_s(warm["pyrpath"]),
                     fmt_s(warm_zstd), ratio(warm["pyrpath"], warm_zstd)])
    last = {v: (b[v]["warm"] or b[v]["cold"])[-1] for v in VARIANTS}
    deb = {v: last[v]["deb_bytes"] / MB for v in VARIANTS}
    inst = {v: last[v]["installed_kib"] * 1024 / MB for v in VARIANTS}
    dbg = {v: last[v]["dbgsym_bytes"] / MB for v in VARIANTS}
    rows.append([".deb size (dh-pyrpath: zstd, make-deb's; dh-virtualenv: xz)",
                 f"{deb['pyrpath']:.2f} MB", f"{deb['venv']:.2f} MB",
                 ratio(deb["pyrpath"], deb["venv"])])
    if b["venv"].get("warm-zstd"):
        zstd_mb = b["venv"]["warm-zstd"][-1]["deb_bytes"] / MB
        rows.append(["  same, dh-virtualenv with zstd too", f"{deb['pyrpath']:.2f} MB",
                     f"{zstd_mb:.2f} MB", ratio(deb["pyrpath"], zstd_mb)])
    rows.append(["-dbgsym .deb size", f"{dbg['pyrpath']:.2f} MB", f"{dbg['venv']:.2f} MB",
                 ratio(dbg["pyrpath"], dbg["venv"]) if dbg["venv"] else "-"])
    rows.append(["installed size (Installed-Size)", f"{inst['pyrpath']:.1f} MB",
                 f"{inst['venv']:.1f} MB", ratio(inst["pyrpath"], inst["venv"])])
    rows.append(["files in the .deb (not directories)", str(last["pyrpath"]["files"]),
                 str(last["venv"]["files"]),
                 ratio(last["pyrpath"]["files"], last["venv"]["files"])])
    ip = pres.get("interpreter_part")
    if ip:
        rows.append(["  of which the interpreter alone (.deb, xz)", f"{ip[0] / MB:.2f} MB",
                     f"(system {python})", "-"])
    # with --optimize, the console start-ups are timed again at the end, all three builds in
    # the same rounds; the interpreter start-ups come from the first timing
    st, sa = pres.get("startup", {}), pres.get("startup_all")
    sc = sa or st
    script = PROJECTS[project]["script"]
    if st:
        ms = {k: statistics.median(v) * 1000 for k, v in {**st, **(sa or {})}.items()}
        rows.append([f"console start-up `{script} --help`",
                     f"{ms['script-pyrpath']:.1f} ms", f"{ms['script-venv']:.1f} ms",
                     f"{paired(sc, 'script-pyrpath', 'script-venv'):.2f}x"])
        if sa:
            rows.append(["  same, --optimize interpreter, same rounds",
                         f"{ms['script-pyrpath-opt']:.1f} ms", f"{ms['script-venv']:.1f} ms",
                         f"{paired(sa, 'script-pyrpath-opt', 'script-venv'):.2f}x"])
        rows.append(["interpreter start-up `python -I -c pass`",
                     f"{ms['python-pyrpath']:.1f} ms", f"{ms['python-venv']:.1f} ms",
                     f"{paired(st, 'python-pyrpath', 'python-venv'):.2f}x"])
    inst_t = pres.get("install")
    if inst_t:
        secs = {v: statistics.median(inst_t[v]) for v in VARIANTS}
        rows.append(["install on a target: `dpkg -i` (unpack, postinst, triggers)",
                     fmt_s(secs["pyrpath"]), fmt_s(secs["venv"]),
                     f"{paired(inst_t, 'pyrpath', 'venv'):.2f}x"])
        du = {v: pres["installed_bytes"][v] / MB for v in VARIANTS}
        rows.append(["  prefix on disk after it (bytecode included)", f"{du['pyrpath']:.1f} MB",
                     f"{du['venv']:.1f} MB", ratio(du["pyrpath"], du["venv"])])
    sm = pres.get("smoke", {})
    if sm:
        rows.append(["installed package works (smoke run)",
                     "ok" if sm.get("pyrpath") else "FAILED",
                     "ok" if sm.get("venv") else "FAILED", "-"])
    written = pres.get("written", {})
    if written:
        rows.append(["files its first runs added or rewrote in the prefix", str(written["pyrpath"]),
                     str(written["venv"]), "-"])
    out += table(["metric", "dh-pyrpath", "dh-virtualenv", "ratio"], rows)
    if profile:
        out.append(f"  dh-pyrpath cold build, {profile} interpreter: "
                   + stages(b["pyrpath"]["cold"][-1]))
    # where the time goes in a warm rebuild
    for v in VARIANTS:
        runs = b[v]["warm"] or b[v]["cold"]
        steps = runs[-1]["steps"]
        top = sorted(steps.items(), key=lambda kv: -kv[1])[:6]
        out.append(f"  {LABEL[v]} {'warm' if b[v]['warm'] else 'cold'} build, slowest steps: "
                   + ", ".join(f"{k} {s:.1f}s" for k, s in top))
        if runs[-1]["stages"]:
            out.append("    dh_pyrpath stages: " + stages(runs[-1]))
    if b.get("pyrpath-opt"):
        kind = "cold" if b["pyrpath-opt"]["cold"] else "warm"
        o = b["pyrpath-opt"][kind][-1]
        out.append("  dh-pyrpath --optimize build (PGO: the workload, then CPython's test "
                   "task; LTO), "
                   f"{'empty caches' if kind == 'cold' else 'interpreter cached'}: "
                   f"{fmt_s(o['seconds'])}, .deb {o['deb_bytes'] / MB:.2f} MB, installed "
                   f"{o['installed_kib'] * 1024 / MB:.1f} MB; dh_pyrpath stages: " + stages(o))
    out.append("")
    found.setdefault("warm", []).append((project, warm["pyrpath"] / warm["venv"]))
    found.setdefault("cold", []).append((project, cold["pyrpath"], profile))
    found.setdefault("deb_diff", []).append((project, deb["pyrpath"] - deb["venv"]))
    if ip:
        found.setdefault("interp_part", []).append((project, ip[0] / MB))
    if st:
        found.setdefault("startup", []).append(
            (project, paired(sc, "script-pyrpath", "script-venv")))
    if sa:
        found.setdefault("startup_opt", []).append(
            (project, paired(sa, "script-pyrpath-opt", "script-venv")))
    if inst_t:
        found.setdefault("install", []).append((project, paired(inst_t, "pyrpath", "venv")))
    return out


def profile_of(result):
    """How a build's interpreter was compiled (builds.interpreter_profile), for results written
    before builds recorded it too."""
    if "interpreter" in result:
        return result["interpreter"]
    return interpreter_profile(result["stages"])


def stages(result):
    return ", ".join(f"{k} {s:.1f}s" for k, s in result["stages"].items())


def speed_section(pb, args, python, found):
    out = [f"== interpreter speed: bench/pybench.py, {args.bench_rounds} rounds on one CPU; "
           f"time: median; speed: median of /usr/bin/{python} time / this time, "
           "within each round =="]
    names = [n for n in ("pyrpath", "pyrpath-opt", "venv") if n in pb["median"]]
    head = ["benchmark", f"{python} (system)"]
    for n in names:
        head += [LABEL[n] if n != "venv" else "dh-virtualenv venv", "speed"]
    rows = []
    sysm = pb["median"]["system"]
    for bench in sysm:
        row = [bench, f"{sysm[bench] * 1000:.0f} ms"]
        for n in names:
            t = pb["median"][n][bench]
            row += [f"{t * 1000:.0f} ms", f"{pb['speed'][n][bench]:.3f}"]
        rows.append(row)
    row = ["geometric mean", ""]
    gm = {}
    for n in names:
        gm[n] = geomean(pb["speed"][n].values())
        row += ["", f"{gm[n]:.3f}"]
    rows.append(row)
    out += table(head, rows)
    out.append(f"  (the dh-virtualenv column runs /usr/bin/{python} itself through the venv's "
               "symlink: its distance from 1.000 shows the noise of this run)")
    out.append("")
    found["speed"] = gm
    return out


def report(res, args):
    python = reference(res["meta"])
    out = header(res, args)
    found = res["targets"] = {}
    for project, pres in res["projects"].items():
        out += project_section(project, pres, python, found)
    if res.get("pybench"):
        out += speed_section(res["pybench"], args, python, found)
    out += targets.block(found, args, python)
    return out


def write_report(res, args, final):
    lines = report(res, args)
    if not final:
        lines.append("")
        lines.append("(provisional: the --optimize build and its speed are still being measured)")
    say("")
    for line in lines:
        say(line)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    args.output.with_suffix(".json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    say(f"\nwritten: {args.output} and {args.output.with_suffix('.json')}")
