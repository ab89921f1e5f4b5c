"""The real `make-deb` command, run as a subprocess: bad inputs, successes, prompts, docs.

Every error case checks the contract: a non-zero exit, one `make-deb: error: ...` line that names
the problem, and a project directory that is byte-for-byte what it was before.
"""
import os
import pty
import re
import select
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from debian import deb822

from make_deb.__main__ import build_parser

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "data" / "make_deb"
PYTHON = "/usr/bin/python3"
MAINTAINER = ["--maintainer-name", "Deb Packager", "--maintainer-email", "deb@example.org"]


def base_env(home):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEBFULLNAME", "DEBEMAIL", "NAME", "EMAIL", "CI")}
    env.update(PYTHONPATH=str(REPO), SOURCE_DATE_EPOCH="1700000000", HOME=str(home),
               GIT_CONFIG_NOSYSTEM="1")
    return env


@pytest.fixture(scope="session")
def pinned_source():
    """The host default's pinned spec, resolved once: make-deb resolves it in every run that
    gets that far (2 s of apt and archive probes), which only test_make_deb_python_source.py
    is about."""
    from make_deb import python_source
    return python_source.pin(python_source.requested(None))


@pytest.fixture
def run(tmp_path, pinned_source):
    home = tmp_path / "home"
    home.mkdir()

    def _run(project, *args, env=None, user=None):
        if "--python-source" not in args and not any(a in args for a in ("--help", "--version")):
            args = (*args, "--python-source", pinned_source)
        cmd = [PYTHON, "-m", "make_deb", *args]
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--"] + cmd
        return subprocess.run(cmd, cwd=project, env={**base_env(home), **(env or {})},
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120)
    return _run


def snapshot(root):
    """Everything about a tree that a user could notice: paths, types, modes, bytes."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            content = (os.readlink(p) if p.is_symlink() else None if p.is_dir()
                       else p.read_bytes())
            out[str(p.relative_to(root))] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                                             content)
    return out


def write(root, files):
    for rel, text in files.items():
        p = Path(root, rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return root


GOOD_TOML = """[project]
name = "good-app"
version = "1.0"
description = "A good app"
authors = [{name = "Jane Doe", email = "jane@example.org"}]
[project.scripts]
good-app = "good:main"
"""
GOOD = {"pyproject.toml": GOOD_TOML, "good.py": "def main():\n    pass\n"}


def toml(**fields):
    """GOOD's pyproject with [project] fields replaced (None removes one)."""
    lines = {"name": '"good-app"', "version": '"1.0"', "description": '"A good app"',
             "authors": '[{name = "Jane Doe", email = "jane@example.org"}]'}
    lines.update(fields)
    body = "".join(f"{k} = {v}\n" for k, v in lines.items() if v is not None)
    return {"pyproject.toml": f"[project]\n{body}[project.scripts]\ngood-app = \"good:main\"\n",
            "good.py": "def main():\n    pass\n"}


def setup_py(body):
    return {"setup.py": f"from setuptools import setup\n{body}\n"}


def tpl(name, text):
    """A project plus a templates dir (inside the project, so it is snapshotted too)."""
    return {**GOOD, f"tpl/{name}": text}


