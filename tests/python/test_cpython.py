"""Pure logic of compiling CPython: Setup.local, hardening flags, the dynamic list, and the
fixed, locked build directory, and the process state and host the PGO training sees."""
import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from dh_pyrpath import host
from dh_pyrpath.log import BuildLog
from dh_pyrpath.python import cpython
from dh_pyrpath.python import training
from dh_pyrpath.errors import PyrpathError


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
    text = cpython.setup_local(src, ["math", "_sha2", "zlib", "_lsprof", "_typing", "pwd",
                                         "_nosuch"])
    # include paths or libraries: stays shared; built in already, or unknown here: left out
    assert text == "math mathmodule.c\n_lsprof _lsprof.c rotatingtree.c\n"
    assert cpython.setup_local(src, []) == ""


def test_stack_protector_follows_debians_python_build():
    assert cpython.stack_protector({"CFLAGS": "-g -fstack-protector-strong -Wformat"}) == \
        " -fstack-protector"
    # hardening=-stackprotector: nothing is added back
    assert cpython.stack_protector({"CFLAGS": "-g -Wformat"}) == ""


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
    assert cpython.public_data_names(src) == {
        "PyFloat_Type", "_Py_NoneStruct", "PyExc_TypeError", "_Py_ctype_table", "PyOS_InputHook",
        "PyOS_ReadlineFunctionPointer", "PyUnstable_ExecutableKinds"}
    text = cpython.dynamic_list(src)
    assert text.startswith("{\n") and text.endswith("};\n")
    assert "  PyFloat_Type;\n" in text and "_PyRuntime" not in text


def test_dynamic_list_refuses_headers_it_cannot_read(tmp_path):
    src = _headers(tmp_path, {"floatobject.h": "PyAPI_DATA(PyTypeObject) PyFloat_Type;\n"})
    with pytest.raises(PyrpathError, match="_Py_NoneStruct"):
        cpython.dynamic_list(src)


SHOW_SIGNALS = ("import signal; print("
                "signal.getsignal(signal.SIGINT) is signal.default_int_handler, "
                "signal.getsignal(signal.SIGQUIT) == signal.SIG_DFL)")


def _ignoring_int_and_quit():
    # what a non-interactive shell does to a job it starts in the background
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def test_training_starts_with_every_signal_at_its_default():
    """A build started with SIGINT and SIGQUIT ignored trains the same as any other: the
    training's interpreter gets its KeyboardInterrupt handler (the control shows that the
    dispositions are inherited otherwise). The command is the one train() runs here, with
    setarch -R where it works."""
    def run(cmd):
        return subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True,
                              preexec_fn=_ignoring_int_and_quit).stdout.split()
    assert run([sys.executable, "-c", SHOW_SIGNALS]) == ["False", "False"]
    cmd = training.training_command(sys.executable, ["-c", SHOW_SIGNALS],
                                   training._aslr_switch_works())
    assert run(cmd) == ["True", "True"]


def test_training_log_records_do_not_read_the_clock():
    """Log records made by the training carry a fixed time, whatever the time of day."""
    spec = importlib.util.spec_from_file_location("pgo_training", training.TRAINING)
    workload = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(workload)
    saved = logging.time, logging._startTime
    try:
        assert workload.documents(8) > 0
        records = [logging.LogRecord("t", logging.INFO, "f", 1, "m", (), None) for _ in range(2)]
    finally:
        logging.time, logging._startTime = saved
    assert [(r.created, r.msecs, r.relativeCreated) for r in records] == [(1700000000.625, 625.0,
                                                                          0.0)] * 2


def _unlimited_stack():
    import resource
    resource.setrlimit(resource.RLIMIT_STACK, (resource.RLIM_INFINITY,
                                                resource.getrlimit(resource.RLIMIT_STACK)[1]))


SHOW_STACK = "import resource; print(resource.getrlimit(resource.RLIMIT_STACK)[0])"


@pytest.mark.skipif(not training._stack_limit_settable(),
                    reason="this host's hard stack limit is below the training's")
def test_training_starts_with_a_fixed_stack_limit():
    """A builder with an unlimited stack (the kernel then places mappings bottom-up) trains
    with the same 8 MiB soft limit as any other; the control shows the limit is inherited
    otherwise."""
    def run(cmd):
        return subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True,
                              preexec_fn=_unlimited_stack).stdout.strip()
    import resource
    assert run([sys.executable, "-c", SHOW_STACK]) == str(resource.RLIM_INFINITY)
    cmd = training.training_command(sys.executable, ["-c", SHOW_STACK],
                                   training._aslr_switch_works(), stack_fixed=True)
    assert run(cmd) == str(training.TRAINING_STACK)


