"""Progress lines, the full build log, and running commands into it.

debhelper commands are quiet: one line per stage on stdout (unless DH_QUIET), the commands
themselves only with -v, and everything CPython and pip print goes to the log file. A long
stage (a CPython build's) also says when it starts, and every stage says it is still alive
about every HEARTBEAT seconds while one of its commands runs: a cold build would otherwise be
minutes of silence.
"""
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

from .errors import PyrpathError

# user:password@ (or token@) inside any URL: never written anywhere, not even the log.
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
TAIL_LINES = 25
# Seconds between the lines that say a running command is still at work.
HEARTBEAT = 30.0


def redact(text):
    """Hide credentials embedded in URLs."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


class StageLine:
    def __init__(self, detail):
        self.detail = detail


class BuildLog:
    """One log file per package; stages print a progress line with their elapsed time."""

    def __init__(self, path, package, verbose=False, quiet=False, out=None, heartbeat=HEARTBEAT):
        self.path = path
        self.package = package
        self.verbose = verbose
        self.quiet = quiet
        self.out = out or sys.stdout
        self.heartbeat = heartbeat
        self._stages = []  # (name, StageLine, start) of the stages open now, innermost last
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._fh = open(path, "w", encoding="utf-8", errors="replace")

    def close(self):
        self._fh.close()

    def write(self, text):
        self._fh.write(redact(text))
        if not text.endswith("\n"):
            self._fh.write("\n")
        self._fh.flush()

    def say(self, text):
        """A progress line on stdout (and in the log)."""
        self.write(text)
        if not self.quiet:
            print(f"dh_pyrpath: {self.package}: {text}", file=self.out, flush=True)

    def warn(self, text):
        """A warning on stderr (and in the log), shown even with DH_QUIET: it is about what
        the package will contain."""
        self.write(f"warning: {text}")
        print(f"dh_pyrpath: warning: {self.package}: {text}", file=sys.stderr, flush=True)

    @contextmanager
    def stage(self, name, detail="", announce=False):
        """One line per stage: '<pkg>: <stage>: <detail> (12.3 s)'. The block may replace the
        detail with what it found out (`line.detail = ...`). `announce`: a long stage also
        says when it starts ('<stage>: <detail> ...')."""
        self.write(f"=== {name}: {detail}")
        if announce and not self.quiet:
            print(f"dh_pyrpath: {self.package}: {name}: {detail} ...", file=self.out, flush=True)
        line = StageLine(detail)
        start = time.monotonic()
        self._stages.append((name, line, start))
        try:
            yield line
        finally:
            self._stages.pop()
        elapsed = time.monotonic() - start
        self.say(f"{name}: {line.detail} ({elapsed:.1f} s)" if line.detail
                 else f"{name} ({elapsed:.1f} s)")

    def run(self, cmd, what, cwd=None, env=None, fix=None, umask=None):
        """Run `cmd` (under `umask`, when given) with its output appended to the log; raise with
        the log's tail on failure.

        `what` names the step in the error ("configure CPython"), `fix` says what to do.
        """
        shown = redact(" ".join(shlex.quote(str(c)) for c in cmd))
        self.write(f"$ {shown}" + (f"    (in {cwd})" if cwd else ""))
        if self.verbose:
            print(f"\t{shown}", file=self.out, flush=True)
        try:
            proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, umask=-1 if umask is None else umask)
        except OSError as exc:
            raise PyrpathError(f"{what} failed: cannot run {cmd[0]}: {exc.strerror}",
                               log=self.path) from exc
        tail = []
        with self._heartbeat():
            for raw in proc.stdout:
                line = redact(raw.decode("utf-8", "replace"))
                self._fh.write(line)
                tail.append(line.rstrip("\n"))
                del tail[:-TAIL_LINES]
            proc.wait()
        self._fh.flush()
        if proc.returncode != 0:
            msg = f"{what} failed (exit {proc.returncode})"
            if fix:
                msg += f": {fix}"
            raise PyrpathError(msg, log=self.path, tail=tail)
        return tail

    @contextmanager
    def _heartbeat(self):
        """While the block runs (a command), say every `heartbeat` seconds that the innermost
        stage is still at work: '<pkg>: build: CPython 3.11.2 instrumented for PGO ... 60 s'."""
        if self.quiet or not self.heartbeat or not self._stages:
            yield
            return
        name, line, start = self._stages[-1]
        done = threading.Event()

        def beat():
            while not done.wait(self.heartbeat):
                print(f"dh_pyrpath: {self.package}: {name}: {line.detail} ... "
                      f"{time.monotonic() - start:.0f} s", file=self.out, flush=True)

        thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def capture(self, cmd, what, cwd=None, env=None):
        """Run a short query command and return its stdout (stderr goes to the log)."""
        self.write("$ " + redact(" ".join(shlex.quote(str(c)) for c in cmd)))
        try:
            proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, text=True,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        except OSError as exc:
            raise PyrpathError(f"{what} failed: cannot run {cmd[0]}: {exc.strerror}") from exc
        if proc.stderr:
            self.write(proc.stderr)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-TAIL_LINES:]
            raise PyrpathError(f"{what} failed (exit {proc.returncode})", log=self.path, tail=tail)
        return proc.stdout
