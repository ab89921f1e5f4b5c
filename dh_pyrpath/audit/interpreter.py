"""Is a package's CPython behind Debian's security fixes?

The package records the revision of the Debian source its CPython came from
(build-info.json: 3.11.2-6+deb12u8). apt's binary index says which revision is newest:
`apt-cache madison python3.X-minimal`, which every host has, deb-src entries or not (a
server rarely has them). The CVE ids fixed in between come from the newer revision's
debian/changelog: from its .debian.tar (a few hundred kB, the source's own changelog) when
apt has deb-src entries that list the revision and the archive serves the file; else from
its python3.X-minimal binary package downloaded with `apt-get download` (a server without
deb-src entries; a network where the archive serves a revision's binaries but answers 404
for its source).
A package whose CPython came from another Debian release than the host's (build-info.json's
python_release: trixie's python3.13 on bookworm) is compared with that release's binary
index, read through a private apt configuration (python/releases.py): the host's /etc/apt
is not used for it, nor changed.
"""
import contextlib
import gzip
import re
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from debian.changelog import Changelog, ChangelogParseError
from debian.debian_support import Version

from .. import host
from ..errors import AuditError, PyrpathError
from ..python import apt, releases
from . import inputs

_CVE = re.compile(r"CVE-\d{4}-\d{4,}", re.I)
_BULLET = re.compile(r"^\s*[*+-]\s+")
# An item that starts with its CVE ids ("CVE-2026-8328: Apply CVE-2021-4189 PASV fix to
# ftplib.ftpcp()") fixes those; the ids in its description are context (here an older fix
# the new one reuses), not fixes of this upload.
_HEADING = re.compile(r"^(?:(?:fix(?:es|ed)?|for)\s+)?"
                      r"((?:CVE-\d{4}-\d{4,}(?:\s*(?:,|/|&|and)\s*)?)+)\s*:", re.I)
_BINNMU = re.compile(r"\+b\d+$")


@dataclass(frozen=True)
class Newer:
    """A newer revision of the interpreter's Debian source than the one a package was built
    from."""
    package: str      # the source package, "python3.11"
    built: str        # "3.11.2-6+deb12u8"
    newest: str       # "3.11.2-6+deb12u9"
    index: str        # the apt index that lists it, as apt-cache madison names it
    binary: str       # the binary package the index and the changelog were read from
    ids: tuple | None  # CVE ids fixed in between; None when the changelog was not read
    release: str | None = None  # another release than the host's, that it came from
    changelog: str = ""  # where the ids were read: a .debian.tar, or the binary's changelog

    @property
    def fix(self):
        where = f"@{self.release}" if self.release else ""
        return f"python-source = debian:{self.package}={self.newest}{where}"


def binary_package(source):
    """The binary package whose index entry and changelog stand for source `source`: its
    -minimal package, which every python3.X has and every other one depends on."""
    return f"{source}-minimal"


def _items(lines):
    """The changelog entry's items: each bullet line with its continuation lines."""
    items, current = [], []
    for line in lines:
        if _BULLET.match(line) or not line.strip():
            if current:
                items.append(" ".join(current))
            current = [_BULLET.sub("", line).strip()] if line.strip() else []
        elif current:
            current.append(line.strip())
    if current:
        items.append(" ".join(current))
    return items


def item_cves(text):
    """The CVE ids an item fixes: those it starts with, else every one it names."""
    heading = _HEADING.match(text)
    return [c.upper() for c in _CVE.findall(heading.group(1) if heading else text)]


def _cve_order(cve):
    return tuple(int(part) for part in cve.split("-")[1:])


def cves_since(text, built, newest=None):
    """CVE ids the entries of a changelog newer than `built` (up to `newest`) fix, sorted."""
    try:
        changelog = Changelog(text, strict=True)
    except ChangelogParseError as exc:
        raise AuditError(f"the changelog does not parse ({exc})") from None
    found = set()
    for block in changelog:
        version = Version(str(block.version))
        if version <= Version(built) or (newest and version > Version(newest)):
            continue
        for item in _items(block.changes()):
            found.update(item_cves(item))
    return tuple(sorted(found, key=_cve_order))


def changelog_of(deb, binary):
    """The text of a binary package's changelog.Debian.gz."""
    wanted = f"/usr/share/doc/{binary}/changelog.Debian.gz"
    members = inputs.deb_members(deb, (wanted,))
    if wanted not in members:
        raise AuditError(f"{deb}: has no {wanted}")
    try:
        return gzip.decompress(members[wanted]).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise AuditError(f"{deb}: {wanted} is damaged ({exc})") from None


def source_changelog(tarball):
    """The text of debian/changelog in a source package's .debian.tar.*."""
    try:
        with tarfile.open(tarball) as tar:
            member = tar.extractfile("debian/changelog")
            return member.read().decode("utf-8")
    except (KeyError, AttributeError):
        raise AuditError(f"{tarball}: has no debian/changelog") from None
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise AuditError(f"{tarball}: is damaged ({exc})") from None