def test_training_never_reads_the_loaders_cache(tmp_path):
    """In the training's environment the dynamic loader finds the interpreter's and its
    extensions' libraries (ssl, sqlite3 here) without /etc/ld.so.cache, whose size is the
    machine's; the control shows the cache is searched otherwise."""
    multiarch = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], text=True,
                               stdout=subprocess.PIPE, check=True).stdout.strip()
    env = training.training_environment("1700000000", tmp_path / "pycache", multiarch,
                                        tmp_path / "platlib")
    code = ["-c", "import ssl, sqlite3, zlib"]

    # an installed interpreter looks for its stdlib under platlibdir (a build directory's
    # does not): Debian's python3 runs here without it
    del env["PYTHONPLATLIBDIR"]

    def loader_log(env):
        return subprocess.run(["/usr/bin/python3", *code], env={**env, "LD_DEBUG": "libs"},
                              stderr=subprocess.PIPE, text=True, check=True).stderr
    assert "search cache=/etc/ld.so.cache" in loader_log({"PATH": host.SYSTEM_PATH})
    log = loader_log(env)
    assert "libssl.so" in log and "libsqlite3.so" in log
    assert "search cache=" not in log


SHOW_FILES = """import os, sys
st = os.stat('/proc/self')
d = os.stat(sys.argv[1])
print(os.getuid(), st.st_uid, st.st_gid, d.st_size, d.st_ino >= 1 << 40, d.st_dev >= 1 << 40)
print(*os.listdir(sys.argv[1]))
print(*(e.name for e in os.scandir(sys.argv[1])))
"""


def _as_nobody():
    # a build user whose ids are not cached ints (nobody: 65534), when the tests run as root
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)


def test_training_sees_the_same_files_on_every_machine():
    """The library the training preloads, really compiled and preloaded, in no user namespace,
    as sbuild's build user would run it (nobody here, when the tests run as root): uid and gid 0
    for the process and for a file the user owns (/proc/self), a directory's size fixed, device
    and inode numbers never cached ints, listings in name order (this file system's own order
    is another: the control, without the library)."""
    with tempfile.TemporaryDirectory() as tmp:  # nobody may read it (pytest's tmp_path: no)
        os.chmod(tmp, 0o755)
        _files_seen_by_the_training(Path(tmp))


def _files_seen_by_the_training(tmp_path):
    srcdir = tmp_path / "build"
    srcdir.mkdir()
    library = training.build_steady_files(srcdir, BuildLog(str(tmp_path / "log"), "svc",
                                                           quiet=True))
    assert library.parent == srcdir and library.is_file()
    # no path of this checkout in the object: only the compiler decides its bytes
    assert str(training.HELPERS).encode() not in library.read_bytes()
    # small: a file mapping of 2 MiB or more lands elsewhere on ext4 than on tmpfs
    assert library.stat().st_size < 2 << 20
    listed = tmp_path / "listed"
    listed.mkdir()
    names = [f"m{(i * 7919) % 97:02d}" for i in range(40)]  # created out of order
    for name in names:
        (listed / name).touch()

    def run(env):
        return subprocess.run([sys.executable, "-c", SHOW_FILES, listed], stdout=subprocess.PIPE,
                              text=True, check=True, env=env, preexec_fn=_as_nobody
                              ).stdout.splitlines()
    env = training.training_environment("1700000000", tmp_path / "pycache", "x86_64-linux-gnu",
                                        tmp_path / "platlib", library)
    del env["PYTHONPLATLIBDIR"]  # Debian's python3 takes its stdlib from there
    own = run({k: v for k, v in env.items() if k != "LD_PRELOAD"})
    assert own[0].split()[0] != "0" and own[0].split()[1] == own[0].split()[0]
    assert own[1].split() != sorted(names)  # the file system's order
    steady = run(env)
    assert steady[0].split() == ["0", "0", "0", "4096", "True", "True"]
    assert steady[1].split() == steady[2].split() == sorted(set(names))


SHOW_PATH = "import hashlib, json, sys; print(sys.path[1])"


