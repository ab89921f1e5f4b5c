"""Symbol tables off the project's ELF files that carry no debug information.

dh_strip makes a -dbgsym package from every ELF file that file(1) calls "not stripped", which
it does for a file with a symbol table alone. Many manylinux wheels ship their extensions that
way (charset-normalizer's mypyc modules: a .symtab, no .debug_* section): dh_strip then moves
the symbol table into a .debug file with no debug information, and the package gets a -dbgsym
full of nothing (lintian: debug-file-with-no-debug-symbols). Such files are stripped here, as
dh_strip would strip them, so that dh_strip finds nothing to keep. Files with debug
information (extensions built from sdists, with sysconfig's -g; wheels built with -g) keep it:
dh_strip makes a useful -dbgsym of them.

Vendored libraries of manylinux wheels (<pkg>.libs/) are never touched: auditwheel patched
them, and stripping them again has broken them (dh-virtualenv #150, #273); debhelper/pyrpath.pm
keeps dh_strip off them too. The interpreter's own files are stripped in the cache already
(interpreter.strip_elf_files), and DEB_BUILD_OPTIONS=nostrip leaves everything as it is.
"""
import os
import re

from . import relocate

# Never touched: auditwheel's patched libraries (dh_strip -X.libs/ in debhelper/pyrpath.pm).
EXCLUDE = (".libs/",)
# What lintian's debug-file-with-no-debug-symbols looks for in a detached debug file: one of
# these makes the -dbgsym worth having.
DEBUG_SECTIONS = frozenset({".debug_line", ".zdebug_line", ".debug_str", ".zdebug_str"})
_ET_EXEC, _ET_DYN = 2, 3
_SECTION = re.compile(r"^\s*\[\s*\d+\]\s+(\S+)")


def is_so_or_exec(path):
    """An ELF executable or shared object (what dh_strip and dh_shlibdeps act on; Dh_Lib's
    is_so_or_exec_elf_file): not a relocatable object, not a core file."""
    with open(path, "rb") as fh:
        head = fh.read(24)
    if len(head) < 24 or head[:4] != relocate.ELF_MAGIC or head[5] not in (1, 2):
        return False
    order = "little" if head[5] == 1 else "big"
    return (int.from_bytes(head[20:24], order) == 1
            and int.from_bytes(head[16:18], order) in (_ET_EXEC, _ET_DYN))


def section_names(paths, log, path_env):
    """{path: set of its section names}, from one readelf run."""
    if not paths:
        return {}
    out = log.capture(["readelf", "-S", "-W", *paths], "list the sections of ELF files",
                      env={"PATH": path_env, "LC_ALL": "C"})
    sections = {p: set() for p in paths}
    current = paths[0] if len(paths) == 1 else None  # one file: readelf prints no File: line
    for line in out.splitlines():
        if line.startswith("File: "):
            current = line[len("File: "):]
            continue
        match = _SECTION.match(line)
        if match and current in sections:
            sections[current].add(match.group(1))
    return sections


def needs_stripping(sections):
    """A symbol table and no debug information: dh_strip would make an empty .debug file."""
    return ".symtab" in sections and not (sections & DEBUG_SECTIONS)


def candidates(root):
    """ELF executables and shared objects under root that dh_strip would act on."""
    return [p for p in relocate.elf_files(root)
            if not any(x in p for x in EXCLUDE) and is_so_or_exec(p)]


def strip_symbol_tables(root, log, path_env):
    """Strip, as dh_strip would, the ELF files under root that have a symbol table and no debug
    information; return their paths (RECORD hashes must follow: relocate.fix_records)."""
    found = section_names(candidates(root), log, path_env)
    chosen = sorted(p for p, names in found.items() if needs_stripping(names))
    # dh_strip's own commands: --strip-unneeded for shared libraries, all symbols otherwise
    common = ["--remove-section=.comment", "--remove-section=.note"]
    libraries = [p for p in chosen if ".so" in os.path.basename(p)]
    executables = [p for p in chosen if ".so" not in os.path.basename(p)]
    env = {"PATH": path_env, "LC_ALL": "C"}
    if libraries:
        log.run(["strip", *common, "--strip-unneeded", *libraries],
                "strip symbol tables without debug information", env=env)
    if executables:
        log.run(["strip", *common, *executables],
                "strip symbol tables without debug information", env=env)
    return set(chosen)
