"""OSV records and the package index's JSON API: which installed versions an advisory
affects, the lowest release that fixes it, and one clear error for each bad record."""
import json
import os
import subprocess
import tempfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from packaging.version import Version

from conftest import REPO
from dh_pyrpath.audit import advisories
from dh_pyrpath.audit.advisories import in_range, load_osv, parse_record
from dh_pyrpath.errors import AuditError

OSV = REPO / "tests" / "data" / "osv"
JINJA = OSV / "GHSA-h5c8-rqwp-cp95.json"


def _events(*pairs):
    return tuple((kind, None if at == "0" else Version(at)) for kind, at in pairs)


def _record(events, name="Demo_Pkg", ecosystem="PyPI", **extra):
    return {"id": "OSV-TEST-1", "aliases": ["CVE-2099-1"],
            "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}], **extra}]}


@pytest.mark.parametrize("version,affected", [
    ("0.1", True), ("3.1.2", True), ("3.1.3", False), ("3.1.3rc1", True), ("4.0", False)])
def test_introduced_zero_to_fixed(version, affected):
    assert in_range(Version(version), _events(("introduced", "0"), ("fixed", "3.1.3"))) is affected


@pytest.mark.parametrize("version,affected", [
    ("1.9", False), ("2.0", True), ("2.4.1", True), ("2.4.2", False)])
def test_last_affected_includes_itself(version, affected):
    events = _events(("introduced", "2.0"), ("last_affected", "2.4.1"))
    assert in_range(Version(version), events) is affected


@pytest.mark.parametrize("version,affected", [
    ("1.0", True), ("1.5", False), ("2.0", True), ("2.2", False), ("3.0", True)])
def test_reopened_ranges_in_any_order(version, affected):
    # OSV orders events by version before walking them; records need not list them sorted
    events = _events(("introduced", "3.0"), ("fixed", "2.2"), ("introduced", "0"),
                     ("introduced", "2.0"), ("fixed", "1.5"))
    assert in_range(Version(version), events) is affected


def test_record_names_are_canonicalised_and_other_ecosystems_ignored():
    found = parse_record(_record([{"introduced": "0"}, {"fixed": "1.2"}]), "x.json")
    assert [a.name for a in found] == ["demo-pkg"]
    assert parse_record(_record([{"introduced": "0"}], ecosystem="npm"), "x.json") == []
    index = advisories.OsvIndex()
    index.add(found[0])
    assert index.matching("demo.pkg", "1.1") == found
    assert index.matching("DEMO_PKG", "1.2") == []


def test_versions_list_matches_legacy_versions_as_written():
    record = _record([{"introduced": "5.0"}], versions=["0.9-legacy", "1.0"])
    (advisory,) = parse_record(record, "x.json")
    assert advisory.affects("0.9-legacy") and advisory.affects("1.0.0")
    assert not advisory.affects("0.9") and advisory.affects("5.1")


def test_withdrawn_records_affect_nothing():
    record = _record([{"introduced": "0"}], withdrawn="2024-01-01T00:00:00Z")
    assert parse_record({**record, "withdrawn": "2024-01-01T00:00:00Z"}, "x.json") == []


def test_fix_is_the_lowest_fixed_release_above_the_installed_one():
    events = [{"introduced": "0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"fixed": "2.3"},
              {"introduced": "3.0"}, {"last_affected": "3.1"}]
    (advisory,) = parse_record(_record(events), "x.json")
    assert advisory.fix_above("1.0") == Version("1.5")
    assert advisory.fix_above("2.1") == Version("2.3")
    assert advisory.affects("3.1") and advisory.fix_above("3.1") is None


def test_the_real_jinja2_record_from_a_directory_and_a_zip(tmp_path):
    index = load_osv([OSV])
    assert index.files == 1
    (advisory,) = index.matching("Jinja2", "3.1.2")
    assert advisory.id == "GHSA-h5c8-rqwp-cp95" and advisory.aliases == ("CVE-2024-22195",)
    assert advisory.fix_above("3.1.2") == Version("3.1.3")
    assert index.matching("jinja2", "3.1.3") == []
    archive = tmp_path / "osv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(JINJA, "PyPI/GHSA-h5c8-rqwp-cp95.json")
    (zipped,) = load_osv([archive]).matching("jinja2", "2.11.3")
    assert zipped.source == f"{archive}:PyPI/GHSA-h5c8-rqwp-cp95.json"


@pytest.mark.parametrize("content,message", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "the JSON document is not an object"),
    (b'{"affected": []}', "no 'id'"),
    (json.dumps(_record([{"introduced": "0"}, {"fixed": "banana"}])).encode(),
     "OSV-TEST-1: 'banana' is not a PEP 440 version"),
    (json.dumps(_record([{"introduced": "0", "fixed": "1.0"}])).encode(), "is not one key"),
    (json.dumps(_record([{"patched": "1.0"}])).encode(), "unknown range event 'patched'"),
    (json.dumps({"id": "X", "affected": [{"ranges": []}]}).encode(),
     "an affected entry without a package"),
])
def test_a_bad_record_is_one_error_naming_the_file(tmp_path, content, message):
    (tmp_path / "sub").mkdir()
    bad = tmp_path / "sub" / "bad.json"
    bad.write_bytes(content)
    (tmp_path / "good.json").write_bytes(JINJA.read_bytes())
    with pytest.raises(AuditError) as err:
        load_osv([tmp_path])
    text = str(err.value)
    assert text.startswith(f"{bad}: ") and message in text and "\n" not in text


