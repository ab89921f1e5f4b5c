"""The PGO training: the instrumented interpreter runs a fixed workload
(helpers/pgo_training.py) and its counts become the profile of the optimised build.

The training is made reproducible, since the profile decides the optimised bytes: one thread,
PYTHONHASHSEED=0, an empty environment, every signal at its default, ASLR off, an 8 MiB stack
limit, the loader's cache and OpenSSL's configuration unread, nothing stat'ed outside the build
directory, a fixed host name, kernel and process ids, and no SQLite queries (its seed is
random); a preloaded library makes what it sees of files the machine's in nothing: uid and gid
0 for the process and every file, for every build user and in a chroot too; device, inode and
directory sizes that are never cached ints; directory listings in name order whatever the file
system (docs/how-it-works.md).
"""
import re
import resource
import shutil
import subprocess
from pathlib import Path

from .. import host
from ..errors import PyrpathError

HELPERS = Path(__file__).resolve().parent / "helpers"
TRAINING = HELPERS / "pgo_training.py"
# Preloaded into the training: what it sees of files is the same everywhere
# (helpers/steady_files.c says what and why)
STEADY_FILES = HELPERS / "steady_files.c"
TRAINING_ROUNDS = "40"
# --optimize's second part: CPython's own PGO task (its Makefile's PROFILE_TASK)
CPYTHON_PGO_TASK = ("-m", "test", "--pgo", "--timeout=1200")
# The training's stack limit (soft): Debian's default, 8 MiB.
TRAINING_STACK = 8 * 1024 * 1024


def training_environment(epoch, pycache, multiarch, platlib, preload=None):
    """The training's whole environment: nothing of the caller's, and no file of the machine's
    that the machine decides.

    LD_LIBRARY_PATH names the directories every library the interpreter and its extensions
    load is in, so the dynamic loader never maps /etc/ld.so.cache: its size is the machine's
    (every installed library has a line) and the gap it leaves moves the mappings made after
    it, object addresses among them (measured: a 5 KB larger cache changed 15 profile files).
    OPENSSL_CONF=/dev/null: libcrypto (hashlib) otherwise parses the machine's openssl.cnf, 12 KB
    where the openssl package is installed and absent in a minimal chroot, and its allocations
    move the heap (measured, host against chroot: 4 of 9 differing profile files).
    PYTHONPLATLIBDIR (`platlib`, a path inside the build directory that does not exist): in a
    build directory sys.path names the configured prefix's lib/python3XY.zip (the placeholder
    under /opt), and the zip importer stats its way up to the first directory that exists, the
    machine's /opt; its times became int objects, cached ones where a chroot's image left the
    nanoseconds at 0 (measured: the other 5 files). An absolute platlibdir moves that entry,
    and that walk, into the build directory.
    LD_PRELOAD (`preload`): build_steady_files' library, a path inside the build directory.
    """
    env = {"PATH": host.SYSTEM_PATH, "LC_ALL": "C", "LANG": "C", "TZ": "UTC", "HOME": "/nonexistent",
            "PYTHONHASHSEED": "0", "PYTHONPYCACHEPREFIX": str(pycache),
            "PYTHONPLATLIBDIR": str(platlib), "OPENSSL_CONF": "/dev/null",
            "LD_LIBRARY_PATH": f"/usr/lib/{multiarch}:/lib/{multiarch}",
            "SOURCE_DATE_EPOCH": epoch}
    if preload:
        env["LD_PRELOAD"] = str(preload)
    return env


def build_steady_files(srcdir, log):
    """Compile helpers/steady_files.c into the build directory with the build's compiler: the
    library the training preloads so that what it sees of files is the same on every machine.

    Compiled there under a name relative to it (no path of this installation in the object),
    without dpkg-buildflags: only the compiler, which the key names, decides its bytes; its
    source's hash is in the recipe.
    """
    source = Path(srcdir) / "pyrpath-pgo-steady-files.c"
    library = source.with_suffix(".so")
    shutil.copy(STEADY_FILES, source)
    log.run(["gcc", "-shared", "-fPIC", "-O2", "-o", library.name, source.name],
            "compile the PGO training's preloaded library", cwd=srcdir,
            env={"PATH": host.SYSTEM_PATH, "LC_ALL": "C"},
            fix="the C compiler failed on a file dh-pyrpath ships: report this as a dh-pyrpath "
                "bug, with the log")
    return library


