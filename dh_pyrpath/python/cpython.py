"""Configure, compile and install CPython into a staging tree.

Layout: `bin/python3.X` is linked with libpython's objects statically (position-independent,
with dpkg-buildflags' hardening), as Debian, python-build-standalone and CPython 3.15's
--enable-static-libpython-for-interpreter do: the executable loads no libpython at all and
reaches the runtime's data without a GOT. `lib/libpython3.X.so.1.0` is still built and shipped,
with the dynamic list (public data preemptible) and DT_RPATH $ORIGIN/../lib, for programs that
embed Python (uWSGI, mod_wsgi, `python3.X-config --embed`).

Three profiles (recipe.profile picks one):
- "plain": one compile. DEB_BUILD_OPTIONS=noopt builds use it.
- "pgo" (the default): an instrumented build, a deterministic training run (training.py),
  then the optimised build with the profile and LTO, fat LTO objects seeded by their names.
  The build always happens in the same directory (BUILD_ROOT/<key>): paths the training sees
  are hashed and compared, so another directory would change the counts.
- "optimize" (--optimize): the same, trained with the same workload and then CPython's own
  `-m test --pgo` task (broader, slower, and not reproducible: its tests use threads, clocks
  and temporary names).
"""
import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

from .. import host
from ..errors import PyrpathError
from . import debian_patches, training

# The build directory is the same for every build of a recipe, on every machine: the PGO
# training's counts depend on the paths it sees (measured: another directory of another length
# changed 65 of 194 profile files). /var/tmp exists in every build chroot and survives reboots
# less often than it is cleaned; builds of one key take turns through a lock file beside it.
BUILD_ROOT = Path("/var/tmp/dh-pyrpath-build")
# Where the build directory is said to be in what gets installed (sysconfig, debug paths).
NEUTRAL_BUILD_DIR = "/usr/src/cpython"
# Written into the source tree; the linker reads it for libpython (see dynamic_list()).
DYNAMIC_LIST = "pyrpath-dynamic-list"
# What the build takes from the caller's environment; nothing else gets in (dpkg-buildpackage
# exports DFLAGS, which CPython would record as its dtrace flags, MAKEFLAGS with a jobserver,
# and more).
PASS_ENV = ("HOME", "TMPDIR")

# bin/python3.X linked with the objects of libpython rather than the shared library (the make
# variables CPython's configure sets for a static build; 3.15's
# --enable-static-libpython-for-interpreter sets the same).
STATIC_INTERPRETER = ("LINK_PYTHON_OBJS=$(LIBRARY_OBJS)",
                      "LINK_PYTHON_DEPS=$(LIBRARY_DEPS) $(LIBRARY_OBJS)")
# Programs/_testembed (CPython's own embedding test, never installed) is left unbuilt, also by
# `make install` (which depends on `all`): it would be a second static link of all of
# libpython, with LTO a second whole-program one.
NOT_BUILT = ("-o", "Programs/_testembed")
PGO_GENERATE = "-fprofile-generate -fprofile-update=single"
# -fprofile-partial-training: what the training does not run stays optimised as without a
# profile (instead of for size), since a short training cannot reach every hot path a service
# has. -fprofile-correction: counts of the few multi-threaded stdlib paths may be inconsistent.
PGO_USE = "-fprofile-use -fprofile-correction -fprofile-partial-training"
# LTO partitioned and parallel (make's jobserver): CPython's own --with-lto links serially with
# -flto-partition=none, which upstream dropped (gh-132257: same speed, a quarter of the time).
LTO = "-flto=auto"


def python_version(srcdir):
    text = (Path(srcdir) / "Include" / "patchlevel.h").read_text(encoding="latin-1")
    match = re.search(r'#define\s+PY_VERSION\s+"([^"]+)"', text)
    if not match:
        raise PyrpathError(f"{srcdir}: no PY_VERSION in Include/patchlevel.h: not a CPython source")
    return match.group(1)


