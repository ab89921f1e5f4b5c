"""--service, --supervisor, --user, --env, --config: names, quoting and the rendered files, in
process (the real builds, installs and runs are in test_services_e2e.py)."""
import configparser
import re
import shlex
import subprocess

import pytest
from debian import deb822

from make_deb import fields, render, services
from make_deb.__main__ import build_parser
from make_deb.errors import TemplateError, UsageError
from make_deb.metadata import Person, ProjectMetadata


def meta(**kw):
    base = dict(name="my-app", version="1.2.0", summary="Serves things.",
                description="A service.\n", authors=[Person("Jane Doe", "jane@example.org")],
                license="MIT", homepage="https://example.org/my-app",
                console_scripts={"my-app": "my_app:main", "my-app-worker": "my_app:work"},
                source="test")
    base.update(kw)
    return ProjectMetadata(**base)


@pytest.fixture
def project(tmp_path, monkeypatch):
    for var in ("DEBFULLNAME", "DEBEMAIL", "NAME", "EMAIL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    (tmp_path / "LICENSE").write_text("Copyright (c) 2021 Jane Doe\n\nPermission is hereby...")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "my-app.toml").write_text("port = 8080\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def settings(project, *argv, **metakw):
    opts = build_parser().parse_args(["--yes", *argv, str(project)])
    fields.early_checks(opts)
    return fields.resolve(meta(**metakw), opts, project)


def rendered(project, *argv, templates=None, **metakw):
    s = settings(project, *argv, **metakw)
    files = render.render(s, templates)
    render.validate(files, s)
    return s, files


# ------------------------------------------------------------------ names and commands

@pytest.mark.parametrize("spec, name, argv", [
    ("my-app", "my-app", ["/opt/my-app/bin/my-app"]),
    ("my-app serve --port ${PORT}", "my-app", ["/opt/my-app/bin/my-app", "serve", "--port",
                                               "${PORT}"]),
    ("my-app-worker", "my-app-worker", ["/opt/my-app/bin/my-app-worker"]),
    ("worker=my-app-worker -q", "my-app-worker", ["/opt/my-app/bin/my-app-worker", "-q"]),
    ("web=my-app", "my-app-web", ["/opt/my-app/bin/my-app"]),
    ("python3 -m my_app.web", "my-app-web",
     ["/opt/my-app/bin/python3", "-m", "my_app.web"]),
    ("api=python -m my_app.api", "my-app-api", ["/opt/my-app/bin/python3", "-m", "my_app.api"]),
    ("/usr/bin/env true", "my-app-env", ["/usr/bin/env", "true"]),
    ("my-app --name 'two words'", "my-app", ["/opt/my-app/bin/my-app", "--name", "two words"]),
])
def test_service_names_and_argv(project, spec, name, argv):
    s = settings(project, "--service", spec)
    (service,) = s.services.services
    assert (service.name, service.argv) == (name, argv)
    assert service.unit == f"{name}.service"


def test_install_root_changes_the_program_path(project):
    s = settings(project, "--install-root", "/srv/apps", "--service", "my-app")
    assert s.services.services[0].argv == ["/srv/apps/my-app/bin/my-app"]


@pytest.mark.parametrize("word, systemd, sh", [
    ("plain", "plain", "plain"),
    ("${PORT}", "${PORT}", '"${PORT}"'),
    ("--port=${PORT}", "--port=${PORT}", '"--port=${PORT}"'),
    ("two words", '"two words"', "'two words'"),
    ("100%", "100%%", "100%"),
    ('say "hi"', '"say \\"hi\\""', "'say \"hi\"'"),
    ("back\\slash", '"back\\\\slash"', "'back\\slash'"),
    ("it's", '"it\'s"', "'it'\"'\"'s'"),
    ("${A} `x` \"q\"", '"${A} `x` \\"q\\""', '"${A} \\`x\\` \\"q\\""'),
])
def test_quoting(word, systemd, sh):
    assert services.systemd_word(word) == systemd
    assert services.sh_word(word) == sh


def test_sh_quoting_round_trips_through_a_shell():
    words = ["plain", "two words", "100%", 'say "hi"', "back\\slash", "it's", "${A}x", "`x`"]
    line = " ".join(services.sh_word(w) for w in words)
    out = subprocess.run(["sh", "-c", f"printf '%s\\n' {line}"], env={"A": "a b"},
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["plain", "two words", "100%", 'say "hi"', "back\\slash", "it's", "a bx",
                   "`x`"]


@pytest.mark.parametrize("value, written", [
    ("8080", "8080"), ("/srv/data", "/srv/data"), ("a b", "'a b'"), ("$HOME", "'$HOME'"),
    ("x#y", "'x#y'"), ("", ""),
])
def test_env_values(value, written):
    assert services.env_value(value) == written


def test_default_user_from_package_name(project):
    assert settings(project, "--service", "my-app", "--package",
                    "my.app+x").services.user == "my-app-x"
    assert settings(project, "--service", "my-app", "--user", "web_svc").services.user == \
        "web_svc"
    with pytest.raises(UsageError, match="cannot be a system user name"):
        settings(project, "--service", "my-app", "--package", "9lives")


# ------------------------------------------------------------------ rendered files

ARGS = ["--service", "my-app serve --port ${PORT} --banner '100% up'",
        "--service", "worker=my-app-worker", "--env", "PORT=8080", "--env", "MOTD=hello world",
        "--config", "conf/my-app.toml"]


def test_systemd_files(project):
    s, files = rendered(project, *ARGS)
    assert sorted(files) == sorted([
        "debian/changelog", "debian/control", "debian/copyright", "debian/rules",
        "debian/source/format", "debian/source/lintian-overrides", "debian/my-app.links", "debian/my-app.pyrpath",
        "debian/systemd/my-app.service", "debian/systemd/my-app-worker.service",
        "debian/my-app.default", "debian/my-app.install", "debian/my-app.postinst",
        "debian/my-app.postrm"])
    _, binary = deb822.Deb822.iter_paragraphs(files["debian/control"].splitlines(True))
    assert binary["Depends"] == "${shlibs:Depends}, ${misc:Depends}, adduser"
    assert files["debian/my-app.install"].splitlines() == [
        "debian/systemd/my-app.service lib/systemd/system",
        "debian/systemd/my-app-worker.service lib/systemd/system",
        "conf/my-app.toml etc/my-app"]
    unit = files["debian/systemd/my-app.service"]
    for line in ["User=my-app", "EnvironmentFile=-/etc/default/my-app",
                 'ExecStart=/opt/my-app/bin/my-app serve --port ${PORT} --banner "100%% up"',
                 "Restart=on-failure", "WorkingDirectory=/var/lib/my-app",
                 "StateDirectory=my-app", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "PrivateTmp=yes", "ProtectHome=yes", "Description=Serves things",
                 "Documentation=https://example.org/my-app", "WantedBy=multi-user.target"]:
        assert f"\n{line}\n" in unit, line
    worker = files["debian/systemd/my-app-worker.service"]
    assert "\nExecStart=/opt/my-app/bin/my-app-worker\n" in worker
    assert "\nDescription=Serves things (my-app-worker)\n" in worker
    assert max(len(ln) for ln in unit.splitlines()) <= 100
    default = files["debian/my-app.default"]
    assert default.endswith("\nPORT=8080\nMOTD='hello world'\n")
    assert "systemctl restart my-app.service my-app-worker.service" in default
    postinst = files["debian/my-app.postinst"]
    assert "adduser --system --group --quiet --home /var/lib/my-app --no-create-home" in postinst
    assert "supervisorctl" not in postinst
    assert "rm -rf /var/lib/my-app" in files["debian/my-app.postrm"]


def test_supervisor_files(project):
    s, files = rendered(project, *ARGS, "--supervisor", "--user", "web")
    assert not [f for f in files if f.startswith("debian/systemd/")]
    assert files["debian/my-app.install"].splitlines() == [
        "debian/supervisor/my-app.conf etc/supervisor/conf.d", "conf/my-app.toml etc/my-app"]
    _, binary = deb822.Deb822.iter_paragraphs(files["debian/control"].splitlines(True))
    assert binary["Depends"].endswith(", adduser, supervisor")
    conf = configparser.RawConfigParser(interpolation=None)
    conf.read_string(files["debian/supervisor/my-app.conf"])
    assert conf.get("group:my-app", "programs") == "my-app,my-app-worker"
    web = dict(conf.items("program:my-app"))
    assert web["user"] == "web" and web["directory"] == "/var/lib/my-app"
    assert web["autorestart"] == "unexpected" and web["exitcodes"] == "0"
    assert web["redirect_stderr"] == "true"
    assert web["stdout_logfile"] == "/var/log/supervisor/%(program_name)s.log"
    assert web["stdout_logfile_maxbytes"] == "10MB" and web["stdout_logfile_backups"] == "5"
    assert "supervisorctl restart 'my-app:*'" in files["debian/my-app.postinst"]
    assert "supervisorctl stop 'my-app:*'" in files["debian/my-app.prerm"]
    assert "supervisorctl -c" not in files["debian/my-app.prerm"]
    assert "supervisorctl restart 'my-app:*'" in files["debian/my-app.default"]


def test_supervisor_command_runs_like_the_unit(project, tmp_path):
    """What supervisord does with command=: %-interpolation, shlex, then execve; the env file
    is read by sh, ${PORT} expanded, the quoted word with '%' kept whole."""
    s, files = rendered(project, "--service", "web=/usr/bin/printf '[%s]' --port ${PORT} "
                                              "'100% up'", "--supervisor")
    conf = configparser.RawConfigParser(interpolation=None)
    conf.read_string(files["debian/supervisor/my-app.conf"])
    command = conf.get("program:my-app-web", "command")
    assert "%%" in command
    argv = shlex.split(command % {"program_name": "my-app-web"})  # supervisord's expansion
    env_file = tmp_path / "default"
    env_file.write_text("PORT=8080\nMOTD='hello world'\n")
    assert argv[:2] == ["/bin/sh", "-c"] and "/etc/default/my-app" in argv[2]
    argv[2] = argv[2].replace("/etc/default/my-app", str(env_file))
    out = subprocess.run(argv, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                         check=True).stdout
    assert out == "[--port][8080][100% up]"
    # without the file (optional, like EnvironmentFile=-) the program still starts
    env_file.unlink()
    assert subprocess.run(argv, capture_output=True, text=True).stdout == "[--port][][100% up]"


def test_config_only(project):
    s, files = rendered(project, "--config", "conf/my-app.toml")
    assert files["debian/my-app.install"] == "conf/my-app.toml etc/my-app\n"
    assert "debian/my-app.postinst" not in files and "debian/my-app.default" not in files
    _, binary = deb822.Deb822.iter_paragraphs(files["debian/control"].splitlines(True))
    assert binary["Depends"] == "${shlibs:Depends}, ${misc:Depends}"


def test_no_service_no_service_files(project):
    s, files = rendered(project)
    assert not [f for f in files if f.startswith(("debian/systemd", "debian/supervisor"))
                or f.endswith((".install", ".postinst", ".postrm", ".default"))]


def test_percent_in_description_and_homepage(project):
    _, files = rendered(project, "--service", "my-app", summary="100% useful.",
                        homepage="https://example.org/a%20b")
    unit = files["debian/systemd/my-app.service"]
    assert "\nDescription=100%% useful\n" in unit
    assert "\nDocumentation=https://example.org/a%%20b\n" in unit
    _, files = rendered(project, "--service", "my-app", homepage="example.org")
    assert "Documentation=" not in files["debian/systemd/my-app.service"]


def test_reproducible(project):
    assert rendered(project, *ARGS)[1] == rendered(project, *ARGS)[1]


def test_service_template_override(project, tmp_path_factory):
    tdir = tmp_path_factory.mktemp("tpl")
    builtin = (render.BUILTIN_TEMPLATES / "service.j2").read_text()
    (tdir / "service.j2").write_text(builtin.replace("ProtectSystem=strict",
                                                     "ProtectSystem=full"))
    _, files = rendered(project, *ARGS, templates=render.check_templates_dir(tdir))
    assert "\nProtectSystem=full\n" in files["debian/systemd/my-app.service"]


@pytest.mark.parametrize("name, text, message", [
    ("service.j2", "[Service]\nExecStart=/bin/true\n", r"has no \[Install\] section"),
    ("service.j2", "ExecStart=/bin/true\n", "not Key=Value inside a section"),
    ("supervisor.j2", "[program:x]\ncommand=/bin/echo 100%\n", "a '%' that is not"),
    ("supervisor.j2", "[group:x]\nprograms=x\n", r"no \[program:NAME\] section"),
    ("postinst.j2", "#!/bin/sh\nexit 0\n", "lacks the #DEBHELPER# token"),
    ("postrm.j2", "#!/bin/bash\n#DEBHELPER#\n", "must start with '#!/bin/sh'"),
    ("default.j2", "PORT = 8080\n", "line 1 is not NAME=value"),
    ("install.j2", "debian/nope.service lib/systemd/system\n", "which make-deb does not write"),
])
def test_broken_service_templates(project, tmp_path_factory, name, text, message):
    tdir = tmp_path_factory.mktemp("tpl")
    (tdir / name).write_text(text)
    extra = ["--supervisor"] if name == "supervisor.j2" else []
    s = settings(project, *ARGS, *extra)
    with pytest.raises(TemplateError, match=message):
        render.validate(render.render(s, render.check_templates_dir(tdir)), s)


def test_help_mentions_services(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert re.search(r"--service \[NAME=\]COMMAND", out)
