"""make-deb reads metadata with each project's own build backend, at the version the project
pins, installed from the package index into an isolated environment (real pip, real backends):
setuptools with setuptools-scm and a real git checkout, flit_core, hatchling (with a classifier
newer than bookworm's hatchling knows), poetry-core 2 and 1, pdm-backend, uv_build and maturin.
Offline: wheelhouses, dh_pyrpath's wheel cache, then Debian's backend with a warning; errors
name the real cause. These tests need the package index (as pip does).
"""
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from make_deb import backend, buildenv, metadata
from make_deb.errors import MetadataError, UsageError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "data" / "make_deb"
UNREACHABLE = "http://127.0.0.1:9/simple"  # connection refused at once, on any machine
# fixture -> (name, version, console scripts, where they come from, the pinned backend)
BACKENDS = {
    "hatch_tool": ("hatch-tool", "1.5.0", {"hatch-tool": "hatch_tool:main"},
                   "[project.scripts]", "hatchling 1.27.0"),
    "scm_tool": ("scm-tool", "1.4.0", {"scm-tool": "scm_tool:main"}, "entry_points.txt",
                 "setuptools 80.9.0"),
    "poetry2_tool": ("poetry2-tool", "2.3.0", {"poetry2-tool": "poetry2_tool:main"},
                     "entry_points.txt", "poetry-core 2.1.3"),
    "poetry1_tool": ("poetry1-tool", "1.0.5", {"poetry1-tool": "poetry1_tool:main"},
                     "entry_points.txt", "poetry-core 1.9.1"),
    "pdm_tool": ("pdm-tool", "3.1.4", {"pdm-tool": "pdm_tool:main"}, "entry_points.txt",
                 "pdm-backend 2.4.5"),
    "flit_tool": ("flit_tool", "0.9.dev3", {"flit-tool": "flit_tool:main"}, "entry_points.txt",
                  "flit_core 3.12.0"),
}
GIT_ENV = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull}


def git_checkout(path, tag=None, date="2019-03-01T12:00:00+00:00"):
    """Make `path` a git checkout with one commit (at `date`) and optionally a tag."""
    env = {**os.environ, **GIT_ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "first"]) + \
            ((["tag", tag],) if tag else ()):
        subprocess.run(["git", *cmd], cwd=path, env=env, check=True, capture_output=True)
    return path


def project(tmp_path, name):
    """A fresh copy of a fixture; the setuptools-scm one as a tagged git checkout."""
    dest = tmp_path / name
    shutil.copytree(FIXTURES / name, dest)
    if name == "scm_tool":
        git_checkout(dest, "v1.4.0")
    return dest


def tree(path):
    return {str(p.relative_to(path)): p.read_bytes() if p.is_file() else None
            for p in sorted(Path(path).rglob("*"))}


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No wheel cache, no index settings of the machine running the tests."""
    for var in ("DH_PYRPATH_INDEX_URL", "DH_PYRPATH_EXTRA_INDEX_URL", "DH_PYRPATH_FIND_LINKS",
                "DH_PYRPATH_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DH_PYRPATH_CACHE_DIR", str(tmp_path / "no-cache"))


@pytest.fixture(scope="module")
def read_once(tmp_path_factory):
    """Each backend fixture read once (about 3 s each: pip, then the hooks), from a copy, with
    the project tree before and after."""
    cache = {}

    def read(name):
        if name not in cache:
            path = project(tmp_path_factory.mktemp("backend"), name)
            before = tree(path)
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("DH_PYRPATH_CACHE_DIR", str(path.parent / "no-cache"))
                for var in ("DH_PYRPATH_INDEX_URL", "DH_PYRPATH_FIND_LINKS"):
                    mp.delenv(var, raising=False)
                meta = metadata.read(path)
            cache[name] = (meta, before, tree(path))
        return cache[name]
    return read


@pytest.mark.parametrize("name", BACKENDS)
def test_each_backend_at_its_pinned_version(read_once, name):
    dist_name, version, scripts, scripts_from, pinned = BACKENDS[name]
    meta, before, after = read_once(name)
    assert (meta.name, meta.version) == (dist_name, version)
    assert meta.console_scripts == scripts
    assert meta.scripts_from.startswith(scripts_from)
    assert f"{pinned} from the package index" in meta.source, meta.source
    assert meta.summary.startswith("Print where the private interpreter lives")
    assert after == before  # no egg-info, no build/, no __pycache__


def test_hatchling_reads_a_classifier_bookworms_hatchling_rejects(read_once):
    meta = read_once("hatch_tool")[0]
    assert "Programming Language :: Python :: 3.14" in meta.classifiers
    assert meta.license_expression == "MIT"


def test_poetry_core_2_fills_dynamic_fields(read_once):
    meta = read_once("poetry2_tool")[0]
    assert "Topic :: Utilities" in meta.classifiers
    assert meta.maintainers[0].email == "frances@example.org"


def test_setuptools_scm_version_follows_the_tag(tmp_path, clean_env):
    path = project(tmp_path, "scm_tool")
    (path / "README.md").write_text("# scm-tool\n\nChanged after the tag.\n")
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "commit", "-qam", "second"], cwd=path, env=env, check=True)
    subprocess.run(["git", "tag", "v1.5.0rc1"], cwd=path, env=env, check=True)
    meta = metadata.read(path)
    assert meta.version == "1.5.0rc1" and meta.version_from_vcs


def static_hook(path):
    pyproject = metadata._load_pyproject(path)
    return backend.read(path, backend.build_system(pyproject),
                        buildenv.IndexSettings.from_options(), sys.executable, None)


def test_uv_build_static_metadata_equals_its_hook(tmp_path, clean_env):
    """uv_build takes no dynamic fields: make-deb reads [project] without running it, and the
    backend's own hook says the same."""
    path = project(tmp_path, "uv_tool")
    static = metadata.read(path)
    assert static.source == "pyproject.toml [project]"
    hooked = static_hook(path)
    assert hooked.backend_label == "uv-build 0.12.24 from the package index"
    meta = metadata.parse_metadata(hooked.metadata)
    assert (meta.name, meta.version, meta.summary) == (static.name, static.version,
                                                       static.summary)
    assert metadata.parse_console_scripts(hooked.entry_points) == static.console_scripts


