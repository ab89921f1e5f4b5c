"""Relocation of a staged tree: text, ELF strings, pyc files, shebangs, RECORD."""
import base64
import hashlib
import importlib.util
import marshal
import os
import sys

import pytest

from dh_pyrpath.package import relocate
from dh_pyrpath.log import BuildLog


def test_patch_c_strings_keeps_length_and_suffix():
    old = b"/opt/placeholder_________"
    data = b"\x00abc" + old + b"/lib\x00" + old + b"\x00tail"
    out = relocate.patch_c_strings(data, old, b"/opt/svc")
    assert len(out) == len(data)
    assert b"/opt/svc/lib\x00" in out and out.endswith(b"\x00tail")
    assert old not in out
    with pytest.raises(ValueError):
        relocate.patch_c_strings(data, b"/short", b"/much/longer/path")


def test_text_files_are_rewritten_binaries_are_not(tmp_path):
    (tmp_path / "conf.py").write_text("prefix = '/stage/opt/svc'\nlib = '/stage/opt/svc/lib'\n")
    (tmp_path / "blob.bin").write_bytes(b"\x00/stage/opt/svc\x00")
    os.symlink("conf.py", tmp_path / "link.py")
    changed = relocate.rewrite_text_files(tmp_path, {"/stage/opt/svc": "/opt/svc"})
    assert changed == {str(tmp_path / "conf.py")}
    assert (tmp_path / "conf.py").read_text() == "prefix = '/opt/svc'\nlib = '/opt/svc/lib'\n"
    assert (tmp_path / "blob.bin").read_bytes() == b"\x00/stage/opt/svc\x00"


def test_shebang_flags(tmp_path):
    script = tmp_path / "svc"
    script.write_text("#!/opt/svc/bin/python3.11\nprint(1)\n")
    other = tmp_path / "tool"
    other.write_text("#!/bin/sh\necho\n")
    os.chmod(script, 0o755)
    assert relocate.set_shebang_flags(tmp_path, "/opt/svc/bin/python", "-I") == {str(script)}
    assert script.read_text() == "#!/opt/svc/bin/python3.11 -I\nprint(1)\n"
    assert os.stat(script).st_mode & 0o777 == 0o755
    assert other.read_text() == "#!/bin/sh\necho\n"
    # idempotent, and flags can be removed again
    assert relocate.set_shebang_flags(tmp_path, "/opt/svc/bin/python", "-I") == set()
    relocate.set_shebang_flags(tmp_path, "/opt/svc/bin/python", "")
    assert script.read_text().startswith("#!/opt/svc/bin/python3.11\n")


def test_records_follow_rewritten_files(tmp_path):
    site = tmp_path / "lib" / "site-packages"
    dist = site / "svc-1.0.dist-info"
    dist.mkdir(parents=True)
    (tmp_path / "bin").mkdir()
    script = tmp_path / "bin" / "svc"
    script.write_text("#!/opt/svc/bin/python3.11 -I\n")
    (dist / "direct_url.json").write_text("{}")
    (dist / "RECORD").write_text("../../bin/svc,sha256=old,3\nsvc-1.0.dist-info/direct_url.json,"
                                 "sha256=x,2\nsvc-1.0.dist-info/RECORD,,\n")
    removed = relocate.drop_direct_url(site)
    relocate.fix_records(site, {str(script)}, removed)
    digest = base64.urlsafe_b64encode(hashlib.sha256(script.read_bytes()).digest()).rstrip(b"=")
    assert (dist / "RECORD").read_text() == (
        f"../../bin/svc,sha256={digest.decode()},{script.stat().st_size}\n"
        "svc-1.0.dist-info/RECORD,,\n")
    assert not (dist / "direct_url.json").exists()


