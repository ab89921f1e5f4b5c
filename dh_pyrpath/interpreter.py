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
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import cache as cachelib
from . import cpython, relocate, shlibs, sources, verify
from .errors import PyrpathError

# Fixed-length placeholder prefix: long enough that any real prefix (<= MAX_PREFIX_LEN) can be
# patched over it in compiled-in C strings, padded with NULs.
PLACEHOLDER = "/opt/dh-pyrpath-placeholder-prefix" + "_" * 94
# Bump when the build or trim steps change what an entry contains.
RECIPE_VERSION = 14

# The cache key names what can change the bytes of the trimmed interpreter, and nothing else, so
# that a host with more -dev packages installed and a clean chroot share entries.
# Libraries configure always links (dh-pyrpath depends on them):
BUILD_LIBRARIES = ("libssl-dev", "libffi-dev", "zlib1g-dev", "libbz2-dev", "liblzma-dev",
                   "libsqlite3-dev", "libreadline-dev", "libncurses-dev", "uuid-dev",
                   "libgdbm-dev", "libgdbm-compat-dev", "libexpat1-dev", "libc6-dev",
                   "linux-libc-dev")
# Optional ones configure uses when it finds them (keyed whether present or not): libb2 for
# _blake2 (pkg-config decides; no switch turns it off).
DETECTED_LIBRARIES = ("libb2-dev",)
# Up to 3.12 only: the crypt and nis modules (3.13 removed them).
LEGACY_LIBRARIES = ("libcrypt-dev", "libnsl-dev", "libtirpc-dev")
# Only with --keep tkinter; otherwise configure is told not to build _tkinter at all.
TK_LIBRARIES = ("tk-dev", "tcl-dev")
# Packages whose programs make the bytes: the compiler driver, the linker and strip, make, and
# pkg-config (dh-pyrpath depends on pkgconf): configure asks it for every library's flags and
# without it misses libnsl/libtirpc (no nis module) and records other flags (measured: a chroot
# without pkg-config built another interpreter than one with it, under the same key).
BUILD_TOOLS = ("gcc", "cpp", "binutils", "make", "dpkg-dev", "pkgconf")
BUILD_PATH = cpython.BUILD_PATH

# dbm: gdbm only, so that whether libdb-dev is installed changes nothing.
CONFIGURE_ARGS = ("--enable-shared", "--without-static-libpython", "--with-ensurepip=no",
                  "--with-system-expat", "--with-dbmliborder=gdbm")

FLAGS = ("CFLAGS", "CPPFLAGS", "LDFLAGS")

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


def libraries(facts, keep):
    """The -dev packages whose presence and version can change this build's bytes."""
    names = list(BUILD_LIBRARIES) + list(DETECTED_LIBRARIES)
    if tuple(int(p) for p in facts["version"].split(".")[:2]) < (3, 13):
        names += LEGACY_LIBRARIES
    if "tkinter" in keep:
        names += TK_LIBRARIES
    if not facts["bundled_libmpdec"]:
        names.append("libmpdec-dev")
    return names


def toolchain(log, facts, keep):
    """What else changes the bytes of a build: compiler, linker, library headers, architecture."""
    gcc = subprocess.run(["gcc", "--version"], text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env={"PATH": BUILD_PATH}).stdout.splitlines()
    return {"arch": platform.machine(), "gcc": gcc[0] if gcc else "",
            "libraries": _installed_versions(libraries(facts, keep)),
            "tools": _installed_versions(BUILD_TOOLS)}


def profile(optimize, noopt):
    """plain (DEB_BUILD_OPTIONS=noopt), pgo (the default) or optimize (--optimize)."""
    if noopt:
        return "plain"
    return "optimize" if optimize else "pgo"


def recipe(source, facts, flags, keep, profile_name, tools, strip=True):
    """Everything that changes the result; its hash is the cache key."""
    # the bundled mpdecimal where the source has one: the host's libmpdec-dev then changes
    # nothing (3.13's configure would take it when present)
    mpdec = "--without-system-libmpdec" if facts["bundled_libmpdec"] else "--with-system-libmpdec"
    configure = list(CONFIGURE_ARGS) + [mpdec]
    if "test" not in keep and profile_name != "optimize":
        # _testcapi & co are trimmed anyway; CPython's own PGO test set (--optimize) uses them
        configure.append("--disable-test-modules")
    return {"recipe": RECIPE_VERSION, "source_sha256": source.sha256,
            "debian_patches": source.debian.sha256 if source.debian else None,
            "python": facts["version"], "configure": configure,
            "profile": profile_name,
            "training": (cachelib.sha256_file(cpython.TRAINING) + f":{cpython.TRAINING_ROUNDS}"
                         if profile_name == "pgo" else None),
            "flags": flags, "keep": sorted(keep), "toolchain": tools,
            "placeholder": PLACEHOLDER, "strip": strip, "builtin": list(BUILTIN_MODULES)}


