"""What dh_pyrpath leaves for debhelper, run by itself on a source tree with a warm cache: the
bytecode of every module, no build-only parts unless kept, the maintainer-script snippets and
the interpreter's Depends in ${misc:Depends}."""
import importlib.util
import json
import subprocess

import pytest

from conftest import HOST_PYTHON, HOST_XY, REPO, copy_source, dh_pyrpath

pytestmark = pytest.mark.e2e

TWINS = REPO / "tests" / "data" / "sources" / "twins"


def _build(tmp_path, *args):
    src = copy_source(TWINS, tmp_path)
    proc = dh_pyrpath("-p", "twin-a", *args, cwd=src)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return src, src / "debian" / "twin-a" / "opt" / "twin-a"


def bytecode_of(prefix):
    """{module: its pyc} for every .py under lib/, and the pycs with no .py (or another name)."""
    lib = prefix / "lib" / f"python{HOST_XY}"
    tag = "cpython-" + HOST_XY.replace(".", "")
    expected = {py: py.parent / "__pycache__" / f"{py.stem}.{tag}.pyc" for py in lib.rglob("*.py")}
    strays = set(prefix.rglob("*.pyc")) - set(expected.values())
    return expected, strays


def test_default_tree_has_bytecode_and_no_headers_or_pip(tmp_path, suite_cache):
    src, prefix = _build(tmp_path)
    site = prefix / "lib" / f"python{HOST_XY}" / "site-packages"
    assert (prefix / "bin" / f"python{HOST_XY}").is_file() and any(site.iterdir())
    # every module's timestamp pyc, made at build time for SOURCE_DATE_EPOCH (issue 25)
    expected, strays = bytecode_of(prefix)
    missing = [py for py, pyc in expected.items() if not pyc.is_file()]
    assert not missing and not strays, (missing[:5], sorted(strays)[:5])
    mtimes = {py.stat().st_mtime for py in expected}
    assert len(mtimes) == 1, sorted(mtimes)[:5]
    data = expected[prefix / "lib" / f"python{HOST_XY}" / "json" / "__init__.py"].read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER  # the host's python3 is the same X.Y
    assert int.from_bytes(data[4:8], "little") == 0  # timestamp-based
    assert int.from_bytes(data[8:12], "little") == int(mtimes.pop())
    assert not (prefix / "include").exists()
    assert not list(site.glob("pip*")) and not list(site.glob("setuptools*"))
    records = "".join(p.read_text() for p in site.glob("*.dist-info/RECORD"))
    assert ".pyc" not in records  # RECORD forgets no file, lists none that is gone

    debian = src / "debian"
    assert not (debian / "twin-a.postinst.debhelper").exists()  # installing compiles nothing
    prerm = (debian / "twin-a.prerm.debhelper").read_text()
    assert "find /opt/twin-a -path '*/__pycache__/*.opt-[12].pyc'" in prerm
    assert "mkdir -m 0755 /opt" in (debian / "twin-a.postrm.debhelper").read_text()
    substvars = (debian / "twin-a.substvars").read_text()
    assert "misc:Depends=" in substvars and "libssl3" in substvars and "libc6" in substvars
    assert "libpython" not in substvars

    # a second run (dh binary twice without clean) replaces its own snippets
    again = dh_pyrpath("-p", "twin-a", cwd=src)
    assert again.returncode == 0, again.stdout[-3000:]
    assert (debian / "twin-a.prerm.debhelper").read_text() == prerm
    assert "bytecode:" in again.stdout and "(0 compiled," in again.stdout, again.stdout[-2000:]
    assert (debian / "twin-a.substvars").read_text() == substvars


