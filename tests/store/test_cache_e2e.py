"""The shared cache for real: warm rebuilds skip the CPython build, one entry serves any prefix,
concurrent builds build once, a damaged entry is rebuilt, the wheel cache makes builds offline."""
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import HOST_XY, REPO, SUITE_CACHE, build_env, copy_source, dh_pyrpath, run

pytestmark = pytest.mark.e2e
EXAMPLE = REPO / "examples" / "hello-service"
LOG = Path("debian/.debhelper/dh_pyrpath/hello-service/build.log")


def configure_ran(log_text):
    return bool(re.search(r"^\$ \S*/configure --prefix=", log_text, re.M)) or \
        bool(re.search(r"^\$ make -j\d", log_text, re.M))


def test_warm_rebuild_does_not_build_cpython(suite_cache, tmp_path):
    src = copy_source(EXAMPLE, tmp_path)
    dh_pyrpath(cwd=src, check=True)  # warms the cache if this test runs first
    shutil.rmtree(src / "debian" / "hello-service")
    out = dh_pyrpath(cwd=src, check=True).stdout
    log = (src / LOG).read_text()
    assert f"interpreter: cached CPython {HOST_XY}." in out
    assert not configure_ran(log), "a warm build ran configure or make"
    prefix = src / "debian/hello-service/opt/hello-service"
    run([str(prefix / f"bin/python{HOST_XY}"), "-c", "import zmq, click, hello_service.cli"])


def test_offline_build_from_the_wheel_cache(suite_cache, tmp_path):
    src = copy_source(EXAMPLE, tmp_path)
    dh_pyrpath(cwd=src, check=True)  # everything it needs is now in the wheel cache
    shutil.rmtree(src / "debian" / "hello-service")
    offline = {"PIP_CONFIG_FILE": "/dev/null", "PIP_FIND_LINKS": None, "PIP_INDEX_URL": None,
               "PIP_EXTRA_INDEX_URL": None, "PIP_RETRIES": "0", "PIP_TIMEOUT": "3"}
    proc = dh_pyrpath("--index-url=http://127.0.0.1:9/simple", cwd=src, env=offline)
    assert proc.returncode == 0, proc.stdout
    log = (src / LOG).read_text()
    deps = log.split("=== install deps:", 1)[1].split("\n=== ", 1)[0]
    install = next(l for l in deps.splitlines() if l.startswith("$ ") and " install " in l)
    assert "--no-index" in install, install  # the pinned files came from the cache
    assert "Looking in indexes" not in log  # pip never consulted an index
    assert (src / "debian/hello-service/opt/hello-service/bin/hello-service").is_file()


