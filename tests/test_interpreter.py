"""Pure logic of the interpreter recipe: what goes into the cache key, flags, trimming, apt data."""
from pathlib import Path

import pytest

from dh_pyrpath import interpreter, sources
from dh_pyrpath.errors import PyrpathError
from dh_pyrpath.sources import DebianPatches, Source
from dh_pyrpath.log import BuildLog

SHOWSRC = """\
Package: python3.11
Version: 3.11.2-6+deb12u5
Checksums-Sha256:
 aaaa 3805 python3.11_3.11.2-6+deb12u5.dsc
 1111 26437858 python3.11_3.11.2.orig.tar.gz
 bbbb 279556 python3.11_3.11.2-6+deb12u5.debian.tar.xz

Package: python3.11
Version: 3.11.2-6+deb12u8
Checksums-Sha256:
 cccc 3805 python3.11_3.11.2-6+deb12u8.dsc
 2222 26437858 python3.11_3.11.2.orig.tar.gz
 dddd 279556 python3.11_3.11.2-6+deb12u8.debian.tar.xz
"""


def test_newest_orig_from_apt_data():
    assert sources.newest_orig(SHOWSRC) == ("3.11.2-6+deb12u8", "python3.11_3.11.2.orig.tar.gz", "2222")
    assert sources.newest_orig("Package: x\nVersion: 1\n") is None


def test_cache_key_covers_what_changes_the_bytes():
    src = Source(Path("/x"), "ab" * 32, "x")
    tools = {"arch": "x86_64", "gcc": "gcc 12", "libraries": ["libssl-dev=3"]}
    base = interpreter.recipe(src, {"CFLAGS": "-g"}, frozenset(), False, tools)
    key = interpreter.cache_key(base)
    assert key == interpreter.cache_key(interpreter.recipe(src, {"CFLAGS": "-g"}, frozenset(), False, tools))
    variants = [
        interpreter.recipe(Source(Path("/x"), "cd" * 32, "x"), {"CFLAGS": "-g"}, frozenset(), False, tools),
        interpreter.recipe(src, {"CFLAGS": "-g -O0"}, frozenset(), False, tools),
        interpreter.recipe(src, {"CFLAGS": "-g"}, frozenset({"test"}), False, tools),
        interpreter.recipe(src, {"CFLAGS": "-g"}, frozenset(), True, tools),
        interpreter.recipe(src, {"CFLAGS": "-g"}, frozenset(), False, {**tools, "libraries": ["libssl-dev=4"]}),
    ]
    assert len({key} | {interpreter.cache_key(v) for v in variants}) == 6
    assert "--enable-optimizations" in variants[3]["configure"] and "--with-lto" in variants[3]["configure"]


def test_build_flags_keep_hardening_drop_paths_and_opt_levels(tmp_path, monkeypatch):
    monkeypatch.delenv("DEB_BUILD_OPTIONS", raising=False)
    log = BuildLog(str(tmp_path / "log"), "svc")
    flags = interpreter.build_flags(log, noopt=False)
    assert "-fstack-protector-strong" in flags["CFLAGS"]
    assert "prefix-map" not in flags["CFLAGS"] and "-O2" not in flags["CFLAGS"].split()
    monkeypatch.setenv("DEB_BUILD_OPTIONS", "noopt")  # dpkg-buildflags reads it too
    assert "-O0" in interpreter.build_flags(log, noopt=True)["CFLAGS"].split()
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
    interpreter.trim(tmp_path, "3.11", frozenset({"tkinter"}))
    left = sorted(str(p.relative_to(lib)) for p in lib.rglob("*") if p.is_file())
    assert left == ["json/__init__.py", "json/__pycache__/x.cpython-311.pyc",
                    "lib-dynload/_json.so", "lib-dynload/_tkinter.so", "tkinter/__init__.py",
                    "unittest/case.py"]
    assert not (tmp_path / "bin" / "idle3.11").exists()


def test_orig_of_a_pinned_version():
    assert sources.newest_orig(SHOWSRC, "3.11.2-6+deb12u5") == (
        "3.11.2-6+deb12u5", "python3.11_3.11.2.orig.tar.gz", "1111")
    assert sources.newest_orig(SHOWSRC, "3.11.9-1") is None


def _modules_dir(tmp_path, setup, bootstrap):
    modules = tmp_path / "Modules"
    modules.mkdir()
    (modules / "Setup").write_text(setup)
    (modules / "Setup.bootstrap.in").write_text(bootstrap)
    return tmp_path


