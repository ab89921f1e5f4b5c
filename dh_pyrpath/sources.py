"""Where a private CPython comes from, verified before it is used; and what the host's apt
says about it.

- `debian:python3.X` is Debian's source package through apt: the pristine upstream tarball and
  the `.debian.tar` whose upstream fixes debian_patches.py applies. apt checks both against its
  signed index. Without a version it is the newest revision apt knows *and the archive serves*;
  `debian:python3.X=<version>` pins one (make-deb writes the pin, so a package builds the same
  interpreter on every host and later).
- A tarball path or http(s) URL needs `--python-sha256`; none of Debian's fixes are applied.
- Vendored files (`dh_pyrpath --vendor`, vendor.py) replace both, with no network and no apt.

The revision a host resolves is a security matter, so this module also looks at the host: do its
deb-src entries include its release's security archive, is the installed python3.X binary newer
than any source apt knows (a stale index), is there a newer revision than a pinned one.
"""
import configparser
import functools
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from debian.deb822 import Deb822
from debian.debian_support import Version

from . import cache as cachelib
from .errors import PyrpathError
from .log import redact

# python3-minimal's record of the release's default python3 (what dh-python reads too).
DEBIAN_DEFAULTS = Path("/usr/share/python3/debian_defaults")
OS_RELEASE = Path("/etc/os-release")
APT_HELPER = "/usr/lib/apt/apt-helper"
QUERY_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

# What apt prints when the archive does not have a file its index names (a mirror behind its
# own index), and when there is no network at all.
_NOT_SERVED = re.compile(r"\b404\b|Not Found|File has unexpected size|Hash Sum mismatch")
_NO_NETWORK = re.compile(r"Temporary failure resolving|Could not resolve|Could not connect|"
                         r"Network is unreachable|Connection failed|Failed to connect|"
                         r"No route to host|Connection timed out|Unable to connect")


class NotServed(PyrpathError):
    """apt's index names a revision whose files the archive does not serve."""


@dataclass
class DebianPatches:
    """A verified .debian.tar.* whose upstream fixes go onto the source (debian_patches.py)."""
    tarball: Path
    sha256: str
    label: str  # "python3.11 3.11.2-6+deb12u8"
    name: str = None  # the file's own name (the cached copy's is <sha256>-<name>)

    def __post_init__(self):
        self.name = self.name or self.tarball.name


@dataclass
class Source:
    """A verified CPython source tarball."""
    path: Path
    sha256: str
    label: str                  # for messages and build-info: "python3.11_3.11.2.orig.tar.gz (Debian ...)"
    debian: DebianPatches | None = None
    package: str | None = None  # the Debian source package, for debian: sources
    revision: str | None = None  # its Debian version
    name: str | None = None      # the tarball's own name (the cached copy's is <sha256>-<name>)

    def __post_init__(self):
        self.name = self.name or self.path.name


@dataclass(frozen=True)
class Revision:
    """One version of a Debian source package as apt's index lists it."""
    version: str
    orig: tuple            # (file name, sha256)
    debian: tuple | None   # (file name, sha256); None for a native or 1.0 source


def facts(source, cache=None):
    """{"version": "3.11.2", "bundled_libmpdec": bool} of a verified CPython tarball, read from
    its members (once per tarball when there is a cache: a full read of a .tar.xz takes ~2 s).
    The cache key needs them before anything is built."""
    stored = cache.path("facts", f"{source.sha256}.json") if cache else None
    if stored is not None and stored.is_file():
        try:
            return json.loads(stored.read_text())
        except ValueError:
            pass
    version, bundled = None, False
    try:
        with tarfile.open(source.path) as tar:
            for member in tar:
                parts = member.name.split("/")
                if parts[1:] == ["Include", "patchlevel.h"] and member.isfile():
                    text = tar.extractfile(member).read().decode("latin-1")
                    match = re.search(r'#define\s+PY_VERSION\s+"([^"]+)"', text)
                    version = match.group(1) if match else None
                elif parts[1:4] == ["Modules", "_decimal", "libmpdec"]:
                    bundled = True
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise PyrpathError(f"CPython source {source.label} is not a readable tarball ({exc}): "
                           "give a CPython release tarball") from None
    if version is None:
        raise PyrpathError(f"{source.label} does not contain a CPython source tree (no "
                           "Include/patchlevel.h): give a CPython release tarball")
    found = {"version": version, "bundled_libmpdec": bundled}
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        tmp = stored.with_name(f".{stored.name}.{os.getpid()}")
        tmp.write_text(json.dumps(found, sort_keys=True))
        os.replace(tmp, stored)
    return found


# ---------------------------------------------------------------- the host

