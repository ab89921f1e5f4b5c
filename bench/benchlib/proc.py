"""Running commands: captured or into a time-stamped log, apt-get, and the CPU timed processes
run on."""
import os
import subprocess
import sys
import time
from pathlib import Path

SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class BenchError(Exception):
    pass


def say(text=""):
    print(text, flush=True)


def run(cmd, log=None, cwd=None, env=None, check=True, timestamps=False, preexec_fn=None):
    """Run cmd; output to `log` (with elapsed-time stamps if asked) or captured and returned."""
    cmd = [str(c) for c in cmd]
    env = env if env is not None else {**os.environ, "PATH": SYSTEM_PATH}
    if log is None:
        proc = subprocess.run(cmd, cwd=cwd, env=env, text=True, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              preexec_fn=preexec_fn)
        if check and proc.returncode != 0:
            raise BenchError(f"{' '.join(cmd)} exited {proc.returncode}:\n"
                             + "\n".join(proc.stdout.splitlines()[-30:]))
        return proc.stdout
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with open(log, "a", encoding="utf-8", errors="replace") as fh:
        fh.write(f"$ {' '.join(cmd)}    (in {cwd or os.getcwd()})\n")
        fh.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                preexec_fn=preexec_fn)
        tail = []
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            fh.write(f"[{time.monotonic() - start:8.2f}] {line}" if timestamps else line)
            fh.flush()  # the log can be followed while a long build runs
            tail.append(line.rstrip("\n"))
            del tail[:-40]
        proc.wait()
    if check and proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} exited {proc.returncode}; log: {log}\n"
                         + "\n".join(tail))
    return proc.returncode


def apt_get(*args, log):
    env = {**os.environ, "PATH": SYSTEM_PATH, "DEBIAN_FRONTEND": "noninteractive"}
    for var in [k for k in env if k.startswith(("PYTHON", "PIP_"))]:
        del env[var]
    run(["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=900", *args], log=log, env=env)


def installed_version(package):
    out = run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}${Version}", package], check=False)
    return out[3:].strip() if out.startswith("ii") else None


def on_bench_cpu():
    """preexec_fn of every timed process: one fixed CPU (a process that migrates between CPUs
    runs slower for a while), the last one, away from CPU 0 where most interrupts land."""
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})


def command(prog, main, argv):
    """The exit code of a bench command: its errors as one line on stderr, `prog: error: ...`."""
    try:
        return main(argv)
    except BenchError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
