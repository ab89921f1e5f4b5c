"""make-deb --refresh without apt: the changelog entry (its version checked against
`dpkg --compare-versions`, its text against `dpkg-parsechangelog`), the settings file's rewrite,
and the bad inputs that are refused before apt is asked anything, through the real command:
one error line, the exit code, the project byte for byte unchanged. The lookups against apt,
the 404 case and the rebuild are tests/e2e/test_refresh_e2e.py's."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from debian.changelog import Changelog

from make_deb import changelog, refresh
from make_deb.errors import RefreshError

REPO = Path(__file__).resolve().parents[2]
OSV = REPO / "tests" / "data" / "osv"
ENTRY = ("svc (1.0.0) unstable; urgency=medium\n\n  * Initial release.\n\n"
         " -- Deb Packager <deb@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n")


def compare(a, op, b):
    return subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0


@pytest.mark.parametrize("old, new", [
    ("1.0.0", "1.0.0+b1"), ("1.0.0+b1", "1.0.0+b2"), ("1.0-1", "1.0-2"),
    ("2:1.0-1ubuntu1", "2:1.0-1ubuntu2"), ("1.0-1+b9", "1.0-1+b10"), ("1.0-rc", "1.0-rc.1"),
    ("1.2~rc1", "1.2~rc1+b1")])
def test_next_version(old, new):
    assert str(changelog.next_version(old)) == new
    assert compare(new, "gt", old)


def test_a_native_rebuild_sorts_before_the_next_release():
    assert compare("1.0.0+b1", "lt", "1.0.1") and compare("1.0.0+b1", "lt", "1.0.0.1")


@pytest.mark.parametrize("env, author", [
    ({"DEBFULLNAME": "Jane Doe", "DEBEMAIL": "jane@example.org"}, "Jane Doe <jane@example.org>"),
    ({"DEBEMAIL": "Jane Doe <jane@example.org>"}, "Jane Doe <jane@example.org>"),
    ({"NAME": "Jo", "EMAIL": "jo@example.org"}, "Jo <jo@example.org>"),
    ({"DEBEMAIL": "jane@example.org"}, "Prev <prev@example.org>"),
    ({}, "Prev <prev@example.org>")])
def test_author_as_dch_takes_it(env, author):
    assert changelog.author("Prev <prev@example.org>", env) == author


def test_the_entry_is_what_dpkg_parsechangelog_reads(tmp_path):
    items = ["Rebuild with Debian's python3.11 3.11.2-6+deb12u9 (python-source in "
             "debian/svc.pyrpath; was 3.11.2-6+deb12u8), which fixes " +
             ", ".join(f"CVE-2026-{n}" for n in range(1000, 1013)) + "."]
    text = changelog.entry(Changelog(ENTRY), items, env={},
                           date="Sun, 06 Dec 2026 12:00:00 +0000") + ENTRY
    path = tmp_path / "changelog"
    path.write_text(text)
    out = subprocess.run(["dpkg-parsechangelog", "-l", str(path)], capture_output=True,
                         text=True, check=True)
    assert out.stderr == ""  # no warning either
    fields = dict(line.split(": ", 1) for line in out.stdout.splitlines()
                  if ": " in line and not line.startswith(" "))
    assert fields["Version"] == "1.0.0+b1" and fields["Distribution"] == "unstable"
    assert fields["Maintainer"] == "Deb Packager <deb@example.org>"
    assert all(len(line) <= 80 for line in text.splitlines())
    changes = " ".join(out.stdout.split("Changes:", 1)[1].split())
    assert "CVE-2026-1000" in changes and "CVE-2026-1012" in changes
    assert text.endswith("\n\n" + ENTRY)  # the old entries, untouched, after a blank line
    every = subprocess.run(["dpkg-parsechangelog", "-l", str(path), "--format", "rfc822",
                            "--count", "9"], capture_output=True, text=True, check=True).stdout
    assert [line.split()[1] for line in every.splitlines() if line.startswith("Version:")] == [
        "1.0.0+b1", "1.0.0"]


def test_rewrite_changes_the_value_only():
    text = ("# keep me\n  python-source =  debian:python3.11=3.11.2-6+deb12u8@bookworm  # pin\n"
            "install-root = /opt\n# python-source = debian:python3.11 (a comment)\n")
    pin = refresh.Pin("debian/svc.pyrpath", text, {}, "python3.11", "3.11.2-6+deb12u8",
                      "bookworm")
    new = refresh.rewrite(pin, "3.11.2-6+deb12u9")
    assert new == text.replace("deb12u8@bookworm", "deb12u9@bookworm")


# ------------------------------------------------------------------ the command, bad inputs

def project(root, settings="python-source = debian:python3.11=3.11.2-6+deb12u8\n",
            log=ENTRY):
    (root / "debian").mkdir(parents=True)
    if settings is not None:
        (root / "debian" / "svc.pyrpath").write_text(settings)
    if log is not None:
        (root / "debian" / "changelog").write_text(log)
    return root


def snapshot(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def make_deb(cwd, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEB", "PYTHON"))}
    env.update(PYTHONPATH=str(REPO), LC_ALL="C.UTF-8")
    return subprocess.run(["/usr/bin/python3", "-m", "make_deb", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=120)


BAD = {
    "no debian/": (None, "has no debian/ directory: run make-deb there first"),
    "no settings file": ({"settings": None}, "has no <package>.pyrpath settings file"),
    "no python-source": ({"settings": "install-root = /opt\n"}, "has no python-source"),
    "tarball": ({"settings": "python-source = /srv/Python-3.11.9.tgz\n"}, "is a tarball"),
    "unpinned": ({"settings": "python-source = debian:python3.11\n"}, "is not pinned"),
    "malformed spec": ({"settings": "python-source = debian:Python 3\n"},
                       "is not debian:python3.X"),
    "unknown key": ({"settings": "python-sauce = debian:python3.11=1\n"},
                    "unknown setting 'python-sauce'"),
    "no equals sign": ({"settings": "python-source debian:python3.11\n"},
                       "expected 'key = value'"),
    "two pins": ({"settings": "python-source = debian:python3.11=1\n"
                              "python-source = debian:python3.11=2\n"}, "more than one line"),
    "not UTF-8": ({"settings": None, "raw": b"python-source = \xff\n"}, "not UTF-8"),
    "no changelog": ({"log": None}, "cannot read debian/changelog"),
    "bad changelog": ({"log": "svc (1.0) unstable\n\n  * x\n"}, "debian/changelog does not "
                                                                 "parse"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_changes_nothing(tmp_path, case):
    shape, message = BAD[case]
    root = tmp_path / "svc"
    if shape is None:
        root.mkdir()
    else:
        project(root, **{k: v for k, v in shape.items() if k != "raw"})
        if "raw" in shape:
            (root / "debian" / "svc.pyrpath").write_bytes(shape["raw"])
    before = snapshot(root)
    proc = make_deb(root, "--refresh")
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("make-deb: error: ") and message in line, line
    assert proc.stdout == "" and snapshot(root) == before


def test_a_malformed_osv_record_stops_it(tmp_path):
    root = project(tmp_path / "svc")
    bad = tmp_path / "osv"
    bad.mkdir()
    (bad / "x.json").write_text('{"id": "X", "affected": "no"}')
    before = snapshot(root)
    proc = make_deb(root, "--refresh", "--osv", bad)
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert "not an OSV record" in line and "nothing was changed" in line
    assert snapshot(root) == before


@pytest.mark.parametrize("args, message", [
    (["--refresh", "--package", "x"], "--package: not with --refresh"),
    (["--refresh", "--force", "--service", "svc"], "--force, --service: not with --refresh"),
    (["--osv", str(OSV)], "--osv: only with --refresh")])
def test_usage(tmp_path, args, message):
    root = project(tmp_path / "svc")
    before = snapshot(root)
    proc = make_deb(root, *args)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert message in line
    assert snapshot(root) == before


def test_write_is_all_or_nothing(tmp_path):
    """A file that cannot be replaced: no file changed, no temporary copy left behind."""
    root = project(tmp_path / "svc")
    before = snapshot(root)
    (root / "debian" / "svc.pyrpath").chmod(0o444)
    files = {"debian/svc.pyrpath": "python-source = x\n", "debian/nodir/changelog": "x\n"}
    with pytest.raises(RefreshError, match="cannot write"):
        refresh.write(root, files)
    (root / "debian" / "svc.pyrpath").chmod(0o644)
    assert snapshot(root) == before
    assert sorted(p.name for p in (root / "debian").iterdir()) == ["changelog", "svc.pyrpath"]


def test_the_nightly_job_and_its_ci_examples_are_well_formed():
    """docs/security.md: the job's script passes `sh -n` (tests/e2e/test_refresh_e2e.py runs
    it); the Jenkins and GitLab examples run it on a schedule, and their shell steps parse."""
    text = (REPO / "docs" / "security.md").read_text()
    job = re.search(r"<!-- nightly-refresh: begin -->\n```sh\n(.*?)```", text, re.S).group(1)
    groovy = re.search(r"```groovy\n(.*?)```", text, re.S).group(1)
    steps = [job] + [s.replace("\\\\", "\\") for s in re.findall(r"sh '''(.*?)'''", groovy, re.S)]
    steps += re.findall(r"sh '([^'\n]*)'", groovy)
    assert groovy.count("{") == groovy.count("}") and "triggers { cron(" in groovy
    assert "sh 'ci/build-deps'" in groovy
    yaml = pytest.importorskip("yaml", reason="python3-yaml parses the GitLab example")
    gitlab = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))["nightly-refresh"]
    assert gitlab["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert gitlab["extends"] == "build-deb"  # publishing.md's job: its before_script
    steps += gitlab["script"] + gitlab["after_script"]
    for step in steps:
        proc = subprocess.run(["sh", "-n"], input=step, text=True, capture_output=True)
        assert proc.returncode == 0, (step, proc.stderr)
    assert "ci/nightly-refresh" in groovy and gitlab["script"][-1].rstrip().endswith(
        "ci/nightly-refresh")
    # the job builds where publishing.md's jobs build, in a copy under build/
    assert "(cd build/src && dpkg-buildpackage -us -uc -b)" in job


# ------------------------------------------------------------------ pure logic, apt stubbed

class Interpreters:
    """audit.interpreter.Interpreters' answers, as apt's binary index would give them."""

    def __init__(self, newest=None, ids=("CVE-2026-1",)):
        self._newest, self._ids = newest, ids

    def newest(self, package, release=None):
        if self._newest is None:
            raise refresh.PyrpathError("apt has no package indexes")
        return self._newest, self._newest, "mirror Packages"

    def fixed_ids(self, *args):
        return self._ids


def rev(version):
    return refresh.sources.apt.Revision(version, ("orig", "0"), ("debian", "0"))


PINNED = refresh.Pin("debian/svc.pyrpath", "python-source = debian:python3.11=1.0-1\n", {},
                     "python3.11", "1.0-1", None)


@pytest.mark.parametrize("served, unserved, binary, expect", [
    ("1.0-3", ["1.0-4"], "1.0-4", ("1.0-3", ["1.0-4"])),   # 1.0-4 listed, 404: 1.0-3 is taken
    ("1.0-2", [], None, ("1.0-2", [])),                    # no binary index: the sources say
    ("1.0-2", [], "1.0-2", ("1.0-2", [])),
    ("1.0-1", [], "1.0-1", None),                          # current
    ("1.0-1", [], "0.9-1", None)])
def test_lookup_decides_from_both_indexes(monkeypatch, served, unserved, binary, expect):
    monkeypatch.setattr(refresh.sources, "newest_served", lambda p: (rev(served), unserved))
    monkeypatch.setattr(refresh.interpreter, "source_fixed_ids", lambda *a: ("CVE-2026-2",))
    move = refresh.lookup(PINNED, None, Interpreters(binary))
    if expect is None:
        assert move is None
    else:
        assert (move.newest, move.unserved, move.ids) == (*expect, ("CVE-2026-2",))


@pytest.mark.parametrize("served, unserved, binary", [
    ("1.0-1", ["1.0-2"], "1.0-2"), ("1.0-1", [], "1.0-2"), (None, ["1.0-2"], None)])
def test_a_newer_revision_no_build_can_take_is_an_error(monkeypatch, served, unserved, binary):
    monkeypatch.setattr(refresh.sources, "newest_served",
                        lambda p: (rev(served) if served else None, unserved))
    with pytest.raises(RefreshError) as err:
        refresh.lookup(PINNED, None, Interpreters(binary, ids=("CVE-2026-1", "CVE-2026-3")))
    message = str(err.value)
    assert message.startswith("debian/svc.pyrpath: apt lists python3.11 1.0-2")
    assert "does not serve its source (404)" in message and "nothing was changed" in message
    if binary:
        assert "(its changelog names 2 CVEs since 1.0-1)" in message


def test_the_locked_dependencies_of_a_uv_lock(tmp_path):
    """The lock read as a build reads it (markers for the pinned CPython on this machine),
    each pin against an OSV record."""
    root = tmp_path / "locked"
    shutil.copytree(REPO / "tests" / "data" / "sources" / "locked", root)
    shutil.copy(REPO / "tests" / "data" / "locks" / "uv.lock", root / "uv.lock")
    for old in (root / "debian").glob("*.pyrpath"):
        old.unlink()
    (root / "debian" / "locked.pyrpath").write_text(
        "python-source = debian:python3.11=3.11.2-6+deb12u8\n")
    record = {"id": "GHSA-test-click", "aliases": ["CVE-2099-1"], "affected": [{
        "package": {"ecosystem": "PyPI", "name": "Click"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "8.0"}, {"fixed": "8.1.8"}]}]}]}
    osv = tmp_path / "osv.json"
    osv.write_text(json.dumps(record))
    pin = refresh.read_pins(root)[0]
    path, pinned = refresh.locked(root, pin, "3.11.2")
    assert path == root / "uv.lock" and ("click", "8.1.7") in pinned
    found = refresh.dependency_findings(root, [pin], [], refresh.advisories.load_osv([osv]))
    assert [(where, f.name, f.installed, f.fix) for where, f in found] == [
        ("uv.lock", "click", "8.1.7", "click >= 8.1.8")]