@contextlib.contextmanager
def build_directory(key, log):
    """BUILD_ROOT/<key>, fresh and ours until the block ends (then removed)."""
    try:
        BUILD_ROOT.mkdir(exist_ok=True)
        if BUILD_ROOT.stat().st_uid == os.geteuid():
            os.chmod(BUILD_ROOT, 0o1777)  # shared by every build user, like /tmp
    except OSError as exc:
        raise PyrpathError(f"cannot create {BUILD_ROOT}: {exc.strerror}: make it a directory "
                           "every build user can write (mode 1777, as /var/tmp)") from None
    path = BUILD_ROOT / key
    lock = BUILD_ROOT / f"{key}.lock"
    try:
        fh = open(lock, "a")
    except OSError as exc:
        raise PyrpathError(f"cannot open {lock}: {exc.strerror}: remove it (left by another "
                           "user's build) or give the build user access") from None
    with fh:
        try:
            os.chmod(lock, 0o666)
        except OSError:
            pass
        log.write(f"waiting for {lock}")
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            _remove(path)  # a dead build's, holding this lock
            path.mkdir()
            yield path
        finally:
            with contextlib.suppress(PyrpathError):
                _remove(path)
            fcntl.flock(fh, fcntl.LOCK_UN)


def _remove(path):
    if not os.path.lexists(path):
        return
    try:
        for dirpath, dirnames, _ in os.walk(path):
            for d in dirnames:
                if not os.path.islink(os.path.join(dirpath, d)):
                    os.chmod(os.path.join(dirpath, d), 0o755)
        shutil.rmtree(path)
    except OSError as exc:
        raise PyrpathError(f"cannot remove {path}, left by an interrupted build: "
                           f"{exc.strerror}: remove it as its owner") from None


def extract(source, workdir, log):
    dest = Path(workdir) / "src"
    dest.mkdir(parents=True)
    try:
        with tarfile.open(source.path) as tar:
            top = {m.name.split("/", 1)[0] for m in tar.getmembers()}
    except (tarfile.TarError, OSError) as exc:
        raise PyrpathError(f"CPython source {source.label} is not a readable tarball ({exc}): "
                           "give a CPython release tarball") from None
    not_cpython = PyrpathError(f"{source.label} does not contain a CPython source tree (no "
                               "top-level directory with configure): give a CPython release "
                               "tarball")
    if len(top) != 1:
        raise not_cpython
    log.run(["tar", "-xf", source.path, "-C", dest, "--no-same-owner"], "extract CPython source")
    srcdir = dest / top.pop()
    if not (srcdir / "configure").is_file():
        raise not_cpython
    return srcdir


def setup_local(srcdir, modules):
    """Modules/Setup.local text that builds `modules` into libpython.

    Each line is the source's own (commented-out) line from Modules/Setup, so it names the right
    files for that CPython version. A module whose line needs more than C files (include paths,
    libraries: 3.13's hash modules), or that has no line, or is built in already, is left out and
    stays a shared extension.
    """
    bootstrap = (Path(srcdir) / "Modules" / "Setup.bootstrap.in").read_text(encoding="latin-1")
    builtin = set(re.findall(r"^(?:@\w+@)?(\w+)\s", bootstrap, re.M))
    lines = {}
    for match in re.finditer(r"^#(\w+)[ \t]+(.+)$",
                             (Path(srcdir) / "Modules" / "Setup").read_text(encoding="latin-1"),
                             re.M):
        lines.setdefault(match.group(1), match.group(2).split())
    chosen = [f"{name} {' '.join(lines[name])}" for name in modules
              if name in lines and name not in builtin
              and all(word.endswith(".c") for word in lines[name])]
    return "".join(line + "\n" for line in chosen)


def public_data_names(srcdir):
    """Names that CPython's public headers (Include/, Include/cpython/) declare PyAPI_DATA."""
    names = set()
    for header in sorted(Path(srcdir, "Include").glob("*.h")) + sorted(
            Path(srcdir, "Include", "cpython").glob("*.h")):
        text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", header.read_text(encoding="latin-1"), flags=re.S)
        text = re.sub(r"^[ \t]*#.*(?:\\\n.*)*$", " ", text, flags=re.M)  # #define PyAPI_DATA
        for match in re.finditer(r"\bPyAPI_DATA\((?:[^();]|\([^();]*\))*\)([^;]*);", text):
            # `name`, `*name`, `const name[N]`, `*(*name)(args)`; `name(args)` is a function
            # that a header declares with the wrong macro.
            plain = re.fullmatch(r"(?:\s|\*|\bconst\b)*(\w+)\s*(?:\[[^\]]*\])?\s*",
                                 match.group(1))
            pointer = re.fullmatch(r"(?:\s|\*|\bconst\b)*\(\s*\*\s*(\w+)\s*\)\s*\(.*\)\s*",
                                   match.group(1), re.S)
            if plain or pointer:
                names.add((plain or pointer).group(1))
    return names


