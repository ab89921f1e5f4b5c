"""The remote cache against real loopback servers, with tiny synthetic entries (no CPython
build): the wire format, round trips, idempotent publishing, credentials, and every fault the
remote can have. Each fault must leave the build going (a miss, a warning) and nothing corrupt
in either cache."""
import base64
import hashlib
import io
import json
import os
import tarfile
import time
from pathlib import Path

import pytest

from cache_servers import Hanging, Store, refused_url
from dh_pyrpath.python import recipe as recipelib
from dh_pyrpath.store import archive
from dh_pyrpath.store import cache as cachelib
from dh_pyrpath.store import entries
from dh_pyrpath.store import files as storefiles
from dh_pyrpath.store import remote as remotelib
from dh_pyrpath.errors import UsageError


class Log:
    """Collects what the cache reports, by kind."""

    def __init__(self):
        self.said, self.warned, self.written = [], [], []

    def say(self, text):
        self.said.append(text)

    def warn(self, text):
        self.warned.append(text)

    def write(self, text):
        self.written.append(text)


def make_entry(cache, tag="a", payload_bytes=b"\x7fELF" + b"x" * 5000):
    """A small interpreter entry published in `cache` the way ensure() publishes a build."""
    recipe = {"recipe": "test", "tag": tag}
    key = recipelib.cache_key(recipe)
    staging = cache.tempdir(f"interpreter-{key}-")
    payload = staging / "payload"
    (payload / "tree" / "bin").mkdir(parents=True)
    (payload / "tree" / "lib" / "python3.11" / "empty").mkdir(parents=True)
    (payload / "tree" / "bin" / "python3.11").write_bytes(payload_bytes)
    (payload / "tree" / "bin" / "python3.11").chmod(0o775)
    os.symlink("python3.11", payload / "tree" / "bin" / "python3")
    (payload / "tree" / "lib" / "python3.11" / "os.py").write_text("# os\n" * 100)
    (payload / "info.json").write_text(json.dumps({"version": "3.11.2", "source": tag}))
    (payload / "recipe.json").write_text(json.dumps(recipe, indent=1, sort_keys=True))
    entries.write_manifest(staging, payload)
    cache.publish(staging, cache.path("interpreters", key))
    return key


def intact(cache, key):
    entry = cache.path("interpreters", key)
    return storefiles.manifest_problems(entry / "payload", entries.read_manifest(entry)) == []


def local_state(cache):
    """What a fault must not leave behind: entries, and staging directories."""
    interpreters = cache.path("interpreters")
    tmp = cache.path("tmp")
    return (sorted(p.name for p in interpreters.iterdir()) if interpreters.exists() else [],
            sorted(p.name for p in tmp.iterdir()) if tmp.exists() else [])


@pytest.fixture
def store():
    server = Store()
    yield server
    server.stop()


def runner(tmp_path, name, url, **kw):
    return cachelib.Cache(tmp_path / name, remote=remotelib.Remote(url, **kw))


# ---------------------------------------------------------------- the wire format

def test_packing_is_deterministic_whoever_packs(tmp_path):
    a = cachelib.Cache(tmp_path / "a")
    key = make_entry(a)
    old = os.umask(0o077)  # another builder's umask and clock: the same entry, the same bytes
    try:
        b = cachelib.Cache(tmp_path / "b")
        assert make_entry(b) == key
    finally:
        os.umask(old)
    for path in b.path("interpreters", key).rglob("*"):
        os.utime(path, (1, 1), follow_symlinks=False)
    packed = []
    for c in (a, b):
        out = io.BytesIO()
        archive.pack_entry(c.path("interpreters", key), out)
        packed.append(out.getvalue())
    assert packed[0] == packed[1]
    with tarfile.open(fileobj=io.BytesIO(packed[0])) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", 0)}
    assert "payload/tree/bin/python3.11" in [m.name for m in members]
    assert not any(m.name.endswith("last-used") for m in members)


def test_unpacked_entry_matches_its_manifest_with_exact_modes(tmp_path):
    c = cachelib.Cache(tmp_path / "a")
    key = make_entry(c)
    blob = tmp_path / "blob"
    with open(blob, "wb") as out:
        archive.pack_entry(c.path("interpreters", key), out)
    old = os.umask(0o077)
    try:
        archive.unpack_entry(blob, tmp_path / "out")
    finally:
        os.umask(old)
    manifest = entries.read_manifest(tmp_path / "out")
    assert storefiles.manifest_problems(tmp_path / "out" / "payload", manifest) == []
    assert manifest["tree/bin/python3.11"][1] == 0o755  # share_modes made the 0775 shareable
    assert (tmp_path / "out/payload/tree/lib/python3.11").stat().st_mode & 0o777 == 0o755
    entries.check_entry(tmp_path / "out", key, storefiles.sha256_file(tmp_path / "out" /
                                                                      "manifest.json"))


