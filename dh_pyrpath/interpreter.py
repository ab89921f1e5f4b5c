"""Configure, build, install and trim a private CPython (its source comes from sources.py).

The interpreter is built once per configuration at a fixed placeholder prefix, with DT_RPATH
$ORIGIN/../lib so the executable always loads the libpython beside it (DT_RPATH, unlike
DT_RUNPATH, wins over LD_LIBRARY_PATH). relocate.py then moves a copy to each package's prefix,
which is why one cache entry serves every package and prefix.
"""
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import cache as cachelib
from . import debian_patches, relocate, shlibs, sources, verify
from .errors import PyrpathError

# Fixed-length placeholder prefix: long enough that any real prefix (<= MAX_PREFIX_LEN) can be
# patched over it in compiled-in C strings, padded with NULs.
PLACEHOLDER = "/opt/dh-pyrpath-placeholder-prefix" + "_" * 94
# Where the CPython build directory is said to be in the installed sysconfig data.
NEUTRAL_BUILD_DIR = "/usr/src/cpython"
# Bump when the build or trim steps change what an entry contains.
RECIPE_VERSION = 8

# Debian packages whose headers and libraries end up in the interpreter (configure uses what
# it finds, so optional ones count too); their versions are part of the cache key.
BUILD_LIBRARIES = ("libssl-dev", "libffi-dev", "zlib1g-dev", "libbz2-dev", "liblzma-dev",
                   "libsqlite3-dev", "libreadline-dev", "libncurses-dev", "uuid-dev",
                   "libgdbm-dev", "libgdbm-compat-dev", "libexpat1-dev", "libc6-dev",
                   "linux-libc-dev", "libcrypt-dev", "libnsl-dev", "libtirpc-dev",
                   "libmpdec-dev", "libb2-dev", "libdb-dev", "tk-dev", "tcl-dev")
# Packages whose programs make the bytes: the compiler driver, the linker and strip, make.
BUILD_TOOLS = ("gcc", "cpp", "binutils", "make", "dpkg-dev")
# The one PATH CPython is built with (and the toolchain is named from): the caller's PATH may
# put other compilers, a ccache or a pyenv python (configure probes python3) first.
BUILD_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# What the build takes from the caller's environment; nothing else gets in (dpkg-buildpackage
# exports DFLAGS, which CPython would record as its dtrace flags, MAKEFLAGS with a jobserver,
# and more).
PASS_ENV = ("HOME", "TMPDIR")

CONFIGURE_ARGS = ("--enable-shared", "--without-static-libpython", "--with-ensurepip=no",
                  "--with-system-expat")
OPTIMIZE_ARGS = ("--enable-optimizations", "--with-lto")

FLAGS = ("CFLAGS", "CPPFLAGS", "LDFLAGS")
# Written into the source tree; the linker reads it for libpython (see dynamic_list()).
DYNAMIC_LIST = "pyrpath-dynamic-list"

# Stdlib extension modules linked into libpython instead of lib-dynload, as Debian's python3.11
# has them built in: importing one is then no file search and no dlopen (~0.35 ms each; a click
# service's imports went from 86.6 to 79.7 ms). Only modules made of C files alone: none of
# them adds a library to libpython but binascii (libz, which Debian requires everywhere) and
# pyexpat (libexpat, as in Debian's). pyexpat must be built in besides: Debian's fix for
# CVE-2026-4224 uses an internal header that only a built-in module may include.
# _json stays a shared extension: the isolation check proves with it that extensions load from
# the prefix.
BUILTIN_MODULES = ("_asyncio", "_bisect", "_contextvars", "_csv", "_datetime", "_elementtree",
                   "_heapq", "_md5", "_opcode", "_pickle", "_posixsubprocess", "_queue",
                   "_random", "_sha1", "_sha256", "_sha3", "_sha512", "_socket", "_statistics",
                   "_struct", "_typing", "_zoneinfo", "array", "binascii", "cmath", "fcntl",
                   "grp", "math", "mmap", "pyexpat", "resource", "select", "termios",
                   "unicodedata")


