"""The SBOM (dh_pyrpath/sbom.py): the document's parts, its determinism, and (e2e) the SBOM
of a real build, validated with the official CycloneDX schema by a pinned
cyclonedx-python-lib and compared with what the package holds."""
import json
import os
import re
from email.message import Message

import pytest

from conftest import REPO, SUITE_CACHE, build_env, copy_source, dh_pyrpath, run
from dh_pyrpath import debhelper
from dh_pyrpath.package import sbom
from dh_pyrpath.deps.artifacts import Installed

PACKAGE = sbom.Package("svc", "1:2.0+deb1", "amd64", "/opt/svc")
INFO = {"version": "3.11.2",
        "source": "python3.11_3.11.2.orig.tar.gz (Debian python3.11 3.11.2-6+deb12u8)",
        "source_sha256": "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849",
        "debian_patches": ["0001-3.11-gh-102281-fix.patch",
                           "CVE-2023-24329-strip-control-chars-urlsplit.patch",
                           "cve-2024-9287-venv.patch", "bpo-45000-x.diff", "other.patch"]}
INSTALLED = [
    Installed("click", "8.1.7", "click-8.1.7-py3-none-any.whl", "a" * 64, "wheel cache"),
    Installed("Zope_Interface", "6.0", "zope_interface-6.0-cp311.whl", "b" * 64, "index"),
    Installed("svc", "2.0", "svc-2.0-py3-none-any.whl", "c" * 64, "project"),
]


def _meta(**fields):
    msg = Message()
    for key, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            msg[key.replace("_", "-")] = v
    return msg


METADATA = {"click": _meta(Name="click", License="BSD-3-Clause", Summary="Composable CLI"),
            "zope-interface": _meta(Name="Zope_Interface", License_Expression="ZPL-2.1"),
            "svc": None}


def _doc(**kw):
    args = dict(package=PACKAGE, interpreter_info=INFO,
                interpreter_depends="libc6 (>= 2.34), libssl3 (>= 3.0.0)",
                installed=INSTALLED, metadata=METADATA,
                elf_depends={"zope-interface": "libc6 (>= 2.14)", None: "libzstd1"}, epoch=0)
    args.update(kw)
    return sbom.document(**args)


def _by_name(doc):
    return {c["name"]: c for c in doc["components"]}


def test_package_is_the_metadata_component_with_a_deb_purl():
    doc = _doc(epoch=1795773600)
    root = doc["metadata"]["component"]
    assert root["purl"] == "pkg:deb/debian/svc@1:2.0%2Bdeb1?arch=amd64"
    assert root["name"] == "svc" and root["version"] == "1:2.0+deb1"
    assert {"name": "dh-pyrpath:prefix", "value": "/opt/svc"} in root["properties"]
    assert doc["metadata"]["timestamp"] == "2026-11-27T10:00:00Z"
    assert doc["specVersion"] == "1.6" and doc["bomFormat"] == "CycloneDX"


def test_distributions_have_pypi_purls_hashes_and_licences():
    comps = _by_name(_doc())
    click = comps["click"]
    assert click["purl"] == "pkg:pypi/click@8.1.7"
    assert click["hashes"] == [{"alg": "SHA-256", "content": "a" * 64}]
    assert click["licenses"] == [{"license": {"name": "BSD-3-Clause"}}]
    assert click["description"] == "Composable CLI"
    zope = comps["Zope_Interface"]
    assert zope["purl"] == "pkg:pypi/zope-interface@6.0"
    assert zope["licenses"] == [{"expression": "ZPL-2.1"}]
    project = comps["svc"]
    assert project["type"] == "application" and "licenses" not in project
    assert {"name": "dh-pyrpath:role", "value": "project"} in project["properties"]
    # where a file came from depends on the builder's caches: never in the document
    assert "wheel cache" not in json.dumps(_doc())


def test_a_distribution_without_a_known_artifact_has_no_hash():
    doc = _doc(installed=[Installed("click", "8.1.7", "", "", "index")])
    assert "hashes" not in _by_name(doc)["click"]