def cache_key(rec):
    blob = json.dumps(rec, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


# ---------------------------------------------------------------- build

def build(source, rec, key, payload, jobs, log):
    """Compile CPython (cpython.py) in its fixed build directory, then trim and strip it there
    and move the result into payload/tree; keep pip for later use. Returns the entry's info."""
    with cpython.build_directory(key, log) as workdir:
        staged, version, patches, srcdir = cpython.compile_and_install(source, rec, workdir,
                                                                       jobs, log)
        xy = ".".join(version.split(".")[:2])
        with log.stage("trim", f"CPython {version}"):
            _set_aside_bundled(staged, xy, payload, rec["keep"])
            trim(staged, xy, rec["keep"])
            if rec["strip"]:
                strip_elf_files(staged, log)
            tree = payload / "tree"
            # the build directory is on /var/tmp, the cache elsewhere: copy, then drop
            shutil.copytree(staged, tree, symlinks=True)
            relocate.rewrite_text_files(tree, {str(srcdir): cpython.NEUTRAL_BUILD_DIR})
            relocate.rewrite_pycs(tree / "bin" / f"python{xy}", tree, {}, log)
        # CPython's make only warns about an extension module that failed to build or to
        # import; such an entry must not be cached (every package would lack the module).
        problems = verify.check_runtime(tree, xy, smoke=True)
        if problems:
            raise PyrpathError(f"CPython {version} was built, but {problems[0]}", log=log.path)
        (payload / shlibs.FILE).write_text(
            shlibs.interpreter_depends(tree, workdir, log, BUILD_PATH) + "\n")
    info = {"version": version, "source": source.label, "source_sha256": source.sha256,
            "debian_package": source.package, "debian_revision": source.revision,
            "debian_patches": patches,
            "configure": rec["configure"], "flags": rec["flags"], "profile": rec["profile"],
            "optimize": rec["profile"] == "optimize"}
    (payload / "info.json").write_text(json.dumps(info, indent=1, sort_keys=True))
    return info


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

def describe(interp):
    """What the stage line says: 'CPython 3.11.2 (Debian python3.11 3.11.2-6+deb12u8, 47
    upstream fixes; PGO+LTO)' -- the revision decides which security fixes a service has."""
    info = interp.info
    build = {"pgo": "PGO+LTO", "optimize": "--optimize PGO+LTO", "plain": "no PGO"}.get(
        info.get("profile"), info.get("profile"))
    if info.get("debian_revision"):
        origin = (f"Debian {info['debian_package']} {info['debian_revision']}, "
                  f"{len(info.get('debian_patches') or [])} upstream fixes")
    else:
        origin = f"{info['source']}, no Debian fixes"
    return f"CPython {interp.version} ({origin}; {build})"


def _load(entry, key):
    payload = entry / "payload"
    info = json.loads((payload / "info.json").read_text())
    return Interpreter(key=key, version=info["version"], tree=payload / "tree",
                       pip=payload / "pip", bundled=payload / "bundled", info=info,
                       depends=(payload / shlibs.FILE).read_text().strip())


def plan(settings, build_opts, cache, workdir, log, source=None, facts=None):
    """(source, recipe, cache key) of the interpreter these settings ask for; `source` and its
    `facts` when the caller resolved them already (sources.resolve, sources.facts)."""
    source = source or sources.resolve(settings.python_source, settings.python_sha256, cache,
                                       workdir, log)
    facts = facts or sources.facts(source, cache)
    rec = recipe(source, facts, build_flags(log, build_opts.noopt), settings.keep,
                 profile(settings.optimize, build_opts.noopt), toolchain(log, facts, settings.keep),
                 strip=not build_opts.nostrip)
    return source, rec, cache_key(rec)


def ensure(settings, build_opts, cache, workdir, log, place, source, facts):
    """Get a verified interpreter for these settings from `source` (sources.resolve, with its
    `facts`), building it only on a cache miss, and hand it to `place` (which copies what it
    needs) while no one can prune or rebuild it."""
    source, rec, key = plan(settings, build_opts, cache, workdir, log, source, facts)
    jobs = build_opts.parallel or os.cpu_count() or 1
    if cache is None:
        payload = Path(workdir) / "interpreter" / "payload"
        if payload.exists():
            shutil.rmtree(payload.parent)
        payload.mkdir(parents=True)
        build(source, rec, key, payload, jobs, log)
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
                build(source, rec, key, staging / "payload", jobs, log)
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
