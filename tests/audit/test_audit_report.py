"""The audit's findings, table, JSON and exit codes; and the command line run on .deb files
dpkg-deb builds for the test, whose CPython came from a tarball (so no apt is asked here:
tests/audit/test_audit_e2e.py audits real builds)."""
import json

import pytest

from conftest import REPO
from dh_pyrpath.__main__ import main
from dh_pyrpath.audit import check, inputs, report
from dh_pyrpath.audit.advisories import Advisory, load_osv
from packaging.version import Version
from test_audit_inputs import (INTERP, PREFIX, build_info, built_files, make_deb,
                               sbom_document)

OSV = REPO / "tests" / "data" / "osv"
CVES = tuple(f"CVE-2026-{n}" for n in (1502, 3276, 6019, 8328, 9669, 15308, 15310, 15806,
                                       17084, 18503, 19445, 19553, 69534))
TARBALL = {**INTERP, "source": "Python-3.11.9.tgz", "debian_package": None,
           "debian_revision": None}


def _built(dists=()):
    return inputs.Built("/pool/svc_1.0_amd64.deb", "svc", "1.0", "/opt/svc", "3.11.2",
                        "python3.11_3.11.2.orig.tar.gz (Debian python3.11 3.11.2-6+deb12u8)",
                        "python3.11", "3.11.2-6+deb12u8", tuple(dists))


def _interpreter_finding(ids=CVES):
    return report.Finding("interpreter", "python3.11", "3.11.2-6+deb12u8", ids,
                          "python-source = debian:python3.11=3.11.2-6+deb12u9",
                          newest="3.11.2-6+deb12u9", source="<uri> bookworm-security/main "
                          "amd64 Packages")


def _jinja_finding():
    (advisory,) = load_osv([OSV]).matching("jinja2", "3.1.2")
    return check.dependency_finding(inputs.Distribution("Jinja2", "3.1.2"), [advisory])


def test_dependency_finding_names_the_advisory_and_the_fix():
    finding = _jinja_finding()
    assert finding.stale == "jinja2 3.1.2" and finding.fix == "jinja2 >= 3.1.3"
    assert finding.ids == ("GHSA-h5c8-rqwp-cp95", "CVE-2024-22195")


def test_the_same_vulnerability_from_two_sources_is_one_advisory():
    (osv,) = load_osv([OSV]).matching("jinja2", "3.1.2")
    index = Advisory("PYSEC-2024-1", ("CVE-2024-22195",), "jinja2", "index",
                     versions=frozenset(["3.1.2"]), fixed=(Version("3.1.3"),))
    other = Advisory("GHSA-other", (), "jinja2", "x.json", versions=frozenset(["3.1.2"]),
                     fixed=(Version("3.1.4"), Version("3.0.9")))
    unfixed = Advisory("GHSA-open", (), "jinja2", "y.json", versions=frozenset(["3.1.2"]))
    finding = check.dependency_finding(inputs.Distribution("jinja2", "3.1.2"),
                                       [osv, index, other, unfixed])
    assert [a["id"] for a in finding.advisories] == ["GHSA-h5c8-rqwp-cp95", "GHSA-other",
                                                     "GHSA-open"]
    assert finding.advisories[0]["aliases"] == ["CVE-2024-22195", "PYSEC-2024-1"]
    # the release that fixes all it can: the highest of each advisory's lowest fix
    assert finding.fix == "jinja2 >= 3.1.4 (no fix yet for GHSA-open)"


def test_exit_codes():
    assert report.Report().exit_code == 0
    clean = report.Report(audited=[report.Audited(_built(), [])])
    assert clean.exit_code == 0
    stale = report.Report(audited=[report.Audited(_built(), [_jinja_finding()])])
    assert stale.exit_code == 1
    stale.problem("x.deb: not a readable .deb")
    assert stale.exit_code == 2


