"""Advisories for Python distributions: OSV records read from directories or zip files
(--osv), and the package index's JSON API (`/pypi/<name>/<version>/json`, its
`vulnerabilities` field) where the index serves one.

OSV is the format advisory databases share offline (the OSV project's PyPI export, GitHub's
advisory database). Only the PyPI ecosystem is read; names are compared canonicalised,
versions with `packaging`. A record that cannot be read or does not follow the schema stops
the audit: an advisory source read in part would turn "nothing found" into a lie.
"""
import functools
import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .. import host
from ..errors import AuditError
from ..log import redact


ECOSYSTEM = "PyPI"
# pip's own default index, asked of Debian's pip in a process of its own: importing pip here
# would make setuptools' distutils shim hand later in-process setuptools users (make-deb reads
# metadata that way) the standard library's distutils.
PIP_DEFAULT = ("from pip._internal.models.index import PyPI\n"
               "print(PyPI.simple_url)\nprint(PyPI.pypi_url)\n")
# Short: on a network where the API is filtered the audit must not hang, and one answer is
# all it needs to know.
TIMEOUT = 5
# This many 404s and no answer at all: the index serves no JSON API (only the simple pages),
# so asking for every other distribution would only repeat it.
GIVE_UP_AFTER = 5


@dataclass(frozen=True)
class Advisory:
    """One advisory about one distribution."""
    id: str
    aliases: tuple
    name: str                  # canonical distribution name
    source: str                # the OSV file it came from, or the index's URL
    ranges: tuple = ()         # (((kind, Version or None), ...), ...): ECOSYSTEM ranges
    versions: frozenset = frozenset()  # versions listed as affected, as written
    fixed: tuple = ()          # every version the record says fixes it

    def affects(self, version):
        """Whether the installed `version` (a string) is affected."""
        if version in self.versions:
            return True
        try:
            parsed = Version(version)
        except InvalidVersion:
            return False  # only an exact listing can match a version packaging cannot order
        if any(_parses_equal(v, parsed) for v in self.versions):
            return True
        return any(in_range(parsed, events) for events in self.ranges)

    def fix_above(self, version):
        """The lowest version that fixes it above `version`, or None."""
        try:
            parsed = Version(version)
        except InvalidVersion:
            return None
        above = [v for v in self.fixed if v > parsed]
        return min(above) if above else None

    @property
    def ids(self):
        return (self.id, *self.aliases)


def _parses_equal(text, version):
    try:
        return Version(text) == version
    except InvalidVersion:
        return False


def in_range(version, events):
    """OSV's evaluation of one ECOSYSTEM range: walk the events in version order; `introduced`
    opens ("0": from the first release), `fixed` closes before itself, `last_affected` after
    itself. `events` are (kind, Version or None for "0")."""
    affected = False
    for kind, at in sorted(events, key=lambda e: (e[1] is not None, e[1] or Version("0"))):
        if kind == "introduced":
            if at is None or version >= at:
                affected = True
        elif kind == "fixed":
            if version >= at:
                affected = False
        elif kind == "last_affected":
            if version > at:
                affected = False
    return affected


# ---------------------------------------------------------------- OSV records

def _malformed(where, what):
    return AuditError(f"{where}: not an OSV record: {what}: fix or remove the file")


def _version(where, record_id, text, allow_zero=False):
    if allow_zero and text == "0":
        return None
    if not isinstance(text, str):
        raise _malformed(where, f"{record_id}: version {text!r} is not a string")
    try:
        return Version(text)
    except InvalidVersion:
        raise _malformed(where, f"{record_id}: {text!r} is not a PEP 440 version") from None