@pytest.mark.parametrize("fields,expected", [
    ({"License_Expression": "MIT OR Apache-2.0", "License": "MIT"},
     [{"expression": "MIT OR Apache-2.0"}]),
    ({"License": "Copyright (c) someone\n\nPermission is hereby granted",
      "Classifier": ["License :: OSI Approved :: MIT License", "License :: OSI Approved",
                     "Programming Language :: Python"]},
     [{"license": {"name": "MIT License"}}]),
    ({"License": "UNKNOWN"}, None),
    ({}, None),
])
def test_licences_from_core_metadata(fields, expected):
    assert sbom.licenses(_meta(**fields)) == expected


def test_cpython_component_carries_source_hash_and_debian_patches_with_their_cves():
    cpython = _by_name(_doc())["cpython"]
    assert cpython["version"] == "3.11.2"
    assert cpython["cpe"] == "cpe:2.3:a:python:python:3.11.2:*:*:*:*:*:*:*"
    (src,) = cpython["externalReferences"]
    assert src["type"] == "source-distribution" and src["url"] == "python3.11_3.11.2.orig.tar.gz"
    assert src["hashes"] == [{"alg": "SHA-256", "content": INFO["source_sha256"]}]
    pedigree = cpython["pedigree"]
    (ancestor,) = pedigree["ancestors"]
    assert ancestor["purl"] == "pkg:deb/debian/python3.11@3.11.2-6%2Bdeb12u8?arch=source"
    patches = pedigree["patches"]
    assert [p["diff"]["url"] for p in patches] == [
        "debian/patches/" + n for n in INFO["debian_patches"]]  # series order kept
    assert all(p["type"] == "backport" for p in patches)
    assert patches[1]["resolves"] == [{"type": "security", "id": "CVE-2023-24329", "source": {
        "name": "NVD", "url": "https://nvd.nist.gov/vuln/detail/CVE-2023-24329"}}]
    assert patches[2]["resolves"][0]["id"] == "CVE-2024-9287"
    assert patches[0]["resolves"][0]["id"] == "gh-102281"
    assert patches[3]["resolves"][0]["source"]["url"] == "https://bugs.python.org/issue45000"
    assert "resolves" not in patches[4]
    assert "CVE-2023-24329, CVE-2024-9287" in pedigree["notes"]
    assert "47" not in pedigree["notes"] and "5 upstream fixes" in pedigree["notes"]


def test_debian_source_named_in_info_wins_over_the_label():
    info = dict(INFO, debian_package="python3.11", debian_revision="3.11.2-6+deb12u9")
    (ancestor,) = _by_name(_doc(interpreter_info=info))["cpython"]["pedigree"]["ancestors"]
    assert ancestor["version"] == "3.11.2-6+deb12u9"


def test_tarball_source_has_no_pedigree():
    info = dict(INFO, source="Python-3.11.2.tgz", debian_patches=[])
    cpython = _by_name(_doc(interpreter_info=info))["cpython"]
    assert "pedigree" not in cpython
    assert cpython["externalReferences"][0]["url"] == "Python-3.11.2.tgz"


def test_debian_libraries_with_constraints_and_who_needs_them():
    doc = _doc()
    comps = _by_name(doc)
    libc = comps["libc6"]
    assert libc["type"] == "library" and libc["purl"] == "pkg:deb/debian/libc6"
    assert [p["value"] for p in libc["properties"]] == [">= 2.14", ">= 2.34"]
    assert "properties" not in comps["libzstd1"]
    graph = {d["ref"]: d["dependsOn"] for d in doc["dependencies"]}
    root = doc["metadata"]["component"]["bom-ref"]
    assert set(graph[root]) == {c["bom-ref"] for c in doc["components"]}
    assert graph["cpython@3.11.2"] == ["pkg:deb/debian/libc6", "pkg:deb/debian/libssl3"]
    assert graph["pkg:pypi/zope-interface@6.0"] == ["pkg:deb/debian/libc6"]
    assert graph["pkg:pypi/click@8.1.7"] == []
    assert set(graph) == {root} | {c["bom-ref"] for c in doc["components"]}
    assert sbom.relations("a | b (<< 2), c") == {"a": {""}, "b": {"<< 2"}, "c": {""}}


