"""Rendering, validation and the write-or-nothing install, in process."""
import os
import stat
from pathlib import Path

import pytest
from debian import deb822
from debian.changelog import Changelog
from debian.copyright import Copyright

from dh_pyrpath import host
from make_deb import fields, render
from make_deb.__main__ import build_parser
from make_deb.errors import OutputError, TemplateError
from make_deb.metadata import ProjectMetadata, Person

MIT = "Copyright (c) 2021 Jane Doe\n\nPermission is hereby granted, free of charge, to any..."


def meta(**kw):
    base = dict(name="My_Cool.App", version="1.0rc1", summary="Does cool things.",
                description="# Title\n\nIt is **cool**.\n", authors=[Person("Jane Doe",
                                                                         "jane@example.org")],
                license="MIT", license_files=["LICENSE"], homepage="https://example.org/x",
                console_scripts={"cool": "m:main", "cool-admin": "m:admin"},
                source="test")
    base.update(kw)
    return ProjectMetadata(**base)


@pytest.fixture
def project(tmp_path, monkeypatch):
    for var in ("DEBFULLNAME", "DEBEMAIL", "NAME", "EMAIL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    (tmp_path / "LICENSE").write_text(MIT)
    return tmp_path


def settings(project, *argv, **metakw):
    opts = build_parser().parse_args(["--yes", *argv])
    fields.early_checks(opts)
    return fields.resolve(meta(**metakw), opts, project)


def test_render_all_files(project):
    s = settings(project)
    files = render.render(s)
    assert sorted(files) == ["debian/changelog", "debian/control", "debian/copyright",
                             "debian/my-cool-app.links",
                             "debian/my-cool-app.pyrpath", "debian/rules",
                             "debian/source/format", "debian/source/lintian-overrides"]
    render.validate(files, s)
    src, binary = deb822.Deb822.iter_paragraphs(files["debian/control"].splitlines(True))
    assert src["Source"] == "my-cool-app" and binary["Package"] == "my-cool-app"
    assert src["Maintainer"] == "Jane Doe <jane@example.org>"
    assert src["Build-Depends"] == "debhelper-compat (= 13), dh-sequence-pyrpath"
    assert src["Standards-Version"] == "4.6.2" and src["Rules-Requires-Root"] == "no"
    assert src["Priority"] == "optional" and src["Section"] == "misc"
    assert src["Homepage"] == "https://example.org/x"
    assert binary["Architecture"] == "any"
    assert binary["Depends"] == "${shlibs:Depends}, ${misc:Depends}"
    assert binary["Description"].split("\n")[0] == "Does cool things"
    assert "It is cool." in binary["Description"]
    cl = Changelog(files["debian/changelog"], strict=True)
    assert (cl.package, str(cl.version), cl.distributions) == ("my-cool-app", "1.0~rc1",
                                                               "unstable")
    assert cl.date == "Tue, 14 Nov 2023 22:13:20 +0000"
    cp = Copyright(files["debian/copyright"].splitlines(True), strict=True)
    assert cp.find_files_paragraph("x").license.synopsis == "Expat"
    assert "Copyright: 2021 Jane Doe" in files["debian/copyright"]
    assert files["debian/source/format"] == "3.0 (native)\n"
    assert files["debian/rules"].startswith("#!/usr/bin/make -f\n")
    assert "\n%:\n\tdh $@\n" in files["debian/rules"]
    # zstd, visible in debian/rules where the user can change it (issue 25)
    assert "\noverride_dh_builddeb:\n\tdh_builddeb -- -Zzstd\n" in files["debian/rules"]
    assert files["debian/my-cool-app.links"].splitlines() == [
        "opt/my-cool-app/bin/cool usr/bin/cool",
        "opt/my-cool-app/bin/cool-admin usr/bin/cool-admin"]
    pyrpath = [ln for ln in files["debian/my-cool-app.pyrpath"].splitlines()
               if ln and not ln.startswith("#")]
    # the host's default python3 (make-deb pins it afterwards: test_make_deb_python_source.py)
    assert pyrpath == [f"python-source = {host.host_default_source()}", "install-root = /opt"]
    assert files["debian/my-cool-app.pyrpath"].startswith("# ")
    # dh_pyrpath ships the binary package's overrides; the source's only excuse the zstd line
    assert [f for f in files if "lintian" in f] == ["debian/source/lintian-overrides"]
    overrides = [ln for ln in files["debian/source/lintian-overrides"].splitlines()
                 if ln and not ln.startswith("#")]
    assert overrides == ["custom-compression-in-debian-rules"]


def test_options_flow_into_files(project):
    s = settings(project, "--install-root", "/srv/apps/", "--python-source",
                 "debian:python3.12", "--no-links", "--package", "svc", "--source-package",
                 "svc-src", "--section", "net", "--distribution", "UNRELEASED",
                 "--index-url", "https://pypi.example.org/simple", "--license", "GPL-2.0+")
    files = render.render(s)
    render.validate(files, s)
    assert "debian/svc.links" not in files
    text = files["debian/svc.pyrpath"]
    assert "install-root = /srv/apps\n" in text and "python-source = debian:python3.12" in text
    assert "index-url = https://pypi.example.org/simple" in text
    assert files["debian/control"].startswith("Source: svc-src\nSection: net\n")
    assert files["debian/changelog"].startswith("svc-src (1.0~rc1) UNRELEASED;")
    assert "License: GPL-2+" in files["debian/copyright"]
    assert "/usr/share/common-licenses/GPL-2" in files["debian/copyright"]


def test_reproducible(project):
    assert render.render(settings(project)) == render.render(settings(project))


def test_environment_maintainer_wins_over_metadata(project, monkeypatch):
    monkeypatch.setenv("DEBFULLNAME", "Deb Person")
    monkeypatch.setenv("DEBEMAIL", "deb@example.org")
    assert settings(project).maintainer == "Deb Person <deb@example.org>"
    monkeypatch.delenv("DEBFULLNAME")
    monkeypatch.setenv("DEBEMAIL", "Full Name <full@example.org>")
    assert settings(project).maintainer == "Full Name <full@example.org>"
    # flags beat the environment
    assert settings(project, "--maintainer-name", "Flag", "--maintainer-email",
                    "flag@example.org").maintainer == "Flag <flag@example.org>"


def test_license_expression_with_two_licenses(project):
    s = settings(project, license=None, license_expression="MIT OR Apache-2.0")
    files = render.render(s)
    render.validate(files, s)
    text = files["debian/copyright"]
    assert "License: Expat or Apache-2.0" in text
    assert "\nLicense: Expat\n Copyright (c) 2021" in text
    assert "\nLicense: Apache-2.0\n On Debian systems" in text


def test_template_override(project, tmp_path_factory):
    tdir = tmp_path_factory.mktemp("tpl")
    builtin = (render.BUILTIN_TEMPLATES / "control.j2").read_text()
    (tdir / "control.j2").write_text(builtin.replace("Priority: optional",
                                                     "Priority: optional\nX-Custom: yes"))
    s = settings(project)
    files = render.render(s, render.check_templates_dir(tdir))
    render.validate(files, s)
    assert "X-Custom: yes" in files["debian/control"]
    assert files["debian/rules"] == render.render(s)["debian/rules"]  # others stay built-in


@pytest.mark.parametrize("name, text, message", [
    ("control.j2", "Source: {{ source }\n",
     r"template syntax error in \S*/control.j2:1: unexpected '}'"),
    ("rules.j2", "{{ no_such_variable }}\n", "'no_such_variable' is undefined"),
    ("control.j2", "Source: {{ source }}\n", "needs a Source paragraph followed by"),
    ("control.j2", "Source: {{ source }}\nMaintainer: x\nStandards-Version: 1\n"
                   "Build-Depends: a\n\nPackage: other\nArchitecture: any\nDescription: d\n",
     "does not declare package 'my-cool-app'"),
    ("source-format.j2", "3.0 (quilt)\n", r"must be '3.0 \(native\)'"),
    ("pyrpath.j2", "python-sauce = x\n", "known key"),
    ("copyright.j2", "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
                     "\n\nFiles: *\n", "not valid DEP-5"),
    ("links.j2", "one two three\n", "exactly 'source destination'"),
    ("rules.j2", "{{ package | no_such_filter }}", "template syntax error"),
])
def test_broken_templates(project, tmp_path_factory, name, text, message):
    tdir = tmp_path_factory.mktemp("tpl")
    (tdir / name).write_text(text)
    s = settings(project)
    with pytest.raises(TemplateError, match=message):
        render.validate(render.render(s, render.check_templates_dir(tdir)), s)


def test_templates_dir_checks(tmp_path):
    with pytest.raises(TemplateError, match="no such directory"):
        render.check_templates_dir(tmp_path / "nope")
    (tmp_path / "contrl.j2").write_text("x")
    with pytest.raises(TemplateError, match="unknown template contrl.j2"):
        render.check_templates_dir(tmp_path)


def snapshot(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            out[str(p.relative_to(root))] = (stat.S_IMODE(st.st_mode), None if p.is_dir()
                                             else p.read_bytes())
    return out


def test_install_writes_and_respects_force(project):
    s = settings(project)
    files = render.render(s)
    staged = render.stage(files)
    render.install(project, staged, files, force=False)
    assert os.access(project / "debian/rules", os.X_OK)
    assert (project / "debian/control").read_text() == files["debian/control"]
    with pytest.raises(OutputError, match="already exist.*--force"):
        render.install(project, staged, files, force=False)
    (project / "debian/my-service.service").write_text("[Unit]\n")
    (project / "debian/control").write_text("edited")
    render.install(project, staged, files, force=True)
    assert (project / "debian/control").read_text() == files["debian/control"]
    assert (project / "debian/my-service.service").read_text() == "[Unit]\n"
    assert not list(project.rglob("*.make-deb-new"))


def test_install_failure_rolls_back(project, monkeypatch):
    s = settings(project)
    files = render.render(s)
    staged = render.stage(files)
    before = snapshot(project)
    calls = []
    real_replace = os.replace

    def flaky_replace(a, b):
        calls.append(a)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real_replace(a, b)
    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OutputError, match="No space left on device"):
        render.install(project, staged, files, force=False)
    assert snapshot(project) == before


def test_debian_is_a_file(project):
    (project / "debian").write_text("oops")
    with pytest.raises(OutputError, match="not a directory"):
        render.check_overwrite(project, render.FIXED_OUTPUTS, force=True)


def test_diff(project):
    s = settings(project)
    files = render.render(s)
    text = render.diff(project, files)
    assert "--- /dev/null\n+++ b/debian/control\n" in text
    render.install(project, render.stage(files), files, force=False)
    assert render.diff(project, files).count("unchanged") == len(files)
    (project / "debian/control").write_text("Source: old\n")
    lines = files["debian/control"].count("\n")
    assert f"--- a/debian/control\n+++ b/debian/control\n@@ -1 +1,{lines} @@\n-Source: old\n" \
        in render.diff(project, files)
