"""The packages an audit reads, and what they say about themselves.

A package dh-pyrpath built carries <prefix>/share/dh-pyrpath/build-info.json (how its CPython
was built: the source, its Debian revision) and sbom.cdx.json (every installed distribution,
pkg:pypi/<name>@<version>). The prefix differs from package to package, so files are found
by how their paths end: in a .deb's data (read through `dpkg-deb --fsys-tarfile`, nothing
extracted to disk), or among the files dpkg lists for the installed packages.
"""
import json
import os
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import host
from ..errors import AuditError
from ..package import sbom

BUILD_INFO = "share/dh-pyrpath/build-info.json"
SBOM = f"share/dh-pyrpath/{sbom.FILE}"
INSTALLED = "installed"
# The label python/sources.py gives a Debian source: "<tarball> (Debian <package> <version>)"
_DEBIAN_LABEL = re.compile(r"\(Debian (?P<package>python3\.\d+) (?P<version>\S+)\)$")


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str
    project: bool = False


@dataclass(frozen=True)
class Built:
    """A package dh-pyrpath built, as its build-info.json and SBOM describe it."""
    origin: str                 # the .deb's path, or INSTALLED
    package: str
    version: str
    prefix: str
    python: str                 # CPython's version, "3.11.2"
    python_source: str          # the source's label, "python3.11_3.11.2.orig.tar.gz (Debian ...)"
    debian_package: str | None  # the Debian source package, "python3.11"; None for a tarball
    debian_revision: str | None  # its revision, "3.11.2-6+deb12u8"
    distributions: tuple        # (Distribution, ...), the project among them
    debian_release: str | None = None  # the release apt took the source from, when recorded


@dataclass(frozen=True)
class Skipped:
    origin: str
    reason: str


# ---------------------------------------------------------------- build-info and SBOM

def _json(data, where):
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"{where}: not valid JSON ({exc}): rebuild the package") from None
    if not isinstance(value, dict):
        raise AuditError(f"{where}: not a JSON object: rebuild the package")
    return value


def _properties(component):
    return {p.get("name"): p.get("value") for p in component.get("properties") or []
            if isinstance(p, dict)}


def distributions(doc):
    """(Distribution, ...) of every pkg:pypi component of an SBOM."""
    found = []
    for component in doc.get("components") or []:
        if not isinstance(component, dict) or not str(component.get("purl", "")).startswith(
                "pkg:pypi/"):
            continue
        role = _properties(component).get(sbom.PROPERTY + "role")
        found.append(Distribution(str(component.get("name")), str(component.get("version")),
                                  role == "project"))
    return tuple(sorted(found, key=lambda d: (d.name.lower(), d.version)))


def _debian_source(info, doc):
    """(package, revision) of the Debian source the CPython came from, or (None, None)."""
    revision = info.get("python_debian_revision")
    package = None
    for component in doc.get("components") or []:
        if isinstance(component, dict) and component.get("name") == "cpython":
            for ancestor in (component.get("pedigree") or {}).get("ancestors") or []:
                package = package or ancestor.get("name")
                revision = revision or ancestor.get("version")
    label = _DEBIAN_LABEL.search(str(info.get("python_source") or ""))
    if label:
        package = package or label.group("package")
        revision = revision or label.group("version")
    return (package, revision) if package and revision else (None, None)


def describe(origin, package, version, info_data, sbom_data, where):
    """A Built from the two documents' bytes; `where` names their directory in errors."""
    info = _json(info_data, f"{where}/{BUILD_INFO}")
    doc = _json(sbom_data, f"{where}/{SBOM}")
    if doc.get("bomFormat") != "CycloneDX":
        raise AuditError(f"{where}/{SBOM}: not a CycloneDX document: rebuild the package")
    deb_package, revision = _debian_source(info, doc)
    return Built(origin, package, version, str(info.get("prefix") or where),
                 str(info.get("python") or "?"), str(info.get("python_source") or "?"),
                 deb_package, revision, distributions(doc), info.get("python_release"))


def _pairs(paths, name):
    """{prefix: {"info": path, "sbom": path}} of the build-info and SBOM files among paths;
    a file without its partner is an error naming it."""
    pairs = {}
    for path in paths:
        for kind, suffix in (("info", BUILD_INFO), ("sbom", SBOM)):
            if path.endswith("/" + suffix):
                pairs.setdefault(path[:-len(suffix) - 1], {})[kind] = path
    for prefix, found in sorted(pairs.items()):
        if "sbom" not in found:
            raise AuditError(f"{name}: {found['info']} but no {prefix}/{SBOM} (removed, or "
                             "built by a dh-pyrpath older than SBOMs): rebuild it with a "
                             "current dh-pyrpath")
        if "info" not in found:
            raise AuditError(f"{name}: {found['sbom']} but no {prefix}/{BUILD_INFO}: rebuild "
                             "the package with dh-pyrpath")
    return pairs