def test_serialization_is_sorted_and_its_serial_follows_the_content():
    text = sbom.serialize(_doc())
    assert text == sbom.serialize(_doc())
    doc = json.loads(text)
    assert re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                        r"[0-9a-f]{12}", doc["serialNumber"])
    assert list(doc) == sorted(doc)
    refs = [c["bom-ref"] for c in doc["components"]]
    assert len(refs) == len(set(refs))
    other = json.loads(sbom.serialize(_doc(epoch=1)))
    assert other["serialNumber"] != doc["serialNumber"]
    shuffled = _doc(installed=list(reversed(INSTALLED)))
    assert sbom.serialize(shuffled) == text


def test_shlibdeps_exclusions_are_those_of_the_sequence():
    """The SBOM's Depends come from the files dh_shlibdeps scans: the same exclusions."""
    pm = (REPO / "debhelper" / "pyrpath.pm").read_text()
    call = re.search(r"add_command_options\('dh_shlibdeps',(.*?)\);", pm, re.S).group(1)
    assert tuple(re.findall(r"'-X([^']+)'", call)) == sbom.SHLIBDEPS_EXCLUDE


def test_read_metadata_and_elf_owners(tmp_path):
    site = tmp_path / "site-packages"
    info = site / "Foo_Bar-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: Foo_Bar\nVersion: 1.0\n"
                                   "License: MIT\n")
    (site / "foo").mkdir()
    (site / "foo" / "_x.so").write_bytes(b"\x7fELF")
    (info / "RECORD").write_text("foo/_x.so,sha256=x,4\nFoo_Bar-1.0.dist-info/METADATA,,\n")
    (site / "broken-1.0.dist-info").mkdir()  # no METADATA: left out, no crash
    dists = sbom.read_metadata(site)
    assert list(dists) == ["foo-bar"] and dists["foo-bar"].metadata["License"] == "MIT"
    stray = tmp_path / "bin" / "tool"
    owners = sbom.elf_owners([str(site / "foo" / "_x.so"), str(stray)], dists)
    assert owners == {str(site / "foo" / "_x.so"): "foo-bar", str(stray): None}


# ------------------------------------------------------------------------- e2e

TWINS = REPO / "tests" / "data" / "sources" / "twins"
CYCLONEDX_REQUIREMENTS = REPO / "tests" / "data" / "cyclonedx-requirements.txt"
VALIDATE = """
import json, sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL
text = open(sys.argv[1]).read()
errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
for e in errors or []:
    print("INVALID:", e.data.message, list(e.data.absolute_path))
doc = json.loads(text)
for c in [doc["metadata"]["component"]] + doc["components"]:
    if "purl" in c and PackageURL.from_string(c["purl"]).to_string() != c["purl"]:
        print("PURL:", c["purl"], PackageURL.from_string(c["purl"]).to_string())
"""


@pytest.fixture(scope="session")
def cyclonedx(tmp_path_factory):
    """cyclonedx-python-lib (it ships the official schemas and a validator), pinned and
    hash-checked, installed into a directory of its own; never part of dh-pyrpath."""
    target = tmp_path_factory.mktemp("cyclonedx")
    env = {k: v for k, v in build_env().items() if not k.startswith("PIP_")}
    # --isolated: the builder's pip.conf and PIP_* variables must not decide what installs
    run(["/usr/bin/python3", "-m", "pip", "--isolated", "install", "--quiet", "--no-deps",
         "--require-hashes", "--only-binary", ":all:", "--target", str(target),
         "--cert", os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"),
         "-r", str(CYCLONEDX_REQUIREMENTS)], env=env)
    return target


def validation_problems(cyclonedx, path):
    out = run(["/usr/bin/python3", "-I", "-c", f"import sys; sys.path.insert(0, "
               f"{str(cyclonedx)!r}); exec({VALIDATE!r})", str(path)]).stdout
    return out.splitlines()


