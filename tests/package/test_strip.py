"""Symbol tables off ELF files without debug information (dh_pyrpath/strip.py), on real
objects made by gcc; and (e2e) no -dbgsym made of nothing, a useful one where there is debug
information."""
import base64
import csv
import hashlib
import io
import os
import subprocess

import pytest

from conftest import REPO, build_deb, copy_source, run
from dh_pyrpath.package import relocate
from dh_pyrpath.package import strip
from dh_pyrpath.host import SYSTEM_PATH as BUILD_PATH
from dh_pyrpath.log import BuildLog

C_SOURCE = "int answer(void) { return 42; }\nstatic int hidden(int x) { return x + 1; }\n" \
           "int use(void) { return hidden(1); }\n"


def _gcc(out, *flags):
    src = out.parent / "answer.c"
    src.write_text(C_SOURCE)
    subprocess.run(["gcc", *flags, "-o", str(out), str(src)], check=True, env={"PATH": BUILD_PATH})
    return str(out)


@pytest.fixture
def log(tmp_path):
    log = BuildLog(str(tmp_path / "log" / "build.log"), "svc", quiet=True)
    yield log
    log.close()


def _file(path):
    return subprocess.run(["file", "-b", path], text=True, stdout=subprocess.PIPE).stdout


def _tree(tmp_path):
    """A prefix with: an extension with a symbol table only (a manylinux wheel's), one with
    debug information (built from an sdist), a stripped one, a vendored library, an object file."""
    site = tmp_path / "prefix" / "lib" / "python3.11" / "site-packages"
    for d in ("pkg", "pkg.libs", "dbg", "done"):
        (site / d).mkdir(parents=True)
    files = {
        "symtab": _gcc(site / "pkg" / "_ext.cpython-311-x86_64-linux-gnu.so", "-shared", "-fPIC", "-O2"),
        "debug": _gcc(site / "dbg" / "_ext.cpython-311-x86_64-linux-gnu.so", "-shared", "-fPIC", "-g"),
        "vendored": _gcc(site / "pkg.libs" / "libfoo-1a2b3c.so.1", "-shared", "-fPIC", "-O2"),
        "stripped": _gcc(site / "done" / "_ext.abi3.so", "-shared", "-fPIC", "-s"),
        "object": _gcc(site / "pkg" / "answer.o", "-c"),
    }
    return tmp_path / "prefix", site, files


def test_only_symbol_tables_without_debug_information_are_stripped(tmp_path, log):
    prefix, site, files = _tree(tmp_path)
    before = {k: open(p, "rb").read() for k, p in files.items()}
    assert "not stripped" in _file(files["symtab"]) and "with debug_info" not in _file(files["symtab"])

    changed = strip.strip_symbol_tables(str(prefix), log, BUILD_PATH)

    assert changed == {files["symtab"]}
    assert ", stripped" in _file(files["symtab"])  # what dh_strip checks before making a .debug
    # the extension still works: its dynamic symbols are untouched
    nm = run(["nm", "-D", "--defined-only", files["symtab"]]).stdout
    assert " T answer" in nm and " T use" in nm
    for kept in ("debug", "vendored", "stripped", "object"):
        assert open(files[kept], "rb").read() == before[kept], kept
    assert "with debug_info" in _file(files["debug"])
    assert os.stat(files["symtab"]).st_mode & 0o777 == 0o755


def test_record_hashes_follow_the_stripped_files(tmp_path, log):
    prefix, site, files = _tree(tmp_path)
    info = site / "pkg-1.0.dist-info"
    info.mkdir()
    rel = os.path.relpath(files["symtab"], site)
    digest = base64.urlsafe_b64encode(hashlib.sha256(open(files["symtab"], "rb").read())
                                      .digest()).rstrip(b"=").decode()
    (info / "RECORD").write_text(f"{rel},sha256={digest},{os.path.getsize(files['symtab'])}\n"
                                 "pkg-1.0.dist-info/RECORD,,\n")
    relocate.fix_records(site, strip.strip_symbol_tables(str(prefix), log, BUILD_PATH))
    rows = {r[0]: r for r in csv.reader(io.StringIO((info / "RECORD").read_text()))}
    data = open(files["symtab"], "rb").read()
    assert rows[rel][1] == "sha256=" + base64.urlsafe_b64encode(
        hashlib.sha256(data).digest()).rstrip(b"=").decode()
    assert rows[rel][2] == str(len(data)) and rows[rel][1] != f"sha256={digest}"