def _ranges(where, record_id, affected):
    ranges, fixed = [], []
    raw = affected.get("ranges", [])
    if not isinstance(raw, list):
        raise _malformed(where, f"{record_id}: affected[].ranges is not a list")
    for rng in raw:
        if not isinstance(rng, dict) or not isinstance(rng.get("events"), list):
            raise _malformed(where, f"{record_id}: a range without an events list")
        if rng.get("type") != "ECOSYSTEM":
            continue  # GIT ranges name commits, SEMVER is not PyPI's scheme
        events = []
        for event in rng["events"]:
            if not isinstance(event, dict) or len(event) != 1:
                raise _malformed(where, f"{record_id}: event {event!r} is not one key and value")
            (kind, value), = event.items()
            if kind == "limit":
                continue  # limits bound GIT ranges
            if kind not in ("introduced", "fixed", "last_affected"):
                raise _malformed(where, f"{record_id}: unknown range event {kind!r}")
            at = _version(where, record_id, value, allow_zero=kind == "introduced")
            events.append((kind, at))
            if kind == "fixed":
                fixed.append(at)
        ranges.append(tuple(events))
    return tuple(ranges), tuple(fixed)


def parse_record(record, where):
    """[Advisory] of one OSV record's PyPI entries ([] when withdrawn or about other
    ecosystems). `where` names the file in errors."""
    if not isinstance(record, dict):
        raise _malformed(where, "the JSON document is not an object")
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise _malformed(where, "no 'id'")
    affected = record.get("affected", [])
    aliases = record.get("aliases", [])
    if not isinstance(affected, list) or not isinstance(aliases, list):
        raise _malformed(where, f"{record_id}: 'affected' and 'aliases' must be lists")
    if record.get("withdrawn"):
        return []
    found = []
    for entry in affected:
        if not isinstance(entry, dict) or not isinstance(entry.get("package"), dict):
            raise _malformed(where, f"{record_id}: an affected entry without a package")
        package = entry["package"]
        if package.get("ecosystem") != ECOSYSTEM:
            continue
        name = package.get("name")
        if not isinstance(name, str) or not name:
            raise _malformed(where, f"{record_id}: an affected package without a name")
        versions = entry.get("versions", [])
        if not isinstance(versions, list):
            raise _malformed(where, f"{record_id}: affected[].versions is not a list")
        ranges, fixed = _ranges(where, record_id, entry)
        # `versions` keeps what the index lists, legacy versions PEP 440 cannot parse too:
        # they are compared as written.
        found.append(Advisory(record_id, tuple(str(a) for a in aliases), canonicalize_name(name),
                              where, ranges, frozenset(str(v) for v in versions), fixed))
    return found


def _load(data, where):
    try:
        record = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"{where}: not valid JSON ({exc}): fix or remove the file") from None
    return parse_record(record, where)


def _records(source):
    """(where, bytes) of every OSV file of a directory (recursively), a zip, or one file."""
    path = Path(source)
    if path.is_dir():
        # a directory that happens to end in .json holds records, it is not one
        files = sorted(p for p in path.rglob("*.json") if not p.is_dir())
        for file in files:
            try:
                yield str(file), file.read_bytes()
            except OSError as exc:
                raise AuditError(f"{file}: cannot read it ({exc.strerror}): fix its "
                                 "permissions or remove it") from None
        return
    if not path.exists():
        raise AuditError(f"--osv {source}: no such file or directory: give a directory of OSV "
                         "records or a zip of them")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                for member in sorted(archive.namelist()):
                    if member.endswith(".json"):
                        yield f"{path}:{member}", archive.read(member)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:  # zlib: a bad member
            raise AuditError(f"{path}: a damaged zip file ({exc}): download it again") from None
        return
    if path.suffix == ".json":
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AuditError(f"{path}: cannot read it ({exc.strerror}): fix its permissions "
                             "or give another file") from None
        yield str(path), data
        return
    raise AuditError(f"--osv {source}: neither a directory, a zip file nor a .json file: give "
                     "a directory of OSV records or a zip of them")


@dataclass
class OsvIndex:
    """The OSV advisories read, by canonical distribution name."""
    by_name: dict = field(default_factory=dict)
    files: int = 0

    def add(self, advisory):
        self.by_name.setdefault(advisory.name, []).append(advisory)

    def matching(self, name, version):
        return [a for a in self.by_name.get(canonicalize_name(name), []) if a.affects(version)]