def test_no_writable_cache_is_a_notice_not_a_failure(tmp_path):
    src = copy_source(EXAMPLE, tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    proc = dh_pyrpath(f"--python-source={tmp_path}/gone.tgz", "--python-sha256=" + "a" * 64,
                      cwd=src, env={"DH_PYRPATH_CACHE_DIR": str(blocker / "cache")})
    lines = proc.stdout.splitlines()
    assert any("no writable cache directory" in l and "building without a cache" in l for l in lines)
    assert proc.returncode == 1 and "gone.tgz not found" in proc.stdout


@pytest.fixture(scope="module")
def cold_cache(tmp_path_factory, suite_cache):
    """A cache of its own (so its interpreter build is really cold), seeded with the suite's
    source tarball and wheels so that the test needs no download. Its builds use the cheap
    recipe (DEB_BUILD_OPTIONS=noopt: no PGO): what they prove is the cache's behaviour."""
    root = tmp_path_factory.mktemp("cold") / "cache"
    for sub in ("sources", "wheels"):
        if (SUITE_CACHE / sub).is_dir():
            shutil.copytree(SUITE_CACHE / sub, root / sub)
    return root


def start(src, cache, *args):
    env = build_env(PYTHONPATH=str(REPO), DH_PYRPATH_CACHE_DIR=str(cache),
                    DEB_BUILD_OPTIONS="noopt")
    return subprocess.Popen(["/usr/bin/python3", "-m", "dh_pyrpath", *args], cwd=src, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_concurrent_builds_build_once_and_share_across_prefixes(cold_cache, tmp_path):
    a = copy_source(EXAMPLE, tmp_path / "a")
    b = copy_source(EXAMPLE, tmp_path / "b")
    procs = [start(a, cold_cache, "--install-root=/srv/one"),
             start(b, cold_cache, "--install-root=/srv/two")]
    outs = [p.communicate(timeout=1800)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    logs = [(s / LOG).read_text() for s in (a, b)]
    assert sum(configure_ran(l) for l in logs) == 1, "CPython was built twice"
    assert sum("interpreter: cached CPython" in o for o in outs) == 1
    assert len(list((cold_cache / "interpreters").iterdir())) == 1
    for src, prefix in ((a, "/srv/one"), (b, "/srv/two")):
        tree = src / "debian/hello-service" / prefix.lstrip("/") / "hello-service"
        info = json.loads((tree / "share/dh-pyrpath/build-info.json").read_text())
        assert info["prefix"] == f"{prefix}/hello-service"
        sysconfig = next((tree / f"lib/python{HOST_XY}").glob("_sysconfigdata_*.py")).read_text()
        assert f"'prefix': '{prefix}/hello-service'" in sysconfig
        assert (tree / "bin/hello-service").read_text().startswith(
            f"#!{prefix}/hello-service/bin/python{HOST_XY} -I\n")


def test_damaged_entry_is_rebuilt_never_used(cold_cache, tmp_path):
    entries = list((cold_cache / "interpreters").iterdir())
    if not entries:  # run alone: make the entry first
        src0 = copy_source(EXAMPLE, tmp_path / "first")
        assert start(src0, cold_cache).wait(timeout=1800) == 0
        entries = list((cold_cache / "interpreters").iterdir())
    libpython = entries[0] / f"payload/tree/lib/libpython{HOST_XY}.so.1.0"
    with open(libpython, "r+b") as fh:
        fh.truncate(1024)
    src = copy_source(EXAMPLE, tmp_path / "c")
    proc = start(src, cold_cache)
    out = proc.communicate(timeout=1800)[0]
    assert proc.returncode == 0, out
    # the message names the file and what changed about it, in words
    assert re.search(r"cache entry \w+ is damaged, in \S+/payload: tree/lib/libpython"
                     + re.escape(HOST_XY) + r"\.so\.1\.0 has other content \(1024 bytes, \d+ "
                     r"recorded\): rebuilding it", out), out
    assert configure_ran((src / LOG).read_text())
    assert libpython.stat().st_size > 1024 * 1024
    run([str(src / f"debian/hello-service/opt/hello-service/bin/python{HOST_XY}"), "-c",
         "import ssl"])


def test_cache_info_and_prune(tmp_path):
    cache = tmp_path / "cache"
    old, new = time.time() - 40 * 86400, time.time()
    for key, stamp in (("old0", old), ("new0", new)):
        payload = cache / "interpreters" / key / "payload"
        payload.mkdir(parents=True)
        (payload / "info.json").write_text(json.dumps({"version": "3.11.2", "source": "x"}))
        (payload / "blob").write_bytes(b"x" * 1000)
        used = cache / "interpreters" / key / "last-used"
        used.write_text("")
        os.utime(used, (stamp, stamp))
    (cache / "wheels").mkdir()
    for name, stamp in (("old-1.0-py3-none-any.whl", old), ("new-1.0-py3-none-any.whl", new)):
        (cache / "wheels" / name).write_bytes(b"w" * 10)
        os.utime(cache / "wheels" / name, (stamp, stamp))
    for key, stamp in (("aa01", old), ("aa02", old), ("bb01", new)):  # compiled modules
        (cache / "bytecode" / key[:2]).mkdir(parents=True, exist_ok=True)
        (cache / "bytecode" / key[:2] / key).write_bytes(b"c" * 100)
        os.utime(cache / "bytecode" / key[:2] / key, (stamp, stamp))
    env = {"DH_PYRPATH_CACHE_DIR": str(cache)}
    info = dh_pyrpath("--cache-info", cwd=tmp_path, env=env, check=True).stdout
    assert re.search(r"interpreter\s+0\.0 MB .*old0 CPython 3\.11\.2", info)
    assert "new-1.0-py3-none-any.whl" in info and re.search(r"^total\s+", info, re.M)
    assert re.search(r"^bytecode\s+0\.0 MB\s+bytecode/$", info, re.M), info  # one row
    out = dh_pyrpath("--cache-prune", "--max-age=30", cwd=tmp_path, env=env, check=True).stdout
    assert "old0" in out and "old-1.0" in out and "new0" not in out
    assert re.search(r"removed\s+bytecode\s+0\.0 MB\s+bytecode/ \(2 modules\)$", out, re.M), out
    assert sorted(p.name for p in (cache / "interpreters").iterdir()) == ["new0"]
    assert [p.name for p in (cache / "wheels").iterdir()] == ["new-1.0-py3-none-any.whl"]
    assert [p.name for p in (cache / "bytecode").rglob("*") if p.is_file()] == ["bb01"]


# ---------------------------------------------------------------- a build host's shared cache

GROUP, USERS = "dh-pyrpath", ("pyrpath-a", "pyrpath-b")


def _host(cmd):
    return run(cmd, env=build_env())


@pytest.fixture(scope="module")
def shared_host(tmp_path_factory):
    """Two users in group dh-pyrpath, and a cache set up as docs/cache.md says (root-owned,
    group dh-pyrpath, setgid, group-writable), in a directory both may reach."""
    if os.geteuid() != 0:
        pytest.skip("creating users needs root")
    for user in USERS:
        subprocess.run(["userdel", "-r", user], stderr=subprocess.DEVNULL)
    made_group = subprocess.run(["getent", "group", GROUP], stdout=subprocess.DEVNULL
                                ).returncode != 0
    if made_group:
        _host(["groupadd", GROUP])
    base = Path(tempfile.mkdtemp(prefix="dh-pyrpath-shared-", dir="/var/tmp"))
    base.chmod(0o755)
    try:
        for user in USERS:
            _host(["useradd", "--create-home", "--home-dir", str(base / f"home-{user}"),
                   "--groups", GROUP, "--shell", "/bin/sh", user])
        cache = base / "cache"
        cache.mkdir()
        shutil.chown(cache, "root", GROUP)
        cache.chmod(0o2775)
        _readable_code(base / "code")
        yield base, cache
    finally:
        for user in USERS:
            subprocess.run(["userdel", "-r", user], stderr=subprocess.DEVNULL)
        if made_group:
            subprocess.run(["groupdel", GROUP])
        shutil.rmtree(base, ignore_errors=True)


def _readable_code(code):
    """What the test users run, copied where they may read it: the checkout may be anywhere,
    /root (mode 0700) included."""
    shutil.copytree(REPO / "dh_pyrpath", code / "dh_pyrpath",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for helper in ("cache_servers.py", "store/test_remote.py"):
        shutil.copy(REPO / "tests" / helper, code / Path(helper).name)
    for dirpath, dirnames, filenames in os.walk(code):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


def as_user(user, umask, cmd, cwd, env, base):
    """Run `cmd` as `user` (with its groups) under `umask`, with the code shared_host copied
    for the test users under `base`."""
    home = Path(pwd.getpwnam(user).pw_dir)
    full = build_env(HOME=str(home), USER=user, LOGNAME=user, PYTHONPATH=str(base / "code"),
                     **env)
    return subprocess.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups",
                           "sh", "-c", f'umask {umask}; exec "$@"', "sh", *cmd],
                          cwd=cwd, env=full, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=1800)


SNIPPET_A = """
import sys
from pathlib import Path
from dh_pyrpath.store import entries, location
from test_remote import make_entry
c = location.open_cache(Path(sys.argv[1]))
with c.lock("interpreter-x"):
    key = make_entry(c, tag="shared")
entries.touch_last_used(c.path("interpreters", key))
print(key)
"""
SNIPPET_B = """
import sys
from pathlib import Path
from dh_pyrpath.store import entries, location
from dh_pyrpath.store import files as storefiles
from test_remote import intact, make_entry
c = location.open_cache(Path(sys.argv[1]))
key = sys.argv[2]
entry = c.path("interpreters", key)
with c.lock("interpreter-x"):          # the lock file user A created
    if not intact(c, key):             # damaged: B discards A's entry and publishes its own
        storefiles.discard(entry)
        assert make_entry(c, tag="shared") == key
    entries.touch_last_used(entry)
    assert intact(c, key)
print("ok")
"""


def test_two_users_share_entries_locks_and_stamps(shared_host):
    base, cache = shared_host
    a = as_user(USERS[0], "077", ["/usr/bin/python3", "-c", SNIPPET_A, str(cache)], base, {},
                base)
    assert a.returncode == 0, a.stdout
    key = a.stdout.split()[-1]
    entry = cache / "interpreters" / key
    assert pwd.getpwuid(entry.stat().st_uid).pw_name == USERS[0]
    lock = cache / "locks" / "interpreter-x.lock"
    assert pwd.getpwuid(lock.stat().st_uid).pw_name == USERS[0]
    b = as_user(USERS[1], "022", ["/usr/bin/python3", "-c", SNIPPET_B, str(cache), key], base, {},
                base)
    assert b.returncode == 0, b.stdout
    # A's entry, damaged: B cannot empty A's directories, so it moves the entry aside and
    # publishes its own; A's prune (or root's) removes what was moved aside
    with open(next((entry / "payload/tree/bin").glob("python3.*[0-9]")), "r+b") as fh:
        fh.truncate(10)
    b = as_user(USERS[1], "022", ["/usr/bin/python3", "-c", SNIPPET_B, str(cache), key], base, {},
                base)
    assert b.returncode == 0, b.stdout
    assert pwd.getpwuid(entry.stat().st_uid).pw_name == USERS[1]
    aside = list((cache / "interpreters").glob(".discarded-*"))
    assert len(aside) == 1 and pwd.getpwuid(aside[0].stat().st_uid).pw_name == USERS[0]
    prune = as_user(USERS[0], "022", ["/usr/bin/python3", "-m", "dh_pyrpath", "--cache-prune",
                                      "--max-age=30"], base, {"DH_PYRPATH_CACHE_DIR": str(cache)},
                    base)
    assert prune.returncode == 0 and "discarded" in prune.stdout, prune.stdout
    assert not list((cache / "interpreters").glob(".discarded-*"))


def test_second_user_builds_from_the_first_users_cache(shared_host, suite_cache, tmp_path):
    """User A (umask 077, an empty shared cache) takes the interpreter from a remote cache
    seeded from the suite's entry; user B then builds the example from the shared cache alone:
    no CPython build, no download, the same tree."""
    from cache_servers import Nginx
    from test_remote import Log
    from dh_pyrpath.store import cache as cachelib, entries, files as storefiles
    from dh_pyrpath.store import remote as remotelib
    base, cache = shared_host
    server = Nginx(tmp_path)
    try:
        suite = cachelib.Cache(suite_cache, remote=remotelib.Remote(server.url()))
        for entry in suite.interpreter_entries():
            with suite.lock(f"interpreter-{entry.name}"):
                entries.offer_interpreter(suite, entry.name, Log())
        for path in sorted((suite_cache / "sources").glob("*")):
            sha, _, name = path.name.partition("-")
            suite.source_file(name, sha, Log())
        trees = {}
        # (the module's other tests leave entries of their own in the shared cache)
        before = set((cache / "interpreters").glob("*"))  # none when this test runs alone
        for user, umask, remote in ((USERS[0], "077", server.url()), (USERS[1], "022", "")):
            src = copy_source(EXAMPLE, base / user)
            _host(["chown", "-R", f"{user}:{user}", str(base / user)])
            proc = as_user(user, umask, ["/usr/bin/python3", "-m", "dh_pyrpath"], src,
                           {"DH_PYRPATH_CACHE_DIR": str(cache),
                            "DH_PYRPATH_REMOTE_CACHE": remote or None}, base)
            assert proc.returncode == 0, proc.stdout
            log = (src / LOG).read_text()
            assert not configure_ran(log), f"{user} built CPython"
            trees[user] = src / "debian/hello-service/opt/hello-service"
            if remote:
                assert "remote cache: fetched interpreter" in proc.stdout, proc.stdout
            else:
                assert f"interpreter: cached CPython {HOST_XY}." in proc.stdout, proc.stdout
                assert "remote cache" not in proc.stdout and "apt-get source" not in log
    finally:
        server.stop()
    entries = sorted(set((cache / "interpreters").iterdir()) - before)
    assert len(entries) == 1, entries
    assert pwd.getpwuid(entries[0].stat().st_uid).pw_name == USERS[0]
    contents = [{rel: (kind, size, digest) for rel, (kind, _mode, size, digest)
                 in storefiles.tree_manifest(trees[user]).items()} for user in USERS]
    assert contents[0] == contents[1]


def documented_setup():
    """The shell lines of docs/cache.md's shared-cache set-up, between its markers."""
    text = (REPO / "docs" / "cache.md").read_text()
    block = text.split("<!-- shared-cache-setup -->", 1)[1].split("<!-- end shared-cache-setup",
                                                                  1)[0]
    body = block.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in body.splitlines() if line.split("#", 1)[0]]


def test_documented_conversion_keeps_the_interpreters(shared_host, suite_cache, tmp_path):
    """docs/cache.md's set-up, line by line, on root's own cache holding a real interpreter
    entry: then a user of the group builds the example from it with no CPython compile (the
    documented chmod -R used to discard every entry)."""
    base, _ = shared_host
    warm = copy_source(EXAMPLE, tmp_path / "warm")
    dh_pyrpath(cwd=warm, check=True)  # the suite's entry for the example (seconds when warm)
    key = json.loads((warm / "debian/hello-service/opt/hello-service/share/dh-pyrpath/"
                      "build-info.json").read_text())["interpreter_key"]
    home = base / "root-home"
    own = home / ".cache" / "dh-pyrpath"  # a per-user cache: root's modes, no group rights
    (own / "interpreters").mkdir(parents=True)
    home.chmod(0o700)
    run(["cp", "-a", str(suite_cache / "interpreters" / key), str(own / "interpreters")])
    for sub in ("sources", "wheels"):
        run(["cp", "-a", str(suite_cache / sub), str(own / sub)])
    shared = base / "var-cache-dh-pyrpath"
    lines = documented_setup()
    assert any(line.startswith("dh_pyrpath --cache-share") for line in lines), lines
    for line in lines:
        words = line.replace("~jenkins/.cache/dh-pyrpath", str(own)).replace(
            "/var/cache/dh-pyrpath", str(shared)).split()
        if words[0] in ("groupadd", "usermod"):
            continue  # shared_host made the group and put its users in it
        if words[0] == "dh_pyrpath":
            words = ["/usr/bin/python3", "-m", "dh_pyrpath", *words[1:]]
        out = run(words, env=build_env(PYTHONPATH=str(REPO))).stdout
        if "--cache-share" in words:
            assert "1 interpreter entries intact and kept" in out, out
    assert not own.exists() and (shared / "interpreters" / key).is_dir()
    src = copy_source(EXAMPLE, base / "convert" / USERS[1])
    _host(["chown", "-R", f"{USERS[1]}:{USERS[1]}", str(base / "convert")])
    env = {"DH_PYRPATH_CACHE_DIR": str(shared)}
    proc = as_user(USERS[1], "022", ["/usr/bin/python3", "-m", "dh_pyrpath"], src, env, base)
    assert proc.returncode == 0, proc.stdout
    assert f"interpreter: cached CPython {HOST_XY}." in proc.stdout, proc.stdout
    assert "is damaged" not in proc.stdout and not configure_ran((src / LOG).read_text())
    info = as_user(USERS[1], "022", ["/usr/bin/python3", "-m", "dh_pyrpath", "--cache-info"],
                   src, env, base)
    assert f"cache {shared} (shared with its group)" in info.stdout, info.stdout
    assert key in info.stdout
