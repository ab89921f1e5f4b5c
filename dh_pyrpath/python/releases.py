"""Debian's other releases as sources of CPython, reached through a private apt configuration.

A bookworm host whose project needs Python 3.13 takes trixie's python3.13 source package. The
host's /etc/apt is never touched: each release gets its own sources list, lists and package
cache (under the dh-pyrpath cache, or the build's work directory), used through APT_CONFIG by
the same apt commands apt.py runs for the host's own release. The archive's addresses are the
ones the host's own apt uses for Debian (its mirror, its proxy), and apt checks every file
against the release's signed index with debian-archive-keyring's keys, as strictly as it does
for the host's own entries.

Which releases there are, and which are supported, comes from distro-info-data (Debian's own
table): a stable release and the host's are offered; testing and unstable only when asked for by
name, since they get no security support.
"""
import contextlib
import datetime
import fcntl
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path


from .. import host
from ..errors import PyrpathError, UsageError
from ..store import location
from . import apt

KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
DISTRO_INFO = Path("/usr/share/distro-info/debian.csv")
# Lists older than this are fetched again (apt's own periodic update is daily too).
MAX_AGE = 86400

_NO_KEY = re.compile(r"NO_PUBKEY (\S+)|is not signed|signatures couldn't be verified|"
                     r"invalid signature", re.I)
_NO_RELEASE = re.compile(r"does not have a Release file|404\s+Not Found", re.I)
_UNREACHABLE = re.compile(r"Could not resolve|Could not connect|Connection failed|"
                          r"Failed to connect|Network is unreachable|No route to host|"
                          r"Connection timed out|Unable to connect|Temporary failure resolving",
                          re.I)


def table(path=DISTRO_INFO):
    """[{codename, version, release, eol, eol_lts}] from distro-info-data, oldest first."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        raise PyrpathError(f"cannot read {path}: install distro-info-data (Debian's table of "
                           "its releases)") from None
    head = lines[0].split(",")
    rows = []
    for line in lines[1:]:
        values = dict(zip(head, line.split(",")))
        rows.append({"codename": values.get("series", ""), "version": values.get("version", ""),
                     "release": _date(values.get("release")), "eol": _date(values.get("eol")),
                     "eol_lts": _date(values.get("eol-lts"))})
    return rows


def _date(text):
    return datetime.date.fromisoformat(text) if text else None


def classify(name, today=None, rows=None):
    """(codename, support) of a release name or apt alias: support is "stable" (released,
    security support or LTS not over), "development" (testing, unstable, not released yet: no
    security support), or "ended". An unknown name is a UsageError that lists the known
    ones."""
    today = today or datetime.date.today()
    rows = table() if rows is None else rows
    released = [r for r in rows if r["release"] and r["release"] <= today and r["version"]]
    unreleased = [r for r in rows if r["version"] and not (r["release"] and
                                                            r["release"] <= today)]
    aliases = {"stable": released[-1]["codename"] if released else None,
               "testing": unreleased[0]["codename"] if unreleased else None,
               "unstable": "sid"}
    codename = aliases.get(name, name)
    row = next((r for r in rows if r["codename"] == codename), None)
    if row is None or codename is None:
        known = [r["codename"] for r in rows if r["release"] is None or
                 (r["eol_lts"] or r["eol"] or today) >= today]
        raise UsageError(f"unknown Debian release '{name}': use one of "
                         f"{', '.join(known + ['stable', 'testing', 'unstable'])}")
    if not (row["version"] and row["release"] and row["release"] <= today):
        return codename, "development"  # testing, unstable and what is not released yet
    end = row["eol_lts"] or row["eol"]
    return codename, ("ended" if end and end < today else "stable")


def newer_stable(host_codename, today=None, rows=None):
    """The supported stable releases newer than the host's, oldest first ("trixie" on
    bookworm)."""
    today = today or datetime.date.today()
    rows = table() if rows is None else rows
    versions = {r["codename"]: int(r["version"]) for r in rows if r["version"].isdigit()}
    mine = versions.get(host_codename)
    if mine is None:
        return []
    return [c for c, v in sorted(versions.items(), key=lambda kv: kv[1])
            if v > mine and classify(c, today, rows)[1] == "stable"]


def archive_uris():
    """(archive, security archive or None): the URIs of the host apt's Debian entries."""
    found = {}
    with using(None):  # the host's own entries, whatever configuration is in effect
        targets = apt.index_targets("Packages")
    for target in targets:
        if target.get("Origin") == "Debian" and target.get("Repo-URI"):
            found.setdefault(target.get("Label"), target["Repo-URI"])
    if "Debian" not in found:
        raise PyrpathError("the host's apt has no entry for Debian's archive (a `deb` line "
                           "whose origin is Debian): add one (and run apt-get update) so that "
                           "other releases' sources can be found at the same address")
    return found["Debian"], found.get("Debian-Security")


