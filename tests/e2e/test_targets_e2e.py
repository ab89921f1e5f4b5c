"""The example service on real target machines, and the artifact itself.

Targets are chroots of the host's Debian release made with mmdebstrap from Debian's archive (tests/chroots.py):
a minimal one without any Python, a hostile one with the system's Python and other versions of
the service's dependencies, two services with two CPython versions on one host, and a whole
package life: install, upgrade, rollback, remove, purge. Then the artifact: reproducible bytes
(another directory, another time, a cold cache, an interrupted build), permissions, no
credentials, hash-checked requirements. See docs/targets.md for what is measured and why.
"""
import base64
import filecmp
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import chroots
from chroots import MINBASE, NOBODY
from conftest import HOST_ABI, HOST_PYTHON, HOST_XY, REPO, SUITE_CACHE, build_env, run

pytestmark = pytest.mark.e2e

EXAMPLE = REPO / "examples" / "hello-service"
PREFIX = "/opt/hello-service"
PY = f"{PREFIX}/bin/python{HOST_XY}"
LIB = f"{PREFIX}/lib/python{HOST_XY}/"
CP = "cp" + HOST_XY.replace(".", "")  # wheel tags
# The host (and the hostile target) have a system libpython3.X with the same soname.
HOSTILE = chroots.Recipe("hostile", include=("python3", "python3-click", "python3-zmq",
                                               f"lib{HOST_PYTHON}"))
# The other CPython minor version for the two-services test: that of the other supported
# Debian release, through a private APT_CONFIG with its deb-src (tests/chroots.py).
OTHER = {"python3.11": ("trixie", "python3.13")}.get(HOST_PYTHON, ("bookworm", "python3.11"))
# Builds whose bytes are only compared as tar members (not as .deb files) use a fast compressor:
# what is inside is the same, the xz step alone costs about 30 s a build here.
FAST = {"DPKG_DEB_COMPRESSOR_TYPE": "zstd"}
# The cache-mechanics tests (a cold cache, a killed build) compile CPython from scratch each run:
# they use the cheap recipe (DEB_BUILD_OPTIONS=noopt: no PGO, -O0), since what they prove is the
# cache's behaviour. The default (PGO+LTO) build's reproducibility is proven by the offline
# chroot pair (test_offline_e2e.py) and, for two cold PGO builds, by the extended tier.
NOOPT = {"DEB_BUILD_OPTIONS": "noopt"}
SECRET = "s3cret"
CREDENTIAL_URL = f"https://user:{SECRET}@127.0.0.1:9/simple"  # loopback: nobody listens


def _require(*tools):
    missing = [t for t in tools if shutil.which(t, path=chroots.SYSTEM_PATH) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: tests/run installs mmdebstrap, "
                    "piuparts and diffoscope-minimal")


# ---------------------------------------------------------------- building variants

@dataclass
class Build:
    src: Path
    package: str
    debs: dict            # package name -> .deb, -dbgsym included
    output: str           # everything dpkg-buildpackage printed
    finished: float = field(default_factory=time.time)

    @property
    def deb(self):
        return self.debs[self.package]

    @property
    def dbgsym(self):
        """The -dbgsym .deb, or None (an interpreter stripped in the cache has none)."""
        return self.debs.get(f"{self.package}-dbgsym")

    @property
    def log(self):
        return self.src / "debian" / ".debhelper" / "dh_pyrpath" / self.package / "build.log"


def make_variant(parent, *, dirname="hello-service", name="hello-service", version=None,
                 python=None, requirements=None, files=None):
    """A copy of examples/hello-service, changed as asked (name, version, CPython, pins)."""
    src = Path(parent) / dirname
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("__pycache__", ".debhelper"))
    deb = src / "debian"
    if name != "hello-service":
        control = (deb / "control").read_text()
        control = re.sub(r"^(Source|Package): hello-service$", rf"\1: {name}", control, flags=re.M)
        (deb / "control").write_text(control)
        changelog = (deb / "changelog").read_text()
        (deb / "changelog").write_text(re.sub(r"^hello-service ", f"{name} ", changelog))
        (deb / "hello-service.pyrpath").rename(deb / f"{name}.pyrpath")
        (deb / "hello-service.links").unlink()
        (deb / f"{name}.links").write_text(f"opt/{name}/bin/hello-service usr/bin/{name}\n")
    if version:
        stanza = (f"{name} ({version}) unstable; urgency=medium\n\n  * Version {version}.\n\n"
                  " -- dh-pyrpath developers <dh-pyrpath@example.org>  "
                  "Mon, 23 Nov 2026 10:00:00 +0000\n\n")
        (deb / "changelog").write_text(stanza + (deb / "changelog").read_text())
        for path in (src / "pyproject.toml", src / "src/hello_service/__init__.py"):
            path.write_text(re.sub(r'version(__)? = "1\.0\.0"', rf'version\1 = "{version}"',
                                   path.read_text()))
    if python:
        # the example names no python-source (it builds the host's default): add the line
        settings = deb / f"{name}.pyrpath"
        text = re.sub(r"^python-source = .*\n", "", settings.read_text(), flags=re.M)
        settings.write_text(f"{text.rstrip()}\npython-source = {python}\n")
    if requirements is not None:
        (deb / "deb-requirements.txt").write_text(requirements)
    for rel, text in (files or {}).items():
        (src / rel).write_text(text)
    return src


@dataclass
class Tool:
    """How the builds get dh_pyrpath: extra dpkg-buildpackage arguments and environment."""
    args: list
    env: dict
    pythonpath: str  # where `python3 -m dh_pyrpath` finds it


_TOOL = []


