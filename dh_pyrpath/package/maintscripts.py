"""Maintainer-script snippets dh_pyrpath adds through debhelper (debian/<pkg>.<script>.debhelper,
which dh_installdeb puts at #DEBHELPER#).

- postinst byte-compiles the prefix's modules with the private interpreter. The package ships
  no bytecode, as Debian's policy for Python asks: smaller .debs, faster builds, and timestamp
  pycs (cheaper to validate on import than hash-checked ones).
- prerm removes every __pycache__ under the prefix: what postinst compiled and whatever Python
  wrote at run time (`python -O` opt-1 pycs, a module without bytecode), so remove and purge
  leave nothing.
- postrm makes base-files' directories (/opt, /srv, /usr/local/...) again when dpkg removed them
  with the package's last file: base-files creates them in its postinst, so no package owns them.
"""
import re
import shlex
from pathlib import Path

from .. import __version__

START = "# Automatically added by dh_pyrpath/"
END = "# End automatically added section"

# What base-files' postinst makes (mode, group): the candidates for postrm to make again.
BASE_FILES_DIRS = {"/opt": ("0755", "root"), "/srv": ("0755", "root"),
                   "/mnt": ("0755", "root"), "/media": ("0755", "root"),
                   "/var/opt": ("0755", "root"), "/etc/opt": ("0755", "root"),
                   **{d: ("2775", "staff") for d in (
                       "/usr/local", "/usr/local/share", "/usr/local/bin", "/usr/local/lib",
                       "/usr/local/sbin", "/usr/local/src", "/usr/local/etc")}}

POSTINST = """\
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
	# byte-compile the private interpreter's modules (the package ships no bytecode); a
	# parallel run needs /dev/shm, a serial one does not
	if [ -x {python} ]; then
		{python} -I -m compileall -q -j0{levels} --invalidation-mode timestamp {libdir} >/dev/null 2>&1 ||
		{python} -I -m compileall -q -j1{levels} --invalidation-mode timestamp {libdir} >&2 ||
		echo "{package}: some Python modules could not be byte-compiled (see above): they run from source" >&2
	fi
fi
"""

PRERM = """\
# bytecode is not part of the package: compiled by postinst or written at run time
if [ -d {prefix} ]; then
	find {prefix} -depth -type d -name __pycache__ -exec rm -rf {{}} +
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
    q = shlex.quote
    levels = " -o 0 -o 1 -o 2" if opt_pycs else ""
    out = {
        "postinst": POSTINST.format(python=q(f"{prefix}/bin/python{xy}"), levels=levels,
                                    libdir=q(f"{prefix}/lib/python{xy}"), package=package),
        "prerm": PRERM.format(prefix=q(prefix)),
    }
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
    pattern = re.compile(re.escape(START) + r"[^\n]*\n.*?" + re.escape(END) + r"\n", re.S)
    rest = pattern.sub("", existing)
    return section + rest if script in ("prerm", "postrm") else rest + section


def install(package, prefix, xy, opt_pycs=False, debian_dir="debian"):
    """Write the snippets into debian/<package>.<script>.debhelper (idempotent: a rerun
    replaces dh_pyrpath's section and leaves other helpers' sections alone)."""
    for script, snippet in snippets(package, prefix, xy, opt_pycs).items():
        path = Path(debian_dir) / f"{package}.{script}.debhelper"
        existing = path.read_text() if path.exists() else ""
        path.write_text(merge(existing, script, snippet))