def dynamic_list(srcdir):
    """The linker's dynamic list for libpython: the public data symbols, and nothing else.

    A listed symbol stays preemptible: a program that embeds libpython and refers to Py_None or
    PyFloat_Type gets a copy relocation, and libpython must then use that copy through its GOT,
    which is why full -Bsymbolic is wrong here. Every other symbol is bound inside libpython
    at link time: its functions (what -Bsymbolic-functions does) and the data that only
    Include/internal declares (_PyRuntime, _Py_tracemalloc_config), so ld turns their GOT loads
    into direct addressing (docs/how-it-works.md). The executable, linked statically, needs
    none of this: nothing can interpose on it.
    """
    names = public_data_names(srcdir)
    # An empty or partial list would bind Py_None & co inside libpython, which breaks embedders
    # silently: a source whose headers this parser no longer reads is an error instead.
    missing = {"_Py_NoneStruct", "PyFloat_Type", "PyExc_TypeError"} - names
    if missing:
        raise PyrpathError(f"{srcdir}: no PyAPI_DATA declaration of {', '.join(sorted(missing))} "
                           "found in Include/: an unsupported CPython source layout; use a "
                           "CPython release from 3.11 on")
    return "{\n" + "".join(f"  {name};\n" for name in sorted(names)) + "};\n"


def stack_protector(flags):
    """The interpreter's own code gets -fstack-protector where dpkg-buildflags says -strong,
    as Debian builds its python3.X (debian/rules substitutes it): -strong guards every function
    holding an array or a local whose address is taken, which in CPython is nearly all of them
    (bench/pybench.py: +2% without it). sysconfig keeps dpkg's flag, so extension modules built
    later are compiled with -strong; the later -fstack-protector wins for CPython's own files."""
    return " -fstack-protector" if "-fstack-protector-strong" in flags["CFLAGS"].split() else ""


def build_environment(environ):
    """The environment CPython is built in: a fixed PATH and locale, and from the caller only
    PASS_ENV. Whatever else the caller exports cannot change an entry its key does not name."""
    env = {k: environ[k] for k in PASS_ENV if k in environ}
    env.update({"PATH": host.SYSTEM_PATH, "LC_ALL": "C", "LANG": "C", "TZ": "UTC"})
    return env


def module_switches(keep):
    """configure's per-module switches (3.11+): tkinter is not built unless kept, so whether
    tk-dev happens to be installed changes nothing (and is no part of the cache key)."""
    return {} if "tkinter" in keep else {"py_cv_module__tkinter": "n/a"}


