"""What apt says about CPython's Debian sources: the deb-src index targets, the revisions and
files `apt-cache showsrc` lists, whether the archive serves them, and downloading them with
`apt-get source` (apt checks every file against its signed index). Also what the binary
indexes list (`apt-cache madison`) and downloading one binary package with `apt-get download`,
or one source's .debian.tar: the audit reads a newer revision's changelog from its .debian.tar
when apt knows the source and the archive serves it, else from python3.X-minimal, which
servers without deb-src entries can fetch.

The revision a host resolves is a security matter, so this module also looks at the host's apt
state: do its deb-src entries include its release's security archive, are the installed
python3.X binaries newer than any source apt knows (a stale index).
"""
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass

from debian.deb822 import Deb822
from debian.debian_support import Version

from .. import host
from ..errors import PyrpathError

APT_HELPER = "/usr/lib/apt/apt-helper"
QUERY_PATH = host.SYSTEM_PATH

# What apt prints when the archive does not have a file its index names (a mirror behind its
# own index), and when there is no network at all.
_NOT_SERVED = re.compile(r"\b404\b|Not Found|File has unexpected size|Hash Sum mismatch")
_NO_NETWORK = re.compile(r"Temporary failure resolving|Could not resolve|Could not connect|"
                         r"Network is unreachable|Connection failed|Failed to connect|"
                         r"No route to host|Connection timed out|Unable to connect")


class NotServed(PyrpathError):
    """apt's index names a revision whose files the archive does not serve."""


@dataclass(frozen=True)
class Revision:
    """One version of a Debian source package as apt's index lists it."""
    version: str
    orig: tuple            # (file name, sha256)
    debian: tuple | None   # (file name, sha256); None for a native or 1.0 source


def _query(cmd):
    try:
        proc = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "PATH": QUERY_PATH, "LC_ALL": "C"})
    except OSError:
        raise PyrpathError(f"{cmd[0]} not found: debian:<package> sources need apt") from None
    return proc


def index_targets(created_by):
    """apt's index targets of one kind, "Sources" or "Packages" ([{Codename, Suite, Repo-URI,
    Filename, ...}])."""
    proc = _query(["apt-get", "indextargets", f"Created-By: {created_by}"])
    return [dict(p) for p in Deb822.iter_paragraphs(proc.stdout.splitlines(True),
                                                     use_apt_pkg=False)]


def deb_src_targets():
    """apt's deb-src index targets ([{Codename, Suite, Repo-URI, Filename, ...}])."""
    return index_targets("Sources")


def known_python_sources(targets=None):
    """The python3.X source packages apt's deb-src indexes list, e.g. ["python3.11"]."""
    targets = deb_src_targets() if targets is None else targets
    found = set()
    for target in targets:
        name = target.get("Filename", "")
        if not name or not os.path.exists(name):
            continue
        proc = _query([APT_HELPER, "cat-file", name])
        found.update(re.findall(r"^Package: (python3\.\d+)$", proc.stdout, re.M))
    return sorted(found, key=lambda n: int(n.split(".")[1]))


def security_gap(targets=None, codename=None):
    """The security suite of the host's release when no deb-src entry covers it, else None.

    Without it apt resolves the newest revision of bookworm and bookworm-updates, and every
    service misses the fixes of the security archive."""
    codename = host.host_codename() if codename is None else codename
    if not codename or codename in ("sid", "unstable"):
        return None  # unstable has no security archive
    targets = deb_src_targets() if targets is None else targets
    if not targets:
        return None  # no deb-src at all is an error of its own when it matters
    suite = f"{codename}-security"
    if any(suite in (t.get("Codename"), t.get("Suite"), t.get("Release")) for t in targets):
        return None
    return suite