def _tar(tmp_path, members):
    """A tar.gz of (TarInfo fields, data) members."""
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for fields, data in members:
            info = tarfile.TarInfo(fields.pop("name"))
            for k, v in fields.items():
                setattr(info, k, v)
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


@pytest.mark.parametrize("members, problem", [
    ([({"name": "../escape"}, b"x")], "path it must not"),
    ([({"name": "/etc/evil"}, b"x")], "path it must not"),
    ([({"name": "other"}, b"x")], "path it must not"),
    ([({"name": "payload", "type": tarfile.DIRTYPE}, None),
      ({"name": "payload/link", "type": tarfile.SYMTYPE, "linkname": "OUTSIDE"}, None),
      ({"name": "payload/link/x"}, b"x")], "before its directory"),
    ([({"name": "payload", "type": tarfile.DIRTYPE}, None),
      ({"name": "payload/dev", "type": tarfile.CHRTYPE}, None)], "neither a file"),
    ([({"name": "payload", "type": tarfile.DIRTYPE}, None),
      ({"name": "payload/a"}, b"x"),
      ({"name": "payload/h", "type": tarfile.LNKTYPE, "linkname": "payload/a"}, None)],
     "neither a file"),
    ([({"name": "payload", "type": tarfile.DIRTYPE}, None),
      ({"name": "payload/a"}, b"x"), ({"name": "payload/a"}, b"y")], "twice"),
])
def test_unpack_refuses_what_an_entry_never_holds(tmp_path, members, problem):
    outside = tmp_path / "outside"
    outside.mkdir()
    members = [(dict(f, linkname=str(outside)) if f.get("linkname") == "OUTSIDE" else dict(f), d)
               for f, d in members]
    blob = _tar(tmp_path, members)
    with pytest.raises(remotelib.BadBlob, match=problem):
        archive.unpack_entry(blob, tmp_path / "out")
    assert list(outside.iterdir()) == []  # nothing written through a link


def test_unpack_clears_setuid_bits(tmp_path):
    blob = _tar(tmp_path, [({"name": "payload", "type": tarfile.DIRTYPE, "mode": 0o755}, None),
                           ({"name": "payload/s", "mode": 0o4755}, b"x")])
    archive.unpack_entry(blob, tmp_path / "out")
    assert (tmp_path / "out/payload/s").stat().st_mode & 0o7777 == 0o755


# ---------------------------------------------------------------- round trips

def test_interpreter_round_trip_and_idempotent_publish(tmp_path, store):
    a = runner(tmp_path, "a", store.url)
    key = make_entry(a)
    log = Log()
    entries.offer_interpreter(a, key, log)
    assert any(f"published interpreter {key}" in s and " MB in " in s for s in log.said)
    puts = store.methods("PUT")
    assert len(puts) == 2 and puts[0].startswith("/c/cas/") and puts[1].startswith("/c/ac/")
    record = json.loads(store.blobs[remotelib.record_path("interpreter", key)])
    assert hashlib.sha256(store.blobs[f"cas/{record['blob']}"]).hexdigest() == record["blob"]

    entries.offer_interpreter(a, key, Log())  # again: the remote has it, nothing is uploaded
    assert len(store.methods("PUT")) == 2

    b = runner(tmp_path, "b", store.url)
    log = Log()
    with b.lock(f"interpreter-{key}"):
        assert entries.fetch_interpreter(b, key, log) is True
    assert intact(b, key) and not log.warned
    assert any(f"fetched interpreter {key}" in s and " MB in " in s for s in log.said)
    assert local_state(b) == ([key], [])
    entries.offer_interpreter(b, key, Log())  # fetched from there: not even asked
    assert len(store.methods("PUT")) == 2

    # a third runner packing its own copy would publish the very same bytes
    out = io.BytesIO()
    archive.pack_entry(b.path("interpreters", key), out)
    assert hashlib.sha256(out.getvalue()).hexdigest() == record["blob"]


def test_a_different_entry_under_the_same_key_is_not_overwritten(tmp_path, store):
    a = runner(tmp_path, "a", store.url)
    key = make_entry(a, payload_bytes=b"build one")
    entries.offer_interpreter(a, key, Log())
    before = dict(store.blobs)
    b = runner(tmp_path, "b", store.url)
    assert make_entry(b, payload_bytes=b"build two") == key
    log = Log()
    entries.offer_interpreter(b, key, log)
    assert store.blobs == before
    assert len(log.warned) == 1 and "another interpreter entry" in log.warned[0]
    assert "not overwritten" in log.warned[0]