def test_pyc_rewrite_maps_filenames_and_makes_checked_hash(tmp_path):
    """Run the helper with this Python (it is stand-alone, like under the private one)."""
    pkg = tmp_path / "stage" / "opt" / "svc" / "mod"
    pkg.mkdir(parents=True)
    src = pkg / "m.py"
    src.write_text("def f():\n    return 1\n")
    import py_compile
    pyc = py_compile.compile(str(src), doraise=True)  # timestamp pyc, co_filename = staged path
    log = BuildLog(str(tmp_path / "log"), "svc")
    relocate.rewrite_pycs(sys.executable, tmp_path / "stage", {str(tmp_path / "stage/opt/svc"): "/opt/svc"}, log)
    data = open(pyc, "rb").read()
    assert int.from_bytes(data[4:8], "little") == 0b11  # checked-hash
    assert data[8:16] == importlib.util.source_hash(src.read_bytes())
    code = marshal.loads(data[16:])
    assert code.co_filename == "/opt/svc/mod/m.py"
    inner = [c for c in code.co_consts if hasattr(c, "co_filename")]
    assert inner and inner[0].co_filename == "/opt/svc/mod/m.py"

    # A pyc that no longer matches its (rewritten) source is compiled afresh.
    src.write_text("X = '/opt/svc/data'\n")
    relocate.rewrite_pycs(sys.executable, tmp_path / "stage", {}, log)
    data = open(pyc, "rb").read()
    assert data[8:16] == importlib.util.source_hash(src.read_bytes())
    assert "/opt/svc/data" in marshal.loads(data[16:]).co_consts
    log.close()


def test_elf_patch_only_touches_elf_files(tmp_path):
    lib = tmp_path / "libfake.so"
    placeholder = "/opt/ph_______________"
    lib.write_bytes(b"\x7fELF" + b"\x00" * 12 + placeholder.encode() + b"/lib\x00")
    text = tmp_path / "notes.txt"
    text.write_text(placeholder)
    assert relocate.patch_elf_strings(tmp_path, placeholder, "/opt/svc") == {str(lib)}
    assert b"/opt/svc/lib\x00" in lib.read_bytes()
    assert text.read_text() == placeholder


def test_long_path_sh_wrapper_becomes_a_plain_shebang(tmp_path):
    script = tmp_path / "svc"
    script.write_text("#!/bin/sh\n'''exec' /opt/svc/bin/python3.11 \"$0\" \"$@\"\n' '''\n"
                      "# -*- coding: utf-8 -*-\nimport sys\n")
    assert relocate.set_shebang_flags(tmp_path, "/opt/svc/bin/python", "-I") == {str(script)}
    assert script.read_text() == "#!/opt/svc/bin/python3.11 -I\n# -*- coding: utf-8 -*-\nimport sys\n"


def test_placing_a_tree_copies_files_and_links_only_bytecode(tmp_path):
    from dh_pyrpath.python.placement import copy_tree_linking_bytecode
    src = tmp_path / "entry"
    (src / "lib" / "pkg" / "__pycache__").mkdir(parents=True)
    (src / "lib" / "pkg" / "mod.py").write_text("x = 1\n")
    (src / "lib" / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"pyc")
    (src / "bin").mkdir()
    (src / "bin" / "python3.11").write_bytes(b"\x7fELF")
    (src / "bin" / "python3.11").chmod(0o755)
    (src / "bin" / "python3").symlink_to("python3.11")
    (src / "lib" / "link-to-pkg").symlink_to("pkg")
    (src / "bin").chmod(0o750)
    dest = tmp_path / "staged" / "opt" / "svc"
    dest.parent.mkdir(parents=True)
    copy_tree_linking_bytecode(src, dest)
    pyc, mod = (dest / "lib/pkg/__pycache__/mod.cpython-311.pyc"), dest / "lib/pkg/mod.py"
    assert pyc.stat().st_ino == (src / "lib/pkg/__pycache__/mod.cpython-311.pyc").stat().st_ino
    assert mod.stat().st_ino != (src / "lib/pkg/mod.py").stat().st_ino and mod.read_text() == "x = 1\n"
    assert os.readlink(dest / "bin" / "python3") == "python3.11"
    assert os.readlink(dest / "lib" / "link-to-pkg") == "pkg"
    assert (dest / "bin" / "python3.11").stat().st_mode & 0o777 == 0o755
    assert (dest / "bin").stat().st_mode & 0o777 == 0o750