def compile_and_install(source, rec, workdir, jobs, log):
    """Build `source` as `rec` says in `workdir` (BUILD_ROOT/<key>); install it under
    workdir/dest. Returns (tree, version, patches applied, srcdir)."""
    srcdir = extract(source, workdir, log)
    version = python_version(srcdir)
    # A date derived from the source, not the clock: same source, same bytes (__DATE__ etc).
    # Taken before patching, which gives the files it changes the current time.
    epoch = str(int((srcdir / "Include" / "patchlevel.h").stat().st_mtime))
    patches = []
    if source.debian:
        with log.stage("patch", f"Debian's upstream fixes from {source.debian.label}"):
            patches = debian_patches.apply(source.debian, srcdir, workdir, log)
    (srcdir / "Modules" / "Setup.local").write_text(setup_local(srcdir, rec["builtin"]))
    (srcdir / DYNAMIC_LIST).write_text(dynamic_list(srcdir))
    env = build_environment(os.environ)
    env.update(rec["flags"])
    env.update(module_switches(rec["keep"]))
    env.update({
        "SOURCE_DATE_EPOCH": epoch,
        # Kept out of sysconfig: only CPython's own build sees these. `$$` survives make, the
        # backslash survives the shell make runs the link through.
        # -fno-semantic-interposition: calls inside libpython may be inlined although it is a
        # shared library (Fedora measured 5-20%); the dynamic list binds libpython's references
        # to its own functions and internal data at link time; see dynamic_list().
        "CFLAGS_NODIST": f"-ffile-prefix-map={srcdir}={NEUTRAL_BUILD_DIR} "
                         "-fno-semantic-interposition" + stack_protector(rec["flags"]),
        "LDFLAGS_NODIST": r"-Wl,-rpath,\$$ORIGIN/../lib -Wl,--disable-new-dtags "
                          "-fno-semantic-interposition "
                          f"-Wl,--dynamic-list={srcdir / DYNAMIC_LIST}",
    })
    with log.stage("configure", f"CPython {version}", announce=True):
        log.run([srcdir / "configure", f"--prefix={rec['placeholder']}", *rec["configure"]],
                "configure CPython", cwd=srcdir, env=env,
                fix="install the build dependencies (build-essential and the -dev packages "
                    "dh-pyrpath depends on)")
    make_env = {k: v for k, v in env.items() if k not in rec["flags"]}
    make = ["make", f"-j{jobs}", *STATIC_INTERPRETER, *NOT_BUILT]
    profile = rec["profile"]
    if profile == "plain":
        with log.stage("build", f"CPython {version}, make -j{jobs}", announce=True):
            log.run(make, "build CPython", cwd=srcdir, env=make_env)
    else:
        with log.stage("build", f"CPython {version} instrumented for PGO, make -j{jobs}",
                       announce=True):
            log.run([*make, f"CFLAGS_NODIST={PGO_GENERATE}", f"LDFLAGS_NODIST={PGO_GENERATE}"],
                    "build CPython for profiling", cwd=srcdir, env=make_env)
        with log.stage("train", "the PGO workload" if profile == "pgo"
                       else "the PGO workload and CPython's PGO test set", announce=True):
            training.train(srcdir, version, profile, epoch, log)
        log.run(["make", "clean-retain-profile"], "clean between PGO stages", cwd=srcdir,
                env=make_env)
        # Objects carry both code and LTO bytecode (fat): every link is a plain one
        # (libpython, extension modules, the build's own helper programs: five whole-program
        # LTO links otherwise, most of a build's time on two cores), then bin/python3.X alone
        # is linked again, with LTO. Not in the same make run: once -fno-lto is on a link line
        # a later -flto does not turn LTO back on (measured: the interpreter came out as
        # libpython's plain code), and without -fno-lto GCC's linker plugin does LTO on every
        # link of fat objects.
        # -frandom-seed=$@ (make expands it to the object's name): GCC names the LTO sections
        # of a fat object with a random number, and the LTO link below reads those sections
        # (measured: the same C file compiled twice gave two different objects, the same with
        # -frandom-seed; two cold builds differed in bin/python3.X only, by one function).
        compile_flags = f"CFLAGS_NODIST={PGO_USE} {LTO} -ffat-lto-objects -frandom-seed=$@"
        with log.stage("build", f"CPython {version} with the profile, make -j{jobs}",
                       announce=True):
            log.run([*make, compile_flags, "LDFLAGS_NODIST=-fno-lto"],
                    "build CPython with the profile", cwd=srcdir, env=make_env)
        with log.stage("link", f"bin/python{version.rsplit('.', 1)[0]} with LTO", announce=True):
            (srcdir / "python").unlink()
            log.run([*make, compile_flags, f"LDFLAGS_NODIST={LTO}", "python"],
                    "link the interpreter with LTO", cwd=srcdir, env=make_env)
            check_lto(srcdir / "python")
    dest = Path(workdir) / "dest"
    with log.stage("install", f"CPython {version}", announce=True):
        log.run(["make", *STATIC_INTERPRETER, *NOT_BUILT, "install", f"DESTDIR={dest}"],
                "install CPython", cwd=srcdir, env=make_env)
    return dest / rec["placeholder"].lstrip("/"), version, patches, srcdir


def check_lto(binary):
    """An LTO link renames the file-local functions it moves between partitions
    (name.lto_priv.N); a binary without one was not linked with LTO, and the build says so
    rather than caching a slower interpreter under an LTO recipe."""
    out = subprocess.run(["nm", "--defined-only", binary], text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env={"PATH": host.SYSTEM_PATH}).stdout
    if ".lto_priv." not in out:
        raise PyrpathError(f"{Path(binary).name} was linked without LTO although the recipe asks "
                           "for it: report this as a dh-pyrpath bug (the toolchain's linker "
                           "plugin may be missing)")