def test_a_missing_blob_is_published_again(tmp_path, store):
    a = runner(tmp_path, "a", store.url)
    key = make_entry(a)
    entries.offer_interpreter(a, key, Log())
    record = json.loads(store.blobs[remotelib.record_path("interpreter", key)])
    del store.blobs[f"cas/{record['blob']}"]  # evicted by the server
    b = runner(tmp_path, "b", store.url)
    log = Log()
    with b.lock(f"interpreter-{key}"):
        assert entries.fetch_interpreter(b, key, log) is False
    assert not log.warned and local_state(b)[0] == []
    entries.offer_interpreter(a, key, Log())
    assert f"cas/{record['blob']}" in store.blobs


def test_sources_round_trip(tmp_path, store):
    a = runner(tmp_path, "a", store.url)
    data = b"tarball" * 1000
    sha = hashlib.sha256(data).hexdigest()
    tmp = a.tempdir("source-") / "x.tar.gz"
    tmp.write_bytes(data)
    a.add_source_file(tmp, "x.tar.gz", sha, Log())
    assert store.blobs[f"cas/{sha}"] == data
    b = runner(tmp_path, "b", store.url)
    found = b.source_file("x.tar.gz", sha, Log())
    assert found == b.source_path("x.tar.gz", sha) and found.read_bytes() == data
    assert b.source_file("y.tar.gz", "0" * 64, Log()) is None  # a miss everywhere


def test_a_local_source_the_remote_lacks_is_offered(tmp_path, store):
    a = cachelib.Cache(tmp_path / "a")  # filled without a remote
    data = b"orig" * 100
    sha = hashlib.sha256(data).hexdigest()
    tmp = a.tempdir("source-") / "o.tar.gz"
    tmp.write_bytes(data)
    a.add_source_file(tmp, "o.tar.gz", sha)
    a.remote = remotelib.Remote(store.url)
    assert a.source_file("o.tar.gz", sha, Log())
    assert store.blobs[f"cas/{sha}"] == data


def test_wheels_round_trip_by_name_and_as_a_set(tmp_path, store):
    a = runner(tmp_path, "a", store.url)
    made = []
    for name in ("click-8.1.7-py3-none-any.whl", "pyzmq-25.1.2-cp311-cp311-linux_x86_64.whl"):
        tmp = a.tempdir("wheels-") / name
        tmp.write_bytes(name.encode() * 50)
        made.append(a.add_wheel(tmp, Log()))
    assert (made[0].parent / (made[0].name + ".sha256")).read_text().strip() == \
        storefiles.sha256_file(made[0])
    a.offer_wheel_set("req-key", made, Log())

    b = runner(tmp_path, "b", store.url)
    got = b.wheel_file("click-8.1.7-py3-none-any.whl", log=Log())
    assert got.read_bytes() == made[0].read_bytes()
    assert (got.parent / (got.name + ".sha256")).is_file()
    c = runner(tmp_path, "c", store.url)
    paths = c.wheel_set("req-key", Log())
    assert [p.name for p in paths] == sorted(p.name for p in made)
    assert c.wheel_set("other-key", Log()) is None
    # a wheel built again with other bytes does not replace the published one
    tmp = c.tempdir("wheels-") / made[0].name
    tmp.write_bytes(b"rebuilt")
    log = Log()
    c.add_wheel(tmp, log)
    record = json.loads(store.blobs[remotelib.record_path("wheel", made[0].name)])
    assert record["sha256"] == storefiles.sha256_file(made[0])
    assert any("another build" in w for w in log.written)


def test_wheel_names_are_file_names(tmp_path):
    with pytest.raises(Exception, match="not a .whl file name"):
        cachelib.Cache(tmp_path).wheel_file("../../etc/passwd.whl")


# ---------------------------------------------------------------- faults

def test_remote_down_costs_nothing_and_is_reported_once(tmp_path):
    b = runner(tmp_path, "b", refused_url())
    log = Log()
    start = time.monotonic()
    with b.lock("interpreter-k"):
        assert entries.fetch_interpreter(b, "0" * 32, log) is False
    assert b.source_file("x.tar.gz", "1" * 64, log) is None
    assert b.wheel_file("a-1-py3-none-any.whl", log=log) is None
    assert time.monotonic() - start < 2
    assert len(log.warned) == 1, log.warned
    assert "connection refused" in log.warned[0] and "going on without it" in log.warned[0]
    assert local_state(b) == ([], [])