def configured_multiarch(srcdir):
    """The multiarch tuple configure found (x86_64-linux-gnu), from the build's Makefile."""
    found = re.search(r"^MULTIARCH=\s*(\S+)", (Path(srcdir) / "Makefile").read_text(),
                      re.MULTILINE)
    if not found:
        raise PyrpathError("CPython's configure found no multiarch tuple: report this as a "
                           "dh-pyrpath bug (the PGO training needs it)")
    return found.group(1)


def training_command(python, args, aslr_off=True, stack_fixed=True):
    """The training run's command line: the process state it starts in is fixed too.

    Every signal's handler is reset to the default: a signal ignored by whatever started the
    build (a non-interactive shell's background job ignores SIGINT and SIGQUIT) would be
    inherited, CPython would then install no KeyboardInterrupt handler, and that changes the
    counts of a dozen files (measured: signalmodule, pylifecycle, obmalloc, ceval ...; two
    cold builds, one started so, differed in the LTO-linked executable's function order).
    ASLR off: object addresses reach hashes (pickle's and marshal's memos, sets of types, the
    method cache) and thus the counts. The stack's soft limit is fixed because the kernel
    places every mapping below a gap of its size, or bottom-up when it is unlimited (measured:
    `ulimit -s unlimited` changed 17 profile files); the helper fixes the rest it can see.
    What the process sees of files is the preloaded library's (training_environment).
    """
    return ["env", "--default-signal",
            *(["prlimit", f"--stack={TRAINING_STACK}:"] if stack_fixed else []),
            *(["setarch", "-R"] if aslr_off else []), python, *args]


def training_runs(profile, script):
    """The training's interpreter runs (argument lists), in order.

    The workload twice: the first run compiles every module it imports and writes the bytecode
    (into a pycache of its own), the second loads it, as a service's start does after the
    postinst: unmarshalling must count as hot too. Not -I: it implies -E, and PYTHONHASHSEED=0
    must count; -s: no user site (site itself runs, as in a service). --optimize then adds
    CPython's own task, broader; alone, it left what services spend their time in cold
    (measured: regular expressions at 0.674x of Debian's interpreter).
    """
    runs = [("-s", script, TRAINING_ROUNDS)] * 2
    if profile == "optimize":
        runs.append(CPYTHON_PGO_TASK)
    return runs


def train(srcdir, version, profile, epoch, log):
    """Run the training with the instrumented build: its .gcda files are the profile."""
    # The build itself ran the instrumented interpreter (setup.py, sysconfig, the frozen
    # modules), in parallel and depending on file times: those counts go, only the training's
    # stay (measured: with them, two builds differed in libpython and the executable).
    for gcda in sorted(Path(srcdir).rglob("*.gcda")):
        gcda.unlink()
    python = srcdir / "python"
    pycache = srcdir / "pyrpath-pgo-pycache"
    # the copy keeps the training's own path inside the (fixed) build directory
    script = srcdir / "pyrpath_pgo_training.py"
    shutil.copy(TRAINING, script)
    runs = training_runs(profile, script.name)
    aslr_off = _aslr_switch_works()
    if not aslr_off:
        log.warn("setarch -R cannot turn address randomisation off here: the PGO profile, and "
                 "with it the interpreter's bytes, may differ from another build's")
    stack_fixed = _stack_limit_settable()
    if not stack_fixed:
        log.warn(f"the stack's hard limit is below {TRAINING_STACK} bytes: the PGO profile, and "
                 "with it the interpreter's bytes, may differ from another build's")
    env = training_environment(epoch, pycache, configured_multiarch(srcdir),
                               srcdir / "pyrpath-pgo-platlib", build_steady_files(srcdir, log))
    if profile == "optimize":
        env = {**env, "PYTHONHASHSEED": "random"}
    for args in runs:
        # CPython's own tests would take the ids of 0 for root's and try what only root may
        run_env = ({k: v for k, v in env.items() if k != "LD_PRELOAD"}
                   if args == CPYTHON_PGO_TASK else env)
        try:
            log.run(training_command(python, args, aslr_off, stack_fixed),
                    "the PGO training run",
                    cwd=srcdir, env=run_env,
                    fix="the instrumented interpreter failed its training; see the log")
        except PyrpathError:
            if args != CPYTHON_PGO_TASK:
                raise
            # CPython's own task: a failing test still trained the rest (its Makefile ignores
            # the exit status too)
            log.warn("some of CPython's PGO tests failed (see the log); the profile is used")


def _stack_limit_settable():
    hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
    return hard == resource.RLIM_INFINITY or hard >= TRAINING_STACK


def _aslr_switch_works():
    try:
        return subprocess.run(["setarch", "-R", "true"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={"PATH": host.SYSTEM_PATH}).returncode == 0
    except OSError:
        return False
