"""The remote cache against Debian's nginx on loopback (docs/cache.md's location: dav_methods
PUT), with tiny synthetic entries: what lands in the server's directory, idempotent uploads,
403 on PUT from a read-only location, a blob corrupted on the server, and --cache-info."""
import hashlib
import json
import re

import pytest

from cache_servers import Nginx, refused_url
from conftest import dh_pyrpath
from dh_pyrpath.store import cache as cachelib, entries
from dh_pyrpath.store import remote as remotelib
from test_remote import Log, intact, local_state, make_entry


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    server = Nginx(tmp_path_factory.mktemp("nginx"))
    yield server
    server.stop()


def puts(server):
    log = server.prefix / "access.log"
    return len(re.findall(r'"PUT ', log.read_text())) if log.exists() else 0


def test_publish_and_fetch_through_nginx(tmp_path, nginx):
    a = cachelib.Cache(tmp_path / "a", remote=remotelib.Remote(nginx.url()))
    key = make_entry(a, tag="nginx")
    log = Log()
    entries.offer_interpreter(a, key, log)
    assert not log.warned, log.warned + [nginx.errors()]
    record_file = nginx.store / remotelib.record_path("interpreter", key)
    record = json.loads(record_file.read_text())
    blob_file = nginx.store / "cas" / record["blob"]
    assert hashlib.sha256(blob_file.read_bytes()).hexdigest() == record["blob"]
    before = puts(nginx)
    entries.offer_interpreter(a, key, Log())
    assert puts(nginx) == before, "a second offer uploaded again"

    b = cachelib.Cache(tmp_path / "b", remote=remotelib.Remote(nginx.url()))
    with b.lock(f"interpreter-{key}"):
        assert entries.fetch_interpreter(b, key, Log()) is True
    assert intact(b, key)


def test_put_refused_by_the_server_is_one_warning(tmp_path, nginx):
    seed = cachelib.Cache(tmp_path / "seed", remote=remotelib.Remote(nginx.url()))
    key = make_entry(seed, tag="seen-by-readonly")
    entries.offer_interpreter(seed, key, Log())
    c = cachelib.Cache(tmp_path / "c", remote=remotelib.Remote(nginx.url("readonly")))
    other = make_entry(c, tag="refused")
    log = Log()
    entries.offer_interpreter(c, other, log)
    entries.offer_interpreter(c, other, log)
    assert len(log.warned) == 1 and "HTTP 403 on upload" in log.warned[0], log.warned
    assert not (nginx.store / remotelib.record_path("interpreter", other)).exists()
    with c.lock(f"interpreter-{key}"):
        assert entries.fetch_interpreter(c, key, log) is True  # reading through it still works
    assert re.fullmatch(r"answers \(\d+ ms\), but refuses uploads: HTTP 403 on upload: .*",
                        c.remote.probe())


def test_blob_corrupted_on_the_server(tmp_path, nginx):
    a = cachelib.Cache(tmp_path / "a", remote=remotelib.Remote(nginx.url()))
    key = make_entry(a, tag="to-corrupt")
    entries.offer_interpreter(a, key, Log())
    record = json.loads((nginx.store / remotelib.record_path("interpreter", key)).read_text())
    blob_file = nginx.store / "cas" / record["blob"]
    data = bytearray(blob_file.read_bytes())
    data[100] ^= 0x01
    blob_file.write_bytes(bytes(data))
    b = cachelib.Cache(tmp_path / "b", remote=remotelib.Remote(nginx.url()))
    log = Log()
    with b.lock(f"interpreter-{key}"):
        assert entries.fetch_interpreter(b, key, log) is False
    assert len(log.warned) == 1 and "does not match its name" in log.warned[0]
    assert local_state(b) == ([], [])


def test_cache_info_shows_the_remote(tmp_path, nginx):
    env = {"DH_PYRPATH_CACHE_DIR": str(tmp_path / "cache"),
           "DH_PYRPATH_REMOTE_CACHE": nginx.url()}
    out = dh_pyrpath("--cache-info", cwd=tmp_path, env=env, check=True).stdout
    assert re.search(rf"^remote {re.escape(nginx.url())}: answers \(\d+ ms\) and accepts "
                     "uploads$", out, re.M), out
    env["DH_PYRPATH_REMOTE_CACHE"] = nginx.url("readonly")
    out = dh_pyrpath("--cache-info", cwd=tmp_path, env=env, check=True).stdout
    assert "answers" in out and "but refuses uploads: HTTP 403 on upload" in out, out
    env["DH_PYRPATH_REMOTE_CACHE_READONLY"] = "1"
    out = dh_pyrpath("--cache-info", cwd=tmp_path, env=env, check=True).stdout
    assert "read-only: this host never publishes" in out
    down = refused_url()
    env = {"DH_PYRPATH_CACHE_DIR": str(tmp_path / "cache"), "DH_PYRPATH_REMOTE_CACHE": down}
    out = dh_pyrpath("--cache-info", cwd=tmp_path, env=env, check=True).stdout
    assert f"remote {down}: does not answer: connection refused" in out
    user = dh_pyrpath("--cache-info", cwd=tmp_path, check=True, env={
        "DH_PYRPATH_CACHE_DIR": str(tmp_path / "cache"),
        "DH_PYRPATH_REMOTE_CACHE": nginx.url().replace("http://", "http://ci:pw@")}).stdout
    assert "ci:pw" not in user and "pw@" not in user
