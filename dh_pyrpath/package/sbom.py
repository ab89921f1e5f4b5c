"""The package's software bill of materials: <prefix>/share/dh-pyrpath/sbom.cdx.json.

CycloneDX 1.6, JSON, written here without a CycloneDX library (Debian has none for bookworm;
the tests validate every document they build against the official schema with a pinned
cyclonedx-python-lib). It describes:
- the Debian package (metadata.component, pkg:deb/debian/<name>@<version>?arch=<arch>);
- the private CPython: version, CPE, its source tarball and sha256, and in its pedigree the
  Debian source package whose upstream fixes were applied, each patch with the CVE or CPython
  issue its name names (pedigree.patches[].resolves);
- every installed distribution, the project among them (pkg:pypi/..., the sha256 of the exact
  file installed, the licence its METADATA states);
- the Debian packages the interpreter and the project's ELF files need, from the same
  dpkg-shlibdeps that makes the package's Depends, each with its version constraint.

Byte-identical across reproducible builds: the only time is SOURCE_DATE_EPOCH (else the
changelog's date), the serial number is a UUID derived from the content, keys and lists are
sorted (the patches keep their series order, which is the order they were applied in). Where
a file came from (the index, the wheel cache, a vendored copy) is left out: it depends on the
state of the builder's caches, not on what the package holds.
"""
import datetime
import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass
from importlib.metadata import PathDistribution
from pathlib import Path
from urllib.parse import quote

from debian.deb822 import PkgRelation
from packaging.utils import canonicalize_name

from .. import __version__
from . import strip

FILE = "sbom.cdx.json"
SPEC_VERSION = "1.6"
SCHEMA = "http://cyclonedx.org/schema/bom-1.6.schema.json"
PROPERTY = "dh-pyrpath:"  # namespace of this tool's CycloneDX properties
# Serial numbers are uuid5(NAMESPACE, digest of the document): same content, same serial.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:dh-pyrpath:sbom")
# What dh_shlibdeps does not scan (debhelper/pyrpath.pm): the interpreter's own files, whose
# Depends come from its cache entry, and wheels' vendored libraries.
SHLIBDEPS_EXCLUDE = (".libs/", "libpython", "/lib-dynload/", "/bin/python3.")

_CVE = re.compile(r"CVE-\d{4}-\d+", re.I)
_ISSUE = re.compile(r"\b(gh|bpo)-(\d+)", re.I)
_DEBIAN_LABEL = re.compile(r"^(?P<file>\S+) \(Debian (?P<package>\S+) (?P<version>\S+)\)$")


@dataclass(frozen=True)
class Package:
    """The Debian binary package the document describes."""
    name: str
    version: str
    arch: str
    prefix: str


# ---------------------------------------------------------------- identifiers

def _purl_part(text):
    # percent-encoded, ':' kept (the purl specification; packageurl-python does the same)
    return quote(text, safe=":")


def purl_deb(name, version=None, arch=None):
    purl = f"pkg:deb/debian/{_purl_part(name)}"
    if version:
        purl += f"@{_purl_part(version)}"
    if arch:
        purl += f"?arch={_purl_part(arch)}"
    return purl


def purl_pypi(name, version):
    # the purl specification's PyPI name: lower case, '_' as '-'
    return f"pkg:pypi/{_purl_part(name.lower().replace('_', '-'))}@{_purl_part(version)}"


def _property(name, value):
    return {"name": PROPERTY + name, "value": value}


def _sha256(content):
    return [{"alg": "SHA-256", "content": content}]


# ---------------------------------------------------------------- the interpreter

def patch_issues(name):
    """The CVEs and CPython issues a Debian patch's file name names, as CycloneDX issues."""
    issues = []
    for cve in sorted({c.upper() for c in _CVE.findall(name)}):
        issues.append({"type": "security", "id": cve, "source": {
            "name": "NVD", "url": f"https://nvd.nist.gov/vuln/detail/{cve}"}})
    for kind, number in sorted({(k.lower(), n) for k, n in _ISSUE.findall(name)},
                               key=lambda i: (i[0], int(i[1]))):
        url = (f"https://github.com/python/cpython/issues/{number}" if kind == "gh"
               else f"https://bugs.python.org/issue{number}")
        issues.append({"type": "defect", "id": f"{kind}-{number}",
                       "source": {"name": "CPython", "url": url}})
    return issues


def cve_ids(patches):
    return sorted({c.upper() for name in patches for c in _CVE.findall(name)},
                  key=lambda c: tuple(int(x) for x in c.split("-")[1:]))


