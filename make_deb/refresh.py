"""make-deb --refresh: move a package's pinned CPython to the newest revision Debian serves.

A private interpreter gets none of apt's upgrades; the pin in debian/<package>.pyrpath
(python-source = debian:python3.X=<revision>[@release]) is what a rebuild takes. This moves
each pin to the newest revision whose source the archive serves (what a build can fetch:
sources.newest_served, the check make-deb's first pin makes), adds a debian/changelog entry
naming it and the CVE ids its changelog lists since the old pin (read from the new
revision's .debian.tar: audit.interpreter), and reports the locked dependencies that OSV
records (--osv) name, without re-locking them: that is the lock's own tool's job.

A revision apt's binary index lists but whose source the archive does not serve (404) cannot
be built; it is never written. When it is the only newer one, the refresh fails with one line
and changes nothing; when an older newer one is served, that one is written and the 404 is
said. Files are computed in full first and then each replaced by a rename: nothing is left
half-written.
"""
import contextlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from debian.debian_support import Version
from packaging.requirements import InvalidRequirement, Requirement

from dh_pyrpath import host
from dh_pyrpath import settings as settingslib
from dh_pyrpath.audit import advisories, check, inputs, interpreter
from dh_pyrpath.deps import locks, markers
from dh_pyrpath.deps.requirements import read_requirements
from dh_pyrpath.errors import PyrpathError
from dh_pyrpath.python import releases, sources

from . import changelog, python_source
from .errors import RefreshError

CHANGELOG = "debian/changelog"
_SOURCE_LINE = re.compile(r"^(\s*python-source\s*=\s*)(\S+)(.*)$")


@dataclass
class Pin:
    """One debian/*.pyrpath file and the Debian revision it pins."""
    rel: str            # "debian/svc.pyrpath"
    text: str
    values: dict        # its settings, as dh_pyrpath reads them
    package: str        # "python3.11"
    revision: str       # "3.11.2-6+deb12u8"
    release: str | None  # "trixie" for debian:python3.13=...@trixie, else None

    def spec(self, revision=None):
        where = f"@{self.release}" if self.release else ""
        return f"debian:{self.package}={revision or self.revision}{where}"


@dataclass
class Move:
    """A pin moved: to which revision, and what its changelog says was fixed since."""
    pin: Pin
    newest: str
    ids: tuple | None        # None: the changelog could not be read (why_unknown says why)
    why_unknown: str | None = None
    unserved: list = field(default_factory=list)  # newer revisions listed, source not served


@dataclass
class Result:
    files: dict             # {relative path: new text} of what changes
    moves: list             # Move
    current: list           # Pin already at the newest revision
    advisories: list        # (where, report.Finding) of the locked dependencies
    notes: list             # lines to say
    version: str | None = None  # the new changelog entry's version


def read_pins(project):
    """The pins of every debian/*.pyrpath; RefreshError for anything that is not one."""
    debian = project / "debian"
    if not debian.is_dir():
        raise RefreshError(f"{project} has no debian/ directory: run make-deb there first "
                           "(--refresh updates a debian/ it wrote)")
    files = sorted(debian.glob("*.pyrpath"))
    if not files:
        raise RefreshError(f"{debian} has no <package>.pyrpath settings file, so no pinned "
                           "CPython to refresh: run make-deb --force to write one")
    return [_pin(project, path) for path in files]