def test_the_table():
    rep = report.Report(audited=[report.Audited(_built(), [_interpreter_finding(),
                                                           _jinja_finding()]),
                                 report.Audited(_built(), [])],
                        skipped=[inputs.Skipped("/pool/other.deb", "not built by dh-pyrpath")])
    text = report.render_table(rep)
    lines = text.splitlines()
    assert lines[0].split() == ["PACKAGE", "VERSION", "STALE", "IDS", "FIX"]
    assert lines[1].split()[:5] == ["svc", "1.0", "python3.11", "3.11.2-6+deb12u8", "<"]
    assert lines[1].endswith("python-source = debian:python3.11=3.11.2-6+deb12u9")
    assert "(13 CVEs)" in text and all(cve in text for cve in CVES)
    jinja = next(line for line in lines if "jinja2 3.1.2" in line)
    assert "GHSA-h5c8-rqwp-cp95 (CVE-2024-22195)" in jinja and jinja.endswith("jinja2 >= 3.1.3")
    assert max(len(line) for line in lines if "CVE-2026" in line and "svc" not in line) < 200
    assert lines[-1] == ("2 packages audited: 1 with something to fix; 1 not built by "
                         "dh-pyrpath, skipped")
    assert report.message_lines(rep) == ["/pool/other.deb: not built by dh-pyrpath: skipped"]


def test_the_table_of_nothing_to_fix_and_of_unknown_ids():
    assert report.render_table(report.Report(audited=[report.Audited(_built(), [])])) == (
        "1 package audited: nothing to fix\n")
    text = report.render_table(report.Report(
        audited=[report.Audited(_built(), [_interpreter_finding(ids=None)])],
        problems=["apt's index lists python3.11-minimal 3.11.2-6+deb12u9 but ... (404)"]))
    assert "unknown: its changelog was not read" in text
    assert text.splitlines()[-1].endswith("1 could not be audited (exit 2)")


def test_the_json():
    rep = report.Report(audited=[report.Audited(_built([inputs.Distribution("Jinja2", "3.1.2")]),
                                                [_interpreter_finding(), _jinja_finding()])],
                        notes=["PyPI advisories not reached (404)"])
    data = json.loads(report.to_json(rep))
    assert data["exit_code"] == 1 and data["format"] == report.JSON_FORMAT
    (package,) = data["packages"]
    assert package["python_debian"] == {"package": "python3.11",
                                        "revision": "3.11.2-6+deb12u8", "release": None}
    interp, dep = package["findings"]
    assert interp["kind"] == "interpreter" and interp["newest"] == "3.11.2-6+deb12u9"
    assert interp["ids"] == list(CVES)
    assert dep == {"kind": "dependency", "name": "jinja2", "installed": "3.1.2",
                   "ids": ["GHSA-h5c8-rqwp-cp95", "CVE-2024-22195"], "fix": "jinja2 >= 3.1.3",
                   "advisories": [{"id": "GHSA-h5c8-rqwp-cp95", "aliases": ["CVE-2024-22195"],
                                   "fixed": "3.1.3",
                                   "sources": [str(OSV / "GHSA-h5c8-rqwp-cp95.json")]}]}
    assert data["notes"] == ["PyPI advisories not reached (404)"] and data["problems"] == []


# ---------------------------------------------------------------- the command line

@pytest.fixture
def pool(tmp_path):
    """A directory of .debs: one built by dh-pyrpath (jinja2 3.1.2, CPython from a tarball),
    one not."""
    pool = tmp_path / "pool"
    pool.mkdir()
    make_deb(pool, "svc", built_files(
        info=build_info(python_source="Python-3.11.9.tgz", python_debian_revision=None),
        doc=sbom_document(TARBALL)))
    make_deb(pool, "plain", {"/usr/share/doc/plain/README": b"hi"})
    return pool


