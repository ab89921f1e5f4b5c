"""Installed packages: start-up times taken in rounds, the paired ratio of two commands, smoke
runs, and the files a first run writes into a prefix."""
import os
import statistics
import subprocess
import time
from pathlib import Path

from .proc import SYSTEM_PATH, BenchError, on_bench_cpu
from .projects import PROJECTS, prefix_of


def files_under(path):
    """path -> (mtime, size) of everything under path (to spot files a run adds or rewrites)."""
    out = {}
    for p in Path(path).rglob("*"):
        st = p.lstat()
        out[str(p)] = (st.st_mtime_ns, st.st_size)
    return out


def changed(before, after):
    return len([p for p, sig in after.items() if before.get(p) != sig])


def time_commands(cmds, runs, warmup):
    """Wall times (s) of each command, one per round, every command once per round, back to back
    (a noisy shared host slows a whole round alike: compare within rounds, see paired());
    stdout and stderr discarded."""
    times = {name: [] for name in cmds}
    env = {"PATH": SYSTEM_PATH, "LC_ALL": "C.UTF-8", "HOME": os.environ.get("HOME", "/root")}
    for i in range(warmup + runs):
        for name, cmd in cmds.items():
            start = time.perf_counter()
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=env, preexec_fn=on_bench_cpu)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise BenchError(f"{' '.join(cmd)} exited {proc.returncode}")
            if i >= warmup:
                times[name].append(elapsed)
    return times


def paired(times, a, b):
    """a's time over b's: the median of the ratios within each round of time_commands()."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def smoke(project, variant):
    proj = PROJECTS[project]
    script = prefix_of(project, variant) / "bin" / proj["script"]
    env = {"PATH": SYSTEM_PATH, "LC_ALL": "C.UTF-8"}
    results = []
    for args, want in ((proj["smoke"], proj["smoke_out"]),
                       (proj.get("smoke2"), proj.get("smoke2_out"))):
        if not args:
            continue
        proc = subprocess.run([str(script), *args], env=env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        results.append(proc.returncode == 0 and want in proc.stdout)
    return all(results)