def host_default_package(defaults=DEBIAN_DEFAULTS):
    """The source package of the host release's default python3 ("python3.11" on bookworm,
    "python3.13" on trixie), read from python3-minimal's debian_defaults."""
    parser = configparser.ConfigParser()
    try:
        parser.read_string(Path(defaults).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, configparser.Error):
        pass
    value = parser.get("DEFAULT", "default-version", fallback="").strip()
    if not re.fullmatch(r"python3\.\d+", value):
        raise PyrpathError(f"cannot tell this host's default python3 ({defaults} names none): "
                           "set python-source (debian:python3.X, or a tarball and its sha256)")
    return value


def host_default_source(defaults=DEBIAN_DEFAULTS):
    """`debian:python3.X` for the host's default python3."""
    return f"debian:{host_default_package(defaults)}"


def host_codename(os_release=OS_RELEASE):
    """VERSION_CODENAME of the host ("bookworm"), or None."""
    try:
        text = Path(os_release).read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^VERSION_CODENAME=\"?([A-Za-z0-9.-]+)\"?$", text, re.M)
    return match.group(1) if match else None


def _query(cmd):
    try:
        proc = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "PATH": QUERY_PATH, "LC_ALL": "C"})
    except OSError:
        raise PyrpathError(f"{cmd[0]} not found: debian:<package> sources need apt") from None
    return proc


def deb_src_targets():
    """apt's deb-src index targets ([{Codename, Suite, Repo-URI, Filename, ...}])."""
    proc = _query(["apt-get", "indextargets", "Created-By: Sources"])
    return [dict(p) for p in Deb822.iter_paragraphs(proc.stdout.splitlines(True),
                                                     use_apt_pkg=False)]


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
    codename = host_codename() if codename is None else codename
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
    codename = host_codename() if codename is None else codename
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


# ---------------------------------------------------------------- resolving a source

def check_sha256(path, expected, label, fix="fix --python-sha256 or the source"):
    actual = cachelib.sha256_file(path)
    if actual != expected:
        raise PyrpathError(f"CPython source {label}: sha256 is {actual}, expected {expected}: "
                           f"the file is corrupt or not the one you meant; {fix}")


def resolve(spec, sha256, cache, workdir, log, vendored=None):
    """Turn --python-source into a verified tarball on disk (a Source).

    `vendored` (vendor.VendorSet or None) is consulted first: a vendored build needs no apt, no
    network and no cache."""
    if vendored is not None:
        source = vendored.cpython(spec, sha256)
        if source is not None:
            return source
    if spec.startswith("debian:"):
        return _debian_source(spec[len("debian:"):], cache, workdir, log)
    if not sha256:
        raise PyrpathError(f"--python-source {spec} has no checksum: pass --python-sha256 "
                           "(sha256sum of the tarball); unverified sources are refused")
    sha256 = sha256.lower()
    log.warn(f"CPython from {redact(spec)}: a tarball gets none of Debian's security fixes "
             "(python-source = debian:python3.X applies them)")
    if re.match(r"https?://", spec):
        return _download(spec, sha256, cache, workdir, log)
    path = Path(spec[len("file://"):] if spec.startswith("file://") else spec)
    if not path.is_file():
        raise PyrpathError(f"CPython source {path} not found: give an existing tarball path, an "
                           "http(s) URL, or debian:python3.X")
    check_sha256(path, sha256, spec)
    return Source(path.resolve(), sha256, path.name)


def tarball_name(url):
    return re.sub(r"[^A-Za-z0-9._-]", "_", url.rstrip("/").rsplit("/", 1)[-1]) or "python.tar"


def _download(url, sha256, cache, workdir, log):
    name = tarball_name(url)
    if cache:
        found = cache.source_file(name, sha256, log)
        if found:
            return Source(found, sha256, name, name=name)
    tmpdir = cache.tempdir("source-") if cache else Path(workdir)
    tmp = tmpdir / name
    log.write(f"downloading {redact(url)}")
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as out:
            shutil.copyfileobj(resp, out)
    except (urllib.error.URLError, OSError) as exc:
        raise PyrpathError(f"cannot download CPython source {redact(url)}: {exc}: check the "
                           "URL and the network, or use a local tarball") from None
    check_sha256(tmp, sha256, redact(url))
    if cache:
        path = cache.add_source_file(tmp, name, sha256, log)
        shutil.rmtree(tmpdir, ignore_errors=True)
        return Source(path, sha256, name, name=name)
    return Source(tmp, sha256, name)