@pytest.fixture(scope="session")
def tool(request, tmp_path_factory):
    """The installed dh-pyrpath package (conftest's tool_installed), as CI runs it; or, with
    TARGETS_E2E_TOOL_SNAPSHOT=1, a copy of this checkout's dh_pyrpath and pyrpath.pm taken when
    the session starts. The copy keeps one long run consistent on a machine where the checkout
    and the installed package change under it (the reproducibility tests compare builds made
    minutes apart)."""
    if os.environ.get("TARGETS_E2E_TOOL_SNAPSHOT") != "1":
        request.getfixturevalue("tool_installed")
        t = Tool([], {}, str(REPO))
    else:
        root = tmp_path_factory.mktemp("tool-snapshot")
        shutil.copytree(REPO / "dh_pyrpath", root / "lib" / "dh_pyrpath",
                        ignore=shutil.ignore_patterns("__pycache__"))
        seq = root / "perl" / "Debian" / "Debhelper" / "Sequence"
        seq.mkdir(parents=True)
        shutil.copy(REPO / "debhelper" / "pyrpath.pm", seq / "pyrpath.pm")
        (root / "bin").mkdir()
        wrapper = root / "bin" / "dh_pyrpath"
        wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={root / 'lib'} exec /usr/bin/python3 -m "
                           "dh_pyrpath \"$@\"\n")
        wrapper.chmod(0o755)
        t = Tool(["-d"], {"PATH": f"{root / 'bin'}:{chroots.SYSTEM_PATH}",
                          "PERL5LIB": str(root / "perl")}, str(root / "lib"))
    _TOOL[:] = [t]
    return t


def _tool():
    assert _TOOL, "use the `tool` fixture first"
    return _TOOL[0]


def run_dh_pyrpath(*args, cwd, env=None):
    """dh_pyrpath alone in a source tree, from the tool the builds use."""
    return run(["/usr/bin/python3", "-m", "dh_pyrpath", *args], cwd=cwd, check=False,
               env=build_env(PYTHONPATH=_tool().pythonpath, **(env or {})))


def build(src, env=None, package=None):
    """A real `dpkg-buildpackage -us -uc -b` in src."""
    src = Path(src)
    package = package or re.search(r"^Package: (\S+)", (src / "debian/control").read_text(),
                                   re.M).group(1)
    before = set(src.parent.glob("*.deb"))
    t = _tool()
    proc = run(["dpkg-buildpackage", "-us", "-uc", "-b", *t.args], cwd=src,
               env=build_env(**{**t.env, **(env or {})}))
    debs = {p.name.split("_")[0]: p for p in set(src.parent.glob("*.deb")) - before}
    assert package in debs, f"no {package} .deb among {sorted(debs)}"
    return Build(src, package, debs, proc.stdout)


def interrupted(src, env, sig, trigger, timeout=1800):
    """Start dpkg-buildpackage in a process group of its own, send `sig` to the whole group as
    soon as trigger(output so far) is true, and wait until every process of it is gone.
    Returns (exit status, output, whether the signal was sent)."""
    t = _tool()
    proc = subprocess.Popen(["dpkg-buildpackage", "-us", "-uc", "-b", *t.args], cwd=src,
                            env=build_env(**{**t.env, **env}), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    fired = False
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if trigger("".join(lines)):
            os.killpg(proc.pid, sig)
            fired = True
            break
        time.sleep(0.2)
    proc.wait(timeout=600)
    for _ in range(600):  # orphans of the group (make, pip, gcc) finish their own cleanup
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    reader.join(timeout=60)
    return proc.returncode, "".join(lines), fired


def private_cache(dest, key, wheels=True):
    """A copy of the suite cache's entry `key` (and sources, wheels): warm, but a test may break
    or pollute it without touching the cache other tests share."""
    dest = Path(dest)
    (dest / "interpreters").mkdir(parents=True)
    subprocess.run(["cp", "-a", SUITE_CACHE / "interpreters" / key, dest / "interpreters"],
                   check=True)
    for sub in ("sources",) + (("wheels",) if wheels else ()):
        if (SUITE_CACHE / sub).is_dir():
            subprocess.run(["cp", "-a", SUITE_CACHE / sub, dest / sub], check=True)
    return dest


def deb_member(deb, name):
    """The bytes of one file of a .deb's data archive."""
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True,
                          stdout=subprocess.PIPE).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.extractfile(name).read()


def build_info(deb, prefix=PREFIX):
    return json.loads(deb_member(deb, f".{prefix}/share/dh-pyrpath/build-info.json"))


def tar_digests(deb):
    """sha256 of the uncompressed control and data archives: what a .deb holds, whatever the
    compressor."""
    out = {}
    for part in ("--ctrl-tarfile", "--fsys-tarfile"):
        data = subprocess.run(["dpkg-deb", part, deb], check=True, stdout=subprocess.PIPE).stdout
        out[part] = hashlib.sha256(data).hexdigest()
    return out