# id, project files, extra args, extra env, expected exit code, regex on the error line
BAD = [
    ("empty-dir", {}, [], {}, 1, "no Python project metadata .* run make-deb in the project root"),
    ("tool-only-pyproject", {"pyproject.toml": "[tool.black]\nx = 1\n"}, [], {}, 1,
     "no Python project metadata"),
    ("toml-syntax", {"pyproject.toml": "[project\n"}, [], {}, 1, "not valid TOML"),
    ("toml-not-utf8", {"pyproject.toml": b"[project]\nname = '\xe9'\n"}, [], {}, 1,
     "pyproject.toml is not valid UTF-8"),
    ("no-name", toml(name=None), [], {}, 1, r"\[project\] has no name"),
    ("name-not-string", toml(name="3"), [], {}, 1, "name must be a string"),
    ("no-version", toml(version=None), [], {}, 1, "declares no version.*--upstream-version"),
    ("bad-pep440", toml(version='"latest"'), [], {}, 1,
     "'latest' is not a valid PEP 440 version"),
    ("setup-py-raises", setup_py('raise RuntimeError("boom")'), [], {}, 1,
     r"failed: RuntimeError: boom; fix setup.py/setup.cfg \(full log: /tmp/\S+\.log\)"),
    ("setup-py-exits", setup_py("import sys; sys.exit(3)"), [], {}, 1,
     r"setuptools.build_meta:__legacy__ failed: exited with status 3; fix setup.py/setup.cfg"),
    ("setup-py-syntax", setup_py("setup(name='ab'"), [], {}, 1, "SyntaxError"),
    ("setup-py-no-name", setup_py("setup(version='1.0')"), [], {}, 1,
     "declares no name .*--package NAME"),
    ("setup-py-no-version", setup_py("setup(name='abc')"), [], {}, 1, "placeholder 0.0.0"),
    ("setup-py-input", setup_py("n = input('name? ')\nsetup(name=n)"), [], {}, 1, "EOFError"),
    ("setup-py-bad-version", setup_py("setup(name='abc', version='next')"), [], {}, 1,
     "Invalid version: 'next'"),
    ("name-underscore", toml(name='"_"'), [], {}, 1, "cannot make a Debian package name"),
    ("name-one-char", toml(name='"x"'), [], {}, 1, "cannot make a Debian package name"),
    ("name-non-latin", toml(name='"日本語"'), [], {}, 1, "cannot make a Debian package name"),
    ("flag-package", GOOD, ["--package", "Bad_Name"], {}, 2, "not a valid Debian package name"),
    ("flag-source", GOOD, ["--source-package=-x"], {}, 2, "--source-package '-x' is not"),
    ("flag-version", GOOD, ["--upstream-version", "soon"], {}, 2,
     "--upstream-version 'soon' is not a valid PEP 440"),
    ("readme-not-utf8", {**toml(readme='"README.md"'), "README.md": b"caf\xe9\n"}, [], {}, 1,
     r"README.md is not valid UTF-8 \(byte 0xe9 at offset 3\)"),
    ("readme-missing", toml(readme='"README.md"'), [], {}, 1, "'README.md' does not exist"),
    ("readme-wrong-type", toml(readme="5"), [], {}, 1, "readme must be a path or a table"),
    ("existing-debian", {**GOOD, "debian/control": "mine\n"}, [], {}, 1,
     "debian/control already exists; pass --force"),
    ("debian-is-file", {**GOOD, "debian": "not a dir"}, [], {}, 1, "is not a directory"),
    ("control-is-dir", {**GOOD, "debian/control/x": "x"}, ["--force"], {}, 1,
     "debian/control is a directory"),
    ("missing-maintainer", toml(authors=None), [], {}, 3,
     r"missing required fields: maintainer name \(--maintainer-name or DEBFULLNAME\); "
     r"maintainer email \(--maintainer-email or DEBEMAIL\)"),
    ("missing-description", toml(description=None), [], {}, 3,
     r"missing required field: description \(--description\)"),
    ("templates-missing", GOOD, ["--templates", "nope"], {}, 1, "--templates nope: no such"),
    ("templates-unknown", tpl("controll.j2", "x"), ["--templates", "tpl"], {}, 1,
     "unknown template controll.j2"),
    ("template-syntax", tpl("control.j2", "Source: {% if %}\n"), ["--templates", "tpl"], {}, 1,
     r"template syntax error in \S*control.j2:1"),
    ("template-undefined", tpl("rules.j2", "{{ nope }}"), ["--templates", "tpl"], {}, 1,
     "'nope' is undefined"),
    ("template-invalid-output", tpl("control.j2", "Source: {{ source }}\n"),
     ["--templates", "tpl"], {}, 1, "generated debian/control is invalid"),
    ("template-not-utf8", tpl("rules.j2", b"\xff\xfe"), ["--templates", "tpl"], {}, 1,
     "cannot read it as UTF-8"),
    ("flag-email", GOOD, ["--maintainer-email", "not-an-email"], {}, 2,
     "--maintainer-email 'not-an-email' is not an email address"),
    ("env-debemail", GOOD, [], {"DEBEMAIL": "nope"}, 2, "DEBEMAIL='nope' is not an email"),
    ("env-source-date", GOOD, [], {"SOURCE_DATE_EPOCH": "yesterday"}, 2,
     "SOURCE_DATE_EPOCH='yesterday' is not a number"),
    ("flag-install-root", GOOD, ["--install-root", "opt"], {}, 2,
     "--install-root 'opt' must be an absolute directory"),
    ("prefix-too-long", GOOD, ["--install-root", "/" + "d" * 95], {}, 2,
     "install prefix /d+/good-app is 105 characters"),
    ("flag-homepage", GOOD, ["--homepage", "example.org"], {}, 2, "is not an http"),
    ("flag-section", GOOD, ["--section", "Bad Section"], {}, 2, "is not a Debian section"),
    ("requires-python", toml(**{"requires-python": '">=3.13"'}),
     ["--python-source", "debian:python3.11"], {}, 1,
     r"requires Python >=3.13 but --python-source debian:python3.11 is Python 3.11"),
    ("requires-python-pinned", toml(**{"requires-python": '">=3.11.4"'}),
     ["--python-source", "debian:python3.11=3.11.2-6+deb12u8"], {}, 1,
     r"requires Python >=3.11.4 but --python-source debian:python3.11=3.11.2-6\+deb12u8 is "
     r"Python 3.11.2"),
    ("python-source-space", GOOD, ["--python-source", "debian: python3.11"], {}, 2,
     "must be one word"),
    ("requires-python-invalid", toml(**{"requires-python": '"3.x"'}), [], {}, 1,
     "not a valid version specifier"),
    ("script-name", {"pyproject.toml": GOOD_TOML.replace('good-app = "good:main"',
                                                         '"my tool" = "good:main"')}, [], {}, 1,
     "console script name 'my tool' cannot be a file name.*--no-links"),
    ("backend-missing", {"pyproject.toml": '[build-system]\nrequires = ["nope-backend-md"]\n'
                                           'build-backend = "nope_backend.api"\n[project]\n'
                                           'name = "ab"\ndynamic = ["version"]\n'}, [], {}, 1,
     r"no distribution matches nope-backend-md on the package index; fix build-system.requires"),
    ("backend-not-importable", {"pyproject.toml": '[build-system]\nrequires = ["six"]\n'
                                                  'build-backend = "nope_backend.api"\n'
                                                  '[project]\nname = "ab"\n'
                                                  'dynamic = ["version"]\n'}, [], {}, 1,
     r"build backend 'nope_backend.api' cannot be imported from build-system.requires "
     r"\(ModuleNotFoundError: No module named 'nope_backend'\); add the distribution"),
    ("build-requires-invalid", {"pyproject.toml": '[build-system]\nrequires = ["x >>> 1"]\n'
                                                  '[project]\nname = "ab"\n'
                                                  'dynamic = ["version"]\n'}, [], {}, 1,
     r"build-system.requires entry 'x >>> 1' is not a valid PEP 508 requirement"),
    ("find-links-missing", GOOD, ["--find-links", "no/such/dir"], {}, 2,
     r"find-links 'no/such/dir' is neither a directory nor an http\(s\) URL"),
    ("ca-bundle-missing", {"pyproject.toml": '[project]\nname = "ab"\ndynamic = ["version"]\n'},
     [], {"DH_PYRPATH_CA_BUNDLE": "/no/such/ca.pem"}, 2,
     "DH_PYRPATH_CA_BUNDLE=/no/such/ca.pem: no such file"),
    ("bad-requirement", toml(dependencies='["requests >>> 2"]'), ["--requirements"], {}, 1,
     "'requests >>> 2' is not a valid PEP 508 requirement"),
    ("unknown-option", GOOD, ["--frobnicate"], {}, 2, "unrecognized arguments: --frobnicate"),
    # services (docs/services.md)
    ("service-empty", GOOD, ["--service", " "], {}, 2, r"--service ' ': empty"),
    ("service-unknown-script", GOOD, ["--service", "nope --port 1"], {}, 2,
     r"'nope' is not a console script of the project \(it has: good-app\)"),
    ("service-quotes", GOOD, ["--service", "good-app 'open"], {}, 2, "balance the quotes"),
    ("service-bad-name", GOOD, ["--service", "b@d=good-app"], {}, 2,
     "service name 'b@d' may only hold"),
    ("service-same-name", GOOD, ["--service", "good-app", "--service", "good-app -v"], {}, 2,
     "same service name 'good-app'"),
    ("service-python-unnamed", GOOD, ["--service", "python3 -c pass"], {}, 2,
     "name the service: --service 'NAME=python3"),
    ("service-newline", GOOD, ["--service", "good-app\n--x"], {}, 2, "line break"),
    ("supervisor-alone", GOOD, ["--supervisor"], {}, 2,
     "--supervisor needs at least one --service"),
    ("env-alone", GOOD, ["--env", "A=1"], {}, 2, "--env needs at least one --service"),
    ("user-root", GOOD, ["--service", "good-app", "--user", "root"], {}, 2,
     "a service gets a dedicated user"),
    ("user-invalid", GOOD, ["--service", "good-app", "--user", "Web User"], {}, 2,
     "not a valid system user name"),
    ("env-syntax", GOOD, ["--service", "good-app", "--env", "1PORT=8080"], {}, 2,
     "is not NAME=VALUE"),
    ("env-quote", GOOD, ["--service", "good-app", "--env", "MOTD=it's"], {}, 2,
     "may not contain a single quote"),
    ("env-twice", GOOD, ["--service", "good-app", "--env", "A=1", "--env", "A=2"], {}, 2,
     "--env A is given twice"),
    ("config-missing", GOOD, ["--config", "conf/app.toml"], {}, 2,
     "--config 'conf/app.toml': no such file"),
    ("config-outside", GOOD, ["--config", "../etc/passwd"], {}, 2,
     "must be a path inside the project"),
    ("config-same-name", {**GOOD, "a/app.toml": "x", "b/app.toml": "y"},
     ["--config", "a/app.toml", "--config", "b/app.toml"], {}, 2,
     "would both be /etc/<package>/app.toml"),
    ("existing-postinst", {**GOOD, "debian/good-app.postinst": "#!/bin/sh\n"},
     ["--service", "good-app"], {}, 1, "debian/good-app.postinst already exists; pass --force"),
    ("template-service-invalid", tpl("service.j2", "[Service]\nExecStart=relative\n"),
     ["--service", "good-app", "--templates", "tpl"], {}, 1,
     r"debian/systemd/good-app.service is invalid: \[Service\] needs an ExecStart="),
    ("template-postinst-syntax", tpl("postinst.j2", "#!/bin/sh\nif then\n#DEBHELPER#\n"),
     ["--service", "good-app", "--templates", "tpl"], {}, 1,
     r"debian/good-app.postinst is invalid: sh -n"),
    ("not-a-directory", GOOD, ["good.py"], {}, 1, "good.py is not a directory"),
]