def load_osv(sources):
    """The PyPI advisories of every --osv source."""
    index = OsvIndex()
    for source in sources:
        for where, data in _records(source):
            index.files += 1
            for advisory in _load(data, where):
                index.add(advisory)
    return index


# ---------------------------------------------------------------- the index's JSON API

@functools.lru_cache(maxsize=None)
def pip_default_index():
    """(simple URL, JSON API URL) of pip's default index, or None without pip."""
    try:
        proc = subprocess.run(["python3", "-I", "-c", PIP_DEFAULT], text=True,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=60,
                              env={**os.environ, "PATH": host.SYSTEM_PATH})
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.split()
    return (lines[0], lines[1]) if proc.returncode == 0 and len(lines) == 2 else None


def json_api_base(index_url):
    """The JSON API's base URL for a simple index URL (".../simple" -> ".../pypi"), pip's
    default index when none is configured; None when the URL has no such sibling."""
    if not index_url:
        default = pip_default_index()
        return default[1] if default else None
    base = index_url.rstrip("/")
    if not base.endswith("/simple"):
        return None
    return base[:-len("simple")] + "pypi"


def parse_vulnerabilities(payload, name, version, url):
    """[Advisory] from the JSON API's answer for one version: every entry of its
    `vulnerabilities` affects that version (withdrawn ones aside)."""
    found = []
    vulns = payload.get("vulnerabilities") if isinstance(payload, dict) else None
    for vuln in vulns or []:
        if not isinstance(vuln, dict) or not vuln.get("id") or vuln.get("withdrawn"):
            continue
        fixed = []
        for text in vuln.get("fixed_in") or []:
            try:
                fixed.append(Version(str(text)))
            except InvalidVersion:
                continue  # a fix the audit cannot order is no fix it can recommend
        found.append(Advisory(str(vuln["id"]), tuple(str(a) for a in vuln.get("aliases") or []),
                              canonicalize_name(name), url, versions=frozenset([version]),
                              fixed=tuple(fixed)))
    return found


class IndexAdvisories:
    """The `vulnerabilities` the index's JSON API gives for each (name, version); `note` says
    why it gave none when it was not reached."""

    def __init__(self, index_url, ca_bundle=None, timeout=TIMEOUT):
        self.base = json_api_base(index_url)
        self.timeout = timeout
        self.answered = 0
        self.not_found = 0
        self.stopped = None
        self.context = None
        try:
            self.context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        except (OSError, ssl.SSLError) as exc:
            self.stopped = f"the CA bundle {ca_bundle} cannot be used: {exc}"
        if self.base is None and not self.stopped:
            self.stopped = (f"the index {redact(index_url)} has no JSON API next to its simple "
                            "pages" if index_url else "no index configured, and pip, which "
                            "knows the default one, is not installed")
        self.cache = {}

    def lookup(self, name, version):
        """[Advisory] for one installed distribution; [] when not reached."""
        key = (canonicalize_name(name), version)
        if key in self.cache:
            return self.cache[key]
        if self.stopped:
            return []
        url = f"{self.base}/{key[0]}/{version}/json"
        found = []
        try:
            with urllib.request.urlopen(url, timeout=self.timeout, context=self.context) as resp:
                payload = json.loads(resp.read())
            found = parse_vulnerabilities(payload, key[0], version, redact(url))
            self.answered += 1
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                self.stopped = f"{redact(url)} answered HTTP {exc.code}"
            else:
                # 404 is also the answer for a distribution the index does not have (the
                # project itself, a private one): only 404s and no answer mean "no API"
                self.not_found += 1
                if not self.answered and self.not_found >= GIVE_UP_AFTER:
                    self.stopped = f"{redact(url)} and {GIVE_UP_AFTER - 1} more answered 404"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            self.stopped = f"{redact(url)}: {reason}"
        self.cache[key] = found
        return found

    @property
    def unreached(self):
        """Why the API gave nothing, when it answered no question at all; else None."""
        if self.answered:
            return None
        return self.stopped or (f"{self.base} answered 404 for every distribution asked"
                                if self.not_found else None)