def test_audit_of_a_pool_with_osv_records(pool, capsys):
    assert main(["--audit", "--no-pypi", "--osv", str(OSV), str(pool)]) == 1
    out, err = capsys.readouterr()
    assert "jinja2 >= 3.1.3" in out and "GHSA-h5c8-rqwp-cp95 (CVE-2024-22195)" in out
    assert out.splitlines()[-1] == ("1 package audited: 1 with something to fix; 1 not built "
                                    "by dh-pyrpath, skipped")
    assert err.splitlines() == [
        f"dh_pyrpath: {pool}/plain_1.0_amd64.deb: not built by dh-pyrpath: skipped",
        "dh_pyrpath: note: svc: its CPython came from Python-3.11.9.tgz, not a Debian "
        "source: its security fixes are not checked here"]


def test_json_and_a_corrupt_deb(pool, capsys):
    (pool / "broken_1.0_amd64.deb").write_bytes(b"!<arch>\ndebian-binary   0\n")
    assert main(["--audit", "--no-pypi", "--json", "--osv", str(OSV), str(pool)]) == 2
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["exit_code"] == 2 and [p["package"] for p in data["packages"]] == ["svc"]
    (problem,) = data["problems"]
    assert problem.startswith(f"{pool}/broken_1.0_amd64.deb: not a readable .deb (")
    assert f"dh_pyrpath: error: {problem}" in err.splitlines()


def test_no_advisories_without_osv_is_exit_0_and_says_what_was_not_checked(pool, capsys):
    assert main(["--audit", "--no-pypi", str(pool)]) == 0
    assert "the Python dependencies were not checked" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["--audit"], "nothing to audit: give .deb files or directories of them, or --installed"),
    (["--installed"], "--installed: only with --audit"),
    (["--json", "x.deb"], "PATH, --json: only with --audit"),
    (["--audit", "--no-pypi", "/nonexistent/x.deb"], "/nonexistent/x.deb: no such file or "
     "directory: give .deb files or directories of them"),
])
def test_bad_command_lines_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"dh_pyrpath: error: {message}"] and out == ""


def test_a_malformed_osv_file_stops_before_anything_is_read(pool, tmp_path, capsys):
    bad = tmp_path / "osv"
    bad.mkdir()
    (bad / "x.json").write_text('{"id": "X", "affected": "jinja2"}')
    assert main(["--audit", "--no-pypi", "--osv", str(bad), str(pool)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [
        f"dh_pyrpath: error: {bad}/x.json: not an OSV record: X: 'affected' and 'aliases' "
        "must be lists: fix or remove the file"]


def test_a_dh_pyrpath_package_whose_sbom_was_removed(pool, capsys):
    """Its own error line (not the skip of a package dh-pyrpath did not build), exit 2, the
    other packages still audited, the pool unchanged."""
    stripped = make_deb(pool, "nosbom", {f"{PREFIX}/{inputs.BUILD_INFO}": build_info()})
    before = {p: p.read_bytes() for p in pool.rglob("*") if p.is_file()}
    assert main(["--audit", "--no-pypi", "--osv", str(OSV), str(pool)]) == 2
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith("dh_pyrpath: error: ")]
    assert errors == [f"dh_pyrpath: error: {stripped}: {PREFIX}/{inputs.BUILD_INFO} but no "
                      f"{PREFIX}/{inputs.SBOM} (removed, or built by a dh-pyrpath older than "
                      "SBOMs): rebuild it with a current dh-pyrpath"]
    assert f"dh_pyrpath: {pool}/plain_1.0_amd64.deb: not built by dh-pyrpath: skipped" in err
    assert "jinja2 >= 3.1.3" in out and out.splitlines()[-1].endswith(
        "1 could not be audited (exit 2)")
    assert {p: p.read_bytes() for p in pool.rglob("*") if p.is_file()} == before


def test_an_unreadable_osv_file_stops_before_anything_is_read(pool, tmp_path, capsys):
    records = tmp_path / "osv"
    records.mkdir()
    (records / "GHSA-x.json").symlink_to(tmp_path / "gone.json")
    assert main(["--audit", "--no-pypi", "--osv", str(records), str(pool)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [
        f"dh_pyrpath: error: {records}/GHSA-x.json: cannot read it (No such file or "
        "directory): fix its permissions or remove it"]
