"""The isolation health check, run on the staged tree before debhelper packages it.

Fails the build when the promise does not hold: the interpreter carries libpython itself (linked
statically: it maps no libpython, whatever LD_LIBRARY_PATH says); the shared libpython shipped
for embedders carries DT_RPATH (not RUNPATH, which LD_LIBRARY_PATH overrides) to its own lib/;
every other ELF file's libpython resolves inside the prefix; sys.path holds prefix paths only;
modules load from the prefix; no file still names the build directory or the placeholder.
"""
import json
import os
import re
import subprocess

from ..errors import PyrpathError
from .relocate import elf_files, regular_files

SMOKE_MODULES = ("ssl", "sqlite3", "ctypes", "lzma", "bz2", "zlib", "readline", "json",
                 "decimal", "uuid", "hashlib", "_json", "pyexpat", "curses", "dbm.gnu")


def dynamic_section(path):
    """(needed, rpath, runpath) of an ELF file, from readelf."""
    out = subprocess.run(["readelf", "-dW", path], text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    rpath = re.findall(r"\(RPATH\)\s+Library rpath: \[([^\]]*)\]", out)
    runpath = re.findall(r"\(RUNPATH\)\s+Library runpath: \[([^\]]*)\]", out)
    return needed, (rpath[0] if rpath else None), (runpath[0] if runpath else None)


def _resolve_in(path, soname, search):
    origin = os.path.dirname(os.path.realpath(path))
    for entry in (search or "").split(":"):
        candidate = os.path.join(entry.replace("$ORIGIN", origin).replace("${ORIGIN}", origin),
                                 soname)
        if entry and os.path.exists(candidate):
            return os.path.realpath(candidate)
    return None


def check_elf(staged, xy):
    """Problems with how ELF files under `staged` find libpython.

    bin/python3.X is linked statically (it must need no libpython: then no search path, no
    LD_LIBRARY_PATH, can give it another); the shared libpython beside it, for embedders, keeps
    DT_RPATH $ORIGIN/../lib; any other ELF file that needs libpython must find the prefix's."""
    problems = []
    root = os.path.realpath(staged)
    python = os.path.join(staged, "bin", f"python{xy}")
    needed, _, _ = dynamic_section(python)
    linked = [n for n in needed if n.startswith("libpython")]
    if linked:
        problems.append(f"bin/python{xy} needs {linked[0]}: it must be linked with libpython "
                        "statically")
    libpython = os.path.join(staged, "lib", f"libpython{xy}.so.1.0")
    if not os.path.isfile(libpython):
        problems.append(f"lib/libpython{xy}.so.1.0 is missing (programs that embed Python "
                        "need it)")
    else:
        _, rpath, runpath = dynamic_section(libpython)
        if rpath is None or "$ORIGIN/../lib" not in rpath.split(":"):
            problems.append(f"lib/libpython{xy}.so.1.0 has no DT_RPATH $ORIGIN/../lib "
                            f"(RPATH={rpath}, RUNPATH={runpath})")
    for path in elf_files(staged):
        needed, rpath, runpath = dynamic_section(path)
        for soname in needed:
            if not soname.startswith("libpython"):
                continue
            found = _resolve_in(path, soname, runpath or rpath)
            if found is None or not found.startswith(root + os.sep):
                problems.append(f"{os.path.relpath(path, staged)} needs {soname} but would load "
                                "it from outside the prefix")
    return problems


def check_loader(staged, xy):
    """Ask the real dynamic loader, with LD_LIBRARY_PATH aimed at the system's libraries: the
    interpreter maps no libpython, and finds every library it needs."""
    python = os.path.join(staged, "bin", f"python{xy}")
    multiarch = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.strip()
    problems = []
    for ld_path in (None, f"/usr/lib/{multiarch}:/lib/{multiarch}"):
        env = {"PATH": "/usr/bin:/bin"}
        if ld_path:
            env["LD_LIBRARY_PATH"] = ld_path
        out = subprocess.run(["ldd", python], text=True, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT).stdout
        match = re.search(r"libpython\S*\s+=>\s+(\S+)", out)
        if match:
            problems.append(f"the loader maps libpython ({match.group(1)}) into bin/python{xy}"
                            + (f" with LD_LIBRARY_PATH={ld_path}" if ld_path else ""))
        if "not found" in out:
            missing = sorted(set(re.findall(r"(\S+) => not found", out)))
            problems.append(f"bin/python{xy} needs libraries the system lacks: {', '.join(missing)}")
    return problems


_PROBE = """
import importlib, json, sys
mods = {}
for name in sys.argv[1:]:
    try:
        m = importlib.import_module(name)
        mods[name] = getattr(m, "__file__", None) or "built-in"
    except Exception as exc:
        mods[name] = "error: " + repr(exc)
with open("/proc/self/maps") as maps:
    # by file name: the directory may well have "libpython" in its name
    libpython = sorted({f for f in (line.split()[-1] for line in maps)
                        if f.rsplit("/", 1)[-1].startswith("libpython")})
print(json.dumps({"path": sys.path, "prefix": sys.prefix, "modules": mods,
                  "libpython": libpython}))
"""


def check_runtime(staged, xy, smoke):
    """Run the staged interpreter as a service would: sys.path and where modules come from."""
    python = os.path.join(staged, "bin", f"python{xy}")
    modules = ["json", "_json"] + (list(SMOKE_MODULES) if smoke else [])
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/nonexistent"}
    proc = subprocess.run([python, "-s", "-B", "-c", _PROBE, *modules], text=True, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/")
    if proc.returncode != 0:
        return [f"bin/python{xy} does not run: {proc.stderr.strip().splitlines()[-1:]}"]
    data = json.loads(proc.stdout)
    root = os.path.realpath(staged)
    problems = []
    for entry in data["path"]:
        if entry and not os.path.realpath(entry).startswith(root + os.sep):
            problems.append(f"sys.path holds {entry}, outside the prefix")
    for mapped in data["libpython"]:
        problems.append(f"bin/python{xy} has {mapped} mapped after importing its modules: "
                        "the executable must carry libpython itself")
    for name, where in sorted(data["modules"].items()):
        if where.startswith("error"):
            problems.append(f"import {name} fails: {where[7:]} (install its -dev package and "
                            "rebuild the interpreter)")
        elif where != "built-in" and not os.path.realpath(where).startswith(root + os.sep):
            problems.append(f"module {name} comes from {where}, outside the prefix")
    return problems


def check_leaks(staged, needles):
    """Files that still name a build-time path (the build directory, the placeholder, ...)."""
    wanted = [n.encode() for n in needles if n]
    problems = []
    for path in regular_files(staged):
        with open(path, "rb") as fh:
            data = fh.read()
        for needle in wanted:
            if needle in data:
                problems.append(f"{os.path.relpath(path, staged)} contains {needle.decode()}")
                break
    return problems


def verify(staged, xy, needles, smoke=True):
    """Raise with every problem found; return quietly when isolation holds."""
    problems = check_elf(staged, xy) + check_loader(staged, xy)
    problems += check_runtime(staged, xy, smoke)
    problems += check_leaks(staged, needles)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise PyrpathError(f"isolation check failed: {shown}")