def test_bad_sources_are_named(tmp_path):
    with pytest.raises(AuditError, match="no such file or directory"):
        load_osv([tmp_path / "missing"])
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(AuditError, match="neither a directory, a zip file nor a .json file"):
        load_osv([other])
    unreadable = tmp_path / "dir"
    unreadable.mkdir()
    (unreadable / "x.json").symlink_to(tmp_path / "nowhere.json")
    with pytest.raises(AuditError, match=r"x.json: cannot read it"):
        load_osv([unreadable])


def test_an_unreadable_file_names_the_fix():
    """A record file its reader may not open (mode 000, read as nobody: root reads anything)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to read as another user")
    with tempfile.TemporaryDirectory(prefix="dh-pyrpath-osv-") as tmp:
        os.chmod(tmp, 0o755)
        record = Path(tmp) / "GHSA-h5c8-rqwp-cp95.json"
        record.write_bytes(JINJA.read_bytes())
        record.chmod(0)
        script = ("import sys\nfrom dh_pyrpath.audit.advisories import load_osv\n"
                  "from dh_pyrpath.errors import AuditError\n"
                  "for source in sys.argv[1:]:\n    try:\n        load_osv([source])\n"
                  "    except AuditError as exc:\n        print(exc)\n")
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               "/usr/bin/python3", "-c", script, str(record), tmp],
                              text=True, capture_output=True, cwd="/",
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert proc.stdout.splitlines() == [
        f"{record}: cannot read it (Permission denied): fix its permissions or give another "
        "file",
        f"{record}: cannot read it (Permission denied): fix its permissions or remove it"], (
        proc.stderr)


def test_a_damaged_zip_is_one_error_and_nothing_half_read(tmp_path):
    archive = tmp_path / "osv.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(JINJA, "PyPI/GHSA-h5c8-rqwp-cp95.json")
    data = bytearray(archive.read_bytes())
    start = data.index(b"PyPI/GHSA") + len("PyPI/GHSA-h5c8-rqwp-cp95.json")
    for n in range(start + 10, start + 60):  # inside the compressed member: its CRC fails
        data[n] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(AuditError) as err:
        load_osv([archive])
    text = str(err.value)
    assert text.startswith(f"{archive}: a damaged zip file (") and "\n" not in text
    assert text.endswith("): download it again")


def test_a_directory_named_like_a_record_is_searched_not_read(tmp_path):
    (tmp_path / "PyPI.json").mkdir()
    (tmp_path / "PyPI.json" / "GHSA-h5c8-rqwp-cp95.json").write_bytes(JINJA.read_bytes())
    index = load_osv([tmp_path])
    assert index.files == 1 and index.matching("jinja2", "3.1.2")


def test_json_api_base_follows_the_configured_index():
    assert advisories.json_api_base("https://mirror.example/simple/") == (
        "https://mirror.example/pypi")
    assert advisories.json_api_base("https://mirror.example/devpi/+simple") is None
    # no index configured: pip's own default, whatever pip names, asked of pip itself
    simple, api = advisories.pip_default_index()
    assert advisories.json_api_base(None) == api
    assert advisories.json_api_base(simple) == api.rstrip("/")


def test_the_audit_does_not_import_pip():
    """With pip imported, setuptools' distutils shim hands later in-process users of
    setuptools (make-deb reads metadata that way) the standard library's distutils."""
    probe = ("import sys, dh_pyrpath.__main__, dh_pyrpath.audit.check\n"
             "dh_pyrpath.audit.advisories.json_api_base(None)\n"
             "print('pip' in sys.modules)\n")
    out = subprocess.run(["/usr/bin/python3", "-c", probe], cwd=REPO, text=True, check=True,
                         stdout=subprocess.PIPE).stdout
    assert out.strip() == "False"


