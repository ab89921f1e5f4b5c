"""Maintainer-script snippets dh_pyrpath adds through debhelper (debian/<pkg>.<script>.debhelper,
which dh_installdeb puts at #DEBHELPER#).

- No postinst: the package ships its bytecode, compiled at build time (bytecode.py), so
  installing runs no compiler and dpkg owns every pyc.
- prerm removes the bytecode Python writes at run time that the package does not ship: the
  .opt-1/.opt-2 pycs of `python -O`/`-OO` (unless the package ships them, --keep opt-pyc), so
  remove and purge leave nothing. A pyc Python rewrites after someone edited its .py has the
  shipped pyc's name, and dpkg removes it with the package.
- postrm makes base-files' directories (/opt, /srv, /usr/local/...) again when dpkg removed them
  with the package's last file: base-files creates them in its postinst, so no package owns them.
"""
import re
import shlex
from pathlib import Path

from .. import __version__

START = "# Automatically added by dh_pyrpath/"
END = "# End automatically added section"
_SECTION = re.compile(re.escape(START) + r"[^\n]*\n.*?" + re.escape(END) + r"\n", re.S)

# What base-files' postinst makes (mode, group): the candidates for postrm to make again.
BASE_FILES_DIRS = {"/opt": ("0755", "root"), "/srv": ("0755", "root"),
                   "/mnt": ("0755", "root"), "/media": ("0755", "root"),
                   "/var/opt": ("0755", "root"), "/etc/opt": ("0755", "root"),
                   **{d: ("2775", "staff") for d in (
                       "/usr/local", "/usr/local/share", "/usr/local/bin", "/usr/local/lib",
                       "/usr/local/sbin", "/usr/local/src", "/usr/local/etc")}}

PRERM = """\
# bytecode written at run time (python -O, -OO): the package ships only the plain pycs
if [ -d {prefix} ]; then
	find {prefix} -path '*/__pycache__/*.opt-[12].pyc' -type f -delete
fi
"""

POSTRM_DIR = """\
# {path} belongs to base-files, which makes it in its postinst: dpkg removed it with this
# package's last file in it, so make it again
if [ ! -e {path} ]; then
	mkdir -m {mode} {path}
	chgrp {group} {path} 2>/dev/null || true
fi
"""


def snippets(package, prefix, xy, opt_pycs=False):
    """{script: text} for a package whose private CPython X.Y lives at `prefix`."""
    out = {} if opt_pycs else {"prerm": PRERM.format(prefix=shlex.quote(prefix))}
    ancestors = [str(p) for p in reversed(Path(prefix).parents) if str(p) in BASE_FILES_DIRS]
    if ancestors:
        out["postrm"] = "".join(POSTRM_DIR.format(path=a, mode=BASE_FILES_DIRS[a][0],
                                                  group=BASE_FILES_DIRS[a][1])
                                for a in ancestors)
    return out


def merge(existing, script, snippet):
    """`existing` (a .debhelper file's text) with dh_pyrpath's section put in, replacing an
    earlier one. Like debhelper's autoscript: appended to postinst, prepended to prerm and
    postrm (removal runs in the reverse order of installation)."""
    section = f"{START}{__version__}\n{snippet}{END}\n"
    rest = remove(existing)
    return section + rest if script in ("prerm", "postrm") else rest + section


def install(package, prefix, xy, opt_pycs=False, debian_dir="debian"):
    """Write the snippets into debian/<package>.<script>.debhelper (idempotent: a rerun
    replaces dh_pyrpath's section and leaves other helpers' sections alone)."""
    wanted = snippets(package, prefix, xy, opt_pycs)
    for script in ("postinst", "prerm", "postrm"):
        path = Path(debian_dir) / f"{package}.{script}.debhelper"
        existing = path.read_text() if path.exists() else ""
        if script in wanted:
            path.write_text(merge(existing, script, wanted[script]))
        elif START in existing:  # an earlier run's section this run has no use for
            rest = remove(existing)
            if rest:
                path.write_text(rest)
            else:
                path.unlink()


def remove(existing):
    """`existing` without dh_pyrpath's section."""
    return _SECTION.sub("", existing)
