"""Where a private CPython comes from, verified before it is used.

- `debian:python3.X` is Debian's source package through apt (apt.py): the pristine upstream
  tarball and the `.debian.tar` whose upstream fixes debian_patches.py applies. apt checks both
  against its signed index. Without a version it is the newest revision apt knows *and the
  archive serves*; `debian:python3.X=<version>` pins one (make-deb writes the pin, so a package
  builds the same interpreter on every host and later). `@<release>` at the end takes it from
  another Debian release (`debian:python3.13@trixie` on a bookworm host) through a private apt
  configuration (releases.py), never the host's /etc/apt.
- A tarball path or http(s) URL needs `--python-sha256`; none of Debian's fixes are applied.
- Vendored files (`dh_pyrpath --vendor`, vendor.py) replace both, with no network and no apt.

Whatever the route, the files are kept in the store by their sha256, and read once for the
facts the cache key needs (`facts`).
"""
import functools
import json
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from debian.debian_support import Version

from .. import host
from ..errors import PyrpathError, UsageError
from ..log import redact
from ..store.files import sha256_file
from . import apt, releases


@dataclass
class DebianPatches:
    """A verified .debian.tar.* whose upstream fixes go onto the source (debian_patches.py)."""
    tarball: Path
    sha256: str
    label: str  # "python3.11 3.11.2-6+deb12u8"
    name: str = None  # the file's own name (the cached copy's is <sha256>-<name>)

    def __post_init__(self):
        self.name = self.name or self.tarball.name


# What follows "debian:": the source package, a pinned version, a release.
DEBIAN_SPEC = re.compile(r"^([a-z0-9][a-z0-9.+-]*)(?:=([^@\s]+))?(?:@([a-z][a-z0-9-]*))?$")


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
    release: str | None = None   # the Debian release apt took it from ("trixie")

    def __post_init__(self):
        self.name = self.name or self.path.name


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


def check_sha256(path, expected, label, fix="fix --python-sha256 or the source"):
    actual = sha256_file(path)
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


def parse_debian(spec):
    """(package, pinned version or None, release or None) of what follows "debian:"."""
    match = DEBIAN_SPEC.match(spec)
    if not match:
        raise UsageError(f"python-source debian:{spec} is not debian:python3.X[=<version>]"
                         "[@<release>], e.g. debian:python3.13@trixie")
    return match.groups()


def _debian_source(spec, cache, workdir, log):
    # debian:python3.13 takes the newest revision the archive serves; debian:python3.13=3.13.5-2
    # pins one (a new deb-src entry, or a new upload, then cannot change the interpreter);
    # @trixie takes it from another release's archive, through a configuration of its own
    package, pinned, release = parse_debian(spec)
    here = host.host_codename()
    if release is None or release == here:
        return _from_apt(package, pinned, cache, workdir, log, here)
    codename, support = releases.classify(release)
    if support == "ended":
        raise PyrpathError(f"Debian {codename}'s security support has ended: take "
                           f"{package} from a supported release")
    if support == "development":
        log.warn(f"Debian {codename} gets no security support: {package} from it will not "
                 "get security fixes in time; prefer a stable release")
    conf = releases.config(codename, cache.root if cache else workdir, log,
                           stable=support == "stable")
    with releases.using(conf):
        return _from_apt(package, pinned, cache, workdir, log, codename, other=True)


def _from_apt(package, pinned, cache, workdir, log, release, other=False):
    """The Source of `package` (pinned, or the newest revision the archive serves) as apt's
    configuration in effect knows it; `other`: a release other than the host's."""
    text = apt.showsrc(package)
    if not text.strip() and other:
        known = apt.known_python_sources()
        raise PyrpathError(f"Debian {release} has no source package {package} (it has "
                           f"{', '.join(known) or 'no python3.X'}): fix python-source")
    if not text.strip():
        raise apt.missing_source_error(package)
    known = apt.revisions(text)
    if not known:
        raise PyrpathError(f"source package {package} has no pristine .orig tarball in apt's "
                           "index: pick another --python-source")
    if other:
        report_pin(package, known, pinned, log)
    else:
        report_host_state(package, known, pinned, log)
    if pinned:
        chosen = [r for r in known if r.version == pinned]
        if not chosen:
            raise PyrpathError(
                f"apt knows no version {pinned} of source package {package} (it knows: "
                f"{', '.join(sorted((r.version for r in known), key=Version))}): fix the "
                f"version in python-source (debian:{package}=<version>), or check the deb-src "
                "entries")
        return fetch_revision(package, chosen[0], cache, workdir, log, release)
    for rev in known:
        older = [r.version for r in known if Version(r.version) < Version(rev.version)]
        # a revision the index lists but the archive does not serve (yet) is probed quietly
        # (its .dsc), so a build whose older revision is cached downloads nothing
        if older and not _cached(package, rev, cache, log) and \
                not apt.archive_serves(package, rev.version):
            log.warn(f"apt's index lists {package} {rev.version} but the archive does not "
                     f"serve its files (404); using {package} {older[0]} instead, which lacks "
                     "its fixes")
            continue
        try:
            return fetch_revision(package, rev, cache, workdir, log, release)
        except apt.NotServed as exc:
            if not older:
                raise
            log.warn(f"{exc}; using {package} {older[0]} instead, which lacks its fixes")
    raise AssertionError("unreachable")