@dataclass
class Interpreter:
    """A verified interpreter: `tree` is what goes under the prefix, `pip` an unpacked pip."""
    key: str
    version: str
    tree: Path
    pip: Path
    bundled: Path
    info: dict
    depends: str = ""  # its shared-library Depends (shlibs.py)

    @property
    def xy(self):
        return ".".join(self.version.split(".")[:2])


# ---------------------------------------------------------------- recipe and cache key

def build_flags(log, noopt):
    """dpkg-buildflags' hardening flags, minus what must not end up in sysconfig.

    Prefix maps name the package's build directory (a path leak in every extension built
    later); -O levels are dropped so CPython keeps its own unless noopt asks for -O0.
    """
    flags = {}
    # one run for all of them: dpkg-buildflags is a Perl program (0.15 s a start)
    out = log.capture(["dpkg-buildflags", "--export=sh"], "dpkg-buildflags")
    exported = dict(re.findall(r'^export (\w+)="(.*)"$', out, re.M))
    for name in FLAGS:
        value = exported.get(name, "").strip()
        words = [w for w in value.split()
                 if not w.startswith(("-ffile-prefix-map=", "-fdebug-prefix-map=",
                                      "-fmacro-prefix-map="))]
        if not noopt:
            words = [w for w in words if not re.fullmatch(r"-O[0-3sgz]?", w)]
        flags[name] = " ".join(words)
    return flags


def _installed_versions(packages):
    """['name=version', ...] of those `packages` that are installed (absent ones are left out:
    installing one later changes the key, as it may change what configure finds)."""
    proc = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}${Package}=${Version}\n",
                           *packages], text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, env={"PATH": BUILD_PATH})
    return sorted(line[3:].strip() for line in proc.stdout.splitlines()
                  if line.startswith("ii "))


def toolchain(log):
    """What else changes the bytes of a build: compiler, linker, library headers, architecture."""
    gcc = subprocess.run(["gcc", "--version"], text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env={"PATH": BUILD_PATH}).stdout.splitlines()
    return {"arch": platform.machine(), "gcc": gcc[0] if gcc else "",
            "libraries": _installed_versions(BUILD_LIBRARIES),
            "tools": _installed_versions(BUILD_TOOLS)}


def recipe(source, flags, keep, optimize, tools, strip=True):
    """Everything that changes the result; its hash is the cache key."""
    return {"recipe": RECIPE_VERSION, "source_sha256": source.sha256,
            "debian_patches": source.debian.sha256 if source.debian else None,
            "configure": list(CONFIGURE_ARGS) + (list(OPTIMIZE_ARGS) if optimize else []),
            "flags": flags, "keep": sorted(keep), "toolchain": tools,
            "placeholder": PLACEHOLDER, "strip": strip, "builtin": list(BUILTIN_MODULES)}