def test_is_so_or_exec(tmp_path):
    assert strip.is_so_or_exec(_gcc(tmp_path / "lib.so", "-shared", "-fPIC"))
    assert not strip.is_so_or_exec(_gcc(tmp_path / "obj.o", "-c"))
    (tmp_path / "short").write_bytes(b"\x7fELF")
    assert not strip.is_so_or_exec(str(tmp_path / "short"))


def test_needs_stripping():
    assert strip.needs_stripping({".text", ".symtab", ".strtab"})
    assert not strip.needs_stripping({".text", ".symtab", ".debug_info", ".debug_line"})
    assert not strip.needs_stripping({".text", ".symtab", ".zdebug_str"})
    assert not strip.needs_stripping({".text", ".dynsym"})


# ------------------------------------------------------------------------- e2e

CEXT = REPO / "tests" / "data" / "sources" / "cext"


def _dbgsym_debug_files(deb):
    return sorted(line.split()[-1] for line in run(["dpkg-deb", "-c", str(deb)]).stdout
                  .splitlines() if line.endswith(".debug"))


@pytest.mark.e2e
def test_dbgsym_only_for_debug_information(pyrpath_build, suite_cache, tmp_path):
    """tests/data/sources/cext: a C extension built from the project's own source (with -g,
    from sysconfig) and charset-normalizer, a manylinux wheel whose extensions have symbol
    tables but no debug information. The -dbgsym holds the project's extension only, and is
    lintian-clean; charset-normalizer's extensions are stripped and still import."""
    args, env = pyrpath_build
    src = copy_source(CEXT, tmp_path)
    debs = build_deb(src, *args, env=env)
    assert [d.name for d in debs] == ["cext-demo_1.0_amd64.deb"]
    (dbgsym,) = tmp_path.glob("cext-demo-dbgsym_*.deb")
    unpacked = tmp_path / "deb"
    run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)])
    site = unpacked / "opt" / "cext-demo" / "lib" / "python3.11" / "site-packages"
    (ours,) = site.glob("cext_demo/_speed*.so")
    build_id = run(["readelf", "-n", str(ours)]).stdout.split("Build ID: ")[1].split()[0]
    assert _dbgsym_debug_files(dbgsym) == [
        f"./usr/lib/debug/.build-id/{build_id[:2]}/{build_id[2:]}.debug"]
    mypyc = list(site.glob("charset_normalizer/*.so"))
    assert mypyc and all(", stripped" in _file(str(p)) for p in mypyc)
    out = run(["lintian", "--tag-display-limit", "0", str(dbgsym)], check=False).stdout
    assert "debug-file-with-no-debug-symbols" not in out, out
    # the stripped and the unstripped extensions load
    python = src / "debian" / "cext-demo" / "opt" / "cext-demo" / "bin" / "python3.11"
    probe = ("import charset_normalizer.md as md, cext_demo\n"
             "assert md.__file__.endswith('.so'), md.__file__\n"
             "print(cext_demo.answer())")
    assert run([str(python), "-I", "-c", probe]).stdout.strip() == "42"


@pytest.mark.e2e
def test_example_has_no_dbgsym_and_its_extension_imports(pyrpath_build, suite_cache, tmp_path):
    args, env = pyrpath_build
    src = copy_source(REPO / "examples" / "hello-service", tmp_path)
    debs = build_deb(src, *args, env=env)
    assert [d.name for d in debs] == ["hello-service_1.0.0_amd64.deb"]
    assert not list(tmp_path.glob("*-dbgsym_*")), "a -dbgsym package was made"
    python = src / "debian" / "hello-service" / "opt" / "hello-service" / "bin" / "python3.11"
    out = run([str(python), "-I", "-c", "import zmq; print(zmq.zmq_version())"]).stdout
    assert out.strip().count(".") == 2
