"""Pure logic of the interpreter recipe: what goes into the cache key, flags, trimming, apt data."""
from pathlib import Path

from dh_pyrpath.python import cpython
from dh_pyrpath.python import recipe as recipelib
from dh_pyrpath.python import training
from dh_pyrpath.python import trim
from dh_pyrpath.store.files import sha256_file
from dh_pyrpath.python.sources import DebianPatches, Source
from dh_pyrpath.log import BuildLog

FACTS = {"version": "3.11.2", "bundled_libmpdec": True}


def rec(src=None, flags=None, keep=frozenset(), profile="pgo", tools=None, facts=FACTS):
    return recipelib.recipe(src or Source(Path("/x"), "ab" * 32, "x"), facts,
                              flags if flags is not None else {"CFLAGS": "-g"}, keep, profile,
                              tools if tools is not None else
                              {"arch": "x86_64", "gcc": "gcc 12", "libraries": ["libssl-dev=3"]})


def test_cache_key_covers_what_changes_the_bytes():
    key = recipelib.cache_key(rec())
    assert key == recipelib.cache_key(rec())
    variants = [
        rec(src=Source(Path("/x"), "cd" * 32, "x")),
        rec(flags={"CFLAGS": "-g -O0"}),
        rec(keep=frozenset({"test"})),
        rec(profile="optimize"),
        rec(profile="plain"),
        rec(tools={"arch": "x86_64", "gcc": "gcc 12", "libraries": ["libssl-dev=4"]}),
        rec(facts={"version": "3.15.0", "bundled_libmpdec": False}),
    ]
    assert len({key} | {recipelib.cache_key(v) for v in variants}) == 8
    assert rec()["training"] and rec(profile="plain")["training"] is None
    # the training's workload and the library it preloads (steady_files.c) are in the key
    assert all(sha256_file(f) in rec()["training"]
               for f in (training.TRAINING, training.STEADY_FILES))
    assert "--without-system-libmpdec" in rec()["configure"]
    assert "--with-system-libmpdec" in variants[-1]["configure"]


def test_the_key_names_only_libraries_that_can_change_the_bytes():
    """tk-dev and tcl-dev count only when tkinter is kept (configure is told not to build it
    otherwise); libdb-dev never (dbm is gdbm only); libmpdec-dev only where the source has no
    mpdecimal of its own; crypt's and nis's libraries only before 3.13, which removed them."""
    default = recipelib.libraries(FACTS, frozenset())
    assert "libssl-dev" in default and "libb2-dev" in default
    assert not {"tk-dev", "tcl-dev", "libdb-dev", "libmpdec-dev"} & set(default)
    assert {"tk-dev", "tcl-dev"} <= set(recipelib.libraries(FACTS, frozenset({"tkinter"})))
    assert "libnsl-dev" in default
    new = recipelib.libraries({"version": "3.13.5", "bundled_libmpdec": True}, frozenset())
    assert "libnsl-dev" not in new and "libcrypt-dev" not in new
    assert "libmpdec-dev" in recipelib.libraries({"version": "3.15.2",
                                                     "bundled_libmpdec": False}, frozenset())
    assert cpython.module_switches(frozenset()) == {"py_cv_module__tkinter": "n/a"}
    assert cpython.module_switches(frozenset({"tkinter"})) == {}


def test_profile_follows_the_options():
    assert recipelib.profile(optimize=False, noopt=False) == "pgo"
    assert recipelib.profile(optimize=True, noopt=False) == "optimize"
    assert recipelib.profile(optimize=True, noopt=True) == "plain"


def test_build_flags_keep_hardening_drop_paths_and_opt_levels(tmp_path, monkeypatch):
    monkeypatch.delenv("DEB_BUILD_OPTIONS", raising=False)
    log = BuildLog(str(tmp_path / "log"), "svc")
    flags = recipelib.build_flags(log, noopt=False)
    assert "-fstack-protector-strong" in flags["CFLAGS"]
    assert "prefix-map" not in flags["CFLAGS"] and "-O2" not in flags["CFLAGS"].split()
    monkeypatch.setenv("DEB_BUILD_OPTIONS", "noopt")  # dpkg-buildflags reads it too
    assert "-O0" in recipelib.build_flags(log, noopt=True)["CFLAGS"].split()
    log.close()