def interpreter_component(info):
    """CPython as built from its source (interpreter.py's info.json)."""
    version = info["version"]
    label = info["source"]
    debian = _DEBIAN_LABEL.match(label)
    tarball = debian.group("file") if debian else label
    patches = info.get("debian_patches") or []
    component = {
        "type": "application", "bom-ref": f"cpython@{version}", "name": "cpython",
        "version": version, "cpe": f"cpe:2.3:a:python:python:{version}:*:*:*:*:*:*:*",
        "description": f"CPython {version}, built by dh-pyrpath from {label}",
        "externalReferences": [{"type": "source-distribution", "url": quote(tarball),
                                "comment": f"CPython source tarball {tarball}",
                                "hashes": _sha256(info["source_sha256"])}],
        "properties": [_property("python-source", label)],
    }
    if info.get("debian_release"):  # the Debian release apt took the source from
        component["properties"].append(_property("debian-release", info["debian_release"]))
    if debian:
        # newer info.json entries name them; older ones only in the label
        package = info.get("debian_package") or debian.group("package")
        deb_version = info.get("debian_revision") or debian.group("version")
        cves = cve_ids(patches)
        notes = (f"CPython {version} ({tarball}) with the {len(patches)} upstream fixes among "
                 f"the patches of Debian's {package} {deb_version}, applied in series order; "
                 "Debian's own changes left out.")
        if cves:
            notes += " Security fixes: " + ", ".join(cves) + "."
        component["pedigree"] = {
            "ancestors": [{"type": "application", "name": package, "version": deb_version,
                           "purl": purl_deb(package, deb_version, "source"),
                           "description": f"Debian source package {package}"}],
            "patches": [_patch(name) for name in patches],
            "notes": notes,
        }
    return component


def _patch(name):
    patch = {"type": "backport", "diff": {"url": "debian/patches/" + quote(name)}}
    issues = patch_issues(name)
    if issues:
        patch["resolves"] = issues
    return patch


# ---------------------------------------------------------------- distributions

def licenses(metadata):
    """CycloneDX licences from core metadata: License-Expression (metadata 2.4), else a
    one-line License field, else the License :: classifiers. None where it says nothing."""
    if metadata is None:
        return None
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        return [{"expression": expression}]
    field = (metadata.get("License") or "").strip()
    if field and "\n" not in field and len(field) <= 100 and field.upper() != "UNKNOWN":
        return [{"license": {"name": field}}]
    names = []
    for classifier in metadata.get_all("Classifier") or []:
        parts = [p.strip() for p in classifier.split("::")]
        if parts[0] == "License" and len(parts) > 1 and parts[1:] != ["OSI Approved"]:
            if parts[-1] not in names:
                names.append(parts[-1])
    return [{"license": {"name": n}} for n in sorted(names)] or None


def distribution_component(installed, metadata, project=False):
    """One installed distribution (an artifacts.Installed and its METADATA, or None)."""
    component = {"type": "application" if project else "library",
                 "bom-ref": purl_pypi(installed.name, installed.version),
                 "name": installed.name, "version": installed.version,
                 "purl": purl_pypi(installed.name, installed.version)}
    if installed.sha256:
        component["hashes"] = _sha256(installed.sha256)
    found = licenses(metadata)
    if found:
        component["licenses"] = found
    summary = (metadata.get("Summary") or "").strip() if metadata is not None else ""
    if summary:
        component["description"] = summary
    properties = []
    if installed.artifact:
        properties.append(_property("artifact", installed.artifact))
    if project:
        properties.append(_property("role", "project"))
    if properties:
        component["properties"] = properties
    return component


# ---------------------------------------------------------------- Debian libraries

def relations(depends):
    """{package name: {version constraints}} of a Depends value ('' when unversioned)."""
    found = {}
    for alternatives in PkgRelation.parse_relations(depends or ""):
        for rel in alternatives:
            if not rel.get("name"):
                continue
            constraint = " ".join(rel["version"]) if rel.get("version") else ""
            found.setdefault(rel["name"], set()).add(constraint)
    return found


def library_component(name, constraints):
    component = {"type": "library", "bom-ref": purl_deb(name), "name": name,
                 "purl": purl_deb(name)}
    properties = [_property("version-constraint", c) for c in sorted(constraints) if c]
    if properties:
        component["properties"] = properties
    return component


# ---------------------------------------------------------------- the document

