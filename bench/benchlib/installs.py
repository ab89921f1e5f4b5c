"""Installing the packages as a target does: `dpkg -i` of each .deb, timed (the unpack, the
maintainer scripts, triggers), purged between runs; and purging the bench
packages before and after a run."""
import os
import subprocess
import time

from .proc import SYSTEM_PATH, BenchError, apt_get, installed_version, run
from .projects import all_package_names

# dpkg has no lock timeout of its own; someone else's apt run on a shared host holds the lock
LOCKED = ("dpkg frontend lock", "dpkg status database is locked", "lock-frontend")
LOCK_WAIT = 900  # seconds


def purge_bench_packages(log):
    present = [n for n in all_package_names() if installed_version(n)]
    if present:
        apt_get("purge", *present, log=log)
    return present


def dpkg(args, log):
    """Run dpkg with its output appended to `log`; the wall time of the run that got the lock
    (a run refused because someone else holds it is retried, not timed)."""
    env = {"PATH": SYSTEM_PATH, "LC_ALL": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive",
           "HOME": os.environ.get("HOME", "/root")}
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        start = time.perf_counter()
        proc = subprocess.run(["dpkg", *map(str, args)], env=env, text=True,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - start
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"$ dpkg {' '.join(map(str, args))}    ({seconds:.2f} s)\n{proc.stdout}")
        if proc.returncode == 0:
            return seconds
        if any(m in proc.stdout for m in LOCKED) and time.monotonic() < deadline:
            time.sleep(5)
            continue
        raise BenchError(f"dpkg {' '.join(map(str, args))} exited {proc.returncode}; log: {log}\n"
                         + "\n".join(proc.stdout.splitlines()[-20:]))


def time_installs(debs, runs, log):
    """{name: [seconds of `dpkg -i`, one per round]} for debs {name: (package, .deb)}: in each
    round every package is purged and installed again, one after the other (the order
    alternating), so that ratios within a round compare them under the same load."""
    times = {name: [] for name in debs}
    names = list(debs)
    for r in range(runs):
        for name in (names if r % 2 == 0 else names[::-1]):
            package, deb = debs[name]
            dpkg(["--purge", package], log)
            times[name].append(dpkg(["-i", deb], log))
    return times


def disk_usage(path):
    """Bytes under path (apparent size): the prefix after its postinst, bytecode included."""
    return int(run(["du", "-s", "--block-size=1", "--apparent-size", path]).split()[0])