def sources_entries(codename, archive, security, keyring=KEYRING, stable=True, kind="deb-src"):
    """deb822 entries of `codename` (and, for a stable release, its updates and security
    suites), each signed by `keyring`: apt accepts nothing it cannot verify with it. `kind`:
    "deb-src" (the sources a build takes), or "deb" (the binary indexes the audit reads)."""
    suites = [codename] + ([f"{codename}-updates"] if stable else [])
    entries = [f"Types: {kind}\nURIs: {archive}\nSuites: {' '.join(suites)}\n"
               f"Components: main\nSigned-By: {keyring}\n"]
    if security and stable:
        entries.append(f"Types: {kind}\nURIs: {security}\nSuites: {codename}-security\n"
                       f"Components: main\nSigned-By: {keyring}\n")
    return "\n".join(entries)


def config(codename, root, log=None, keyring=KEYRING, archive=None, security=None,
           max_age=MAX_AGE, stable=True, kind="deb-src"):
    """The path of an apt.conf under `root`/apt/<codename> whose only sources are the deb-src
    entries of `codename` (`kind` "deb": its binary entries, under <codename>-deb), its lists
    fetched at most `max_age` seconds ago. Raises PyrpathError naming the release when apt
    cannot fetch or verify them."""
    base = Path(root) / "apt" / (codename if kind == "deb-src" else f"{codename}-{kind}")
    for sub in ("sources.list.d", "lists/partial", "cache/archives/partial"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    if archive is None:
        archive, security = archive_uris()
    listing = base / "sources.list.d" / f"{codename}-{'src' if kind == 'deb-src' else kind}.sources"
    text = sources_entries(codename, archive, security, keyring, stable, kind)
    changed = not listing.is_file() or listing.read_text() != text
    if changed:
        tmp = listing.with_name(f".{listing.name}.{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, listing)
    conf = base / "apt.conf"
    # only these sources, apt's state of them kept apart from the host's
    options = {"Dir::Etc::sourcelist": "/dev/null", "Dir::Etc::sourceparts": base /
               "sources.list.d", "Dir::State::lists": base / "lists", "Dir::Cache": base / "cache",
               "Acquire::Languages": "none"}
    conf.write_text("".join(f'{key} "{value}";\n' for key, value in options.items()))
    stamp = base / "updated"
    # one update at a time: apt-get update fails at once on lists another one holds
    with open(base / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if changed or not stamp.exists() or time.time() - stamp.stat().st_mtime > max_age:
            update(codename, conf, keyring, log)
            stamp.write_text("")
    return conf


def update(codename, conf, keyring, log=None):
    """apt-get update with the private configuration; one clear error when it fails."""
    cmd = ["apt-get", "update", "-q"]
    proc = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env={"PATH": host.SYSTEM_PATH, "LC_ALL": "C", "APT_CONFIG": str(conf)})
    if log is not None:
        log.write(f"$ APT_CONFIG={conf} apt-get update -q\n{proc.stdout}")
    text = proc.stdout
    failed = proc.returncode != 0 or re.search(r"^(E:|W: Failed to fetch)", text, re.M)
    if not failed:
        return
    tail = [line for line in text.splitlines() if line.startswith(("E:", "W:", "Err:"))][-10:]
    key = _NO_KEY.search(text)
    if key:
        missing = f" (key {key.group(1)})" if key.group(1) else ""
        raise PyrpathError(f"apt cannot verify Debian {codename}'s index with {keyring}"
                           f"{missing}: install a debian-archive-keyring that has {codename}'s "
                           "key (apt-get install debian-archive-keyring from the host's "
                           "updates)", tail=tail)
    if _UNREACHABLE.search(text):
        raise PyrpathError(f"Debian {codename}'s archive is unreachable from this host: build "
                           "where it is reachable, or run `dh_pyrpath --vendor` there and "
                           "build offline from the vendored files", tail=tail)
    if _NO_RELEASE.search(text):
        raise PyrpathError(f"the archive has no release {codename} (no Release file): check "
                           "the release name in python-source", tail=tail)
    raise PyrpathError(f"apt-get update for Debian {codename} failed: see its output",
                       tail=tail)


@contextlib.contextmanager
def apt_root(cache_dir=None):
    """Where private apt configurations go: the cache directory (`cache_dir`, else the default
    location) when this user may write it, so that lists are fetched once a day; else a
    temporary directory, removed afterwards. Only the directory: opening the cache as a build
    does would also set a shared cache's umask on the whole process."""
    found = Path(cache_dir) if cache_dir else location.default_location()
    usable = False
    if found is not None:
        try:
            found.mkdir(parents=True, exist_ok=True)
            usable = os.access(found, os.W_OK | os.X_OK)
        except OSError:
            usable = False  # a location this user cannot make
    if usable:
        yield found
        return
    with tempfile.TemporaryDirectory(prefix="dh-pyrpath-apt-") as tmp:
        yield Path(tmp)


@contextlib.contextmanager
def using(conf):
    """APT_CONFIG set to `conf` (None: unset, the host's own apt) while the block runs: apt.py's
    commands take the process's environment, and apt reads its configuration from there."""
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