def test_interpreter_from_debian_carries_its_security_fixes_not_its_layout(tmp_path,
                                                                           suite_cache):
    """debian:python3.X (the host's default) is the upstream release plus the upstream fixes in
    the release's Debian source (debian_patches.py): bookworm's python3.11 has 47, trixie's
    python3.13 38. CVE-2023-24329's fix is one on bookworm (upstream in 3.12+): urlsplit strips
    leading blanks, so a scheme blocklist cannot be bypassed with " https://..." (3.11.2 as
    released gives no scheme). Debian's own changes stay out: no dist-packages, no /usr/local
    scheme. The build-info names the Debian revision used."""
    _, prefix = _build(tmp_path)
    info = json.loads((prefix / "share" / "dh-pyrpath" / "build-info.json").read_text())
    patches = info["python_patches"]
    assert len([p for p in patches if "CVE-" in p]) >= 20, patches
    assert info["python_debian_revision"] and info["python_source"].startswith(HOST_PYTHON + "_")
    assert not {"deb-locations.diff", "sysconfig-debian-schemes.diff", "multiarch.diff"} & set(
        patches)
    probe = ("import sysconfig, urllib.parse\n"
             "print(repr(urllib.parse.urlsplit(' https://example.org/').scheme))\n"
             "print(sysconfig.get_default_scheme(), sysconfig.get_path('purelib'))\n")
    out = subprocess.run([prefix / "bin" / f"python{HOST_XY}", "-I", "-c", probe], text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert out.returncode == 0, out.stdout
    scheme, paths = out.stdout.splitlines()
    assert scheme == "'https'"
    assert paths == f"posix_prefix {prefix}/lib/python{HOST_XY}/site-packages"


def test_keep_build_tools_ships_pip_and_headers(tmp_path, suite_cache):
    _, prefix = _build(tmp_path, "--keep-build-tools")
    site = prefix / "lib" / f"python{HOST_XY}" / "site-packages"
    assert (prefix / "include" / f"python{HOST_XY}" / "Python.h").is_file()
    assert list(site.glob("pip-*.dist-info")) and list(site.glob("setuptools-*.dist-info"))
    expected, strays = bytecode_of(prefix)  # pip's modules are compiled as well
    assert expected[site / "pip" / "__init__.py"].is_file() and not strays


def test_common_stdlib_extensions_are_built_into_libpython(tmp_path, suite_cache):
    _, prefix = _build(tmp_path)
    probe = ("import sys, json, _json, random, hashlib, socket, math, unicodedata\n"
             "print(json.dumps({'builtin': sorted(sys.builtin_module_names),"
             " 'json': _json.__file__, 'sha512': hashlib.sha512(b'x').hexdigest()[:8],"
             " 'nfc': unicodedata.normalize('NFC', 'e\\u0301')}))")
    out = subprocess.run([prefix / "bin" / f"python{HOST_XY}", "-I", "-c", probe], text=True,
                         stdout=subprocess.PIPE, check=True).stdout
    data = json.loads(out)
    for name in ("math", "_socket", "select", "_struct", "_pickle", "_datetime", "binascii",
                 "_random", "_sha512", "unicodedata", "_asyncio"):
        assert name in data["builtin"], name
    assert "_json" not in data["builtin"] and data["json"].startswith(str(prefix / "lib"))
    assert data["sha512"] == "a4abd444" and data["nfc"] == "\u00e9"
    dynload = prefix / "lib" / f"python{HOST_XY}" / "lib-dynload"
    assert not list(dynload.glob("math.*.so")) and not list(dynload.glob("_socket.*.so"))
    assert list(dynload.glob("_ssl.*.so")) and list(dynload.glob("zlib.*.so"))


def _relocations(path):
    return subprocess.run(["readelf", "--wide", "--relocs", path], text=True,
                          stdout=subprocess.PIPE, check=True).stdout


def test_libpython_binds_internal_data_and_programs_that_embed_it_share_its_objects(
        tmp_path, suite_cache):
    """The interpreter carries libpython itself; the shared libpython shipped beside it serves
    programs that embed Python, built with the package's own python3.X-config --embed: they load
    the package's libpython (DT_RPATH), also with LD_LIBRARY_PATH aimed at the system's, and
    share its objects (the dynamic list keeps public data preemptible)."""
    _, prefix = _build(tmp_path, "--keep-build-tools")
    assert "libpython" not in subprocess.run(
        ["readelf", "-d", prefix / "bin" / f"python{HOST_XY}"], text=True,
        stdout=subprocess.PIPE, check=True).stdout
    libpython = prefix / "lib" / f"libpython{HOST_XY}.so.1.0"
    relocs = _relocations(libpython)
    # internal data is addressed directly; public data stays preemptible, through the GOT
    assert " _PyRuntime" not in relocs and " _Py_tracemalloc_config" not in relocs
    assert " PyFloat_Type" in relocs and " _Py_NoneStruct" in relocs

    config = prefix / "bin" / f"python{HOST_XY}-config"
    flags = subprocess.run([config, "--embed", "--cflags", "--ldflags"], text=True,
                           stdout=subprocess.PIPE, check=True).stdout.split()
    program = tmp_path / "embed"
    subprocess.run(["gcc", REPO / "tests" / "data" / "embed.c", *flags,
                    f"-Wl,-rpath,{prefix / 'lib'}", "-Wl,--disable-new-dtags", "-o", program],
                   check=True)
    # the case that full -Bsymbolic breaks: the program holds copies of libpython's objects
    copies = _relocations(program)
    assert any("_COPY " in line and " _Py_NoneStruct" in line  # R_X86_64_COPY on amd64
               for line in copies.splitlines()), copies
    system = "/usr/lib/x86_64-linux-gnu"
    env = {"PYTHONHOME": str(prefix), "PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": system}
    loaded = subprocess.run(["ldd", program], env=env, text=True, stdout=subprocess.PIPE).stdout
    assert f"=> {libpython} (" in loaded, loaded
    proc = subprocess.run([program], env=env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    assert proc.returncode == 0 and "one Py_None, one PyFloat_Type" in proc.stdout, proc.stdout
    # ctypes.pythonapi is the executable itself (its symbols are exported): it works
    probe = "import ctypes; ctypes.pythonapi.Py_GetVersion.restype = ctypes.c_char_p; " \
            "print(ctypes.pythonapi.Py_GetVersion().decode().split()[0])"
    out = subprocess.run([prefix / "bin" / f"python{HOST_XY}", "-I", "-c", probe], text=True,
                         stdout=subprocess.PIPE, check=True).stdout
    assert out.startswith(HOST_XY + ".")
