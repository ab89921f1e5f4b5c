"""Private APT configurations that know another Debian release's deb-src, for
`APT_CONFIG=...`: dh_pyrpath's `apt-cache showsrc` and `apt-get source` then find that release's
CPython without touching the host's /etc/apt. They are dh_pyrpath's own
(dh_pyrpath.python.releases); this module names the bench's releases and reads a release's
default python3."""
import os
import re

from dh_pyrpath.errors import PyrpathError
from dh_pyrpath.python import releases

from . import host
from .proc import SYSTEM_PATH, BenchError, run

# The Debian releases dh-pyrpath builds on; the matrix's second default is the other one's
# python3.
RELEASES = ("bookworm", "trixie")


def other_release(codename):
    """The supported release that is not the host's, or None (a host of another release)."""
    if codename not in RELEASES:
        return None
    return next(r for r in RELEASES if r != codename)


def config(suite):
    """The path of an apt.conf whose only sources are deb-src entries of `suite` (plus its
    security suite, for a stable release): dh_pyrpath's own private configuration
    (dh_pyrpath.python.releases), kept under the bench's work directory."""
    try:
        codename, support = releases.classify(suite)
        return releases.config(codename, host.WORK_ROOT, stable=support == "stable")
    except PyrpathError as exc:
        raise BenchError(str(exc)) from None


using = releases.using


def default_python(conf):
    """The python3.X that python3-defaults names in the sources `conf` knows ("python3.13")."""
    with using(conf):
        out = run(["apt-cache", "showsrc", "python3-defaults"], check=False,
                  env={**os.environ, "PATH": SYSTEM_PATH, "LC_ALL": "C"})
    versions = re.findall(r"^Version: (\d+)\.(\d+)\.", out, re.M)
    if not versions:
        return None
    major, minor = max((int(a), int(b)) for a, b in versions)
    return f"python{major}.{minor}"