def test_remote_hanging_times_out_once(tmp_path):
    server = Hanging()
    try:
        b = runner(tmp_path, "b", server.url, timeout=1.0)
        log = Log()
        start = time.monotonic()
        with b.lock("interpreter-k"):
            assert entries.fetch_interpreter(b, "0" * 32, log) is False
        assert b.source_file("x.tar.gz", "1" * 64, log) is None
        elapsed = time.monotonic() - start
        assert 0.9 < elapsed < 3, elapsed
        assert len(log.warned) == 1 and "no answer within 1 s" in log.warned[0]
        assert local_state(b)[0] == []
    finally:
        server.stop()


def _published(tmp_path, store):
    a = runner(tmp_path, "a", store.url)
    key = make_entry(a)
    entries.offer_interpreter(a, key, Log())
    record = json.loads(store.blobs[remotelib.record_path("interpreter", key)])
    return key, record


def _fetch_fails(tmp_path, store, key, match):
    b = runner(tmp_path, "b", store.url)
    log = Log()
    with b.lock(f"interpreter-{key}"):
        assert entries.fetch_interpreter(b, key, log) is False
    assert len(log.warned) == 1 and match in log.warned[0], log.warned
    assert "discarded, building it here" in log.warned[0]
    assert local_state(b) == ([], [])
    return b


