"""Private APT configurations that know another Debian release's deb-src, for
`APT_CONFIG=...`: dh_pyrpath's `apt-cache showsrc` and `apt-get source` then find that release's
CPython without touching the host's /etc/apt. The archive's address is the one the host's own
apt uses for Debian (its mirror, its proxy), read from apt, not written here."""
import contextlib
import os
import re
import time

from debian.deb822 import Deb822

from . import host
from .proc import SYSTEM_PATH, BenchError, run

# The Debian releases dh-pyrpath builds on; the matrix's second default is the other one's
# python3.
RELEASES = ("bookworm", "trixie")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
NO_SECURITY = ("sid", "unstable", "experimental")
MAX_AGE = 86400  # seconds: lists older than a day are fetched again


def other_release(codename):
    """The supported release that is not the host's, or None (a host of another release)."""
    if codename not in RELEASES:
        return None
    return next(r for r in RELEASES if r != codename)


def archive_uris():
    """(archive, security archive or None): the URIs of the host apt's Debian entries."""
    out = run(["apt-get", "indextargets", "Created-By: Packages"], check=False)
    found = {}
    for para in Deb822.iter_paragraphs(out.splitlines(True), use_apt_pkg=False):
        if para.get("Origin") == "Debian" and para.get("Repo-URI"):
            found.setdefault(para.get("Label"), para["Repo-URI"])
    if "Debian" not in found:
        raise BenchError("the host's apt has no Debian archive entry (no `deb` line with "
                         "Origin Debian): add one, or build on a Debian host")
    return found["Debian"], found.get("Debian-Security")


def config(suite):
    """The path of an apt.conf whose only sources are deb-src entries of `suite` (plus its
    security suite, for a stable release), with lists fetched at most a day ago."""
    base = host.WORK_ROOT / "apt" / suite
    conf = base / "apt.conf"
    for sub in ("sources.list.d", "lists/partial", "cache/archives/partial"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    archive, security = archive_uris()
    entries = [f"Types: deb-src\nURIs: {archive}\nSuites: {suite}\nComponents: main\n"
               f"Signed-By: {KEYRING}\n"]
    if security and suite not in NO_SECURITY:
        entries.append(f"Types: deb-src\nURIs: {security}\nSuites: {suite}-security\n"
                       f"Components: main\nSigned-By: {KEYRING}\n")
    sources = "\n".join(entries)
    listing = base / "sources.list.d" / f"{suite}-src.sources"
    changed = not listing.is_file() or listing.read_text() != sources
    listing.write_text(sources)
    # only these sources, and apt's state of them kept apart from the host's
    options = {"Dir::Etc::sourcelist": "/dev/null",
               "Dir::Etc::sourceparts": base / "sources.list.d",
               "Dir::State::lists": base / "lists", "Dir::Cache": base / "cache",
               "Acquire::Languages": "none"}
    conf.write_text("".join(f'{key} "{value}";\n' for key, value in options.items()))
    stamp = base / "updated"
    if changed or not stamp.exists() or time.time() - stamp.stat().st_mtime > MAX_AGE:
        run(["apt-get", "update", "-q"], env={"PATH": SYSTEM_PATH, "LC_ALL": "C",
                                              "APT_CONFIG": str(conf)})
        stamp.write_text("")
    return conf


@contextlib.contextmanager
def using(conf):
    """APT_CONFIG set to `conf` (None: the host's apt) while the block runs: dh_pyrpath's
    sources module passes os.environ on to apt."""
    old = os.environ.get("APT_CONFIG")
    if conf is None:
        os.environ.pop("APT_CONFIG", None)
    else:
        os.environ["APT_CONFIG"] = str(conf)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("APT_CONFIG", None)
        else:
            os.environ["APT_CONFIG"] = old


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