def installed_binary_version(package):
    """The installed version of the binary packages built from source `package` (python3.X),
    or None."""
    xy = package[len("python"):]
    proc = _query(["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}\n",
                   f"python{xy}-minimal", f"libpython{xy}-minimal"])
    versions = [line.split()[1] for line in proc.stdout.splitlines()
                if line.startswith("ii ") and len(line.split()) == 2]
    return max(versions, key=Version) if versions else None


# ---------------------------------------------------------------- apt's index

def showsrc(package):
    """`apt-cache showsrc package` ('' when apt knows no such source)."""
    proc = _query(["apt-cache", "showsrc", package])
    return proc.stdout if proc.returncode == 0 else ""


def _source_files(text, kind):
    """(version, name, sha256) of every file named *.`kind`.tar.* in `apt-cache showsrc`
    output, `kind` being "orig" or "debian"."""
    for block in text.split("\n\n"):
        version = re.search(r"^Version: (\S+)", block, re.M)
        sums = re.search(r"^Checksums-Sha256:\n((?: .*\n?)+)", block, re.M)
        if version and sums:
            for line in sums.group(1).splitlines():
                parts = line.split()
                if len(parts) == 3 and re.search(rf"\.{kind}\.tar\.[a-z0-9]+$", parts[2]):
                    yield version.group(1), parts[2], parts[0]


def revisions(text):
    """Every revision in `apt-cache showsrc` output that has a pristine tarball, newest first."""
    debs = {v: (n, h) for v, n, h in _source_files(text, "debian")}
    found = {v: Revision(v, (n, h), debs.get(v)) for v, n, h in _source_files(text, "orig")}
    return sorted(found.values(), key=lambda r: Version(r.version), reverse=True)


def newest_orig(text, wanted=None):
    """(version, orig tarball name, sha256) of the newest version in `apt-cache showsrc` output
    (of version `wanted` only, if given)."""
    for rev in revisions(text):
        if not wanted or rev.version == wanted:
            return (rev.version, *rev.orig)
    return None


def debian_tarball(text, version):
    """(name, sha256) of the .debian.tar.* of `version` in `apt-cache showsrc` output, or None."""
    for rev in revisions(text):
        if rev.version == version:
            return rev.debian
    return None


def missing_source_error(package, targets=None, codename=None):
    """The error for a debian: source apt does not know: which of the cases it is, and the
    python3.X sources apt does know."""
    targets = deb_src_targets() if targets is None else targets
    codename = host.host_codename() if codename is None else codename
    if not targets:
        where = f" for {codename}" if codename else ""
        return PyrpathError(
            f"apt has no deb-src entries, so it knows no source package {package}: add "
            f"deb-src entries{where} (Types: deb-src in /etc/apt/sources.list.d/, as "
            "examples/setup-host does) and run apt-get update, or run `dh_pyrpath --vendor` "
            "where there is network")
    suites = ", ".join(dict.fromkeys(t.get("Codename") or t.get("Suite") or "?" for t in targets))
    if not any(os.path.exists(t.get("Filename", "")) for t in targets):
        return PyrpathError(f"apt's deb-src indexes ({suites}) were never downloaded: run "
                            "apt-get update")
    known = known_python_sources(targets)
    have = (f"it knows {', '.join(known)}: use python-source = debian:{known[-1]}, or add"
            if known else "it knows no python3.X source at all: add")
    return PyrpathError(f"apt's deb-src entries ({suites}) have no source package {package}; "
                        f"{have} a deb-src entry for a release that has {package}")


