"""Pure logic of compiling CPython: Setup.local, hardening flags, the dynamic list, and the
fixed, locked build directory, and the process state the PGO training starts in."""
import importlib.util
import logging
import signal
import subprocess
import sys

import pytest

from dh_pyrpath import cpython
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
    cmd = cpython.training_command(sys.executable, ["-c", SHOW_SIGNALS],
                                   cpython._aslr_switch_works())
    assert run(cmd) == ["True", "True"]


def test_training_log_records_do_not_read_the_clock(monkeypatch):
    """Log records made by the training carry a fixed time, whatever the time of day."""
    monkeypatch.setattr(sys, "argv", [str(cpython.TRAINING)])
    spec = importlib.util.spec_from_file_location("pgo_training", cpython.TRAINING)
    training = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(training)
    saved = logging.time, logging._startTime
    try:
        assert training.documents(8) > 0
        records = [logging.LogRecord("t", logging.INFO, "f", 1, "m", (), None) for _ in range(2)]
    finally:
        logging.time, logging._startTime = saved
    assert [(r.created, r.msecs, r.relativeCreated) for r in records] == [(1700000000.625, 625.0,
                                                                          0.0)] * 2