def _pin(project, path):
    rel = str(path.relative_to(project))
    try:
        values = settingslib.read_config(path)
        text = path.read_text(encoding="utf-8")
    except PyrpathError as exc:
        raise RefreshError(f"{exc}; nothing was changed") from None
    except OSError as exc:
        raise RefreshError(f"cannot read {rel} ({exc.strerror}): fix its permissions") from None
    spec = values.get("python-source")
    if not spec:
        raise RefreshError(f"{rel} has no python-source: every build takes the newest "
                           "revision of the host's python3, so there is no pin to move; pin "
                           "one (python-source = debian:python3.X=<revision>, as make-deb "
                           "writes it) to refresh it here")
    if not spec.startswith("debian:"):
        raise RefreshError(f"{rel}: python-source {spec} is a tarball: --refresh moves Debian "
                           "pins only; set python-source and python-sha256 to a newer tarball "
                           "by hand, or use debian:python3.X to get Debian's fixes")
    try:
        package, revision, release = sources.parse_debian(spec[len("debian:"):])
    except PyrpathError as exc:
        raise RefreshError(f"{rel}: {exc}") from None
    if not revision:
        raise RefreshError(f"{rel}: python-source {spec} is not pinned: every build already "
                           "takes the newest revision the archive serves; pin it (debian:"
                           f"{package}=<revision>) for reproducible rebuilds that --refresh "
                           "then moves")
    if sum(bool(_SOURCE_LINE.match(line)) for line in text.splitlines()) != 1:
        raise RefreshError(f"{rel}: python-source is set on more than one line: keep one")
    return Pin(rel, text, values, package, revision,
               None if release in (None, host.host_codename()) else release)


def rewrite(pin, revision):
    """The settings file's text with only the python-source value changed."""
    lines = pin.text.splitlines(True)
    for i, line in enumerate(lines):
        match = _SOURCE_LINE.match(line)
        if match:
            lines[i] = f"{match[1]}{pin.spec(revision)}{match[3]}" + (
                "\n" if line.endswith("\n") else "")
    return "".join(lines)


def _source_apt(pin, root):
    """The apt configuration that knows the pin's release: the one in effect for the host's
    own (APT_CONFIG is left as it is), a private one of its deb-src entries for another."""
    if pin.release is None:
        return contextlib.nullcontext()
    codename, support = releases.classify(pin.release)
    if support == "ended":
        raise RefreshError(f"{pin.rel}: Debian {codename}'s security support has ended: move "
                           "python-source to a supported release (dh_pyrpath "
                           "--list-pythons shows them)")
    return releases.using(releases.config(codename, root, stable=support == "stable"))


def lookup(pin, root, interpreters):
    """A Move for the pin, or None when it already is the newest revision apt lists.
    RefreshError when a newer revision is listed but none the archive serves."""
    try:
        with _source_apt(pin, root):
            served, unserved = sources.newest_served(pin.package)
            newer = served is not None and Version(served.version) > Version(pin.revision)
            if newer:
                try:
                    ids, why = interpreter.source_fixed_ids(pin.package, pin.revision,
                                                            served.version), None
                except PyrpathError as exc:
                    ids, why = None, str(exc)
    except PyrpathError as exc:
        raise RefreshError(f"{pin.rel}: {exc}") from None
    listed = list(unserved)
    try:
        binary, _, _ = interpreters.newest(pin.package, pin.release)
        listed.append(binary)
    except PyrpathError:
        pass  # the binary index only adds what the sources may lag behind
    listed = sorted({v for v in listed if Version(v) > Version(
        served.version if newer else pin.revision)}, key=Version, reverse=True)
    if newer:
        return Move(pin, served.version, ids, why, listed)
    if listed:
        raise RefreshError(
            f"{pin.rel}: apt lists {pin.package} {listed[0]}{_fixes(pin, listed[0], interpreters)}"
            " but the archive does not serve its source (404), so no build can take it: "
            f"python-source stays {pin.spec()} and nothing was changed; refresh again when the "
            "archive (or your mirror) serves it")
    return None


def _fixes(pin, newest, interpreters):
    """" (its changelog names N CVEs since <pin>)", read from the binary package of the
    revision apt lists (the audit's way: its source is what the archive does not serve), or ""
    when that cannot be read."""
    try:
        found, binary_version, _ = interpreters.newest(pin.package, pin.release)
        if found != newest:
            return ""
        ids = interpreters.fixed_ids(pin.package, pin.revision, binary_version, newest,
                                     pin.release)
    except PyrpathError:
        return ""
    return f" (its changelog names {len(ids)} CVEs since {pin.revision})" if ids else ""


def changelog_item(move):
    head = (f"Rebuild with Debian's {move.pin.package} {move.newest} (python-source in "
            f"{move.pin.rel}; was {move.pin.revision})")
    if move.ids is None:
        return f"{head}; its changelog could not be read: see it for the fixes."
    if not move.ids:
        return f"{head}; its changelog names no CVE since {move.pin.revision}."
    return f"{head}, which fixes {', '.join(move.ids)}."