def cache_key(rec):
    blob = json.dumps(rec, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


# ---------------------------------------------------------------- build

def _python_version(srcdir):
    text = (srcdir / "Include" / "patchlevel.h").read_text(encoding="latin-1")
    match = re.search(r'#define\s+PY_VERSION\s+"([^"]+)"', text)
    if not match:
        raise PyrpathError(f"{srcdir}: no PY_VERSION in Include/patchlevel.h: not a CPython source")
    return match.group(1)


def _extract(source, workdir, log):
    dest = workdir / "src"
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
    at link time: its functions (what -Bsymbolic-functions does; +3% on bench/pybench.py) and
    the data that only Include/internal declares (_PyRuntime, read for the thread state in
    nearly every call, and _Py_tracemalloc_config, read on every allocation), so ld turns their
    GOT loads into direct addressing: another +1.5% (default build) and +0.9% (--optimize)
    over -Bsymbolic-functions alone (docs/how-it-works.md).
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


def build(source, rec, payload, workdir, jobs, log):
    """Configure, make and install CPython into payload/tree; keep pip for later use."""
    workdir = Path(workdir)
    srcdir = _extract(source, workdir, log)
    version = _python_version(srcdir)
    # A date derived from the source, not the clock: same source, same bytes (__DATE__ etc).
    # Taken before patching, which gives the files it changes the current time.
    epoch = str(int((srcdir / "Include" / "patchlevel.h").stat().st_mtime))
    patches = []
    if source.debian:
        with log.stage("patch", f"Debian's upstream fixes from {source.debian.label}"):
            patches = debian_patches.apply(source.debian, srcdir, workdir, log)
    (srcdir / "Modules" / "Setup.local").write_text(setup_local(srcdir, rec["builtin"]))
    (srcdir / DYNAMIC_LIST).write_text(dynamic_list(srcdir))
    xy = ".".join(version.split(".")[:2])
    env = build_environment(os.environ)
    env.update(rec["flags"])
    env.update({
        "SOURCE_DATE_EPOCH": epoch,
        # Kept out of sysconfig: only CPython's own build sees these. `$$` survives make, the
        # backslash survives the shell make runs the link through.
        # -fno-semantic-interposition: calls inside libpython may be inlined although it is a
        # shared library; it recovers most of what --enable-shared costs (Fedora measured 5-20%;
        # here the regex benchmark ran at 0.6x the system python without it). --enable-
        # optimizations adds it too. The dynamic list binds libpython's references to its own
        # functions and internal data at link time; see dynamic_list().
        "CFLAGS_NODIST": f"-ffile-prefix-map={srcdir}={NEUTRAL_BUILD_DIR} "
                         "-fno-semantic-interposition" + _stack_protector(rec["flags"]),
        "LDFLAGS_NODIST": r"-Wl,-rpath,\$$ORIGIN/../lib -Wl,--disable-new-dtags "
                          "-fno-semantic-interposition "
                          f"-Wl,--dynamic-list={srcdir / DYNAMIC_LIST}",
    })
    with log.stage("configure", f"CPython {version}"):
        log.run([srcdir / "configure", f"--prefix={PLACEHOLDER}", *rec["configure"]],
                "configure CPython", cwd=srcdir, env=env,
                fix="install the build dependencies (build-essential and the -dev packages "
                    "dh-pyrpath depends on)")
    make_env = {k: v for k, v in env.items() if k not in rec["flags"]}
    with log.stage("build", f"CPython {version}, make -j{jobs}"):
        log.run(["make", f"-j{jobs}"], "build CPython", cwd=srcdir, env=make_env)
    dest = workdir / "dest"
    with log.stage("install", f"CPython {version} into the cache entry"):
        log.run(["make", "install", f"DESTDIR={dest}"], "install CPython", cwd=srcdir,
                env=make_env)
        tree = payload / "tree"
        os.rename(dest / PLACEHOLDER.lstrip("/"), tree)
        _set_aside_bundled(tree, xy, payload, rec["keep"])
        trim(tree, xy, rec["keep"])
        if rec["strip"]:
            strip_elf_files(tree, log)
        relocate.rewrite_text_files(tree, {str(srcdir): NEUTRAL_BUILD_DIR})
        relocate.rewrite_pycs(tree / "bin" / f"python{xy}", tree, {}, log)
    # CPython's make only warns about an extension module that failed to build or to import;
    # such an entry must not be cached (every package would lack the module).
    problems = verify.check_runtime(tree, xy, smoke=True)
    if problems:
        raise PyrpathError(f"CPython {version} was built, but {problems[0]}", log=log.path)
    (payload / shlibs.FILE).write_text(shlibs.interpreter_depends(tree, workdir, log, BUILD_PATH)
                                       + "\n")
    info = {"version": version, "source": source.label, "source_sha256": source.sha256,
            "debian_patches": patches,
            "configure": rec["configure"], "flags": rec["flags"], "optimize": bool(
                set(OPTIMIZE_ARGS) & set(rec["configure"]))}
    (payload / "info.json").write_text(json.dumps(info, indent=1, sort_keys=True))
    return info


def _stack_protector(flags):
    """The interpreter's own code gets -fstack-protector where dpkg-buildflags says -strong,
    as Debian builds its python3.11 (debian/rules substitutes it): -strong guards every function
    holding an array or a local whose address is taken, which in CPython is nearly all of them
    (bench/pybench.py: +2% without it). sysconfig keeps dpkg's flag, so extension modules built
    later are compiled with -strong; the later -fstack-protector wins for CPython's own files."""
    return " -fstack-protector" if "-fstack-protector-strong" in flags["CFLAGS"].split() else ""


def build_environment(environ):
    """The environment CPython is built in: a fixed PATH and locale, and from the caller only
    PASS_ENV. Whatever else the caller exports cannot change an entry its key does not name."""
    env = {k: environ[k] for k in PASS_ENV if k in environ}
    env.update({"PATH": BUILD_PATH, "LC_ALL": "C", "LANG": "C", "TZ": "UTC"})
    return env


def strip_elf_files(tree, log):
    """Strip as dh_strip would, once, in the cache.

    Every package then ships a stripped interpreter without per-build strip, dwz and -dbgsym
    work, and two services never ship -dbgsym packages that clash on identical build-ids.
    DEB_BUILD_OPTIONS=nostrip builds (and caches) an unstripped interpreter instead.
    """
    executables, libraries = [], []
    for path in relocate.elf_files(tree):
        (libraries if ".so" in os.path.basename(path) else executables).append(path)
    common = ["--remove-section=.comment", "--remove-section=.note"]
    if libraries:
        log.run(["strip", *common, "--strip-unneeded", *libraries], "strip the interpreter",
                env={"PATH": BUILD_PATH})
    if executables:
        log.run(["strip", *common, *executables], "strip the interpreter",
                env={"PATH": BUILD_PATH})


def _set_aside_bundled(tree, xy, payload, keep):
    """ensurepip's wheels: pip runs from an unpacked copy outside the tree; the tree keeps
    the wheels only with --keep ensurepip."""
    bundled_src = tree / "lib" / f"python{xy}" / "ensurepip" / "_bundled"
    bundled = payload / "bundled"
    bundled.mkdir()
    for whl in sorted(bundled_src.glob("*.whl")):
        shutil.copy2(whl, bundled / whl.name)
        if "ensurepip" not in keep:
            whl.unlink()
    pip_wheels = sorted(bundled.glob("pip-*.whl"))
    if not pip_wheels:
        raise PyrpathError("this CPython source has no bundled pip wheel (ensurepip/_bundled): "
                           "use CPython 3.9 or newer")
    with zipfile.ZipFile(pip_wheels[-1]) as zf:
        zf.extractall(payload / "pip")
    # Compiled now, so running pip never writes into a published cache entry.
    # -s/-p: the pycs name pip/..., not this build's random staging path.
    subprocess.run([tree / "bin" / f"python{xy}", "-I", "-m", "compileall", "-q", "-j0",
                    "--invalidation-mode", "checked-hash", "-s", payload / "pip", "-p", "pip",
                    payload / "pip"],
                   check=True, stdout=subprocess.DEVNULL)


def trim(tree, xy, keep):
    """Remove what a server never needs, except the parts named in `keep`."""
    lib = Path(tree) / "lib" / f"python{xy}"
    dynload = lib / "lib-dynload"
    doomed = []
    if "test" not in keep:
        doomed.append(lib / "test")
        doomed += [p for pat in ("*/test", "*/tests", "*/idle_test") for p in lib.glob(pat)]
        doomed += [p for pat in ("_test*.so", "_ctypes_test*.so", "_xxtest*.so", "xxlimited*.so",
                                 "_xxsubinterpreters*.so", "xxsubtype*.so")
                   for p in dynload.glob(pat)]
    if "static" not in keep:
        doomed += list(lib.glob("config-*/libpython*.a"))
    if "idle" not in keep:
        doomed.append(lib / "idlelib")
        doomed += list((Path(tree) / "bin").glob("idle*"))
    if "tkinter" not in keep:
        doomed.append(lib / "tkinter")
        doomed += list(dynload.glob("_tkinter*.so"))
    if "turtledemo" not in keep:
        doomed.append(lib / "turtledemo")
    if "opt-pyc" not in keep:
        doomed += list(lib.rglob("__pycache__/*.opt-[12].pyc"))
    for path in doomed:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
    # Stdlib modules are not scripts: a few are installed executable with shebangs such as
    # /usr/local/bin/python, which a server has no business running (and lintian rejects).
    for path in lib.rglob("*.py"):
        mode = path.lstat().st_mode
        if not path.is_symlink() and mode & 0o111:
            path.chmod(mode & ~0o111)


# ---------------------------------------------------------------- cache front door

def _load(entry, key):
    payload = entry / "payload"
    info = json.loads((payload / "info.json").read_text())
    return Interpreter(key=key, version=info["version"], tree=payload / "tree",
                       pip=payload / "pip", bundled=payload / "bundled", info=info,
                       depends=(payload / shlibs.FILE).read_text().strip())


def plan(settings, build_opts, cache, workdir, log):
    """(source, recipe, cache key) of the interpreter these settings ask for."""
    source = sources.resolve(settings.python_source, settings.python_sha256, cache, workdir, log)
    optimize = settings.optimize and not build_opts.noopt
    rec = recipe(source, build_flags(log, build_opts.noopt), settings.keep, optimize,
                 toolchain(log), strip=not build_opts.nostrip)
    return source, rec, cache_key(rec)


def ensure(settings, build_opts, cache, workdir, log, place):
    """Get a verified interpreter for these settings, building it only on a cache miss, and
    hand it to `place` (which copies what it needs) while no one can prune or rebuild it."""
    source, rec, key = plan(settings, build_opts, cache, workdir, log)
    jobs = build_opts.parallel or os.cpu_count() or 1
    if cache is None:
        payload = Path(workdir) / "interpreter" / "payload"
        if payload.exists():
            shutil.rmtree(payload.parent)
        payload.mkdir(parents=True)
        build(source, rec, payload, Path(workdir) / "cpython-build", jobs, log)
        shutil.rmtree(Path(workdir) / "cpython-build", ignore_errors=True)
        return place(_load(payload.parent, key))
    entry = cache.path("interpreters", key)
    with cache.lock(f"interpreter-{key}") as held:
        if entry.exists():
            manifest = cachelib.read_manifest(entry)
            problems = (cachelib.manifest_problems(entry / "payload", manifest)
                        if manifest is not None else ["no manifest"])
            if not problems:
                log.say(f"interpreter: cached CPython {_load(entry, key).version} ({key})")
            else:
                log.say(f"interpreter: cache entry {key} is damaged ({problems[0]}"
                        f"{', ...' if len(problems) > 1 else ''}): rebuilding it")
                cachelib.discard(entry)
        if not entry.exists() and cache.fetch_interpreter(key, log):
            log.say(f"interpreter: CPython {_load(entry, key).version} ({key}) from the remote "
                    "cache")
        if not entry.exists():
            # Holding the key's lock, any staging directory of this key is a dead build's
            # (killed before it could clean up): a CPython build tree, 100 MB or more.
            for dead in sorted(cache.path("tmp").glob(f"interpreter-{key}-*")):
                log.write(f"removing {dead}, left by an interrupted build")
                cachelib.discard(dead)
            staging = cache.tempdir(f"interpreter-{key}-")
            try:
                (staging / "payload").mkdir()
                build(source, rec, staging / "payload", staging / "build", jobs, log)
                shutil.rmtree(staging / "build")
                (staging / "payload" / "recipe.json").write_text(
                    json.dumps(rec, indent=1, sort_keys=True))
                cachelib.write_manifest(staging, staging / "payload")
                cache.publish(staging, entry)
            except BaseException:
                cachelib.discard(staging)
                raise
        cachelib.touch_last_used(entry)
        held.share()
        # what was just built, and a local hit the remote lacks (one request when it has it)
        cache.offer_interpreter(key, log)
        return place(_load(entry, key))