class _Index:
    """A loopback HTTP server answering the JSON API for the versions in `answers`."""

    def __init__(self, answers):
        answers = answers

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = answers.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_the_index_json_api_vulnerabilities_field():
    answer = {"info": {"name": "Jinja2", "version": "3.1.2"}, "vulnerabilities": [
        {"id": "PYSEC-2024-1", "aliases": ["CVE-2024-22195", "GHSA-h5c8-rqwp-cp95"],
         "fixed_in": ["3.1.3"], "withdrawn": None},
        {"id": "PYSEC-OLD", "aliases": [], "fixed_in": [], "withdrawn": "2024-02-01"}]}
    index = _Index({"/pypi/jinja2/3.1.2/json": answer})
    try:
        api = advisories.IndexAdvisories(index.url)
        (found,) = api.lookup("Jinja2", "3.1.2")
        assert found.id == "PYSEC-2024-1" and found.fix_above("3.1.2") == Version("3.1.3")
        assert api.lookup("audit-demo", "1.0") == []  # not on the index: 404, still reached
        assert api.unreached is None
    finally:
        index.close()


def test_an_index_without_json_api_is_one_reason_and_asked_a_few_times_only():
    index = _Index({})
    try:
        api = advisories.IndexAdvisories(index.url)
        for n in range(20):
            assert api.lookup(f"dist{n}", "1.0") == []
        assert api.not_found == advisories.GIVE_UP_AFTER
        assert "answered 404" in api.unreached
    finally:
        index.close()


def test_an_unreachable_index_stops_at_the_first_failure():
    api = advisories.IndexAdvisories("http://127.0.0.1:9/simple", timeout=2)
    assert api.lookup("jinja2", "3.1.2") == [] and api.lookup("six", "1.0") == []
    assert api.unreached.startswith("http://127.0.0.1:9/pypi/jinja2/3.1.2/json: ")
    assert list(api.cache) == [("jinja2", "3.1.2")]


def test_an_unusable_ca_bundle_is_a_reason_not_a_crash(tmp_path):
    api = advisories.IndexAdvisories("https://127.0.0.1:9/simple", tmp_path / "missing.pem")
    assert api.lookup("jinja2", "3.1.2") == []
    assert api.unreached.startswith(f"the CA bundle {tmp_path / 'missing.pem'} cannot be used")