def test_corrupted_blob_is_discarded(tmp_path, store):
    key, record = _published(tmp_path, store)
    blob = bytearray(store.blobs[f"cas/{record['blob']}"])
    blob[len(blob) // 2] ^= 0xFF
    store.blobs[f"cas/{record['blob']}"] = bytes(blob)
    b = _fetch_fails(tmp_path, store, key, "does not match its name")
    entries.offer_interpreter(b, key, Log())  # b has nothing: nothing is published
    assert store.blobs[f"cas/{record['blob']}"] == bytes(blob)


def test_consistently_forged_entry_fails_its_manifest(tmp_path, store):
    """A blob that hashes to its (rewritten) record but whose files were changed after the
    manifest was made: caught by the manifest, as a damaged local entry is."""
    key, record = _published(tmp_path, store)
    work = tmp_path / "forge"
    blob = tmp_path / "blob.tar.gz"
    blob.write_bytes(store.blobs[f"cas/{record['blob']}"])
    archive.unpack_entry(blob, work)
    target = work / "payload/tree/bin/python3.11"
    target.chmod(0o755)
    target.write_bytes(b"\x7fELF" + b"y" * 5000)
    out = io.BytesIO()
    archive.pack_entry(work, out)
    forged = hashlib.sha256(out.getvalue()).hexdigest()
    store.blobs[f"cas/{forged}"] = out.getvalue()
    store.blobs[remotelib.record_path("interpreter", key)] = json.dumps(
        dict(record, blob=forged, size=len(out.getvalue()))).encode()
    _fetch_fails(tmp_path, store, key,
                 "does not match its manifest (tree/bin/python3.11 has other content")


def test_entry_of_another_key_is_refused(tmp_path, store):
    key, record = _published(tmp_path, store)
    other = "f" * 32
    store.blobs[remotelib.record_path("interpreter", other)] = json.dumps(record).encode()
    _fetch_fails(tmp_path, store, other, f"its recipe is that of entry {key}")


def test_truncated_transfer_is_discarded(tmp_path, store):
    key, record = _published(tmp_path, store)
    store.truncate.add(f"cas/{record['blob']}")
    _fetch_fails(tmp_path, store, key, "broke off")


def test_garbage_record_is_discarded(tmp_path, store):
    store.blobs[remotelib.record_path("interpreter", "a" * 32)] = b"<html>proxy error</html>"
    _fetch_fails(tmp_path, store, "a" * 32, "record for " + "a" * 32 + " is not JSON")


def test_one_503_is_retried(tmp_path, store):
    key, _ = _published(tmp_path, store)
    store.fail_once.add(remotelib.record_path("interpreter", key))
    b = runner(tmp_path, "b", store.url)
    log = Log()
    with b.lock(f"interpreter-{key}"):
        assert entries.fetch_interpreter(b, key, log) is True
    assert not log.warned and intact(b, key)


def test_403_on_put_is_reported_once_and_reading_goes_on(tmp_path, store):
    key, _ = _published(tmp_path, store)
    store.deny_put = True
    c = runner(tmp_path, "c", store.url)
    other = make_entry(c, tag="other")
    log = Log()
    entries.offer_interpreter(c, other, log)
    data = b"src"
    tmp = c.tempdir("source-") / "s.tar.gz"
    tmp.write_bytes(data)
    c.add_source_file(tmp, "s.tar.gz", hashlib.sha256(data).hexdigest(), log)
    assert len(log.warned) == 1 and "HTTP 403 on upload" in log.warned[0]
    assert "not publishing to it" in log.warned[0]
    assert len(store.methods("PUT")) == 3  # the two of _published, then one refused
    with c.lock(f"interpreter-{key}"):
        assert entries.fetch_interpreter(c, key, log) is True  # reading still works
    assert intact(c, key) and intact(c, other)


def test_read_only_never_writes(tmp_path, store):
    a = runner(tmp_path, "a", store.url, readonly=True)
    key = make_entry(a)
    entries.offer_interpreter(a, key, Log())
    data = b"src"
    tmp = a.tempdir("source-") / "s.tar.gz"
    tmp.write_bytes(data)
    a.add_source_file(tmp, "s.tar.gz", hashlib.sha256(data).hexdigest(), Log())
    assert store.requests == []
    assert "read-only" in a.remote.probe() and store.methods("PUT") == []


def test_a_damaged_local_entry_is_not_published(tmp_path, store):
    a = runner(tmp_path, "a", store.url)
    key = make_entry(a)
    (a.path("interpreters", key) / "payload/tree/bin/python3.11").write_bytes(b"cut")
    log = Log()
    entries.offer_interpreter(a, key, log)
    assert store.methods("PUT") == []
    assert len(log.warned) == 1 and "does not match its manifest" in log.warned[0]


# ---------------------------------------------------------------- credentials, URLs

def test_credentials_from_the_url_are_sent_and_never_shown(tmp_path, store):
    url = store.url.replace("http://", "http://ci:s3cret@")
    r = remotelib.Remote(url)
    assert "s3cret" not in r.label and r.label == store.url
    r.exists("cas/" + "0" * 64)
    auth = store.requests[-1][2].get("Authorization")
    assert base64.b64decode(auth.split()[1]) == b"ci:s3cret"


def test_credentials_from_netrc(tmp_path, store):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login runner password t0ken\n")
    netrc.chmod(0o600)
    r = remotelib.Remote(store.url, netrc_file=str(netrc))
    r.exists("cas/" + "0" * 64)
    auth = store.requests[-1][2].get("Authorization")
    assert base64.b64decode(auth.split()[1]) == b"runner:t0ken"
    assert "Authorization" not in remotelib.Remote(store.url, netrc_file=str(tmp_path / "none")
                                                   ).headers


def test_not_an_http_url_is_a_usage_error():
    with pytest.raises(UsageError, match="is not an http"):
        remotelib.Remote("ftp://user:pw@host/x")
    with pytest.raises(UsageError) as err:
        remotelib.Remote("file:///srv/cache")
    assert "pw" not in str(err.value)


def test_probe_says_whether_the_remote_answers(store):
    assert remotelib.Remote(store.url).probe().startswith("answers (")
    assert "accepts uploads" in remotelib.Remote(store.url).probe()
    assert remotelib.Remote(refused_url()).probe() == (
        "does not answer: connection refused (is the cache server running?)")


# ---------------------------------------------------------------- the docs say what is tested

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_ci_recipes_use_the_remote_cache_and_write_only_from_main():
    import re
    text = (DOCS / "publishing.md").read_text()
    groovy = re.search(r"```groovy\n(.*?)```", text, re.S).group(1)
    gitlab = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    for recipe in (groovy, gitlab):
        assert "DH_PYRPATH_REMOTE_CACHE:" in recipe or "DH_PYRPATH_REMOTE_CACHE =" in recipe
        assert "export DH_PYRPATH_REMOTE_CACHE_READONLY=1" in recipe
        assert re.search(r'export DH_PYRPATH_REMOTE_CACHE="https://\$\{?CACHE_', recipe) or \
            re.search(r'export DH_PYRPATH_REMOTE_CACHE="https://ci:\$\{CACHE_TOKEN\}@', recipe)


def test_cache_doc_gives_the_nginx_location_the_tests_run():
    from cache_servers import NGINX_CONF
    text = (DOCS / "cache.md").read_text()
    nginx = text[text.index("```nginx"):]
    for directive in ("dav_methods PUT;", "create_full_put_path on;", "client_max_body_size 0;",
                      "limit_except GET HEAD {"):
        assert directive in nginx and directive in NGINX_CONF
    assert "--disable_http_ac_validation" in text
    for sub in ("interpreters", "sources", "wheels", "locks", "tmp", "pip"):
        assert f"`{sub}/`" in text