def _debian_source(spec, cache, workdir, log):
    # debian:python3.13 takes the newest revision the archive serves; debian:python3.13=3.13.5-2
    # pins one (a new deb-src entry, or a new upload, then cannot change the interpreter)
    package, _, pinned = spec.partition("=")
    text = showsrc(package)
    if not text.strip():
        raise missing_source_error(package)
    known = revisions(text)
    if not known:
        raise PyrpathError(f"source package {package} has no pristine .orig tarball in apt's "
                           "index: pick another --python-source")
    report_host_state(package, known, pinned, log)
    if pinned:
        chosen = [r for r in known if r.version == pinned]
        if not chosen:
            raise PyrpathError(
                f"apt knows no version {pinned} of source package {package} (it knows: "
                f"{', '.join(sorted((r.version for r in known), key=Version))}): fix the "
                f"version in python-source (debian:{package}=<version>), or check the deb-src "
                "entries")
        return fetch_revision(package, chosen[0], cache, workdir, log)
    for rev in known:
        older = [r.version for r in known if Version(r.version) < Version(rev.version)]
        # a revision the index lists but the archive does not serve (yet) is probed quietly
        # (its .dsc), so a build whose older revision is cached downloads nothing
        if older and not _cached(package, rev, cache, log) and \
                not archive_serves(package, rev.version):
            log.warn(f"apt's index lists {package} {rev.version} but the archive does not "
                     f"serve its files (404); using {package} {older[0]} instead, which lacks "
                     "its fixes")
            continue
        try:
            return fetch_revision(package, rev, cache, workdir, log)
        except NotServed as exc:
            if not older:
                raise
            log.warn(f"{exc}; using {package} {older[0]} instead, which lacks its fixes")
    raise AssertionError("unreachable")


def _cached(package, rev, cache, log):
    files = [rev.orig] + ([rev.debian] if rev.debian else [])
    return bool(cache) and all(cache.source_file(n, h, log) for n, h in files)


def report_host_state(package, known, pinned, log):
    """Warnings that decide whether a service gets Debian's newest fixes (never failures)."""
    targets = deb_src_targets()
    gap = security_gap(targets)
    if gap:
        log.warn(f"apt's deb-src entries lack {gap}, Debian's security archive for this "
                 f"release: {package} resolves without its newest fixes; add a deb-src entry "
                 f"for {gap} (examples/setup-host does) and run apt-get update")
    installed = installed_binary_version(package)
    newest = known[0].version
    if installed and Version(installed) > Version(newest):
        log.warn(f"the installed {package} binaries ({installed}) are newer than any {package} "
                 f"source apt knows ({newest}): the deb-src index is stale or lacks the "
                 "security archive; run apt-get update")
    if pinned and any(Version(r.version) > Version(pinned) for r in known):
        log.say(f"interpreter: {package} {newest} is available: update python-source "
                f"(debian:{package}={newest}); this build uses the pinned {pinned}")


def fetch_revision(package, rev, cache, workdir, log):
    """A Source for one revision: from the cache, or downloaded with apt into it."""
    files = [rev.orig] + ([rev.debian] if rev.debian else [])
    label = f"{package} {rev.version}"

    def source(paths):
        return Source(paths[rev.orig[0]], rev.orig[1], f"{rev.orig[0]} (Debian {label})",
                      DebianPatches(paths[rev.debian[0]], rev.debian[1], label,
                                    name=rev.debian[0]) if rev.debian else None,
                      package=package, revision=rev.version, name=rev.orig[0])

    if cache:
        found = {n: cache.source_file(n, h, log) for n, h in files}
        if all(found.values()):
            return source(found)
    tmpdir = cache.tempdir("source-") if cache else Path(workdir) / "apt-source"
    tmpdir.mkdir(parents=True, exist_ok=True)
    try:
        apt_get_source(package, rev.version, tmpdir, log)
        for n, h in files:
            if not (tmpdir / n).is_file():
                raise PyrpathError(f"apt-get source {package} did not produce {n}",
                                   log=log.path)
            check_sha256(tmpdir / n, h, n, fix="run apt-get update and build again")
        if not cache:
            return source({n: tmpdir / n for n, _ in files})
        return source({n: cache.add_source_file(tmpdir / n, n, h, log) for n, h in files})
    finally:
        if cache:
            shutil.rmtree(tmpdir, ignore_errors=True)


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


@functools.lru_cache(maxsize=None)
def pinned_spec(package):
    """`debian:python3.X=<version>` for the revision a build would use now (make-deb writes it):
    the newest revision apt knows whose .dsc the archive serves."""
    text = showsrc(package)
    if not text.strip():
        raise missing_source_error(package)
    known = revisions(text)
    for rev in known:
        if archive_serves(package, rev.version):
            return f"debian:{package}={rev.version}"
    if known:
        raise PyrpathError(f"the archive serves none of the {package} revisions apt lists "
                           f"({', '.join(r.version for r in known)}): check the network and the "
                           "deb-src entries, or pass --python-source")
    raise PyrpathError(f"source package {package} has no pristine .orig tarball in apt's index")


def archive_serves(package, version):
    """Whether the archive serves the .dsc of package=version (apt's own transport fetches it:
    its proxies and credentials apply)."""
    proc = _query(["apt-get", "source", "--print-uris", "--download-only", f"{package}={version}"])
    uris = re.findall(r"^'(\S+\.dsc)' (\S+) (\d+) (\S+)$", proc.stdout, re.M)
    if not uris:
        return False
    uri, name, _size, digest = uris[0]
    with tempfile.TemporaryDirectory(prefix="dh-pyrpath-probe-") as tmp:
        got = _query([APT_HELPER, "download-file", uri, os.path.join(tmp, name), digest])
        return got.returncode == 0