def source_fixed_ids(source, built, version):
    """CVE ids the changelog in the .debian.tar of source `source` revision `version` names
    since `built`, read through the apt configuration in effect (its deb-src entries): the
    revision a build takes, whether or not the archive also serves its binaries. AuditError
    when it cannot be read."""
    with tempfile.TemporaryDirectory(prefix="dh-pyrpath-audit-") as tmp:
        try:
            tarball = apt.download_source_file(source, version, r"\.debian\.tar\.", tmp)
        except PyrpathError as exc:
            raise AuditError(f"{source} {version}'s .debian.tar: {exc}") from None
        if tarball is None:
            raise AuditError(f"apt's index names no .debian.tar for {source} {version}")
        return cves_since(source_changelog(tarball), built, version)


def binary_changelog_label(binary, version):
    return f"the changelog of {binary} {version}"


def no_index_error(binary, release=None):
    """Why apt lists no `binary`: no indexes at all, or none of them has it (`release`: the
    Debian release the package took its source from, when it says)."""
    targets = apt.index_targets("Packages")
    present = [t for t in targets if Path(t.get("Filename", "")).exists()]
    if not present:
        return AuditError(f"apt has no package indexes (its lists are empty), so the newest "
                          f"{binary} is unknown: run apt-get update and audit again")
    suites = ", ".join(dict.fromkeys(t.get("Codename") or t.get("Suite") or "?"
                                     for t in present))
    took = f" (the package took it from {release})" if release else ""
    return AuditError(f"apt's indexes ({suites}) list no {binary}{took}: audit on a host of "
                      "the release the package was built for, or add that release's apt "
                      "sources and run apt-get update")


class Interpreters:
    """The newest revision of each interpreter source, asked once per audit. `root`: where
    the private apt configurations of other releases go (None: they are not consulted)."""

    def __init__(self, root=None):
        self._newest = {}
        self._ids = {}
        self.root = root
        self._configs = {}

    def _other(self, release):
        """The release when it is another than the host's and can be read, else None."""
        if not release or self.root is None or release == host.host_codename():
            return None
        return release

    def _apt(self, release):
        """The apt configuration to ask about `release` (None: the host's own)."""
        other = self._other(release)
        if other is None:
            return contextlib.nullcontext()  # the host's own apt, as it is
        if other not in self._configs:
            try:
                codename, support = releases.classify(other)
                self._configs[other] = releases.config(codename, self.root,
                                                       stable=support == "stable", kind="deb")
            except PyrpathError as exc:
                self._configs[other] = AuditError(f"Debian {other}'s binary index: {exc}")
        found = self._configs[other]
        if isinstance(found, AuditError):
            raise found
        return releases.using(found)

    def newest(self, source, release=None):
        """(source revision, binary version, index) apt lists for `source` (of `release`);
        AuditError when it lists none."""
        key = (source, self._other(release))
        if key not in self._newest:
            binary = binary_package(source)
            with self._apt(release):
                versions = apt.binary_versions(binary)
                if not versions:
                    self._newest[key] = no_index_error(binary, release)
            if versions:
                version, index = versions[0]
                self._newest[key] = (_BINNMU.sub("", version), version, index)
        found = self._newest[key]
        if isinstance(found, AuditError):
            raise found
        return found

    def _changelog(self, source, newest, binary, binary_version, tmp):
        """(text, where it came from) of the changelog of `newest`: its .debian.tar when apt
        lists it and the archive serves it, else the binary package's."""
        try:
            tarball = apt.download_source_file(source, newest, r"\.debian\.tar\.", tmp)
        except PyrpathError:  # 404, or no network to the source: the binary may still come
            tarball = None
        if tarball:
            try:
                return source_changelog(tarball), Path(tarball).name
            except AuditError:
                pass  # apt checked its digest, so this is unlikely; the binary's says the same
        deb = apt.download_binary(binary, binary_version, tmp)
        return changelog_of(deb, binary), binary_changelog_label(binary, binary_version)

    def fixed_ids(self, source, built, binary_version, newest, release=None):
        """(CVE ids the changelog of `newest` names since `built`, where it was read);
        AuditError when it cannot be read (the archive's 404 among the reasons)."""
        key = (source, built, binary_version)
        if key not in self._ids:
            binary = binary_package(source)
            try:
                with tempfile.TemporaryDirectory(prefix="dh-pyrpath-audit-") as tmp, \
                        self._apt(release):
                    text, where = self._changelog(source, newest, binary, binary_version, tmp)
                self._ids[key] = (cves_since(text, built, newest), where)
            except AuditError as exc:
                self._ids[key] = AuditError(f"{binary} {binary_version}'s changelog: {exc}")
            except apt.NotServed as exc:
                self._ids[key] = AuditError(f"{exc}: the CVE ids fixed since {built} are "
                                            "unknown; audit where the archive serves it")
            except PyrpathError as exc:
                self._ids[key] = AuditError(str(exc))
        found = self._ids[key]
        if isinstance(found, AuditError):
            raise found
        return found

    def check(self, source, built, release=None):
        """(Newer or None, problem or None) for an interpreter built from `source`'s
        revision `built` (of Debian `release`, when known). Newer.ids is None when the
        changelog could not be read."""
        newest, binary_version, index = self.newest(source, release)
        if Version(newest) <= Version(built):
            return None, None
        binary = binary_package(source)
        other = self._other(release)
        try:
            ids, where = self.fixed_ids(source, built, binary_version, newest, release)
        except AuditError as exc:
            return Newer(source, built, newest, index, binary, None, other), str(exc)
        return Newer(source, built, newest, index, binary, ids, other, where), None

