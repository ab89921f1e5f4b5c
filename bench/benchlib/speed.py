"""bench/pybench.py under several interpreters, in paired rounds on one CPU."""
import json
import math
import os
import statistics

from pybench import BENCHMARKS  # bench/, the directory above this package, is on sys.path

from . import host
from .proc import SYSTEM_PATH, on_bench_cpu, run, say

PYBENCH = host.BENCH / "pybench.py"


def run_pybench(pythons, rounds):
    """bench/pybench.py, one benchmark per process, every interpreter back to back on one CPU,
    in an order rotated each round. Per benchmark: the median time over rounds, and the speed
    as the median over rounds of system time / this time within the round. On a shared host
    the noise comes in slow phases of seconds; a ratio taken within a round cancels them (the
    same binary measured twice this way agrees within 0.5%; separate medians disagreed by up
    to 3%)."""
    raw = {name: {} for name in pythons}
    ratios = {name: {} for name in pythons}
    names = list(pythons)
    env = {"PATH": SYSTEM_PATH, "LC_ALL": "C.UTF-8"}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for bench in BENCHMARKS:
            times = {}
            for name in order:
                out = run([pythons[name], "-I", PYBENCH, "--only", bench], env=env,
                          preexec_fn=on_bench_cpu)
                times[name] = json.loads(out.strip().splitlines()[-1])[bench]
                raw[name].setdefault(bench, []).append(times[name])
            for name in names:
                ratios[name].setdefault(bench, []).append(times["system"] / times[name])
        if (r + 1) % 5 == 0 or r + 1 == rounds:
            say(f"  pybench round {r + 1}/{rounds} done (load {os.getloadavg()[0]:.1f})")
    median = {name: {b: statistics.median(v) for b, v in benches.items()}
              for name, benches in raw.items()}
    speed = {name: {b: statistics.median(v) for b, v in benches.items()}
             for name, benches in ratios.items()}
    return median, speed, raw


def geomean(values):
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")
