"""Debian 13 (trixie), the current stable, as a build host and a target.

In a trixie chroot, as on a fresh trixie machine: examples/setup-host builds dh-pyrpath's own
.deb and installs it with apt; the example builds with the defaults (the host's python3.13,
trixie's source with its security fixes); apt installs it; it runs; the isolation checks pass.
The chroot's packages come from Debian's archive (tests/chroots.py); the interpreter it compiles
is kept in a cache of its own under the suite's state directory, so that later runs on this
machine reuse it (a cold run compiles CPython 3.13 with trixie's GCC once).
"""
import json
import shutil

import pytest
from debian.deb822 import Deb822

import chroots
from conftest import REPO, TEST_STATE, ZSTD_MEMBERS

pytestmark = pytest.mark.e2e

SUITE = "trixie"
CACHE = TEST_STATE / f"{SUITE}-cache"
CA_BUNDLE = "/etc/ssl/host-ca.crt"


def tool_relations():
    """dh-pyrpath's Build-Depends and Depends, from its debian/control: baked into the chroot's
    tarball so that each run only builds and installs the tool itself."""
    with open(REPO / "debian" / "control", encoding="utf-8") as fh:
        paras = list(Deb822.iter_paragraphs(fh, use_apt_pkg=False))
    ours = {para["Package"] for para in paras[1:]}  # built here, not in the archive
    names = set()
    fields = [("Build-Depends", paras[0])] + [("Depends", para) for para in paras[1:]]
    for field, para in fields:
        for relation in para.get(field, "").split(","):
            name = relation.split("|")[0].split("(")[0].split("[")[0].strip()
            if name and not name.startswith("${") and not name.startswith("debhelper-compat"):
                names.add(name)
    return tuple(sorted((names - ours) | {"debhelper", "devscripts", "equivs", "ca-certificates"}))


TRIXIE = chroots.Recipe("build", suite=SUITE, include=tool_relations())


def checkout_into(box, dest):
    """This checkout as a user has it (no VCS data, no caches)."""
    shutil.copytree(REPO, box / dest, ignore=shutil.ignore_patterns(
        ".git", ".cache", "__pycache__", "*.egg-info", "build"))


@pytest.fixture(scope="module")
def trixie(tmp_path_factory):
    if shutil.which("mmdebstrap", path=chroots.SYSTEM_PATH) is None:
        pytest.fail("mmdebstrap not installed: tests/run installs it")
    CACHE.mkdir(parents=True, exist_ok=True)
    with chroots.fresh(TRIXIE, tmp_path_factory.mktemp("trixie")) as box:
        checkout_into(box, "src/dh-pyrpath")
        shutil.copytree(REPO / "examples" / "hello-service", box / "src/hello-service")
        # This network's TLS proxy signs with a CA only the host's bundle has (shared/design.md);
        # a build machine behind one points dh_pyrpath at its bundle.
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", box / CA_BUNDLE.lstrip("/"))
        setup = box.run("/src/dh-pyrpath/examples/setup-host", timeout=1800)
        env = {"DH_PYRPATH_CACHE_DIR": "/var/cache/dh-pyrpath", "DH_PYRPATH_CA_BUNDLE": CA_BUNDLE}
        built = box.run("dpkg-buildpackage", "-us", "-uc", "-b", cwd="/src/hello-service",
                        env=env, binds=[(CACHE, "/var/cache/dh-pyrpath")], timeout=3600)
        debs = sorted((box / "src").glob("hello-service_*.deb"))
        assert len(debs) == 1, [d.name for d in debs]
        box.apt_get("install", "--no-install-recommends", f"/src/{debs[0].name}")
        yield box, setup.stdout, built.stdout, debs[0]


def test_setup_host_builds_and_installs_the_tool_on_trixie(trixie):
    box, setup, _, _ = trixie
    status = box.run("dpkg-query", "-W", "-f", "${Status} ${Version}", "dh-pyrpath").stdout
    assert status.startswith("install ok installed"), status
    assert setup.strip().splitlines()[-1].endswith("_all.deb")
    # deb-src entries mirror the chroot's deb entries, its security archive included
    suites = box.run("apt-get", "indextargets", "Created-By: Sources", "--format",
                     "$(RELEASE)").stdout.split()
    assert {SUITE, f"{SUITE}-updates", f"{SUITE}-security"} <= set(suites), suites


def test_example_builds_with_the_defaults_on_trixie(trixie):
    box, _, output, _ = trixie
    staged = box / "src/hello-service/debian/hello-service/opt/hello-service"
    info = json.loads((staged / "share/dh-pyrpath/build-info.json").read_text())
    assert info["python"].startswith("3.13."), info
    assert info["python_source"].startswith("python3.13_"), info
    assert info["python_debian_revision"], info
    assert len([p for p in info["python_patches"] if p.startswith("CVE-")]) >= 20
    # the stage line names the Debian revision the interpreter comes from
    # (the stage's result line: a warm cache prints a "cached CPython" line before it)
    line = next(l for l in output.splitlines()
                if "hello-service: interpreter:" in l and "placed at" in l)
    assert f"python3.13 {info['python_debian_revision']}" in line, line
    assert "lack trixie-security" not in output


def test_example_installs_runs_and_is_isolated_on_trixie(trixie):
    box, _, _, deb = trixie
    # the example's debian/rules asks for zstd, as make-deb writes it: trixie's apt takes it
    assert box.run("ar", "t", f"/src/{deb.name}").stdout.split() == ZSTD_MEMBERS
    assert box.run("hello-service", "greet", "--name", "trixie").stdout.strip() == \
        "Hello, trixie!"
    assert box.run("hello-service", "ping").stdout.startswith("ping via libzmq")
    system = "/usr/lib/x86_64-linux-gnu"
    for env in ({}, {"LD_LIBRARY_PATH": system},
                {"PYTHONPATH": "/usr/lib/python3/dist-packages", "PYTHONHOME": "/usr"}):
        report = json.loads(box.run("hello-service", "diagnose", env=env, merge=False).stdout)
        assert report["python"].startswith("3.13."), report
        assert report["libpython"] == [], (env, report)
        assert all(p.startswith("/opt/hello-service/") for p in report["path"]), report
        for name in ("json", "_json", "click", "zmq"):
            assert report["modules"][name].startswith("/opt/hello-service/lib/python3.13/"), name