def test_maturin_static_metadata_needs_no_rust(tmp_path, clean_env):
    meta = metadata.read(project(tmp_path, "maturin_tool"))
    assert (meta.name, meta.version) == ("maturin-tool", "0.2.0")
    assert meta.needs_cargo and meta.source == "pyproject.toml [project]"


@pytest.mark.extended  # maturin's hook runs `cargo metadata`: the extended tier installs cargo
def test_maturin_hook_with_cargo(tmp_path, clean_env):
    path = project(tmp_path, "maturin_tool")
    text = (path / "pyproject.toml").read_text().replace('version = "0.2.0"\n',
                                                         'dynamic = ["version"]\n')
    (path / "pyproject.toml").write_text(text)
    meta = metadata.read(path)
    assert meta.version == "0.2.0" and "maturin 1.9.6 from the package index" in meta.source


def _path_without(tmp_path, *names):
    """A PATH of one directory with /usr/bin's programs but `names`: a host without them,
    whatever this one has installed (the extended tier installs cargo)."""
    bin_dir = tmp_path / "bin-without"
    bin_dir.mkdir()
    for exe in Path("/usr/bin").iterdir():
        if exe.name not in names:
            (bin_dir / exe.name).symlink_to(exe)
    return str(bin_dir)


def test_maturin_hook_without_cargo_names_cargo(tmp_path, clean_env, monkeypatch):
    path = project(tmp_path, "maturin_tool")
    text = (path / "pyproject.toml").read_text().replace('version = "0.2.0"\n',
                                                         'dynamic = ["version"]\n')
    (path / "pyproject.toml").write_text(text)
    monkeypatch.setenv("PATH", _path_without(tmp_path, "cargo", "rustc"))
    assert shutil.which("cargo") is None
    with pytest.raises(MetadataError, match=r"reading the metadata with maturin needs cargo, "
                                            r"which is not installed .*apt-get install cargo"):
        metadata.read(path)


def test_scripts_from_the_wheel_when_the_hook_lists_none(tmp_path, clean_env):
    """hatchling's metadata hook writes no entry_points.txt: without an authoritative static
    table, make-deb builds the wheel in the same environment and reads it there."""
    result = static_hook(project(tmp_path, "hatch_tool"))
    assert result.scripts_from_wheel
    assert metadata.parse_console_scripts(result.entry_points) == {"hatch-tool":
                                                                  "hatch_tool:main"}


def test_setup_requires_come_from_the_index(tmp_path, clean_env):
    """A legacy setup.py's setup_requires (get_requires_for_build_wheel) is installed into the
    environment as pip would, not looked up in Debian."""
    (tmp_path / "setup.py").write_text(
        "from setuptools import setup\n"
        "setup(name='needs-six', version='1.0', setup_requires=['six==1.16.0'])\n")
    meta = metadata.read(tmp_path)
    assert (meta.name, meta.version) == ("needs-six", "1.0")