def diffoscope(a, b, report):
    """diffoscope's text report of how a and b differ (its first lines), saved to `report`."""
    _require("diffoscope")
    proc = subprocess.run(["diffoscope", "--text", str(report), "--no-progress",
                           "--max-report-size", str(4 << 20), str(a), str(b)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=1800, env=build_env())
    text = Path(report).read_text(errors="replace") if Path(report).exists() else proc.stdout
    return "\n".join(text.splitlines()[:200]) + f"\n(full report: {report})"


def assert_same_bytes(a, b, report, what):
    if not filecmp.cmp(a, b, shallow=False):
        raise AssertionError(f"{what}: {a.name} differs from the first build:\n"
                             + diffoscope(a, b, report))


def assert_same_builds(first, second, report_dir, what, contents_only=False):
    """The same .deb (and -dbgsym .deb, when there is one) from two builds."""
    same = assert_same_contents if contents_only else assert_same_bytes
    same(first.deb, second.deb, Path(report_dir) / "diffoscope.txt", what)
    assert (first.dbgsym is None) == (second.dbgsym is None), (first.debs, second.debs)
    if first.dbgsym is not None:
        same(first.dbgsym, second.dbgsym, Path(report_dir) / "diffoscope-dbgsym.txt",
             what + " (-dbgsym)")


def assert_same_contents(a, b, report, what):
    """Same control and data archives (b may use another compressor than a)."""
    if tar_digests(a) != tar_digests(b):
        raise AssertionError(f"{what}: {b.name} holds other bytes than {a.name}:\n"
                             + diffoscope(a, b, report))


# ---------------------------------------------------------------- builds shared by the tests

@pytest.fixture(scope="session")
def example_v1(tool, suite_cache, tmp_path_factory):
    """The example as a user builds it (xz compression; plus a -dbgsym package, should the
    product make one): the reference for every comparison."""
    src = make_variant(tmp_path_factory.mktemp("first-place"))
    return build(src)


@pytest.fixture(scope="session")
def example_v2(tool, suite_cache, tmp_path_factory):
    """Version 2.0.0: new code, a new module, click 8.1.7 -> 8.1.8 (a renamed dist-info)."""
    src = make_variant(tmp_path_factory.mktemp("v2"), version="2.0.0",
                       requirements="click==8.1.8\npyzmq==26.4.0\n",
                       files={"src/hello_service/extra.py": '"""New in 2.0.0."""\nANSWER = 42\n'})
    return build(src, env=FAST)


@pytest.fixture(scope="session")
def service_next(tool, suite_cache, tmp_path_factory):
    """A second service, hello-next, on the CPython minor version of the other supported Debian
    release (on bookworm: 3.13 from trixie's source package; on trixie: 3.11 from bookworm's).
    apt fetches it through a private APT_CONFIG with that release's deb-src; the host's /etc/apt
    is left alone (docs/targets.md). Built without PGO (DEB_BUILD_OPTIONS=noopt): what is tested
    is two isolated interpreters side by side, not their speed."""
    suite, package = OTHER
    apt_config = chroots.source_apt_config(suite)
    src = make_variant(tmp_path_factory.mktemp("next"), name="hello-next",
                       python=f"debian:{package}")
    return build(src, env={**FAST, "APT_CONFIG": str(apt_config), "DEB_BUILD_OPTIONS": "noopt"})


def diagnose(target, command="hello-service", env=None, user=None):
    return json.loads(target.run(command, "diagnose", env=env, user=user, merge=False).stdout)


# ---------------------------------------------------------------- clean target

SMOKE = r"""
import json, sys
out = {}
import ssl; out["ssl"] = ssl.OPENSSL_VERSION; ssl.create_default_context()
import sqlite3; out["sqlite3"] = sqlite3.connect(":memory:").execute("select sqlite_version()").fetchone()[0]
import ctypes, ctypes.util; out["ctypes"] = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").getpid() > 0
import lzma, bz2, zlib
blob = b"dh-pyrpath " * 1000
out["compress"] = all(m.decompress(m.compress(blob)) == blob for m in (lzma, bz2, zlib))
import readline; out["readline"] = readline._READLINE_LIBRARY_VERSION
import json as _j; out["json"] = _j.loads(_j.dumps({"a": [1, 2]})) == {"a": [1, 2]}
import decimal; out["decimal"] = str(decimal.Decimal(1) / decimal.Decimal(7))
import uuid; out["uuid"] = len({uuid.uuid4(), uuid.uuid1()}) == 2
names = ("ssl", "_ssl", "sqlite3", "_sqlite3", "ctypes", "_ctypes", "lzma", "_lzma", "bz2", "_bz2",
         "zlib", "readline", "json", "_json", "decimal", "_decimal", "uuid", "_uuid")
out["files"] = {n: getattr(sys.modules.get(n), "__file__", None) or "built-in" for n in names}
print(json.dumps(out))
"""


def test_clean_target_without_python_installs_with_apt_and_runs(example_v1, tmp_path):
    _require("mmdebstrap")
    with chroots.fresh(MINBASE, tmp_path) as target:
        python_before = sorted(p.name for p in (target / "usr/bin").glob("python*"))
        assert python_before == [], f"the minimal target should have no Python: {python_before}"
        target.install_debs(example_v1.deb)
        # apt found every library in Depends; nothing pulled in any Python
        assert not target.exists("/usr/bin/python3")
        pkgs = target.run("dpkg-query", "-W", "-f", "${Package}\n").stdout.split()
        assert not [p for p in pkgs if "python" in p and p != "hello-service"], pkgs

        assert target.run("hello-service", "greet", "--name", "target").stdout.strip() == \
            "Hello, target!"
        assert target.run("hello-service", "ping").stdout.startswith("ping via libzmq")
        out = json.loads(target.run(PY, "-I", "-c", SMOKE, merge=False).stdout)
        assert out["compress"] and out["json"] and out["uuid"] and out["ctypes"], out
        assert out["ssl"].startswith("OpenSSL 3.0"), out["ssl"]
        outside = {n: f for n, f in out["files"].items()
                   if f != "built-in" and not f.startswith(LIB)}
        assert not outside, f"modules from outside the prefix: {outside}"
        # every ELF file of the package finds every library it needs on this bare system
        ldd = target.sh(f"find {PREFIX} -type f \\( -name '*.so' -o -name '*.so.*' \\) "
                        f"-exec ldd {{}} + ; ldd {PY}").stdout
        missing = sorted({l.split()[0] for l in ldd.splitlines() if "not found" in l})
        assert not missing, f"libraries missing on a clean target (incomplete Depends?): {missing}"
        report = diagnose(target)
        assert report["libpython"] == []  # the interpreter carries libpython itself


# ---------------------------------------------------------------- hostile target

HOSTILE_ENVS = [
    {},
    {"PYTHONPATH": "/usr/lib/python3/dist-packages"},
    {"PYTHONPATH": f"/usr/lib/python3/dist-packages:/usr/local/lib/python{HOST_XY}/dist-packages",
     "PYTHONHOME": "/usr", "LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu",
     "PYTHONSTARTUP": f"/usr/local/lib/python{HOST_XY}/dist-packages/sitecustomize.py",
     "PYTHONUSERBASE": "/usr/local"},
]
POISON = "import pathlib; pathlib.Path('/tmp/poisoned').write_text(__file__)\n"


def test_hostile_target_service_keeps_its_own_dependencies(example_v1, tmp_path):
    _require("mmdebstrap")
    with chroots.fresh(HOSTILE, tmp_path) as target:
        # the system's own Python and its click/pyzmq: real, and other versions than the pins
        system = target.run("python3", "-c", "import click, zmq; print(click.__version__, "
                            "zmq.__version__, click.__file__)").stdout.split()
        assert system[0] != "8.1.7" and system[2].startswith("/usr/lib/python3/dist-packages/")
        assert target.exists(f"/usr/lib/x86_64-linux-gnu/libpython{HOST_XY}.so.1.0")
        # a sitecustomize where a system interpreter would run it
        site = target / f"usr/local/lib/python{HOST_XY}/dist-packages"
        site.mkdir(parents=True, exist_ok=True)
        (site / "sitecustomize.py").write_text(POISON)
        target.install_debs(example_v1.deb)

        for env in HOSTILE_ENVS:
            report = diagnose(target, env=env)
            assert report["libpython"] == [], env  # not the system's, not even the prefix's
            assert all(p.startswith(PREFIX + "/") for p in report["path"]), (env, report["path"])
            for mod in ("json", "_json", "click", "zmq"):
                assert report["modules"][mod].startswith(LIB), (env, mod)
            versions = json.loads(target.run(
                PY, "-I", "-c", "import click, zmq, json; print(json.dumps([click.__version__, "
                "zmq.__version__, click.__file__, zmq.__file__]))", env=env, merge=False).stdout)
            assert versions[:2] == ["8.1.7", "26.4.0"], (env, versions)
            assert all(v.startswith(PREFIX + "/") for v in versions[2:]), (env, versions)
            assert target.run("hello-service", "ping", env=env).stdout.startswith(
                "ping via libzmq 4.3.5"), env  # pyzmq 26.4.0's vendored libzmq, not Debian's
        assert not target.exists("/tmp/poisoned"), (target / "tmp/poisoned").read_text()
        # and the system's Python still has its own click: the service changed nothing
        assert target.run("python3", "-c", "import click; print(click.__version__)",
                          env={"PYTHONPATH": None}).stdout.strip() == system[0]


# ---------------------------------------------------------------- two CPythons on one host

def test_two_services_on_two_cpython_versions_side_by_side(example_v1, service_next, tmp_path):
    _require("mmdebstrap")
    other_xy = OTHER[1][len("python"):]
    info = build_info(service_next.deb, "/opt/hello-next")
    assert info["python"].startswith(other_xy + "."), info
    # the other release's security fixes too (debian_patches.py)
    assert len([p for p in info["python_patches"] if p.startswith("CVE-")]) >= 20, info
    with chroots.fresh(MINBASE, tmp_path) as target:
        target.install_debs(example_v1.deb, service_next.deb)
        services = {"hello-service": ("/opt/hello-service", HOST_XY),
                    "hello-next": ("/opt/hello-next", other_xy)}
        for command, (prefix, xy) in services.items():
            other, other_xy = [(p, v) for p, v in services.values() if p != prefix][0]
            for env in ({}, {"LD_LIBRARY_PATH": f"{other}/lib"},
                        {"PYTHONPATH": f"{other}/lib/python{other_xy}/site-packages",
                         "PYTHONHOME": other}):
                report = diagnose(target, command, env=env)
                assert report["python"].startswith(xy + "."), (command, report["python"])
                assert report["prefix"] == prefix
                assert report["libpython"] == [], report
                for mod in ("json", "_json", "click", "zmq"):
                    assert report["modules"][mod].startswith(f"{prefix}/lib/python{xy}/"), mod
            assert target.run(command, "ping").stdout.startswith("ping via libzmq")
        # nothing but shared directories in common
        a, b = target.owned("hello-service"), target.owned("hello-next")
        common = {p for p in a & b if not (target / p).is_dir()}
        assert not common, sorted(common)[:10]


# ---------------------------------------------------------------- lifecycle on a clean target

def _runs(target, who):
    """What a service and an admin do; returns the outputs."""
    user = NOBODY if who == "user" else None
    return {
        "greet": target.run("hello-service", "greet", "--name", who, user=user).stdout.strip(),
        "ping": target.run("hello-service", "ping", user=user).stdout.strip(),
        "diagnose": diagnose(target, user=user),
        "stdlib": target.run(PY, "-I", "-c", "import ssl, sqlite3, decimal, email.mime.text, "
                             "http.server, xml.dom.minidom, asyncio; print('ok')",
                             user=user).stdout.strip(),
        "version": target.run(PY, "-I", "-c", "import click, hello_service; print("
                              "hello_service.__version__, click.__version__)",
                              user=user).stdout.split(),
    }


def _prefix_files(target):
    return target.files_under(PREFIX)


def _owned_under_prefix(target):
    return {p for p in target.owned("hello-service") if p == PREFIX or p.startswith(PREFIX + "/")}


def _with_bytecode(owned):
    """`owned`, after checking that it holds the bytecode of every module of the interpreter's
    lib/: the package ships it (compiled at build time), so what is installed is what dpkg owns."""
    def pyc(module):
        folder, name = module.rsplit("/", 1)
        return f"{folder}/__pycache__/{name[:-3]}.{HOST_ABI}.pyc"

    missing = [p for p in owned if p.startswith(LIB) and p.endswith(".py") and pyc(p) not in owned]
    assert not missing, f"the package ships no bytecode for {missing[:5]}"
    return set(owned)


def _install_and_run(target, rec, step, label, deb, args=()):
    """Install `deb`, then record under `label`: what dpkg owns, what is there, the runs as
    root and as a user, and what is there after them."""
    target.install_debs(deb, args=args)
    rec["steps"].append(step)
    rec[f"{label} owned"] = _owned_under_prefix(target)
    rec[f"{label} installed"] = _prefix_files(target)
    for who in ("root", "user"):
        rec[f"{label} {who}"] = _runs(target, who)
    rec[f"after {label} runs"] = _prefix_files(target)


@pytest.fixture(scope="module")
def lifecycle(example_v1, example_v2, tmp_path_factory):
    """Two package lives on one clean target, recorded for the tests below.

    First: install v1, run it (as root and as a user), upgrade to v2, run it, roll back to v1,
    run it, remove, purge. Second: install v1, edit a module and run it, import modules with
    -O, whose bytecode the package does not ship (as root, so Python writes it), remove, purge."""
    _require("mmdebstrap")
    v1, v2 = example_v1.deb, example_v2.deb
    rec = {"steps": []}
    with chroots.fresh(MINBASE, tmp_path_factory.mktemp("lifecycle")) as target:
        # the libraries both versions need are part of the baseline (piuparts does the same by
        # removing them again): what is left or gone afterwards is then the package's doing
        depends = [run(["dpkg-deb", "-f", d, "Depends"]).stdout.strip() for d in (v1, v2)]
        target.apt_get("satisfy", "--no-install-recommends", *depends)
        rec["baseline"] = target.snapshot()

        _install_and_run(target, rec, "install v1", "v1", v1)
        # a compiled pyc deleted (by an admin, a cleaner): Python writes it again, as root
        cli_pyc = f"{LIB}site-packages/hello_service/__pycache__/cli.{HOST_ABI}.pyc"
        (target / cli_pyc).unlink()
        target.run("hello-service", "greet")
        rec["pyc rewritten"] = target.exists(cli_pyc)

        _install_and_run(target, rec, "upgrade to v2", "v2", v2)
        _install_and_run(target, rec, "downgrade to v1", "rollback", v1,
                         args=["--allow-downgrades"])

        target.apt_get("remove", "hello-service")
        rec["steps"].append("remove")
        rec["after remove"] = target.snapshot()
        # dpkg, not apt: a removed package without conffiles or postrm is no longer known to apt
        target.run("dpkg", "--purge", "hello-service")
        rec["steps"].append("purge")
        rec["after purge"] = target.snapshot()

        target.install_debs(v1)
        # someone edits a shipped module: the timestamp pyc no longer matches (docs/bench.md)
        cli = f"{LIB}site-packages/hello_service/cli.py"
        cli_pyc = f"{LIB}site-packages/hello_service/__pycache__/cli.{HOST_ABI}.pyc"
        shipped = (target / cli_pyc).read_bytes()
        (target / cli).write_text((target / cli).read_text().replace("Hello,", "Howdy,"))
        rec["edited, as a user"] = target.run("hello-service", "greet", "--name", "user",
                                              user=NOBODY).stdout.strip()
        rec["pyc kept by the user's run"] = (target / cli_pyc).read_bytes() == shipped
        rec["edited, as root"] = target.run("hello-service", "greet").stdout.strip()
        rec["pyc kept by root's run"] = (target / cli_pyc).read_bytes() == shipped
        rec["dpkg -V after the edit"] = target.run("dpkg", "-V", "hello-service",
                                                   check=False).stdout
        for user in (None, NOBODY):  # -O looks for .opt-1.pyc, which the package does not ship
            target.run(PY, "-O", "-c", "import json, click, hello_service.cli", user=user)
        rec["written at run time"] = _prefix_files(target) - _with_bytecode(
            _owned_under_prefix(target))
        target.apt_get("remove", "hello-service")
        rec["after second remove"] = target.snapshot()
        target.run("dpkg", "--purge", "hello-service")
        rec["steps"].append("second life")
        rec["after second purge"] = target.snapshot()
        yield rec


def _step(rec, name):
    if name not in rec["steps"]:
        pytest.fail(f"the lifecycle did not reach '{name}' (steps done: {rec['steps']})")


def test_lifecycle_v1_runs_as_root_and_as_a_user(lifecycle):
    _step(lifecycle, "install v1")
    for who in ("root", "user"):
        out = lifecycle[f"v1 {who}"]
        assert out["greet"] == f"Hello, {who}!"
        assert out["ping"].startswith("ping via libzmq")
        assert out["stdlib"] == "ok"
        assert out["version"] == ["1.0.0", "8.1.7"]
        assert out["diagnose"]["prefix"] == PREFIX
    expected = _with_bytecode(lifecycle["v1 owned"])
    assert lifecycle["v1 installed"] == expected, sorted(lifecycle["v1 installed"] ^ expected)[:10]


def test_lifecycle_running_the_service_writes_nothing(lifecycle):
    """As root and as a user, v1, v2 and the rollback: no file appears under the prefix."""
    _step(lifecycle, "downgrade to v1")
    for label in ("v1", "v2", "rollback"):
        before, after = f"{label} installed", f"after {label} runs"
        new = lifecycle[after] - lifecycle[before]
        assert not new, f"{after}: written at run time: {sorted(new)[:10]}"


def test_lifecycle_upgrade_to_v2_replaces_v1(lifecycle):
    _step(lifecycle, "upgrade to v2")
    for who in ("root", "user"):
        out = lifecycle[f"v2 {who}"]
        assert out["version"] == ["2.0.0", "8.1.8"], out["version"]
        assert out["greet"] == f"Hello, {who}!" and out["ping"].startswith("ping via libzmq")
    present, expected = lifecycle["v2 installed"], _with_bytecode(lifecycle["v2 owned"])
    assert present == expected, sorted(present ^ expected)[:10]
    assert not [p for p in present if "click-8.1.7.dist-info" in p]
    assert f"{LIB}site-packages/hello_service/extra.py" in present


def test_lifecycle_rollback_to_v1(lifecycle):
    _step(lifecycle, "downgrade to v1")
    for who in ("root", "user"):
        out = lifecycle[f"rollback {who}"]
        assert out["version"] == ["1.0.0", "8.1.7"], out["version"]
        assert out["greet"] == f"Hello, {who}!" and out["ping"].startswith("ping via libzmq")
    present = lifecycle["rollback installed"]
    assert lifecycle["rollback owned"] == lifecycle["v1 owned"]
    expected = _with_bytecode(lifecycle["v1 owned"])
    assert present == expected, sorted(present ^ expected)[:10]


def _left_behind(rec, after):
    appeared, _, _ = chroots.diff_snapshots(rec["baseline"], rec[after])
    return appeared


def test_lifecycle_remove_and_purge_leave_no_file_of_the_package(lifecycle):
    _step(lifecycle, "purge")
    assert lifecycle["pyc rewritten"], "the test meant Python to write a compiled pyc again"
    for after in ("after remove", "after purge"):
        left = _left_behind(lifecycle, after)
        assert not left, f"{after}: {len(left)} paths left behind: {left[:12]}"


def test_lifecycle_an_edited_module_runs_from_its_new_source(lifecycle):
    """As docs/bench.md says: the edit takes effect for everyone; a user's run recompiles it
    in memory and writes nothing; root's run writes the pyc anew; dpkg -V names both files."""
    _step(lifecycle, "second life")
    assert lifecycle["edited, as a user"] == "Howdy, user!"
    assert lifecycle["pyc kept by the user's run"]
    assert lifecycle["edited, as root"].startswith("Howdy, ")
    assert not lifecycle["pyc kept by root's run"]
    changed = lifecycle["dpkg -V after the edit"]
    assert "site-packages/hello_service/cli.py" in changed, changed
    assert f"site-packages/hello_service/__pycache__/cli.{HOST_ABI}.pyc" in changed, changed


def test_lifecycle_bytecode_written_at_run_time_goes_with_the_package(lifecycle):
    _step(lifecycle, "second life")
    written = lifecycle["written at run time"]
    assert written and all(p.endswith(".opt-1.pyc") or p.endswith("/__pycache__")
                           for p in written), sorted(written)[:10]
    for after in ("after second remove", "after second purge"):
        left = _left_behind(lifecycle, after)
        assert not left, f"{after}: {len(left)} paths left behind: {left[:12]}"


def test_lifecycle_purge_removes_nothing_it_did_not_install(lifecycle):
    _step(lifecycle, "purge")
    for after in ("after remove", "after purge"):
        _, gone, changed = chroots.diff_snapshots(lifecycle["baseline"], lifecycle[after])
        assert not changed, f"{after}: changed what was there before: {changed[:12]}"
        assert not gone, f"{after}: removed what was there before: {gone[:12]}"


def test_piuparts_upgrade_from_v1_and_install_purge_v2(example_v1, example_v2, tmp_path):
    """piuparts itself: v1 from a local repository (its upgrade test), then v2's .deb; and the
    install/purge test of v2. Its own checks: files left or gone, processes, broken symlinks."""
    _require("piuparts", "mmdebstrap", "dpkg-scanpackages")
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy2(example_v1.deb, repo)
    with open(repo / "Packages", "w") as packages:  # its stderr is no part of the index
        subprocess.run(["dpkg-scanpackages", "."], cwd=repo, stdout=packages, check=True,
                       env=build_env())
    base = chroots.Chroot.unpack(MINBASE, tmp_path / "base")
    log = tmp_path / "piuparts.log"
    try:
        proc = run(["piuparts", "-d", MINBASE.suite, "-m", chroots.MIRROR, "-e", base.root,
                    "--tmpdir", tmp_path, "-l", log, "--bindmount", repo,
                    "--extra-repo", f"deb [trusted=yes] file://{repo} ./",
                    example_v2.deb], env=build_env(), check=False, timeout=1800)
    finally:
        base.destroy()
    text = log.read_text(errors="replace") if log.exists() else proc.stdout
    lines = text.splitlines()
    fails = [l.split("FAIL: ", 1)[1] for l in lines if "FAIL: " in l]
    detail = {}
    for i, l in enumerate(lines):
        if "FAIL: " in l:
            detail[l.split("FAIL: ", 1)[1]] = [" ".join(x.split()) for x in lines[i + 1:i + 4]
                                              if x.startswith(" ") and x.strip()]
    summary = "\n".join(f"{f}: {detail.get(f)}" for f in fails)
    assert proc.returncode == 0, "piuparts failed:\n" + summary + "\n" + "\n".join(lines[-25:])
    # its upgrade test ran: v1 from the local repository, then v2's .deb, then purge
    assert "apt-cache knows about the following packages: hello-service" in text
    assert "PASS: Installation, upgrade and purging tests." in text


# ---------------------------------------------------------------- the artifact

def _members(deb, part):
    data = subprocess.run(["dpkg-deb", part, deb], check=True, stdout=subprocess.PIPE).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def test_artifact_has_sane_permissions_and_owners(example_v1):
    for deb in filter(None, (example_v1.deb, example_v1.dbgsym)):
        members = _members(deb, "--fsys-tarfile") + _members(deb, "--ctrl-tarfile")
        assert len(members) > 20
        problems = []
        for m in members:
            if m.uid != 0 or m.gid != 0 or m.uname not in ("root", "") or m.gname not in ("root", ""):
                problems.append(f"{m.name} owned by {m.uname or m.uid}:{m.gname or m.gid}")
            if m.issym():
                continue
            if m.mode & 0o002:
                problems.append(f"{m.name} is world-writable ({m.mode:o})")
            if m.mode & 0o6000:
                problems.append(f"{m.name} is setuid/setgid ({m.mode:o})")
            if m.isfile() and m.mode & 0o020:
                problems.append(f"{m.name} is group-writable ({m.mode:o})")
        assert not problems, problems[:20]
    # and dpkg-deb -c says the same in its own words
    listing = run(["dpkg-deb", "-c", str(example_v1.deb)]).stdout.splitlines()
    assert listing and all(l.split()[1] == "root/root" for l in listing), listing[:3]


def test_no_credentials_in_package_or_logs(example_v1, tmp_path):
    """An extra index URL with a password, used for real: the wheel cache is empty, so pip asks
    every index (the loopback one refuses at once and pip goes on with the others)."""
    key = build_info(example_v1.deb)["interpreter_key"]
    cache = private_cache(tmp_path / "cache", key, wheels=False)
    src = make_variant(tmp_path / "creds")
    b = build(src, env={**FAST, "DH_PYRPATH_CACHE_DIR": str(cache),
                        "DH_PYRPATH_EXTRA_INDEX_URL": CREDENTIAL_URL,
                        "PIP_RETRIES": "0", "PIP_TIMEOUT": "5"})
    log = b.log.read_text(errors="replace")
    assert "127.0.0.1:9" in log, "the credential index never reached pip: the test proves nothing"
    needles = [SECRET.encode(), base64.b64encode(f"user:{SECRET}".encode())]
    found = []
    for name, data in [("dpkg-buildpackage output", b.output.encode()), ("build.log", log.encode())]:
        found += [name for n in needles if n in data]
    for path in sorted(src.parent.glob("*")):
        if path.is_file() and path.suffix in (".buildinfo", ".changes"):
            found += [path.name for n in needles if n in path.read_bytes()]
    for deb in b.debs.values():
        for part in ("--fsys-tarfile", "--ctrl-tarfile"):
            data = subprocess.run(["dpkg-deb", part, deb], check=True,
                                  stdout=subprocess.PIPE).stdout
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                for m in tar.getmembers():
                    if m.isfile():
                        content = tar.extractfile(m).read()
                        found += [f"{deb.name}:{m.name}" for n in needles if n in content]
    assert not found, f"the password is in: {sorted(set(found))}"


def _wheelhouse_with_hashes(dest):
    """A local wheelhouse with the example's two pinned wheels and a requirements file in
    hash-checking mode for them."""
    dest.mkdir()
    wheels = SUITE_CACHE / "wheels"
    lines = []
    for pattern in ("click-8.1.7-py3-none-any.whl", f"pyzmq-26.4.0-{CP}-{CP}-*.whl"):
        found = sorted(wheels.glob(pattern))
        assert found, f"{pattern} not in the suite's wheel cache (the example build puts it there)"
        shutil.copy2(found[0], dest / found[0].name)
        name, version = found[0].name.split("-")[:2]
        digest = hashlib.sha256(found[0].read_bytes()).hexdigest()
        lines.append(f"{name}=={version} --hash=sha256:{digest}")
    return "\n".join(lines) + "\n"


def _tamper(wheel):
    """Same name, one changed module: what a compromised mirror would serve."""
    tampered = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(tampered, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "click/__init__.py":
                data += b"\nimport os; os.system('echo owned')\n"
            zout.writestr(item, data)
    tampered.replace(wheel)


HASH_ENV = {"PIP_CONFIG_FILE": "/dev/null", "PIP_FIND_LINKS": None, "PIP_INDEX_URL": None,
            "PIP_EXTRA_INDEX_URL": None, "PIP_RETRIES": "0", "PIP_TIMEOUT": "5"}


def test_hash_checking_mode_installs_the_pinned_wheels(example_v1, tmp_path):
    src = make_variant(tmp_path)
    house = tmp_path / "wheelhouse"
    (src / "debian/deb-requirements.txt").write_text(_wheelhouse_with_hashes(house))
    proc = run_dh_pyrpath("--no-index", f"--find-links={house}", cwd=src, env=HASH_ENV)
    assert proc.returncode == 0, proc.stdout[-3000:]
    frozen = (src / f"debian/hello-service{PREFIX}/share/dh-pyrpath/installed-requirements.txt")
    assert "click==8.1.7" in frozen.read_text().split()


def test_hash_checking_mode_refuses_a_tampered_wheel(example_v1, tmp_path):
    """find-links serves a click wheel with the pinned name but other bytes. With the genuine
    file in the cache's store of pinned files, the build uses that one and never the tampered
    one; with a cache that lacks it, pip must fetch it and the build stops on the hash."""
    house = tmp_path / "wheelhouse"
    requirements = _wheelhouse_with_hashes(house)
    _tamper(house / "click-8.1.7-py3-none-any.whl")
    # 1. the store has the pinned bytes (the example build put them there): those are used
    src = make_variant(tmp_path / "stored")
    (src / "debian/deb-requirements.txt").write_text(requirements)
    proc = run_dh_pyrpath("--no-index", f"--find-links={house}", cwd=src, env=HASH_ENV)
    assert proc.returncode == 0, proc.stdout[-3000:]
    installed = next((src / f"debian/hello-service{PREFIX}/lib").glob(
        "python3.*/site-packages/click/__init__.py")).read_text()
    assert "owned" not in installed, "the tampered wheel was installed"
    # 2. a cache without the pinned files (its interpreter and build wheels kept): refused
    key = build_info(example_v1.deb)["interpreter_key"]
    cache = private_cache(tmp_path / "cache", key)
    for pinned in (cache / "sources").glob("*.whl"):
        pinned.unlink()
    src = make_variant(tmp_path / "fetched")
    (src / "debian/deb-requirements.txt").write_text(requirements)
    proc = run_dh_pyrpath("--no-index", f"--find-links={house}", cwd=src,
                          env={**HASH_ENV, "DH_PYRPATH_CACHE_DIR": str(cache)})
    errors = [l for l in proc.stdout.splitlines() if l.startswith("dh_pyrpath: error:")]
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert errors and "hash" in errors[0].lower(), proc.stdout[-3000:]
    assert "click" in proc.stdout
    assert not (src / f"debian/hello-service{PREFIX}").exists(), "half-built tree left behind"
    assert not [p for p in (cache / "sources").glob("*click*")], "the tampered file was stored"


# ---------------------------------------------------------------- reproducible builds

def test_same_source_elsewhere_and_later_gives_identical_debs(example_v1, tmp_path):
    """Another directory (another name, another depth), later, the same SOURCE_DATE_EPOCH (that
    of debian/changelog, which dpkg-buildpackage exports): the same bytes."""
    epoch = run(["dpkg-parsechangelog", "-STimestamp"], cwd=example_v1.src).stdout.strip()
    time.sleep(max(0.0, 3 - (time.time() - example_v1.finished)))
    src = make_variant(tmp_path / "elsewhere" / "deeper", dirname="hello-service-again")
    second = build(src, env={"SOURCE_DATE_EPOCH": epoch})
    assert abs(second.finished - example_v1.finished) >= 3
    assert str(src) != str(example_v1.src)
    assert_same_builds(example_v1, second, tmp_path, "a second build")


@pytest.fixture(scope="session")
def noopt_reference(tool, suite_cache, tmp_path_factory):
    """The example built with the suite's cache and the cheap recipe (NOOPT): the reference
    the cold builds below are compared with."""
    return build(make_variant(tmp_path_factory.mktemp("noopt")), env={**FAST, **NOOPT})


@pytest.fixture(scope="module")
def cold_build(noopt_reference, tmp_path_factory):
    """A build with an empty cache (CPython compiled again, every wheel fetched again), whose
    first attempt is killed (SIGKILL to the whole process group) while CPython is configured."""
    tmp = tmp_path_factory.mktemp("cold")
    cache = tmp / "cache"
    src = make_variant(tmp / "place")
    env = {**FAST, **NOOPT, "DH_PYRPATH_CACHE_DIR": str(cache)}
    log = src / "debian/.debhelper/dh_pyrpath/hello-service/build.log"
    started = []

    def configuring(_output):
        if not started and log.exists() and "=== configure" in log.read_text(errors="replace"):
            started.append(time.monotonic())
        return bool(started) and time.monotonic() - started[0] > 10

    status, output, fired = interrupted(src, env, signal.SIGKILL, configuring)
    after_kill = {"status": status, "fired": fired, "output": output,
                  "published": sorted(p.name for p in (cache / "interpreters").glob("*")),
                  "tmp": sorted(p.name for p in (cache / "tmp").glob("*"))}
    b = build(src, env=env)
    after_kill["tmp after restart"] = sorted(p.name for p in (cache / "tmp").glob("*"))
    return b, cache, after_kill


def test_build_killed_while_compiling_cpython_restarts(cold_build):
    b, cache, k = cold_build
    assert k["fired"], "the build finished before it could be killed: " + k["output"][-2000:]
    assert k["status"] != 0
    assert k["published"] == [], "a half-built interpreter was published into the cache"
    assert "interpreter: cached CPython" not in b.output  # the restart built it
    entry = cache / "interpreters" / build_info(b.deb)["interpreter_key"]
    manifest = json.loads((entry / "manifest.json").read_text())
    assert manifest, "restarted build published an empty entry"


def test_restart_after_kill_leaves_no_debris_in_the_cache(cold_build):
    _, _, k = cold_build
    assert any(t.startswith("interpreter-") for t in k["tmp"]), \
        f"the killed build should have left its staging directory behind: {k['tmp']}"
    assert k["tmp after restart"] == [], f"left in <cache>/tmp: {k['tmp after restart']}"


def _manifest_differences(reference, cold_build, parts):
    """Paths whose (kind, mode, size, sha256) differ between the suite's cached interpreter and
    the one the cold build made for the same key, among the payload's `parts`."""
    b, cache, _ = cold_build
    key_warm = build_info(reference.deb)["interpreter_key"]
    key_cold = build_info(b.deb)["interpreter_key"]
    assert key_cold == key_warm, "same recipe, other cache key"
    warm = json.loads((SUITE_CACHE / "interpreters" / key_warm / "manifest.json").read_text())
    cold = json.loads((cache / "interpreters" / key_cold / "manifest.json").read_text())
    return sorted(p for p in set(warm) | set(cold)
                  if p.split("/")[0] in parts and warm.get(p) != cold.get(p))


def _sysconfig_dflags(entry):
    """DFLAGS as CPython's configure recorded it in the entry's sysconfig data."""
    data = next((Path(entry) / "payload" / "tree" / "lib").glob("python3.*/_sysconfigdata_*.py"))
    return re.search(r"'DFLAGS': '([^']*)'", data.read_text()).group(1)


def test_cold_cache_build_is_identical_to_warm_cache_build(noopt_reference, cold_build, tmp_path):
    b, cache, _ = cold_build
    key = build_info(b.deb)["interpreter_key"]
    differ = _manifest_differences(noopt_reference, cold_build,
                                   ("tree", "bundled", "info.json", "recipe.json"))
    assert not differ, f"the cached interpreter and a fresh build of it differ: {differ[:20]}"
    # dpkg-buildpackage exports DFLAGS=-frelease, which CPython would record as its dtrace
    # flags: whichever entry was built first, nothing the key does not name gets in
    for entry in (cache / "interpreters" / key, SUITE_CACHE / "interpreters" / key):
        assert _sysconfig_dflags(entry) == "", entry
    assert_same_builds(noopt_reference, b, tmp_path, "a cold-cache build", contents_only=True)


def test_whole_cache_entry_is_reproducible(noopt_reference, cold_build):
    differ = _manifest_differences(noopt_reference, cold_build, ("pip",))
    assert not differ, f"{len(differ)} files of payload/pip differ, e.g. {differ[:3]}"


def test_interpreter_cache_key_names_every_library_it_links(example_v1):
    """A library the interpreter links (a Depends of the package) whose -dev package is not in
    the cache key: upgrading that -dev package would not change the key, so a warm cache would
    keep serving an interpreter a cold build would no longer produce."""
    key = build_info(example_v1.deb)["interpreter_key"]
    recipe = json.loads((SUITE_CACHE / "interpreters" / key / "payload" / "recipe.json").read_text())
    in_key = [entry.split("=")[0] for entry in recipe["toolchain"]["libraries"]]

    def source_of(packages):
        out = run(["dpkg-query", "-W", "-f", "${Package} ${source:Package}\n", *packages],
                  env=build_env()).stdout.split("\n")
        return dict(line.split() for line in out if line.strip())

    key_sources = set(source_of(in_key).values())
    depends = run(["dpkg-deb", "-f", str(example_v1.deb), "Depends"]).stdout
    runtime = [d.strip().split()[0] for d in depends.split(",")]
    uncovered = {pkg: src for pkg, src in source_of(runtime).items() if src not in key_sources}
    assert not uncovered, f"the cache key names no -dev package of the sources of {uncovered}"


def test_interpreter_cache_key_names_the_linker(example_v1):
    key = build_info(example_v1.deb)["interpreter_key"]
    recipe = (SUITE_CACHE / "interpreters" / key / "payload" / "recipe.json").read_text()
    binutils = run(["dpkg-query", "-W", "-f", "${Version}", "binutils"], env=build_env()).stdout
    assert binutils.strip()
    assert f"binutils={binutils.strip()}" in recipe, f"binutils {binutils.strip()} not in the key"


# ---------------------------------------------------------------- faults during the build

@pytest.mark.parametrize("sig,when", [
    (signal.SIGTERM, "hello-service: install deps:"),       # pip building the project
    (signal.SIGKILL, "hello-service: interpreter: cached"),  # copying the interpreter out
], ids=["SIGTERM-while-building-the-project", "SIGKILL-while-placing-the-interpreter"])
def test_interrupted_build_restarts_and_matches(example_v1, tmp_path, sig, when):
    key = build_info(example_v1.deb)["interpreter_key"]
    cache = private_cache(tmp_path / "cache", key)
    src = make_variant(tmp_path / "place")
    env = {**FAST, "DH_PYRPATH_CACHE_DIR": str(cache)}
    status, output, fired = interrupted(src, env, sig, lambda out: when in out)
    assert fired, "the build finished before it could be interrupted:\n" + output[-2000:]
    assert status != 0
    assert not list(src.parent.glob("*.deb")), "an interrupted build produced a .deb"
    if sig == signal.SIGTERM:
        # dh_pyrpath had the time to clean up: no half tree, no temporary cache directories
        assert not (src / f"debian/hello-service{PREFIX}").exists(), "half-built tree left"
        assert not list((cache / "tmp").glob("*")), sorted((cache / "tmp").glob("*"))
    again = build(src, env=env)
    assert "interpreter: cached CPython" in again.output, "the cache entry did not survive"
    assert_same_builds(example_v1, again, tmp_path, f"the build restarted after {sig.name}",
                       contents_only=True)