def _build_directory_of(tree):
    """A CPython build directory made of Debian's python3 (a copy of the executable, the
    stdlib and its extensions linked where a build has them): how the training's interpreter
    finds its paths."""
    vpath = sysconfig.get_config_var("VPATH") or "."
    objdir = (tree / "obj") if vpath == ".." else tree
    (objdir / "build").mkdir(parents=True)
    shutil.copy(os.path.realpath(sys.executable), objdir / "python")
    (tree / "Lib").symlink_to(sysconfig.get_paths()["stdlib"])
    (objdir / "build" / "lib").symlink_to(sysconfig.get_config_var("DESTSHARED"))
    (objdir / "pybuilddir.txt").write_text("build/lib")
    return objdir


@pytest.mark.skipif(shutil.which("strace") is None,
                    reason="strace is not installed (tests/run installs it)")
def test_training_environment_keeps_the_machines_files_out(tmp_path):
    """In the training's environment, hashlib's libcrypto reads no openssl.cnf (the machine's,
    12 KB, or none in a minimal chroot), and the zip entry of a build directory's sys.path,
    which the zip importer stats its way up from to the first directory that exists (the
    machine's /opt for the placeholder prefix), lies inside the build directory. The control,
    in the caller's environment: the entry is the prefix's, and openssl.cnf is read where the
    machine has one."""
    multiarch = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], text=True,
                               stdout=subprocess.PIPE, check=True).stdout.strip()
    objdir = _build_directory_of(tmp_path / "build")
    platlib = objdir / "pyrpath-pgo-platlib"
    env = training.training_environment("1700000000", tmp_path / "pycache", multiarch, platlib)
    zip_name = f"python{sys.version_info[0]}{sys.version_info[1]}.zip"

    def trace(env):
        log = tmp_path / "trace"
        out = subprocess.run(["strace", "-f", "-qq", "-e", "trace=open,openat,stat,lstat,"
                              "newfstatat,statx", "-o", log, objdir / "python", "-s", "-S", "-c",
                              SHOW_PATH], env=env, stdout=subprocess.PIPE, text=True, check=True)
        return out.stdout.strip(), log.read_text()
    zip_entry, calls = trace({"PATH": host.SYSTEM_PATH})
    assert zip_entry == f"{sys.base_prefix}/{sys.platlibdir}/{zip_name}"
    if os.path.exists("/usr/lib/ssl/openssl.cnf"):
        assert "openssl.cnf" in calls
    zip_entry, calls = trace(env)
    assert zip_entry == f"{platlib}/{zip_name}"
    assert f'"{objdir}"' in calls  # where the walk up from it ends
    assert "openssl.cnf" not in calls


def test_configured_multiarch_is_read_from_the_makefile(tmp_path):
    (tmp_path / "Makefile").write_text("VERSION=\t3.11\nMULTIARCH=\tx86_64-linux-gnu\n"
                                       "MULTIARCH_CPPFLAGS = -DMULTIARCH=\\\"x86_64-linux-gnu\\\"\n")
    assert training.configured_multiarch(tmp_path) == "x86_64-linux-gnu"
    (tmp_path / "Makefile").write_text("VERSION=\t3.11\n")
    with pytest.raises(PyrpathError, match="multiarch"):
        training.configured_multiarch(tmp_path)


STEADY = """
import runpy, sys
training = runpy.run_path(sys.argv[1], run_name="pgo_training")
training["steady_host"]()
import os, platform, threading
print(platform.node(), platform.system(), platform.release(), os.getpid(),
      threading.get_native_id(), os.listdir(sys.argv[2]) == sorted(os.listdir(sys.argv[2])))
"""


def test_training_sees_a_fixed_host(tmp_path):
    """What the machine says about itself (host name, kernel, process and thread ids) is the
    same in every training, and directories list sorted: each varied the profile (measured)."""
    for name in ("zeta", "alpha", "mid", "Beta", "_x"):
        (tmp_path / name).write_text("")
    out = subprocess.run([sys.executable, "-c", STEADY, str(training.TRAINING), str(tmp_path)],
                         stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    assert out == ["localhost", "Linux", "6.1.0", "4242", "4243", "True"]


def test_optimize_trains_the_workload_before_cpythons_own_task():
    """--optimize runs the default workload (twice, as the default build does) and then
    CPython's PGO test set, whose failures alone are tolerated."""
    pgo = training.training_runs("pgo", "t.py")
    assert pgo == [("-s", "t.py", training.TRAINING_ROUNDS)] * 2
    optimize = training.training_runs("optimize", "t.py")
    assert optimize[:2] == pgo
    assert optimize[2][:3] == ("-m", "test", "--pgo") and len(optimize) == 3