# ------------------------------------------------------------------ the builder's pip config

def test_builder_pip_configuration_does_not_leak(tmp_path, clean_env, monkeypatch):
    """This host's environment sets PIP_FIND_LINKS and /etc/xdg/pip sets a constraint file:
    neither, nor any other PIP_* setting or pip.conf, may change the build environment."""
    constraints = tmp_path / "c.txt"
    constraints.write_text("flit_core<3.9\n")
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {UNREACHABLE}\nconstraint = {constraints}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_CONSTRAINT", str(constraints))
    monkeypatch.setenv("PIP_INDEX_URL", UNREACHABLE)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nowhere"))
    meta = metadata.read(project(tmp_path, "flit_tool"))
    assert "flit_core 3.12.0 from the package index" in meta.source


# ------------------------------------------------------------------ offline

def download(requirement, dest):
    """Wheels of `requirement` (with dependencies) from the index, as a user's wheelhouse."""
    index = buildenv.IndexSettings.from_options()
    subprocess.run([sys.executable, "-I", "-m", "pip", "download", "--only-binary", ":all:",
                    "-d", str(dest), *buildenv.cert_args(index), requirement],
                   env=buildenv.pip_env(index), check=True, capture_output=True)
    return dest


def test_offline_uses_a_wheelhouse(tmp_path, clean_env):
    wheels = download("flit_core==3.12.0", tmp_path / "wheels")
    index = buildenv.IndexSettings.from_options(UNREACHABLE, [wheels])
    meta = metadata.read(project(tmp_path, "flit_tool"), index)
    assert "flit_core 3.12.0 from a wheelhouse" in meta.source


def test_offline_uses_dh_pyrpaths_wheel_cache(tmp_path, clean_env, monkeypatch):
    cache = tmp_path / "dh-cache"
    download("flit_core==3.12.0", cache / "wheels")
    for whl in (cache / "wheels").glob("*.whl"):
        Path(f"{whl}.sha256").write_text(buildenv.dh_files.sha256_file(whl) + "\n")
    monkeypatch.setenv("DH_PYRPATH_CACHE_DIR", str(cache))
    monkeypatch.setenv("DH_PYRPATH_INDEX_URL", UNREACHABLE)
    meta = metadata.read(project(tmp_path, "flit_tool"))
    assert "flit_core 3.12.0 from a wheelhouse" in meta.source


def test_wheel_cache_entries_without_a_matching_checksum_are_not_used(tmp_path):
    cache = tmp_path / "wheels"
    cache.mkdir()
    for name, recorded in (("good-1-py3-none-any.whl", None), ("bad-1-py3-none-any.whl", "0"),
                           ("bare-1-py3-none-any.whl", False)):
        (cache / name).write_bytes(name.encode())
        if recorded is not False:
            Path(cache, name + ".sha256").write_text(
                recorded or buildenv.dh_files.sha256_file(cache / name))
    links = buildenv.verified_wheels(cache, tmp_path / "links")
    assert sorted(p.name for p in links.iterdir()) == ["good-1-py3-none-any.whl"]


def test_offline_falls_back_to_debians_backend_with_a_warning(tmp_path, clean_env, caplog):
    pytest.importorskip("setuptools", reason="Debian's python3-setuptools is the fallback")
    (tmp_path / "setup.py").write_text("from setuptools import setup\n"
                                       "setup(name='offline-app', version='2.0')\n")
    index = buildenv.IndexSettings.from_options(UNREACHABLE)
    with caplog.at_level(logging.WARNING, logger="make_deb"):
        meta = metadata.read(tmp_path, index)
    assert (meta.name, meta.version) == ("offline-app", "2.0")
    assert "Debian's setuptools" in meta.source and "(dist-packages)" in meta.source
    warning = caplog.records[-1].getMessage()
    assert warning.startswith("the package index is unreachable (")
    assert "reading the metadata with Debian's own setuptools" in warning
    assert "--find-links DIR" in warning


UV_DYNAMIC = ('[build-system]\nrequires = ["uv_build==0.12.24"]\nbuild-backend = "uv_build"\n'
              '[project]\nname = "uvd"\ndynamic = ["version"]\n')


def test_offline_without_any_source_names_the_cause_and_fixes(tmp_path, clean_env):
    """uv_build is not in Debian: nothing can read this project offline."""
    (tmp_path / "pyproject.toml").write_text(UV_DYNAMIC)
    index = buildenv.IndexSettings.from_options(UNREACHABLE)
    with pytest.raises(MetadataError) as err:
        metadata.read(tmp_path, index)
    message = str(err.value)
    assert message.startswith("the package index is unreachable (Connection refused) and no "
                              "wheelhouse is given, and Debian's python3 cannot import "
                              "'uv_build' either"), message
    assert "check the network and --index-url, or give wheels of uv_build==0.12.24 with " \
           "--find-links DIR" in message


