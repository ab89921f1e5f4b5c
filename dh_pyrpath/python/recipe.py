"""What an interpreter is built from, and the cache key that names it.

The recipe is everything that changes the bytes of the trimmed interpreter and nothing else:
the source and Debian's patches, configure's arguments, the profile and its training, the
hardening flags, the toolchain and library packages installed, the placeholder prefix. Its hash
(the store's key_of) is the cache key, so that a host with more -dev packages installed and a
clean chroot share entries, and a stale entry is never used.
"""
import platform
import re
import subprocess

from .. import host
from ..store.entries import key_of
from ..store.files import sha256_file
from . import training

# Fixed-length placeholder prefix: long enough that any real prefix (<= MAX_PREFIX_LEN) can be
# patched over it in compiled-in C strings, padded with NULs.
PLACEHOLDER = "/opt/dh-pyrpath-placeholder-prefix" + "_" * 94
# Bump when the build or trim steps change what an entry contains.
RECIPE_VERSION = 16

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
BUILD_PATH = host.SYSTEM_PATH

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
            "training": (sha256_file(training.TRAINING) + f":{training.TRAINING_ROUNDS}"
                         + ":" + sha256_file(training.STEADY_FILES)
                         if profile_name == "pgo" else None),
            "flags": flags, "keep": sorted(keep), "toolchain": tools,
            "placeholder": PLACEHOLDER, "strip": strip, "builtin": list(BUILTIN_MODULES)}


def cache_key(rec):
    """The interpreter's cache key: the store's key of its recipe (recipe.json in the entry)."""
    return key_of(rec)