def document(package, interpreter_info, interpreter_depends, installed, metadata,
             elf_depends, epoch, tool_version=__version__):
    """The CycloneDX document, without its serial number (serialize() derives it).

    installed: [artifacts.Installed]; the one with origin "project" is the project.
    metadata: {canonical name: core metadata (email.message.Message) or None}.
    elf_depends: {canonical name of a distribution, or None for the package: the Depends
    dpkg-shlibdeps gives for its ELF files}.
    """
    root = {"type": "application", "bom-ref": purl_deb(package.name, package.version,
                                                        package.arch),
            "name": package.name, "version": package.version,
            "purl": purl_deb(package.name, package.version, package.arch),
            "properties": [_property("prefix", package.prefix)]}
    cpython = interpreter_component(interpreter_info)
    components = [cpython]
    graph = {root["bom-ref"]: set(), cpython["bom-ref"]: set()}
    refs = {}
    for item in installed:
        key = canonicalize_name(item.name)
        component = distribution_component(item, metadata.get(key), item.origin == "project")
        components.append(component)
        refs[key] = component["bom-ref"]
        graph[component["bom-ref"]] = set()

    needs = {}  # Debian package -> constraints
    owners = [(cpython["bom-ref"], interpreter_depends)]
    owners += [(refs.get(canonicalize_name(k)) if k else None, v) for k, v in elf_depends.items()]
    for owner, depends in owners:
        for name, constraints in relations(depends).items():
            needs.setdefault(name, set()).update(constraints)
            graph[owner or root["bom-ref"]].add(purl_deb(name))
    for name in needs:
        components.append(library_component(name, needs[name]))
        graph[purl_deb(name)] = set()
    graph[root["bom-ref"]].update(c["bom-ref"] for c in components)

    components.sort(key=lambda c: (c["type"], c["bom-ref"]))
    return {
        "$schema": SCHEMA, "bomFormat": "CycloneDX", "specVersion": SPEC_VERSION, "version": 1,
        "metadata": {
            "timestamp": datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lifecycles": [{"phase": "build"}],
            "tools": {"components": [{"type": "application", "name": "dh-pyrpath",
                                      "version": tool_version}]},
            "component": root,
        },
        "components": components,
        "dependencies": [{"ref": ref, "dependsOn": sorted(graph[ref])} for ref in sorted(graph)],
    }


def serialize(doc):
    """The document's bytes, with a serial number derived from everything else in it."""
    body = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    doc = dict(doc, serialNumber=f"urn:uuid:{uuid.uuid5(NAMESPACE, digest)}")
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- reading the build

def read_metadata(site_packages):
    """{canonical name: PathDistribution} of every *.dist-info in site_packages."""
    dists = {}
    for info in sorted(Path(site_packages).glob("*.dist-info")):
        dist = PathDistribution(info)
        # no METADATA: nothing to say about it (importlib.metadata would fail on it)
        name = dist.metadata["Name"] if dist.read_text("METADATA") else None
        if name:
            dists[canonicalize_name(name)] = dist
    return dists


def elf_owners(files, dists):
    """{ELF file: canonical name of the distribution whose RECORD lists it, or None}."""
    owned = {}
    for key, dist in dists.items():
        for entry in dist.files or []:
            owned[os.path.realpath(entry.locate())] = key
    return {f: owned.get(os.path.realpath(f)) for f in files}


def shlibdeps(files, cwd, log, path_env):
    """The Depends dpkg-shlibdeps gives for `files` (run in the source tree, as
    dh_shlibdeps runs it: the package tree's DEBIAN/ must exist for $ORIGIN rpaths)."""
    out = log.capture(["dpkg-shlibdeps", "-O", *files], "dpkg-shlibdeps for the SBOM",
                      cwd=cwd, env={"PATH": path_env, "LC_ALL": "C"})
    match = re.search(r"^shlibs:Depends=(.*)$", out, re.M)
    return match.group(1).strip() if match else ""


def project_elf_depends(prefix_tree, dists, cwd, log, path_env):
    """{owner: Depends} of the ELF files dh_shlibdeps will scan, grouped by distribution."""
    files = [f for f in strip.candidates(prefix_tree)
             if not any(x in f for x in SHLIBDEPS_EXCLUDE)]
    groups = {}
    for path, owner in elf_owners(files, dists).items():
        groups.setdefault(owner, []).append(path)
    return {owner: shlibdeps(sorted(paths), cwd, log, path_env)
            for owner, paths in sorted(groups.items(), key=lambda g: g[0] or "")}


def write(prefix_tree, package, release, arch, prefix, interp_info, interp_depends, installed,
          site_packages, debian_dir, log, path_env):
    """Write <prefix>/share/dh-pyrpath/sbom.cdx.json for a relocated, verified tree of the
    package's `release` (debhelper.Release: its version and SOURCE_DATE_EPOCH)."""
    dists = read_metadata(site_packages)
    elf_depends = project_elf_depends(prefix_tree, dists, Path(debian_dir).resolve().parent,
                                      log, path_env)
    doc = document(Package(package, release.version, arch, prefix), interp_info,
                   interp_depends, installed, {k: d.metadata for k, d in dists.items()},
                   elf_depends, release.epoch)
    target = Path(prefix_tree) / "share" / "dh-pyrpath" / FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(serialize(doc), encoding="utf-8")
    return target
