"""Builds where Debian builds: a vendored source package, built with no network and no cache.

Debian Policy 4.9 forbids network access in a build; pbuilder, cowbuilder (jenkins-debian-glue)
and sbuild build in a clean chroot without it. Here: a chroot of the host's release (mmdebstrap
minbase + build-essential + debhelper, then dh-pyrpath's own .deb installed with apt) builds the
example from a source tree that `dh_pyrpath --vendor` filled outside it, in a network namespace
of its own (loopback only), with HOME=/nonexistent and no cache at all: CPython is compiled from
the vendored tarball, every distribution comes from the vendored files.

Its .deb is byte-identical to the online build of the same source in another copy of the same
chroot, made with network, with a cache kept between runs on this machine, in another directory,
and with tk-dev installed: so the default (PGO+LTO) interpreter comes out the same from two cold
builds, and a -dev package configure is told not to use changes no byte (the cache key leaves it
out). The failures each take one line: offline and not vendored, a lock changed since --vendor, a
vendored file corrupted.
"""
import io
import json
import re
import shutil
import subprocess
import tarfile

import pytest

import chroots
from conftest import REPO, TEST_STATE, tool_debs, vendored_copy

pytestmark = pytest.mark.e2e

EXAMPLE = REPO / "examples" / "hello-service"
ONLINE_CACHE = TEST_STATE / f"offline-pair-{chroots.HOST_SUITE}-cache"
CA_BUNDLE = "/etc/ssl/host-ca.crt"
# Both builds see the same settings: the CA bundle is a setting (build-info records it).
ENV = {"DH_PYRPATH_CA_BUNDLE": CA_BUNDLE, "DEB_BUILD_OPTIONS": None}
BUILDER = chroots.Recipe("builder", include=("build-essential", "debhelper", "fakeroot"))


def _errors(proc):
    """The error lines, without the pointer to the full log that follows each."""
    return [l for l in proc.stdout.splitlines() if l.startswith("dh_pyrpath: error:")
            and not l.startswith("dh_pyrpath: error: full log:")]


@pytest.fixture(scope="module")
def vendored(tool_installed, suite_cache, tmp_path_factory):
    """The example as a source package that went through `dh_pyrpath --vendor` (with network,
    outside any chroot), and the tool's .deb."""
    src, output = vendored_copy(EXAMPLE, tmp_path_factory.mktemp("vendored"))
    return src, tool_installed, output


def _builder(parent, tool_deb, extra=(), deb_src=False):
    """A fresh builder chroot with dh-pyrpath installed by apt (with network: that is the
    machine's setup, not the build), and the host's CA bundle at CA_BUNDLE. deb_src: apt also
    knows the sources of the chroot's archives, as on a networked build machine."""
    box = chroots.Chroot.unpack(BUILDER, parent / "root")
    if deb_src:
        (box / "etc/apt/sources.list.d/deb-src.list").write_text(
            "".join(line.replace("deb ", "deb-src ", 1) + "\n" for line in BUILDER.sources()))
    box.update()
    box.install_debs(*tool_debs(tool_deb))
    if extra:
        box.apt_get("install", "--no-install-recommends", *extra)
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", box / CA_BUNDLE.lstrip("/"))
    return box


@pytest.fixture(scope="module")
def pair(vendored, tmp_path_factory):
    src, tool_deb, _ = vendored
    online = _builder(tmp_path_factory.mktemp("online"), tool_deb, extra=("tk-dev",),
                      deb_src=True)
    offline = _builder(tmp_path_factory.mktemp("offline"), tool_deb)
    try:
        yield src, online, offline
    finally:
        online.destroy()
        offline.destroy()


def _put(box, src, inside, vendor=True):
    dest = box / inside.lstrip("/")
    shutil.copytree(src, dest, ignore=None if vendor else shutil.ignore_patterns(
        "pyrpath-vendor"))
    return dest


def _build(box, inside, env=(), **kw):
    proc = box.run("dpkg-buildpackage", "-us", "-uc", "-b", cwd=inside, env={**ENV, **dict(env)},
                   check=False, timeout=3600, **kw)
    assert proc.returncode == 0, proc.stdout[-4000:]
    parent = (box / inside.lstrip("/")).parent
    debs = sorted(p for p in parent.glob("hello-service_*.deb"))
    assert len(debs) == 1, [d.name for d in parent.glob("*.deb")]
    return debs[0], proc.stdout