def test_tls_failure_names_the_ca_bundle_setting(tmp_path, clean_env, monkeypatch):
    """A CA bundle that does not sign the index (as a chroot lacking a TLS proxy's CA)."""
    ca = tmp_path / "ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=not the index", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(ca)], check=True, capture_output=True)
    monkeypatch.setenv("DH_PYRPATH_CA_BUNDLE", str(ca))
    (tmp_path / "pyproject.toml").write_text(UV_DYNAMIC)
    with pytest.raises(MetadataError) as err:
        metadata.read(tmp_path)
    message = str(err.value)
    assert message.startswith(f"TLS verification with the package index failed "
                              f"(CERTIFICATE_VERIFY_FAILED with CA bundle {ca})"), message
    assert "set DH_PYRPATH_CA_BUNDLE to the CA bundle (PEM)" in message


def test_missing_ca_bundle_is_a_usage_error(monkeypatch):
    monkeypatch.setenv("DH_PYRPATH_CA_BUNDLE", "/no/such/bundle.pem")
    with pytest.raises(UsageError, match="DH_PYRPATH_CA_BUNDLE=/no/such/bundle.pem: no such"):
        buildenv.IndexSettings.from_options()


@pytest.mark.parametrize("output, kind, reason", [
    ("WARNING: Retrying ... 'NewConnectionError(... [Errno 111] Connection refused')'\n"
     "ERROR: No matching distribution found for hatchling", "network",
     "the package index is unreachable (Connection refused)"),
    ("WARNING: Retrying ... 'NewConnectionError(...: Failed to establish a new connection')'",
     "network", "the package index is unreachable (NewConnectionError)"),
    ("Could not fetch URL https://x/simple/a/: There was a problem confirming the ssl "
     "certificate: ... (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
     "CERTIFICATE_VERIFY_FAILED] certificate verify failed')))", "network",
     "TLS verification with the package index failed"),
    ("ProxyError('Cannot connect to proxy.')", "network", "the proxy refused"),
    ("ERROR: HTTP error 403 while getting https://x/a.whl", "network",
     "the package index refused access (HTTP 403)"),
    ("ERROR: Could not find a version that satisfies the requirement nope (from versions: "
     "none)\nERROR: No matching distribution found for nope", "missing",
     "no distribution matches nope on the package index"),
    ("ERROR: THESE PACKAGES DO NOT MATCH THE HASHES", "failed",
     "pip could not install a (ERROR: THESE PACKAGES DO NOT MATCH THE HASHES)"),
])
def test_pip_failures_are_classified(output, kind, reason):
    failure = buildenv.explain_pip(output, ["a"], buildenv.IndexSettings(), "/tmp/log")
    assert failure.kind == kind and failure.reason.startswith(reason), failure.reason
    assert str(failure).endswith("(full log: /tmp/log)")


# ------------------------------------------------------------------ through the command

def make_deb(path, *args, env=None):
    return subprocess.run([sys.executable, "-m", "make_deb", "--yes", "-v", "--dry-run",
                           "--maintainer-name", "D P", "--maintainer-email", "dp@example.org",
                           "--python-source", "debian:python3.11=3.11.2-6+deb12u8", *args],
                          cwd=path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


@pytest.mark.parametrize("name, said, written", [
    # make-deb -v names the backend version that read the metadata
    ("hatch_tool", ["hatchling.build (pyproject.toml; hatchling 1.27.0 from the package index)",
                    "console scripts from [project.scripts] in pyproject.toml: hatch-tool"], []),
    ("maturin_tool", [],
     ["+Build-Depends: debhelper-compat (= 13), dh-sequence-pyrpath, cargo\n"]),
    # a source package has no .git: the version comes from debian/changelog
    ("scm_tool", [], ["+export SETUPTOOLS_SCM_PRETEND_VERSION = "
                      "$(subst ~,,$(DEB_VERSION_UPSTREAM))\n",
                      "+scm-tool (1.4.0) unstable; urgency=medium\n"]),
])
def test_what_the_command_says_and_writes(tmp_path, clean_env, name, said, written):
    proc = make_deb(project(tmp_path, name))
    assert proc.returncode == 0, proc.stderr
    for text in said:
        assert text in proc.stderr
    for text in written:
        assert text in proc.stdout
