"""pip isolated from the host's configuration, its failures named by their cause, and the index
probe that runs before CPython is built (against a real HTTPS index on the loopback)."""
import os
import re
import socket
import zipfile
from pathlib import Path

import pytest

from dh_pyrpath.deps import piprun
from dh_pyrpath.settings import Settings
from pip_index import make_certificate, serve

HOST_ENV = {
    "PATH": "/usr/bin:/bin", "HOME": "/root", "https_proxy": "http://proxy:3128",
    "PIP_FIND_LINKS": "/opt/wheels", "PIP_CONSTRAINT": "/etc/xdg/pip/constraints.txt",
    "PIP_INDEX_URL": "https://mirror.example/simple", "PIP_DEFAULT_TIMEOUT": "180",
    "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt", "PYTHONPATH": "/home/me/lib",
    "PYTHONUSERBASE": "/home/me/.local", "REQUESTS_CA_BUNDLE": "/x.pem",
    "CURL_CA_BUNDLE": "/y.pem", "SSL_CERT_FILE": "/z.pem", "SSL_CERT_DIR": "/etc/ssl/certs",
    "CFLAGS": "-O2",
}


def test_environment_passes_settings_only(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    s = Settings(package="p", index_url="https://u:t@idx.example/simple",
                 extra_index_urls=["https://b.example/simple"], find_links=["/srv/wheels"],
                 ca_bundle=str(bundle))
    env = piprun.environment(s, tmp_path / "pip-cache", HOST_ENV)
    assert env["PIP_CONFIG_FILE"] == os.devnull  # no pip.conf at all: global, user, site
    assert env["PIP_FIND_LINKS"] == "/srv/wheels" and env["PIP_CERT"] == str(bundle)
    assert env["PIP_INDEX_URL"] == "https://u:t@idx.example/simple"
    assert env["PIP_EXTRA_INDEX_URL"] == "https://b.example/simple"
    assert env["PYTHONNOUSERSITE"] == "1"
    for gone in ("PIP_CONSTRAINT", "PIP_DEFAULT_TIMEOUT", "PYTHONPATH", "PYTHONUSERBASE",
                 "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        assert gone not in env, gone
    assert env["https_proxy"] == "http://proxy:3128" and env["CFLAGS"] == "-O2"
    # no settings: none of the host's index variables either
    bare = piprun.environment(Settings(package="p"), tmp_path, HOST_ENV)
    assert not {"PIP_INDEX_URL", "PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL"} & set(bare)


def test_ca_bundle_setting_and_system_default(tmp_path):
    system = tmp_path / "system.pem"
    assert piprun.ca_bundle(Settings(package="p"), system=str(system)) is None
    system.write_text("")
    assert piprun.ca_bundle(Settings(package="p"), system=str(system)) == str(system)
    with pytest.raises(Exception, match="ca-bundle /nonexistent.pem not found"):
        piprun.ca_bundle(Settings(package="p", ca_bundle="/nonexistent.pem"))


def test_describe_records_what_reached_pip(tmp_path):
    (tmp_path / "pip-22.3.1.dist-info").mkdir()

    class Log:
        path = None
    s = Settings(package="p", index_url="https://u:secret@idx.example/simple")
    pip = piprun.Pip("/x/python3", tmp_path, s, None, tmp_path, Log())
    info = pip.describe()
    assert info["pip"] == "22.3.1" and info["index_url"] == "https://***@idx.example/simple"
    assert info["config_files"].startswith("none") and info["no_index"] is False
    vendored = piprun.Pip("/x/python3", tmp_path, s, None, tmp_path, Log(), vendored=tmp_path)
    assert vendored.env["PIP_NO_INDEX"] == "1" and vendored.env["PIP_FIND_LINKS"] == str(tmp_path)
    # where the files came from is the log's business: a vendored build records the same
    assert "PIP_INDEX_URL" not in vendored.env and vendored.describe() == info


def test_describe_records_the_ca_bundle_setting_not_the_machines(tmp_path):
    """Unset, the ca-bundle pip uses is the machine's (its system store, or pip's own where
    there is none): build-info.json records the setting, the same on both."""
    (tmp_path / "pip-22.3.1.dist-info").mkdir()
    system = tmp_path / "system.pem"
    system.write_text("")

    class Log:
        path = None
    unset = Settings(package="p")
    assert piprun.ca_bundle(unset, system=str(system)) == str(system)
    pip = piprun.Pip("/x/python3", tmp_path, unset, None, tmp_path, Log())
    assert pip.describe()["ca_bundle"] is None
    given = Settings(package="p", ca_bundle=str(system))
    assert piprun.Pip("/x/python3", tmp_path, given, None, tmp_path,
                      Log()).describe()["ca_bundle"] == str(system)


# What pip 22.3 printed in these cases (trimmed), and what each must be called.
TLS = """WARNING: Retrying (Retry(total=1, connect=None, read=None, redirect=None, status=None)) \
after connection broken by 'SSLError(SSLCertVerificationError(1, '[SSL: \
CERTIFICATE_VERIFY_FAILED] certificate verify failed: self signed certificate (_ssl.c:992)'))': \
/simple/setuptools/
Could not fetch URL https://127.0.0.1:4443/simple/setuptools/: There was a problem confirming \
the ssl certificate: HTTPSConnectionPool(host='127.0.0.1', port=4443): Max retries exceeded
ERROR: Could not find a version that satisfies the requirement setuptools>=61 (from versions: none)
ERROR: No matching distribution found for setuptools>=61"""
DNS = """WARNING: Retrying ... after connection broken by 'NewConnectionError('<pip._vendor.\
urllib3.connection.HTTPSConnection object>: Failed to establish a new connection: [Errno -2] \
Name or service not known')': /simple/click/
ERROR: No matching distribution found for click==8.1.7"""
REFUSED = """WARNING: Retrying ... 'NewConnectionError(...: Failed to establish a new \
connection: [Errno 111] Connection refused')': /simple/click/
ERROR: No matching distribution found for click==8.1.7"""
PROXY = """WARNING: Retrying ... after connection broken by 'ProxyError('Cannot connect to \
proxy.', OSError('Tunnel connection failed: 407 Proxy Authentication Required'))'
ERROR: No matching distribution found for click"""
AUTH = """ERROR: HTTP error 401 while getting https://idx.example/files/click-8.1.7.whl
ERROR: 401 Client Error: Unauthorized for url: https://idx.example/files/click-8.1.7.whl"""
MISMATCH = """ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you \
have updated the package versions, please update the hashes. Otherwise, examine the package \
contents carefully; someone may have tampered with them.
    docopt==0.6.2 from file:///v/docopt-0.6.2.tar.gz#sha256=0000 (from -r /x/req.txt (line 1)):
        Expected sha256 49b3a825280bd66b3aa83585ef59c4a8c82f2c8a522dbe754a8bc8d08c85c491
             Got        0000000000000000000000000000000000000000000000000000000000000000
"""
NO_HASH = "ERROR: Hashes are required in --require-hashes mode, but they are missing from some"
MISSING = "ERROR: No matching distribution found for nosuchpkg==1.0"


@pytest.mark.parametrize("text,expected", [
    (TLS, r"TLS verification of the package index at 127.0.0.1:4443 failed \(CERTIFICATE_VERIFY_FAILED\) with CA "
          r"bundle .*: .*set ca-bundle \(DH_PYRPATH_CA_BUNDLE"),
    (DNS, r"cannot resolve the package index \(DNS\)"),
    (REFUSED, "^install dependencies: the package index is unreachable: check the network"),
    (PROXY, "the proxy.* failed the connection"),
    (AUTH, r"refused access \(HTTP 401\)"),
    (MISMATCH, r"does not match the hash it is pinned to \(docopt==0.6.2 from "
               r"file:///v/docopt-0.6.2.tar.gz: expected sha256 49b3a8.*got 0000"),
    (NO_HASH, "needs a --hash on every requirement"),
    (MISSING, "no distribution matches nosuchpkg==1.0 on the package index"),
    ("ERROR: something odd", "^install dependencies failed: fix it$"),
])
def test_pip_failures_name_their_cause(text, expected):
    message = piprun.classify(text, "install dependencies", "fix it", Settings(package="p"))
    assert re.search(expected, message), message
    assert "\n" not in message


def test_missing_file_when_vendored_names_the_vendor_command():
    message = piprun.classify(MISSING, "install dependencies", "x", Settings(package="p"),
                              vendored=Path("/src/pyrpath-vendor/python"))
    assert "nosuchpkg==1.0 is not among the vendored files (/src/pyrpath-vendor/python)" in message
    assert "`dh_pyrpath --vendor`" in message


def test_default_index_url_is_read_from_pip_itself(tmp_path):
    text = 'PyPI = PackageIndex(\n    "https://index.example/", file_storage_domain="f.example"\n)\n'
    unpacked = tmp_path / "unpacked"
    (unpacked / "pip/_internal/models").mkdir(parents=True)
    (unpacked / "pip/_internal/models/index.py").write_text(text)
    assert piprun.default_index_url(unpacked) == "https://index.example/simple"
    wheel = tmp_path / "pip-99-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pip/_internal/models/index.py", text)
    assert piprun.default_index_url(wheel) == "https://index.example/simple"


@pytest.fixture(scope="module")
def tls_index(tmp_path_factory):
    """An HTTPS index on the loopback whose certificate no system bundle holds."""
    work = tmp_path_factory.mktemp("tls-index")
    cert, key = make_certificate(work)
    files = work / "files"
    files.mkdir()
    (files / "demo-1.0-py3-none-any.whl").write_bytes(b"not really a wheel")
    with serve(files, cert, key) as (url, requests):
        yield url, cert, requests


def test_probe_names_tls_failure_and_the_bundle(tls_index):
    url, cert, _ = tls_index
    problem = piprun.probe_index(url, "demo", Settings(package="p"))
    assert "TLS verification of 127.0.0.1:" in problem and "self-signed" in problem
    assert "set ca-bundle (DH_PYRPATH_CA_BUNDLE" in problem
    if os.path.isfile(piprun.SYSTEM_CA_BUNDLE):
        assert f"CA bundle {piprun.SYSTEM_CA_BUNDLE}" in problem


def test_probe_passes_with_the_right_ca_bundle(tls_index):
    url, cert, requests = tls_index
    s = Settings(package="p", ca_bundle=str(cert))
    assert piprun.probe_index(url, "demo", s) is None
    assert requests[-1] == "/simple/demo/"
    assert "has no project nosuch (HTTP 404)" in piprun.probe_index(url, "nosuch", s)
    assert piprun.probe_index(url, "nosuch", s, missing_ok=True) is None


def test_probe_names_unreachable_and_dns():
    s = Settings(package="p")
    # a port nobody listens on (bound, never listening, then closed)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    assert "unreachable" in piprun.probe_index(f"https://127.0.0.1:{port}/simple", "x", s)
    assert "(DNS)" in piprun.probe_index("https://no-such-host.invalid/simple", "x", s)