def locked(project, pin, python_version):
    """(the file, [(name, version)]) of what the package installs pinned (its lock or
    requirements file), or (None, []) when nothing pins the dependencies."""
    project_dir = project / pin.values.get("project-dir", ".")
    if pin.values.get("requirements"):
        path = project / pin.values["requirements"]
    else:
        path = locks.find_default(project_dir, project / "debian")
    if path is None or not path.is_file():
        return None, []
    if locks.kind_of(path):
        env = markers.environment(python_version, markers.deb_host_arch())
        lock = locks.read(path, project_dir, env)
        return path, [(p.name, p.version) for p in lock.pins if p.version]
    pinned = []
    for line in read_requirements(path).lines:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        specs = list(req.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "==="):
            pinned.append((req.name, specs[0].version))
    return path, pinned


def dependency_findings(project, pins, moves, osv):
    """(where, Finding) of every locked distribution an OSV record affects."""
    found, seen = [], set()
    new = {m.pin.rel: m.newest for m in moves}
    for pin in pins:
        try:
            path, pinned = locked(project, pin, markers.python_version(
                new.get(pin.rel, pin.revision)) or "3")
        except PyrpathError as exc:
            raise RefreshError(f"{pin.rel}: the locked dependencies: {exc}") from None
        for name, version in pinned:
            if path is None or (path, name, version) in seen:
                continue
            seen.add((path, name, version))
            matching = osv.matching(name, version)
            if matching:
                found.append((os.path.relpath(path, project), check.dependency_finding(
                    inputs.Distribution(name, version), matching)))
    return found


def read_changelog(project):
    """(text, parsed) of debian/changelog, read before apt is asked anything."""
    try:
        text = (project / CHANGELOG).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RefreshError(f"cannot read {CHANGELOG} ({exc}): --refresh adds an entry to "
                           "it") from None
    return text, changelog.read(text)


def plan(project, osv_sources=(), env=None):
    """What --refresh changes in `project`, computed in full and written nowhere. Everything
    read from the project (and the advisories) is checked before apt is asked anything."""
    project = Path(project).resolve()
    pins = read_pins(project)
    text, parsed = read_changelog(project)
    try:
        osv = advisories.load_osv(osv_sources)
    except PyrpathError as exc:
        raise RefreshError(f"{exc}; nothing was changed") from None
    interpreters = interpreter.Interpreters(python_source.apt_root())
    moves, current = [], []
    for pin in pins:
        move = lookup(pin, python_source.apt_root(), interpreters)
        (moves.append(move) if move else current.append(pin))
    files = {m.pin.rel: rewrite(m.pin, m.newest) for m in moves}
    notes = [f"{m.pin.rel}: apt also lists {', '.join(m.unserved)}, whose source the "
             f"archive does not serve (404): {m.newest} is the newest a build can take"
             for m in moves if m.unserved]
    notes += [f"{m.pin.rel}: the CVE ids of {m.newest} are unknown ({m.why_unknown})"
              for m in moves if m.ids is None]
    version = None
    if moves:
        items = list(dict.fromkeys(changelog_item(m) for m in moves))
        version = str(changelog.next_version(parsed.version))
        files[CHANGELOG] = changelog.entry(parsed, items, env) + text
    found = dependency_findings(project, pins, moves, osv)
    if not osv_sources:
        notes.append("the locked dependencies were not checked: give OSV records with --osv "
                     "(dh_pyrpath --audit also asks the package index)")
    return Result(files, moves, current, found, notes, version)


def write(project, files):
    """Each file replaced by a rename of a complete copy beside it (its mode kept); every
    copy is written before the first rename."""
    project = Path(project).resolve()
    staged = []
    try:
        for rel, text in files.items():
            path = project / rel
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            staged.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError as exc:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise RefreshError(f"cannot write {exc.filename or 'debian/'} ({exc.strerror}): fix "
                           "the permissions and refresh again") from None