def apt_get_source(package, version, dest, log):
    """`apt-get source --download-only package=version` into dest; apt checks the files against
    its signed index (Release -> Sources -> dsc)."""
    cmd = ["apt-get", "source", "--download-only", f"{package}={version}"]
    try:
        log.run(cmd, f"apt-get source {package}={version}", cwd=dest,
                env={**os.environ, "PATH": QUERY_PATH, "LC_ALL": "C"})
    except PyrpathError as exc:
        text = "\n".join(exc.tail or [])
        if _NO_NETWORK.search(text):
            raise PyrpathError(
                f"cannot download {package} {version}: the archive is unreachable (no "
                "network?): build where it is reachable once, or run `dh_pyrpath --vendor` "
                "there and build offline from the vendored files", log=exc.log,
                tail=exc.tail) from None
        if _NOT_SERVED.search(text):
            raise NotServed(f"apt's index lists {package} {version} but the archive does not "
                            "serve its files (404)", log=exc.log, tail=exc.tail) from None
        raise PyrpathError(f"apt-get source {package}={version} failed: check the deb-src "
                           "entry and the network (apt-get update), or use a local tarball",
                           log=exc.log, tail=exc.tail) from None


def _source_uris(package, version):
    """[(uri, name, size, digest)] of the files `apt-get source --print-uris` lists for
    package=version."""
    proc = _query(["apt-get", "source", "--print-uris", "--download-only", f"{package}={version}"])
    return re.findall(r"^'(\S+)' (\S+) (\d+) (\S+)$", proc.stdout, re.M)


def download_source_file(package, version, pattern, dest):
    """The file of source package=version whose name matches `pattern` (a regular
    expression), downloaded into dest by apt's own transport (its proxies and credentials
    apply) and checked against the digest apt's signed index gives; its path, or None when
    the index names no such file. Raises NotServed when the archive does not serve it."""
    for uri, name, _size, digest in _source_uris(package, version):
        if re.search(pattern, name):
            path = os.path.join(dest, name)
            got = _query([APT_HELPER, "download-file", uri, path, digest])
            if got.returncode != 0:
                raise NotServed(f"apt's index lists {package} {version} but the archive does "
                                f"not serve its {name} (404)")
            return path
    return None


def archive_serves(package, version):
    """Whether the archive serves the .dsc of package=version."""
    with tempfile.TemporaryDirectory(prefix="dh-pyrpath-probe-") as tmp:
        try:
            return download_source_file(package, version, r"\.dsc$", tmp) is not None
        except NotServed:
            return False


# ---------------------------------------------------------------- binary packages

def binary_versions(package):
    """[(version, index)] of binary `package` in apt's binary indexes, newest first; `index`
    names the index as `apt-cache madison` does ("<uri> bookworm-security/main amd64
    Packages"). [] when no index lists it."""
    proc = _query(["apt-cache", "madison", package])
    found = {}
    for line in proc.stdout.splitlines():
        parts = [p.strip() for p in line.split("|")]
        # madison also lists the source package's Sources lines: the binary ones end "Packages"
        if len(parts) == 3 and parts[0] == package and parts[2].endswith(" Packages"):
            found.setdefault(parts[1], parts[2])
    return sorted(found.items(), key=lambda item: Version(item[0]), reverse=True)


def download_binary(package, version, dest):
    """`apt-get download package=version` into dest; returns the .deb's path. apt checks it
    against its signed index. Raises NotServed when the archive answers 404."""
    proc = subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=dest, text=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          env={**os.environ, "PATH": QUERY_PATH, "LC_ALL": "C"})
    debs = sorted(p for p in os.listdir(dest) if p.endswith(".deb"))
    if proc.returncode == 0 and debs:
        return os.path.join(dest, debs[0])
    errors = [line for line in proc.stdout.splitlines() if line.startswith("E:")]
    last = (errors or proc.stdout.strip().splitlines() or ["no output"])[-1]
    if _NOT_SERVED.search(proc.stdout):
        raise NotServed(f"apt's index lists {package} {version} but the archive does not serve "
                        f"it ({last.removeprefix('E: ').strip()})")
    if _NO_NETWORK.search(proc.stdout):
        raise PyrpathError(f"cannot download {package} {version}: the archive is unreachable "
                           "(no network?): run this where apt's archive is reachable")
    raise PyrpathError(f"apt-get download {package}={version} failed ({last.strip()}): check "
                       "apt's sources and run apt-get update")