def test_trim_removes_what_servers_never_need_unless_kept(tmp_path):
    lib = tmp_path / "lib" / "python3.11"
    for rel in ("test/test_os.py", "idlelib/idle.py", "tkinter/__init__.py", "turtledemo/x.py",
                "unittest/test/test_case.py", "unittest/case.py", "json/__init__.py",
                "config-3.11-x86_64-linux-gnu/libpython3.11.a", "lib-dynload/_tkinter.so",
                "lib-dynload/_testcapi.so", "lib-dynload/_json.so", "json/__pycache__/x.opt-1.pyc",
                "json/__pycache__/x.cpython-311.pyc"):
        (lib / rel).parent.mkdir(parents=True, exist_ok=True)
        (lib / rel).write_text("")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "idle3.11").write_text("")
    trim.trim(tmp_path, "3.11", frozenset({"tkinter"}))
    left = sorted(str(p.relative_to(lib)) for p in lib.rglob("*") if p.is_file())
    assert left == ["json/__init__.py", "json/__pycache__/x.cpython-311.pyc",
                    "lib-dynload/_json.so", "lib-dynload/_tkinter.so", "tkinter/__init__.py",
                    "unittest/case.py"]
    assert not (tmp_path / "bin" / "idle3.11").exists()


def test_builtin_modules_are_part_of_the_key_and_keep_json_shared():
    assert rec()["builtin"] == list(recipelib.BUILTIN_MODULES)
    assert "math" in rec()["builtin"] and "_json" not in rec()["builtin"]


def test_the_debian_tarball_keys_the_interpreter():
    src = Source(Path("/x"), "ab" * 32, "x")
    patched = Source(Path("/x"), "ab" * 32, "x",
                     DebianPatches(Path("/d"), "cd" * 32, "python3.11 3.11.2-6"))
    assert len({recipelib.cache_key(rec(src=s)) for s in (src, patched)}) == 2


def _entry(root, key, version, revision, libraries):
    """An interpreter entry's payload as --cache-info reads it (info.json, recipe.json)."""
    import json
    payload = root / key / "payload"
    payload.mkdir(parents=True)
    package = f"python{version.rsplit('.', 1)[0]}"
    (payload / "info.json").write_text(json.dumps({
        "version": version, "source": f"{package}_{version}.orig.tar.gz (Debian {package} "
        f"{revision})", "debian_package": package, "debian_revision": revision,
        "debian_patches": ["a.diff"], "profile": "pgo"}))
    (payload / "recipe.json").write_text(json.dumps({
        "recipe": 14, "python": version, "toolchain": {
            "arch": "x86_64", "gcc": "gcc (Debian 12.2.0-14+deb12u1) 12.2.0",
            "libraries": libraries, "tools": ["make=4.3-4.1"]}}))
    return root / key


def test_cache_info_tells_alike_entries_apart(tmp_path):
    """Two entries of one CPython and revision differ in the build host's -dev packages:
    --cache-info says which (they used to read the same)."""
    from dh_pyrpath.python import interpreter
    a = _entry(tmp_path, "a" * 32, "3.11.2", "3.11.2-6+deb12u8",
               ["libssl-dev=3.0.17-1~deb12u2", "zlib1g-dev=1:1.2.13.dfsg-1"])
    b = _entry(tmp_path, "b" * 32, "3.11.2", "3.11.2-6+deb12u8",
               ["libssl-dev=3.0.15-1~deb12u1", "zlib1g-dev=1:1.2.13.dfsg-1"])
    c = _entry(tmp_path, "c" * 32, "3.13.5", "3.13.5-2+deb13u5", ["libssl-dev=3.5.1-1"])
    names = interpreter.describe_entries([a, b, c])
    assert names[a].startswith("a" * 32 + " CPython 3.11.2 (Debian python3.11 3.11.2-6+deb12u8")
    assert names[a].endswith("; built with libssl-dev=3.0.17-1~deb12u2")
    assert names[b].endswith("; built with libssl-dev=3.0.15-1~deb12u1")
    assert "built with" not in names[c] and "CPython 3.13.5" in names[c]
    (c / "payload" / "info.json").unlink()
    assert interpreter.describe_entries([c])[c] == "c" * 32 + " (incomplete)"
