"""What make-deb writes says what the project says: a markdown README (reference links, lists,
headings) becomes a Debian extended description, a markdown LICENSE.md plain license text, the
Copyright field the project's own line, Upstream-Contact the project's maintainer or author.
lintian checks the source package (dpkg-source -b, no build); tests/make_deb/test_make_deb_e2e.py checks
the built .deb."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from debian import deb822
from debian.copyright import Copyright

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "data" / "make_deb"
HATCH_DESCRIPTION = """\
Print where the private interpreter lives, from a hatchling project
 hatch-tool prints where its private interpreter lives. It is built with
 hatchling (https://hatch.pypa.io/latest/) and packaged with dh-pyrpath
 (https://example.org/dh-pyrpath); see the project page for more.
 .
 Features
 .
  * reads its version from its own module
  * runs on every CPython from 3.11 to 3.14
  * ships as a .deb that carries its own CPython, so upgrading the system's
    Python never breaks it
 .
 This package installs hatch-tool with its dependencies and a private CPython
 interpreter under /opt/hatch-tool, isolated from the system Python."""


def scaffold(tmp_path, name):
    project = tmp_path / name
    shutil.copytree(FIXTURES / name, project)
    env = {k: v for k, v in os.environ.items() if k not in ("DEBFULLNAME", "DEBEMAIL", "CI")}
    proc = subprocess.run([sys.executable, "-m", "make_deb", "--yes", "--maintainer-name",
                           "Deb Packager", "--maintainer-email", "deb@example.org",
                           "--python-source", "/srv/src/Python-3.12.7.tar.xz"],
                          cwd=project, capture_output=True, text=True, timeout=600,
                          env={**env, "PYTHONPATH": str(REPO),
                               "SOURCE_DATE_EPOCH": "1700000000"})
    assert proc.returncode == 0, proc.stderr
    return project


def source_lintian(project):
    """lintian's E: and W: tags for the source package dpkg-source builds from `project`."""
    subprocess.run(["dpkg-source", "-b", project.name], cwd=project.parent, check=True,
                   capture_output=True)
    dsc = sorted(project.parent.glob("*.dsc"))[-1]
    proc = subprocess.run(["lintian", "--tag-display-limit", "0", str(dsc)],
                          capture_output=True, text=True)
    return [ln for ln in proc.stdout.splitlines() if ln[:2] in ("E:", "W:")]


@pytest.fixture(scope="module")
def hatch(tmp_path_factory):
    return scaffold(tmp_path_factory.mktemp("fidelity"), "hatch_tool")


def test_markdown_readme_becomes_a_debian_description(hatch):
    binary = list(deb822.Deb822.iter_paragraphs((hatch / "debian/control").open()))[1]
    assert binary["Description"] == HATCH_DESCRIPTION


def test_markdown_license_and_the_projects_copyright(hatch):
    text = (hatch / "debian/copyright").read_text()
    cp = Copyright(text.splitlines(True), strict=True)
    assert cp.header.upstream_contact == ("Katherine Johnson <katherine@example.org>",)
    files = cp.find_files_paragraph("x")
    assert files.copyright == "2021-2024 Katherine Johnson <katherine@example.org>"
    assert files.license.synopsis == "Expat"
    body = [p for p in cp.all_license_paragraphs()][0].license.text
    assert "MIT License" in body and "Permission is hereby granted" in body
    for markup in ("# ", "**", "](", "<https"):
        assert markup not in text, markup


@pytest.mark.skipif(not shutil.which("lintian"), reason="tests/run installs lintian")
def test_lintian_finds_nothing_in_the_source(hatch):
    assert source_lintian(hatch) == []


def test_upstream_contact_prefers_the_maintainer(tmp_path):
    project = scaffold(tmp_path, "poetry2_tool")
    cp = Copyright((project / "debian/copyright").read_text().splitlines(True), strict=True)
    assert cp.header.upstream_contact == ("Frances Allen <frances@example.org>",)
    control = (project / "debian/control").read_text()
    assert "Maintainer: Deb Packager <deb@example.org>" in control