# ---------------------------------------------------------------- .deb files

def find_debs(paths):
    """The .deb files the PATH arguments name: files as given, directories searched."""
    found = []
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.deb") if p.is_file()))
        elif path.exists():
            found.append(path)
        else:
            raise AuditError(f"{arg}: no such file or directory: give .deb files or "
                             "directories of them")
    return found


def _run(cmd, **kwargs):
    return subprocess.run(cmd, text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False,
                          env={**os.environ, "PATH": host.SYSTEM_PATH, "LC_ALL": "C"}, **kwargs)


def _dpkg_deb_error(text):
    """The one line of dpkg-deb's complaint worth showing."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0] if lines else "dpkg-deb failed"
    return re.sub(r"^dpkg-deb(?: \(subprocess\))?: (?:error: )?", "", line)


def _unreadable(path, why):
    return AuditError(f"{path}: not a readable .deb ({why}): download or build it again")


def deb_fields(path):
    """{Package, Version, Architecture} of a .deb."""
    proc = _run(["dpkg-deb", "--field", str(path), "Package", "Version", "Architecture"])
    if proc.returncode != 0:
        raise _unreadable(path, _dpkg_deb_error(proc.stderr))
    fields = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
    if not fields.get("Package") or not fields.get("Version"):
        raise _unreadable(path, "no Package or Version field")
    return fields


def deb_members(path, suffixes):
    """{absolute path: bytes} of the regular files in a .deb's data whose path ends with one
    of `suffixes`. The whole archive is read, so a damaged one is found."""
    found = {}
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(path)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                env={**os.environ, "PATH": host.SYSTEM_PATH, "LC_ALL": "C"})
        broken = None
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                for member in tar:
                    name = "/" + (member.name[2:] if member.name.startswith("./")
                                  else member.name.lstrip("/"))
                    if member.isfile() and name.endswith(suffixes):
                        found[name] = tar.extractfile(member).read()
        except (tarfile.TarError, EOFError, OSError) as exc:
            broken = str(exc) or type(exc).__name__
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            raise _unreadable(path, _dpkg_deb_error(errors.read().decode("utf-8", "replace")))
        if broken:
            raise _unreadable(path, f"its data archive: {broken}")
    return found


def read_deb(path):
    """[Built] of a .deb (one per prefix, normally one), or a Skipped."""
    fields = deb_fields(path)
    members = deb_members(path, ("/" + BUILD_INFO, "/" + SBOM))
    pairs = _pairs(list(members), str(path))
    if not pairs:
        return Skipped(str(path), "not built by dh-pyrpath")
    return [describe(str(path), fields["Package"], fields["Version"], members[p["info"]],
                     members[p["sbom"]], prefix) for prefix, p in sorted(pairs.items())]


# ---------------------------------------------------------------- installed packages

def installed_files():
    """{installed package: [paths]} of the build-info and SBOM files dpkg's file lists hold."""
    owned = {}
    for suffix in (BUILD_INFO, SBOM):
        # exit 1 and nothing on stdout when no package has such a file
        proc = _run(["dpkg-query", "-S", f"*/{suffix}"])
        if proc.returncode not in (0, 1):
            raise AuditError(f"dpkg-query -S failed ({proc.stderr.strip()}): is this a "
                             "Debian system with a readable dpkg database?")
        for line in proc.stdout.splitlines():
            if line.startswith("diversion by") or ": " not in line:
                continue
            owners, path = line.split(": ", 1)
            for owner in owners.split(","):
                owned.setdefault(owner.strip(), []).append(path.strip())
    return owned


def installed_version(package):
    proc = _run(["dpkg-query", "-W", "-f", "${Version}", package])
    if proc.returncode != 0 or not proc.stdout.strip():
        raise AuditError(f"{package}: dpkg-query knows no version of it: is it half-installed? "
                         "(dpkg --audit)")
    return proc.stdout.strip()


def _read(path, package):
    try:
        return Path(path).read_bytes()
    except PermissionError as exc:
        raise AuditError(f"{package}: cannot read {path} ({exc.strerror}): run the audit as "
                         "root") from None
    except OSError as exc:  # removed or damaged by hand: dpkg still lists it
        raise AuditError(f"{package}: cannot read {path} ({exc.strerror}): reinstall the "
                         f"package (apt install --reinstall {package})") from None


def read_installed(package, paths):
    """[Built] of one installed package, from the files dpkg says it owns."""
    version = installed_version(package)
    return [describe(INSTALLED, package.split(":")[0], version, _read(p["info"], package),
                     _read(p["sbom"], package), prefix)
            for prefix, p in sorted(_pairs(paths, package).items())]