@pytest.mark.parametrize("files, args, env, code, message",
                         [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_input(tmp_path, run, files, args, env, code, message):
    project = write(tmp_path / "project", files)
    project.mkdir(exist_ok=True)
    before = snapshot(project)
    args = list(args)
    if "--maintainer-email" not in args and "DEBEMAIL" not in env \
            and message.find("maintainer") < 0:
        args += MAINTAINER
    if message.startswith("missing required"):
        args = [a for a in args if a not in MAINTAINER]
    proc = run(project, "--yes", *args, env=env)
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.splitlines()
    errors = [ln for ln in lines if "error:" in ln]
    assert len(errors) == 1 and errors[0] == lines[-1], proc.stderr
    assert lines[-1].startswith("make-deb: error: "), proc.stderr
    assert re.search(message, lines[-1]), lines[-1]
    assert proc.stdout == ""
    assert snapshot(project) == before


def test_bad_input_case_count():
    assert len(BAD) >= 30


def test_unwritable_project_directory(tmp_path, run):
    """Run as nobody in a root-owned project (root itself ignores permission bits)."""
    base = Path(tempfile.mkdtemp(prefix="make-deb-ro-"))
    try:
        base.chmod(0o755)
        project = write(base / "project", GOOD)
        project.chmod(0o755)
        before = snapshot(project)
        proc = run(project, "--yes", *MAINTAINER, env={"HOME": str(base)}, user=65534)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.splitlines()[-1].startswith("make-deb: error: cannot write to")
        assert "permission denied" in proc.stderr
        assert snapshot(project) == before
    finally:
        shutil.rmtree(base)


# ------------------------------------------------------------------ conversions that succeed

def control_of(project):
    return list(deb822.Deb822.iter_paragraphs((project / "debian/control").open()))


def test_huge_readme_is_condensed(tmp_path, run):
    para = "All work and no play makes a long README. " * 40
    files = {**toml(readme='"README.md"'), "README.md": "\n\n".join([para] * 3000)}
    project = write(tmp_path / "p", files)
    assert len(files["README.md"]) > 4_000_000
    proc = run(project, "--yes")
    assert proc.returncode == 0, proc.stderr
    description = control_of(project)[1]["Description"]
    assert len(description) < 2000 and all(len(ln) < 80 for ln in description.split("\n"))


def test_description_with_newlines_and_control_characters(tmp_path, run):
    project = write(tmp_path / "p", toml(description='"Line one\\nline\\ttwo\\u0007 bell\\u001b"'))
    proc = run(project, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert control_of(project)[1]["Description"].split("\n")[0] == "Line one line two bell"
    proc = run(project, "--yes", "--force", "--description", "Flag\nwith\tbreaks.")
    assert proc.returncode == 0, proc.stderr
    assert control_of(project)[1]["Description"].split("\n")[0] == "Flag with breaks"


def test_latin1_license_file(tmp_path, run):
    text = ("Copyright (c) 2020 Jos\xe9 M\xfcller\n\n"
            "Permission is hereby granted, free of charge, to any person")
    project = write(tmp_path / "p", {**GOOD, "LICENSE": text.encode("latin-1")})
    assert run(project, "--yes").returncode == 0
    text = (project / "debian/copyright").read_text("utf-8")
    assert "Copyright: 2020 José Müller" in text and "License: Expat" in text


def test_script_name_with_no_links(tmp_path, run):
    project = write(tmp_path / "p", {"pyproject.toml": GOOD_TOML.replace(
        'good-app = "good:main"', '"my tool" = "good:main"')})
    proc = run(project, "--yes", "--no-links")
    assert proc.returncode == 0, proc.stderr
    assert not (project / "debian/good-app.links").exists()


# ------------------------------------------------------------------ the four project shapes

SHAPES = {
    "setuppy_kwargs": ("hello-kwargs", "1.2.0~rc1", "Expat", ["hello-kwargs"]),
    "setupcfg_only": ("my-cool-app", "0.3.0+post2", "BSD-3-clause", ["cool-app"]),
    "pep621_setuptools": ("pep621-service", "2.0.0", "Apache-2.0", ["pep621-service"]),
    "flit_tool": ("flit-tool", "0.9~~dev3", "GPL-3+", ["flit-tool"]),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_shapes_end_to_end_files(tmp_path, run, shape):
    package, version, license_, scripts = SHAPES[shape]
    project = tmp_path / shape
    shutil.copytree(FIXTURES / shape, project)
    before = snapshot(project)
    proc = run(project, "--yes", *MAINTAINER)
    assert proc.returncode == 0, proc.stderr
    after = snapshot(project)
    added = sorted(set(after) - set(before))
    assert {k: after[k] for k in before} == before  # nothing else changed, no egg-info
    assert added == sorted(["debian", "debian/source", "debian/changelog", "debian/control",
                            "debian/copyright", "debian/rules", "debian/source/format",
                            "debian/source/lintian-overrides", f"debian/{package}.links",
                            f"debian/{package}.pyrpath"])
    src, binary = control_of(project)
    assert src["Source"] == binary["Package"] == package
    assert (project / "debian/changelog").read_text().startswith(f"{package} ({version}) ")
    assert f"License: {license_}\n" in (project / "debian/copyright").read_text()
    assert (project / f"debian/{package}.links").read_text().splitlines() == [
        f"opt/{package}/bin/{s} usr/bin/{s}" for s in scripts]
    assert after["debian/rules"][1] == 0o755
    assert "make-deb: wrote debian/changelog" in proc.stdout


# ------------------------------------------------------------------ force and dry run

def test_force_overwrites_only_generated_files(tmp_path, run):
    project = write(tmp_path / "p", {**GOOD, "debian/control": "old\n",
                                     "debian/good-app.service": "[Unit]\n",
                                     "debian/source/options": "extend-diff-ignore = x\n"})
    proc = run(project, "--yes", "--force")
    assert proc.returncode == 0, proc.stderr
    assert (project / "debian/control").read_text().startswith("Source: good-app\n")
    assert (project / "debian/good-app.service").read_text() == "[Unit]\n"
    assert (project / "debian/source/options").read_text() == "extend-diff-ignore = x\n"


def test_dry_run_writes_nothing_and_diffs(tmp_path, run):
    project = write(tmp_path / "p", GOOD)
    before = snapshot(project)
    proc = run(project, "--yes", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "--- /dev/null\n+++ b/debian/control\n" in proc.stdout
    assert "+Source: good-app\n" in proc.stdout
    assert snapshot(project) == before
    assert run(project, "--yes").returncode == 0
    (project / "debian/control").write_text("Source: hand-edited\n")
    before = snapshot(project)
    proc = run(project, "--yes", "--dry-run")  # existing files: no --force needed
    assert proc.returncode == 0, proc.stderr
    assert "--- a/debian/control\n+++ b/debian/control\n" in proc.stdout
    assert "-Source: hand-edited\n" in proc.stdout
    assert "# debian/rules: unchanged" in proc.stdout
    assert snapshot(project) == before


def test_reproducible_with_source_date_epoch(tmp_path, run):
    a, b = write(tmp_path / "a", GOOD), write(tmp_path / "b", GOOD)
    assert run(a, "--yes").returncode == 0 and run(b, "--yes").returncode == 0
    assert snapshot(a / "debian") == snapshot(b / "debian")
    assert "Tue, 14 Nov 2023 22:13:20 +0000" in (a / "debian/changelog").read_text()


def test_debfullname_debemail_win_over_metadata(tmp_path, run):
    project = write(tmp_path / "p", GOOD)
    proc = run(project, "--yes", env={"DEBFULLNAME": "Env Person", "DEBEMAIL": "env@example.org"})
    assert proc.returncode == 0, proc.stderr
    assert control_of(project)[0]["Maintainer"] == "Env Person <env@example.org>"
    assert "-- Env Person <env@example.org>  " in (project / "debian/changelog").read_text()


def test_verbose_and_warnings_go_to_stderr(tmp_path, run):
    project = write(tmp_path / "p", toml())
    proc = run(project, "--yes", "--verbose")
    assert proc.returncode == 0, proc.stderr
    assert "make-deb: reading metadata of" in proc.stderr
    assert "make-deb: warning: the project declares no license" in proc.stderr
    assert proc.stdout.startswith("make-deb: wrote ")


# ------------------------------------------------------------------ interactive, through a pty

class Terminal:
    def __init__(self, project, env):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([PYTHON, "-m", "make_deb"], cwd=project, env=env,
                                     stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        self.seen = ""

    def expect(self, pattern, timeout=30):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.seen):
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for {pattern!r}; got {self.seen!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096).decode(errors="replace")
                except OSError:  # EIO: the child closed the terminal
                    break
        assert re.search(pattern, self.seen), self.seen
        return self

    def send(self, text):
        os.write(self.master, text.encode())
        return self

    def finish(self):
        code = self.proc.wait(timeout=60)
        try:
            while select.select([self.master], [], [], 0.2)[0]:
                self.seen += os.read(self.master, 4096).decode(errors="replace")
        except OSError:
            pass
        os.close(self.master)
        return code


def test_interactive_prompts_for_missing_fields(tmp_path):
    files = {**toml(authors=None, description=None, readme='"README.md"'),
             "README.md": "# T\n\nGood app serves things. More text.\n"}
    project = write(tmp_path / "p", files)
    home = tmp_path / "home"
    home.mkdir()
    term = Terminal(project, base_env(home))
    term.expect(r"Maintainer name: $").send("Pat Terminal\r")
    term.expect(r"Maintainer email: $").send("not an email\r")
    term.expect(r"not valid: 'not an email'").expect(r"Maintainer email: $")
    term.send("pat@example.org\r")
    term.expect(r"One-line description \[Good app serves things\]: $").send("\r")
    assert term.finish() == 0, term.seen
    src, binary = control_of(project)
    assert src["Maintainer"] == "Pat Terminal <pat@example.org>"
    assert binary["Description"].split("\n")[0] == "Good app serves things"


@pytest.mark.skipif(not shutil.which("git"), reason="git provides the default identity")
def test_interactive_offers_git_identity_as_default(tmp_path):
    project = write(tmp_path / "p", toml(authors=None))
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Git User\n\temail = git@example.org\n")
    term = Terminal(project, base_env(home))
    term.expect(r"Maintainer name \[Git User\]: $").send("\r")
    term.expect(r"Maintainer email \[git@example.org\]: $").send("\r")
    assert term.finish() == 0, term.seen
    assert control_of(project)[0]["Maintainer"] == "Git User <git@example.org>"


def test_interactive_end_of_input_fails_cleanly(tmp_path):
    project = write(tmp_path / "p", toml(authors=None))
    home = tmp_path / "home"
    home.mkdir()
    before = snapshot(project)
    term = Terminal(project, base_env(home))
    term.expect(r"Maintainer name: $").send("\x04")  # Ctrl-D
    term.expect(r"Maintainer email: $").send("\x04")
    assert term.finish() == 3
    assert "make-deb: error: missing required fields: maintainer name" in term.seen
    assert snapshot(project) == before


def test_ci_environment_is_never_interactive(tmp_path):
    project = write(tmp_path / "p", toml(authors=None))
    home = tmp_path / "home"
    home.mkdir()
    term = Terminal(project, {**base_env(home), "CI": "true"})
    assert term.finish() == 3
    assert "Maintainer name" not in term.seen and "missing required fields" in term.seen


# ------------------------------------------------------------------ documentation

def option_strings():
    return sorted({s for a in build_parser()._actions for s in a.option_strings})


def test_help_and_man_page_document_every_option(run, tmp_path):
    proc = run(tmp_path, "--help")
    assert proc.returncode == 0
    man = (REPO / "docs" / "make-deb.1.rst").read_text()
    guide = (REPO / "docs" / "make-deb.md").read_text()
    for opt in option_strings():
        assert opt in proc.stdout, opt
        assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", man), f"{opt} not in man page"
        if opt.startswith("--"):
            assert opt in guide, f"{opt} not in docs/make-deb.md"


def test_man_page_renders():
    core = pytest.importorskip("docutils.core", reason="python3-docutils provides rst2man")
    source = (REPO / "docs" / "make-deb.1.rst").read_text()
    out = core.publish_string(source, writer_name="manpage",
                              settings_overrides={"halt_level": 2, "report_level": 2})
    assert b".TH" in out and b"MAKE-DEB" in out.upper()


def test_version_option(run, tmp_path):
    proc = run(tmp_path, "--version")
    assert proc.returncode == 0 and re.match(r"make-deb \d", proc.stdout)


@pytest.mark.parametrize("lock", ["pylock.toml", "uv.lock", "poetry.lock"])
def test_the_projects_lock_file_becomes_the_requirements_setting(tmp_path, run, lock):
    """A project that pins with a lock file gets it written as dh_pyrpath's requirements
    setting, so the package installs exactly the lock's set (dh_pyrpath reads it)."""
    project = write(tmp_path / "p", {**toml(), lock: "# made by a locker\n"})
    proc = run(project, "--yes")
    assert proc.returncode == 0, proc.stderr
    settings = next((project / "debian").glob("*.pyrpath")).read_text()
    assert f"\nrequirements = {lock}\n" in settings, settings
    plain = write(tmp_path / "q", toml())
    assert run(plain, "--yes").returncode == 0
    assert "\nrequirements =" not in next((plain / "debian").glob("*.pyrpath")).read_text()
