"""Per-package settings: file format, precedence, validation."""
import pytest

from dh_pyrpath import host
from dh_pyrpath import settings
from dh_pyrpath.errors import UsageError


def write(tmp_path, text):
    path = tmp_path / "pkg.pyrpath"
    path.write_text(text)
    return path


def test_defaults_put_the_package_under_opt():
    s = settings.resolve("svc", {}, None, env={})
    assert s.prefix == "/opt/svc"
    # the host release's default python3, read from the host (never a table of codenames)
    assert s.python_source == host.host_default_source()
    assert settings.resolve("svc", {}, None, env={},
                            default_source=lambda: "debian:python3.13").python_source == \
        "debian:python3.13"
    assert s.requirements == "debian/deb-requirements.txt" and not s.requirements_explicit
    assert s.shebang_flags == "-I"


def test_config_file_keys_comments_and_lists(tmp_path):
    path = write(tmp_path, "# header\ninstall-root = /srv/stack  # trailing\n"
                 "extra-index-url = https://a.example/simple\nextra-index-url = https://b.example/simple\n"
                 "keep = test, idle\nno-index = yes\n\n")
    s = settings.resolve("svc", {}, path, env={})
    assert s.prefix == "/srv/stack/svc"
    assert s.extra_index_urls == ["https://a.example/simple", "https://b.example/simple"]
    assert s.keep == {"test", "idle"}
    assert s.no_index is True


def test_precedence_cli_over_environment_over_file(tmp_path):
    path = write(tmp_path, "index-url = https://file.example/simple\ninstall-root = /srv\n")
    env = {"DH_PYRPATH_INDEX_URL": "https://env.example/simple"}
    assert settings.resolve("svc", {}, path, env=env).index_url == "https://env.example/simple"
    cli = {"index-url": "https://cli.example/simple", "install-root": "/data"}
    s = settings.resolve("svc", cli, path, env=env)
    assert s.index_url == "https://cli.example/simple"
    assert s.prefix == "/data/svc"


def test_explicit_requirements_are_marked(tmp_path):
    s = settings.resolve("svc", {"requirements": "reqs.txt"}, None, env={})
    assert s.requirements == "reqs.txt" and s.requirements_explicit


@pytest.mark.parametrize("text, fragment", [
    ("colour = blue\n", "unknown setting 'colour'"),
    ("install-root /srv\n", "expected 'key = value'"),
    ("no-index = maybe\n", "not a boolean"),
    ("keep = everything\n", "unknown; choose from"),
    ("prefix = relative/path\n", "absolute normalised path"),
    ("prefix = /usr\n", "system's own tree"),
    ("prefix = /opt/" + "x" * 120 + "\n", "at most 100"),
    ("python-sha256 = abc\n", "not a sha256"),
    ("shebang-flags = -I; rm\n", "--shebang-flags"),
])
def test_bad_settings_name_the_problem(tmp_path, text, fragment):
    with pytest.raises(UsageError) as err:
        settings.resolve("svc", {}, write(tmp_path, text), env={})
    assert fragment in str(err.value)


def test_errors_name_file_and_line(tmp_path):
    path = write(tmp_path, "install-root = /srv\nbogus = 1\n")
    with pytest.raises(UsageError, match=r"pkg\.pyrpath:2"):
        settings.resolve("svc", {}, path, env={})