def _cached(package, rev, cache, log):
    files = [rev.orig] + ([rev.debian] if rev.debian else [])
    return bool(cache) and all(cache.source_file(n, h, log) for n, h in files)


def report_host_state(package, known, pinned, log):
    """Warnings that decide whether a service gets Debian's newest fixes (never failures)."""
    targets = apt.deb_src_targets()
    gap = apt.security_gap(targets)
    if gap:
        log.warn(f"apt's deb-src entries lack {gap}, Debian's security archive for this "
                 f"release: {package} resolves without its newest fixes; add a deb-src entry "
                 f"for {gap} (examples/setup-host does) and run apt-get update")
    installed = apt.installed_binary_version(package)
    newest = known[0].version
    if installed and Version(installed) > Version(newest):
        log.warn(f"the installed {package} binaries ({installed}) are newer than any {package} "
                 f"source apt knows ({newest}): the deb-src index is stale or lacks the "
                 "security archive; run apt-get update")
    report_pin(package, known, pinned, log)


def report_pin(package, known, pinned, log):
    """A note when a newer revision than the pinned one is available."""
    newest = known[0].version
    if pinned and any(Version(r.version) > Version(pinned) for r in known):
        log.say(f"interpreter: {package} {newest} is available: update python-source "
                f"(debian:{package}={newest}); this build uses the pinned {pinned}")


def fetch_revision(package, rev, cache, workdir, log, release=None):
    """A Source for one revision: from the cache, or downloaded with apt into it."""
    files = [rev.orig] + ([rev.debian] if rev.debian else [])
    label = f"{package} {rev.version}"

    def source(paths):
        return Source(paths[rev.orig[0]], rev.orig[1], f"{rev.orig[0]} (Debian {label})",
                      DebianPatches(paths[rev.debian[0]], rev.debian[1], label,
                                    name=rev.debian[0]) if rev.debian else None,
                      package=package, revision=rev.version, name=rev.orig[0],
                      release=release)

    if cache:
        found = {n: cache.source_file(n, h, log) for n, h in files}
        if all(found.values()):
            return source(found)
    tmpdir = cache.tempdir("source-") if cache else Path(workdir) / "apt-source"
    tmpdir.mkdir(parents=True, exist_ok=True)
    try:
        apt.apt_get_source(package, rev.version, tmpdir, log)
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


def newest_served(package):
    """(the newest revision of source `package` whose .dsc the archive serves, or None; the
    newer revisions apt lists that it does not serve, newest first), as apt's configuration in
    effect knows them. Raises PyrpathError when apt knows no such source."""
    text = apt.showsrc(package)
    if not text.strip():
        raise apt.missing_source_error(package)
    unserved = []
    for rev in apt.revisions(text):
        if apt.archive_serves(package, rev.version):
            return rev, unserved
        unserved.append(rev.version)
    return None, unserved


@functools.lru_cache(maxsize=None)
def pinned_spec(package, release=None):
    """`debian:python3.X=<version>` for the revision a build would use now (make-deb writes it):
    the newest revision apt knows whose .dsc the archive serves. `release` names the release
    whose configuration is in effect (the answer is remembered per package and release)."""
    rev, unserved = newest_served(package)
    if rev is not None:
        return f"debian:{package}={rev.version}"
    if unserved:
        raise PyrpathError(f"the archive serves none of the {package} revisions apt lists "
                           f"({', '.join(unserved)}): check the network and the "
                           "deb-src entries, or pass --python-source")
    raise PyrpathError(f"source package {package} has no pristine .orig tarball in apt's index")