def test_offline_and_not_vendored_names_the_way_out(pair):
    src, _, offline = pair
    _put(offline, src, "/src/unvendored/hello-service", vendor=False)
    proc = offline.run("dh_pyrpath", cwd="/src/unvendored/hello-service", env=ENV,
                       network=False, check=False)
    errors = _errors(proc)
    assert proc.returncode != 0 and len(errors) == 1, proc.stdout[-2000:]
    assert "dh_pyrpath --vendor" in errors[0], errors[0]


def test_a_lock_changed_since_vendoring_is_stale(pair):
    src, _, offline = pair
    tree = _put(offline, src, "/src/stale/hello-service")
    req = tree / "debian" / "deb-requirements.txt"
    req.write_text(req.read_text().replace("click==8.1.7", "click==8.1.8"))
    proc = offline.run("dh_pyrpath", cwd="/src/stale/hello-service", env=ENV, network=False,
                       check=False)
    errors = _errors(proc)
    assert proc.returncode != 0 and len(errors) == 1, proc.stdout[-2000:]
    assert "debian/deb-requirements.txt changed since" in errors[0], errors[0]
    assert "dh_pyrpath --vendor" in errors[0]


def test_a_corrupted_vendored_file_is_named(pair):
    src, _, offline = pair
    tree = _put(offline, src, "/src/corrupt/hello-service")
    manifest = json.loads((tree / "pyrpath-vendor" / "MANIFEST.json").read_text())
    victim = next(rel for rel in sorted(manifest["files"]) if rel.endswith(".whl"))
    with open(tree / "pyrpath-vendor" / victim, "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    proc = offline.run("dh_pyrpath", cwd="/src/corrupt/hello-service", env=ENV, network=False,
                       check=False)
    errors = _errors(proc)
    assert proc.returncode != 0 and len(errors) == 1, proc.stdout[-2000:]
    assert victim in errors[0] and "sha256" in errors[0], errors[0]


@pytest.fixture(scope="module")
def two_builds(pair, tmp_path_factory):
    """The online build (network, deb-src, tk-dev, a cache kept between runs) and the vendored
    offline one (no network, no cache, another directory, another host name and stack limit,
    later) of the same source: their .debs and the offline build's output."""
    src, online, offline = pair
    ONLINE_CACHE.mkdir(parents=True, exist_ok=True)
    _put(online, src, "/src/online/hello-service", vendor=False)
    first, _ = _build(online, "/src/online/hello-service",
                      env={"DH_PYRPATH_CACHE_DIR": "/var/cache/dh-pyrpath"},
                      binds=[(ONLINE_CACHE, "/var/cache/dh-pyrpath")])
    _put(offline, src, "/build/elsewhere/hello-service")
    # another machine, as the PGO training sees one: another host name (uuid asks platform),
    # an unlimited stack (the kernel then lays memory out bottom-up)
    second, log = _build(offline, "/build/elsewhere/hello-service", network=False,
                         hostname="another-build-host.example.org", stack_limit="unlimited")
    keep = tmp_path_factory.mktemp("debs")
    a, b = keep / "online.deb", keep / "offline.deb"
    shutil.copy(first, a)
    shutil.copy(second, b)
    return a, b, log


def _members(deb, part):
    """{name: (mode, bytes)} of a .deb's control or data archive."""
    out = subprocess.run(["dpkg-deb", "--ctrl-tarfile" if part == "control" else
                          "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        return {m.name: (m.mode, tar.extractfile(m).read() if m.isfile() else m.linkname)
                for m in tar.getmembers()}


def test_vendored_offline_build_matches_the_online_build(two_builds):
    """Every file is the same, the PGO-trained, LTO-linked executable included: the cache key
    leaves tk-dev out rightly, the vendored files are the online ones, the SBOM and
    build-info.json (the interpreter key included) do not say where the files came from. (The
    next test compares the whole .deb; this one names the files that differ.)"""
    a, b, log = two_builds
    assert "vendored: building from" in log
    assert "interpreter: cached CPython" not in log  # no cache: compiled from the vendored tarball
    online, offline = _members(a, "data"), _members(b, "data")
    assert sorted(online) == sorted(offline)
    assert any(re.fullmatch(r"\./opt/hello-service/bin/python3\.\d+", n) for n in online)
    differ = sorted(n for n in online if online[n] != offline[n])
    assert not differ, differ
    assert _members(a, "control")["./control"] == _members(b, "control")["./control"]


def test_vendored_offline_build_is_identical_to_the_online_build(two_builds):
    a, b, _ = two_builds
    if a.read_bytes() != b.read_bytes():
        report = subprocess.run(["diffoscope", "--text", "-", str(a), str(b)],
                                stdout=subprocess.PIPE, text=True).stdout
        raise AssertionError("the vendored offline build differs from the online build:\n"
                             + "\n".join(report.splitlines()[:150]))