def test_setup_local_copies_the_sources_own_lines_for_plain_c_modules(tmp_path):
    src = _modules_dir(tmp_path, """\
# The file Setup is used by the makesetup script
#math mathmodule.c
#_json _json.c
#_sha2 sha2module.c -I$(srcdir)/Modules/_hacl/include Modules/_hacl/libHacl_Hash_SHA2.a
#zlib  zlibmodule.c -lz
#_lsprof _lsprof.c rotatingtree.c
#_typing _typingmodule.c
""", "*static*\natexit atexitmodule.c\n_typing _typingmodule.c\n@MODULE_PWD_TRUE@pwd pwdmodule.c\n")
    text = interpreter.setup_local(src, ["math", "_sha2", "zlib", "_lsprof", "_typing", "pwd",
                                         "_nosuch"])
    # include paths or libraries: stays shared; built in already, or unknown here: left out
    assert text == "math mathmodule.c\n_lsprof _lsprof.c rotatingtree.c\n"
    assert interpreter.setup_local(src, []) == ""


def test_builtin_modules_are_part_of_the_key_and_keep_json_shared():
    src = Source(Path("/x"), "ab" * 32, "x")
    rec = interpreter.recipe(src, {"CFLAGS": "-g"}, frozenset(), False, {})
    assert rec["builtin"] == list(interpreter.BUILTIN_MODULES)
    assert "math" in rec["builtin"] and "_json" not in rec["builtin"]


def test_stack_protector_follows_debians_python_build():
    assert interpreter._stack_protector({"CFLAGS": "-g -fstack-protector-strong -Wformat"}) == \
        " -fstack-protector"
    # hardening=-stackprotector: nothing is added back
    assert interpreter._stack_protector({"CFLAGS": "-g -Wformat"}) == ""


def _headers(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / "Include" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_dynamic_list_keeps_exactly_the_public_data_preemptible(tmp_path):
    src = _headers(tmp_path, {
        "pyport.h": "#define PyAPI_DATA(RTYPE) extern Py_EXPORTED_SYMBOL RTYPE\n"
                    "/* PyAPI_DATA(int) InAComment; */\n",
        "floatobject.h": "PyAPI_DATA(PyTypeObject) PyFloat_Type;\n"
                         "PyAPI_FUNC(double) PyFloat_AsDouble(PyObject *);\n",
        "object.h": "PyAPI_DATA(PyObject) _Py_NoneStruct; /* Don't use this directly */\n",
        "pyerrors.h": "PyAPI_DATA(PyObject *) PyExc_TypeError;\n",
        "pyctype.h": "PyAPI_DATA(const unsigned int) _Py_ctype_table[256];\n",
        "cpython/pythonrun.h": "PyAPI_DATA(int) (*PyOS_InputHook)(void);\n"
                               "PyAPI_DATA(char) *(*PyOS_ReadlineFunctionPointer)(FILE *, FILE *,\n"
                               "                                               const char *);\n",
        "cpython/pyframe.h": "PyAPI_DATA(const PyTypeObject *) const PyUnstable_ExecutableKinds[\n"
                             "    PyUnstable_EXECUTABLE_KINDS+1];\n",
        # a function declared with the data macro (CPython 3.11's cpython/ceval.h does this)
        "cpython/ceval.h": "PyAPI_DATA(int) _PyEval_SetProfile(PyThreadState *tstate, "
                           "Py_tracefunc func, PyObject *arg);\n",
        "internal/pycore_runtime.h": "PyAPI_DATA(_PyRuntimeState) _PyRuntime;\n",
    })
    assert interpreter.public_data_names(src) == {
        "PyFloat_Type", "_Py_NoneStruct", "PyExc_TypeError", "_Py_ctype_table", "PyOS_InputHook",
        "PyOS_ReadlineFunctionPointer", "PyUnstable_ExecutableKinds"}
    text = interpreter.dynamic_list(src)
    assert text.startswith("{\n") and text.endswith("};\n")
    assert "  PyFloat_Type;\n" in text and "_PyRuntime" not in text


def test_dynamic_list_refuses_headers_it_cannot_read(tmp_path):
    src = _headers(tmp_path, {"floatobject.h": "PyAPI_DATA(PyTypeObject) PyFloat_Type;\n"})
    with pytest.raises(PyrpathError, match="_Py_NoneStruct"):
        interpreter.dynamic_list(src)


def test_the_debian_tarball_is_found_in_apt_data_and_keys_the_interpreter():
    assert sources.debian_tarball(SHOWSRC, "3.11.2-6+deb12u8") == (
        "python3.11_3.11.2-6+deb12u8.debian.tar.xz", "dddd")
    assert sources.debian_tarball(SHOWSRC, "3.11.2-6+deb12u5")[1] == "bbbb"
    assert sources.debian_tarball(SHOWSRC, "9") is None
    src = Source(Path("/x"), "ab" * 32, "x")
    patched = Source(Path("/x"), "ab" * 32, "x",
                     DebianPatches(Path("/d"), "cd" * 32, "python3.11 3.11.2-6"))
    keys = {interpreter.cache_key(interpreter.recipe(s, {}, frozenset(), False, {}))
            for s in (src, patched)}
    assert len(keys) == 2
