"""The lintian overrides a package with a private CPython ships: the tags its layout triggers
by design, each confined to the prefix, unless the package brings its own file."""
from pathlib import Path

# Tags a private CPython under its own prefix triggers by design, each confined to the prefix.
# "*" stands for the tag's own detail (a path, a library name) before the [file] context.
LINTIAN_OVERRIDES = (
    ("dir-or-file-in-opt", ""),                         # a self-contained tree outside the FHS
    ("dir-or-file-in-srv", ""),
    ("custom-library-search-path", "* "),                # DT_RPATH $ORIGIN/../lib: the point
    ("unusual-interpreter", "* "),                       # scripts run the private python
    ("python3-script-but-no-python3-dep", "* "),
    ("interpreter-in-usr-local", "* "),
    ("script-uses-unversioned-python-in-shebang", ""),
    ("script-not-executable", ""),
    ("embedded-library", "* "),                          # isolation from system copies
    ("library-not-linked-against-libc", ""),             # libpython3.so, extension modules
    ("shared-library-lacks-prerequisites", ""),
    ("undeclared-elf-prerequisites", "* "),
    # bytecode for the one interpreter that runs it, compiled at build time (bytecode.py)
    ("package-installs-python-pycache-dir", ""),
)
# Not confined to a file: the trigger is the package's.
PACKAGE_OVERRIDES = ("package-has-unnecessary-activation-of-ldconfig-trigger",)


def lintian_overrides(package, prefix):
    top = prefix.strip("/").split("/")[0]
    context = f"[{prefix.strip('/')}/*]"
    lines = ["# Added by dh_pyrpath: tags a private CPython under its own prefix triggers by",
             "# design (see dh_pyrpath(1)); each is confined to that prefix."]
    lines += [f"{package}: {tag} {detail}{context}" for tag, detail in LINTIAN_OVERRIDES]
    lines += [f"{package}: {tag}" for tag in PACKAGE_OVERRIDES]
    if top not in ("opt", "srv", "usr", "var"):
        lines += [f"{package}: non-standard-toplevel-dir [{top}/]",
                  f"{package}: file-in-unusual-dir [{top}/*]"]
    return "\n".join(lines) + "\n"


def install_lintian_overrides(package, prefix, tmpdir, user_file):
    """Ship the overrides, unless the package has its own file (dh_lintian would install that
    one over ours: its author decides)."""
    if user_file is not None:
        return
    target = Path(tmpdir) / "usr" / "share" / "lintian" / "overrides" / package
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(lintian_overrides(package, prefix))