@pytest.mark.e2e
def test_cyclonedx_validator_rejects_what_it_should(cyclonedx, tmp_path):
    """The validation below can fail: a document with an unknown field or a bad hash is
    refused."""
    doc = json.loads(sbom.serialize(_doc()))
    doc["components"][0]["hashes"] = [{"alg": "SHA-256", "content": "not hex"}]
    doc["surprise"] = 1
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    problems = validation_problems(cyclonedx, path)
    assert any("surprise" in p for p in problems) and any("not hex" in p for p in problems)
    path.write_text(sbom.serialize(_doc()))
    assert validation_problems(cyclonedx, path) == []


def _build_twin(parent, env=None):
    src = copy_source(TWINS, parent)
    proc = dh_pyrpath("-p", "twin-a", cwd=src, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return src / "debian" / "twin-a" / "opt" / "twin-a"


@pytest.mark.e2e
def test_sbom_of_a_real_build(suite_cache, cyclonedx, tmp_path):
    env = {"SOURCE_DATE_EPOCH": "1795773600"}  # as dpkg-buildpackage exports it
    prefix = _build_twin(tmp_path / "one", env)
    path = prefix / "share" / "dh-pyrpath" / sbom.FILE
    assert validation_problems(cyclonedx, path) == []
    doc = json.loads(path.read_text())
    info = json.loads((prefix / "share" / "dh-pyrpath" / "build-info.json").read_text())

    # exactly the installed distributions, each with the sha256 of the wheel it came from
    frozen = (prefix / "share" / "dh-pyrpath" / "installed-requirements.txt").read_text().split()
    pypi = {c["purl"]: c for c in doc["components"] if c.get("purl", "").startswith("pkg:pypi/")}
    assert sorted(f"{c['name']}=={c['version']}" for c in pypi.values()) == sorted(frozen)
    click = pypi["pkg:pypi/click@8.1.7"]
    wheel = SUITE_CACHE / "wheels" / "click-8.1.7-py3-none-any.whl"
    assert click["hashes"] == [{"alg": "SHA-256", "content": (
        wheel.with_name(wheel.name + ".sha256").read_text().strip())}]
    assert click["licenses"] == [{"license": {"name": "BSD-3-Clause"}}]  # its License field
    assert all(len(c["hashes"][0]["content"]) == 64 for c in pypi.values())
    assert pypi["pkg:pypi/twins@2.0"]["type"] == "application"

    # the interpreter: its source's sha256 and every Debian patch applied, with its CVEs
    cpython = next(c for c in doc["components"] if c["name"] == "cpython")
    assert cpython["version"] == info["python"]
    assert cpython["externalReferences"][0]["hashes"][0]["content"] == info[
        "python_source_sha256"]
    patches = cpython["pedigree"]["patches"]
    assert [p["diff"]["url"].rsplit("/", 1)[1] for p in patches] == info["python_patches"]
    fixed = {i["id"] for p in patches for i in p.get("resolves", [])}
    named = {c.upper() for p in info["python_patches"] for c in re.findall(r"CVE-\d+-\d+", p, re.I)}
    assert {i for i in fixed if i.startswith("CVE-")} == named
    assert "CVE-2023-24329" in named and len(named) >= 25  # bookworm's 3.11.2-6+deb12u8: 29

    # the Debian packages of the interpreter's Depends, as in the substvar dh_gencontrol uses
    substvars = (prefix.parents[2] / "twin-a.substvars").read_text()
    misc = re.search(r"^misc:Depends=(.*)$", substvars, re.M).group(1)
    debs = {c["name"] for c in doc["components"] if c.get("purl", "").startswith("pkg:deb/")}
    assert "libssl3" in debs and "libc6" in debs and debs == set(sbom.relations(misc))
    root = doc["metadata"]["component"]
    assert root["purl"] == f"pkg:deb/debian/twin-a@2.0?arch={debhelper.host_arch()}"
    assert doc["metadata"]["timestamp"] == "2026-11-27T10:00:00Z"

    # reproducible: another directory, same source and SOURCE_DATE_EPOCH, the same bytes
    again = _build_twin(tmp_path / "two", env) / "share" / "dh-pyrpath" / sbom.FILE
    assert again.read_bytes() == path.read_bytes()
