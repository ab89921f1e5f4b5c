"""The interpreter's shared-library dependencies, computed once per cache entry.

dpkg-shlibdeps takes 4-5 s on the ~70 ELF files of a CPython, on every build. Their Depends
only change with what the cache key already names (the -dev packages, hence the library
versions), so they are computed when the entry is built and stored in it; dh_shlibdeps skips the
interpreter's files (debhelper/pyrpath.pm) and still scans what the project adds (extension
modules of wheels). The stored value goes to ${misc:Depends}: dpkg-shlibdeps rewrites
${shlibs:Depends} as a whole.
"""
import re
from pathlib import Path

from ..errors import PyrpathError
from ..package import relocate

SUBSTVAR = "misc:Depends"
FILE = "depends.txt"


def interpreter_depends(tree, workdir, log, path):
    """Depends (e.g. 'libc6 (>= 2.34), libssl3 (>= 3.0.0)') of every ELF file under `tree`."""
    tree = Path(tree).resolve()
    elves = list(relocate.elf_files(tree))
    if not elves:
        return ""
    # dpkg-shlibdeps wants a source tree (debian/control) to run in, and a DEBIAN/ above the
    # (real) files to count the libpython beside the executable ($ORIGIN/../lib) as the
    # package's own rather than the system's libpython3.X.
    cwd = Path(workdir) / "shlibdeps"
    (cwd / "debian").mkdir(parents=True)
    (cwd / "debian" / "control").write_text(
        "Source: dh-pyrpath-interpreter\n\nPackage: dh-pyrpath-interpreter\nArchitecture: any\n")
    marker = tree.parent / "DEBIAN"
    marker.mkdir()
    try:
        out = log.capture(["dpkg-shlibdeps", "-O", *elves], "dpkg-shlibdeps on the interpreter",
                          cwd=cwd, env={"PATH": path, "LC_ALL": "C"})
    finally:
        marker.rmdir()
    match = re.search(r"^shlibs:Depends=(.*)$", out, re.M)
    depends = match.group(1).strip() if match else ""
    if re.search(r"(^|,\s*)libpython", depends):  # the isolation would be gone
        raise PyrpathError(f"dpkg-shlibdeps took the system's libpython for the interpreter's "
                           f"own ({depends}): report this as a dh-pyrpath bug")
    return depends


def add_substvar(package, depends, debian_dir="debian"):
    """Add `depends` to ${misc:Depends} in debian/<package>.substvars (kept: other lines, and
    what other helpers put in misc:Depends)."""
    if not depends:
        return
    path = Path(debian_dir) / f"{package}.substvars"
    lines = path.read_text().splitlines() if path.exists() else []
    new = [d.strip() for d in depends.split(",") if d.strip()]
    for i, line in enumerate(lines):
        name, sep, value = line.partition("=")
        if sep and name.strip() == SUBSTVAR:
            have = [d.strip() for d in value.split(",") if d.strip()]
            lines[i] = f"{SUBSTVAR}=" + ", ".join(have + [d for d in new if d not in have])
            break
    else:
        lines.append(f"{SUBSTVAR}=" + ", ".join(new))
    path.write_text("\n".join(lines) + "\n")


def check_control_uses_it(package, depends_field):
    """dh_gencontrol only puts ${misc:Depends} where debian/control says (before compat 14)."""
    if "${misc:Depends}" not in (depends_field or ""):
        raise PyrpathError(f"debian/control: package {package} has no ${{misc:Depends}} in its "
                           "Depends: add it (dh_pyrpath puts the private CPython's library "
                           "dependencies there)")
