"""Bytecode compiled at build time (package/bytecode.py, helpers/compile_pycs.py), on scratch
trees with this Python: what the pycs say, that Python uses them, that an edited .py wins, the
cache of compiled modules and its damage, and the same bytes from two builds."""
import importlib.util
import marshal
import os
import subprocess
import sys

import pytest

from dh_pyrpath.errors import PyrpathError
from dh_pyrpath.log import BuildLog
from dh_pyrpath.package import bytecode

EPOCH = 1700000000
FINAL = "/opt/svc/lib/python3"
TAG = sys.implementation.cache_tag


def tree(root):
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("VALUE = 'shipped'\nKINDS = {'a', 'b', 'c', 'd'}\n")
    (pkg / "mod.py").write_text("def where():\n    raise RuntimeError('here')\n")
    (root / "broken.py").write_text("def (:\n")
    return root


def compile_tree(root, cache, tmp_path, mode=bytecode.MODE, levels=(0,)):
    log = BuildLog(str(tmp_path / "log" / "svc.log"), "svc", quiet=True)
    try:
        return bytecode.compile_tree(sys.executable, str(root), FINAL, EPOCH, cache, log, levels,
                                     mode)
    finally:
        log.close()


def pycs(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.pyc"))}


def python(root, code, *flags):
    return subprocess.run([sys.executable, "-I", *flags, "-c", f"import sys; "
                           f"sys.path.insert(0, {str(root)!r}); {code}"],
                          text=True, capture_output=True, check=True)


def test_timestamp_pycs_at_the_final_path_are_the_ones_python_uses(tmp_path):
    root = tree(tmp_path / "lib")
    counts = compile_tree(root, None, tmp_path)
    assert counts == {"modules": 3, "compiled": 2, "cached": 0, "failed": [f"{FINAL}/broken.py"]}
    pyc = root / "pkg" / "__pycache__" / f"__init__.{TAG}.pyc"
    data = pyc.read_bytes()
    source = root / "pkg" / "__init__.py"
    assert data[:4] == importlib.util.MAGIC_NUMBER and data[4:8] == b"\0\0\0\0"
    assert int.from_bytes(data[8:12], "little") == EPOCH == source.stat().st_mtime
    assert int.from_bytes(data[12:16], "little") == source.stat().st_size
    assert oct(pyc.stat().st_mode & 0o777) == "0o644" and oct(pyc.parent.stat().st_mode & 0o777) == "0o755"
    assert not (root / "__pycache__" / f"broken.{TAG}.pyc").exists()
    # the import system takes the pyc as it is (python -v says "code object from" it)
    proc = python(root, "import pkg.mod; print(pkg.VALUE)", "-v", "-B")
    assert f"code object from '{pyc}'" in proc.stderr
    # tracebacks name the installed path
    proc = subprocess.run([sys.executable, "-I", "-B", "-c", f"import sys; sys.path.insert(0, "
                           f"{str(root)!r}); import pkg.mod; pkg.mod.where()"],
                          text=True, capture_output=True)
    assert f'File "{root}/pkg/mod.py"' in proc.stderr  # fixed up to where it was loaded from
    code = marshal.loads((root / "pkg/__pycache__" / f"mod.{TAG}.pyc").read_bytes()[16:])
    assert code.co_filename == f"{FINAL}/pkg/mod.py"


def test_an_edited_module_runs_from_its_new_source(tmp_path):
    root = tree(tmp_path / "lib")
    compile_tree(root, None, tmp_path)
    init = root / "pkg" / "__init__.py"
    init.write_text(init.read_text().replace("shipped", "edited"))  # its mtime moves on
    os.chmod(root / "pkg" / "__pycache__", 0o555)  # a service user cannot write a new pyc
    try:
        assert python(root, "import pkg; print(pkg.VALUE)", "-B").stdout == "edited\n"
    finally:
        os.chmod(root / "pkg" / "__pycache__", 0o755)


def test_the_cache_serves_a_rebuild_and_a_damaged_entry_is_compiled_again(tmp_path):
    cache = tmp_path / "cache"
    first = tree(tmp_path / "one")
    compile_tree(first, str(cache), tmp_path)
    second = tree(tmp_path / "two")
    assert compile_tree(second, str(cache), tmp_path)["cached"] == 2
    assert pycs(first) == pycs(second)
    entries = sorted(p for p in cache.rglob("*") if p.is_file())
    assert len(entries) == 2
    entries[0].write_bytes(entries[0].read_bytes()[:-40])  # cut short
    third = tree(tmp_path / "three")
    counts = compile_tree(third, str(cache), tmp_path)
    assert (counts["compiled"], counts["cached"]) == (1, 1)
    assert pycs(third) == pycs(first)
    assert compile_tree(tree(tmp_path / "four"), str(cache), tmp_path)["cached"] == 2  # mended


def test_two_builds_give_the_same_bytes_and_other_modes_and_levels(tmp_path):
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    compile_tree(a, str(tmp_path / "cache-a"), tmp_path)
    compile_tree(b, None, tmp_path)
    assert pycs(a) == pycs(b) and len(pycs(a)) == 2
    c = tree(tmp_path / "c")
    compile_tree(c, None, tmp_path, mode="checked-hash", levels=(0, 1, 2))
    found = pycs(c)
    assert len(found) == 6
    data = found[f"pkg/__pycache__/__init__.{TAG}.opt-2.pyc"]
    assert data[4:8] == (0b11).to_bytes(4, "little")
    assert data[8:16] == importlib.util.source_hash((c / "pkg/__init__.py").read_bytes())


def test_a_helper_that_prints_no_summary_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(bytecode, "HELPERS", tmp_path)
    (tmp_path / "compile_pycs.py").write_text("print('something else')\n")
    with pytest.raises(PyrpathError, match="printed no summary"):
        compile_tree(tree(tmp_path / "lib"), None, tmp_path)


def test_describe_names_what_runs_from_source():
    counts = {"modules": 5, "compiled": 1, "cached": 3, "failed": ["/a.py"]}
    assert bytecode.describe(counts) == ("5 modules (1 compiled, 3 from the cache); 1 do not "
                                         "compile and run from source: /a.py")
