"""sbuild against dpkg-buildpackage on the host: one source package, the same .debs.

A developer builds on their machine; CI or a rebuilder builds the same source package with
sbuild. Here the example's `dh_pyrpath --vendor`'d source package (a real .dsc) is built twice:
- with sbuild's unshare backend, as an unprivileged user with subordinate ids, the way
  sbuild's documentation sets it up: a buildd chroot made from the archive (mmdebstrap), its
  packages brought up to date (--apt-distupgrade), dh-pyrpath's own .debs given as extra
  packages, the build with no network, as sbuild's system build user, in /build, no cache;
- with dpkg-buildpackage on the host, as root, dh-pyrpath's .debs installed, the suite's cache.
Every .deb is the same bytes, the PGO-trained bin/python3.X included.

The key names the versions of the compilers and -dev packages (docs/targets.md, "What
reproducible covers"), so this holds for a host as up to date as the archive: when it is not,
the test says which packages differ instead of comparing bytes that cannot match.
Extended tier: sbuild compiles its interpreter cold (about 10 minutes on 2 cores).
"""
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import chroots
from dh_pyrpath.python import recipe as recipelib
from conftest import REPO, SYSTEM_PATH, build_env, run, tool_debs, tree_files, vendored_copy

pytestmark = [pytest.mark.e2e, pytest.mark.extended]

EXAMPLE = REPO / "examples" / "hello-service"
BUILDD = chroots.Recipe("sbuild", variant="buildd")
# The user sbuild runs as: a regular account, as a developer's (sbuild then builds as a system
# user it adds to the chroot, uid 999 or so, and the PGO training cannot make a user
# namespace inside sbuild's chroot).
SBUILD_USER = "dh-pyrpath-sbuild"


def _sbuild_user():
    """The unprivileged account, made once on this machine, with its subordinate ids (useradd
    gives a regular account a range of them; sbuild's unshare backend maps the chroot to it)."""
    try:
        account = pwd.getpwnam(SBUILD_USER)
    except KeyError:
        run(["useradd", "--create-home", "--home-dir", f"/var/lib/{SBUILD_USER}",
             "--shell", "/bin/sh", SBUILD_USER], env={"PATH": SYSTEM_PATH})
        account = pwd.getpwnam(SBUILD_USER)
    for table, option in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
        lines = Path(table).read_text().splitlines() if os.path.exists(table) else []
        if not any(line.split(":")[0] == SBUILD_USER for line in lines):
            # above every range already given, 65536 ids
            start = max([100000] + [int(f[1]) + int(f[2]) for f in
                                    (line.split(":") for line in lines) if len(f) == 3])
            run(["usermod", option, f"{start}-{start + 65535}", SBUILD_USER],
                env={"PATH": SYSTEM_PATH})
    return account


def _source_package(work):
    """The example, vendored, as a .dsc (dpkg-source -b)."""
    src, _ = vendored_copy(EXAMPLE, work / "src")
    run(["dpkg-source", "-b", src.name], cwd=src.parent, env=build_env())
    dscs = list(src.parent.glob("*.dsc"))
    assert len(dscs) == 1, dscs
    return dscs[0]


def _sbuild(dsc, tool_deb, out, account):
    """sbuild's unshare backend, as the developer's account."""
    out.mkdir()
    os.chown(out, account.pw_uid, account.pw_gid)
    # where sbuild's user may read them (pytest's temporary directories are root's alone)
    shelf = out.parent / "extra-packages"
    shelf.mkdir()
    extra = [f"--extra-package={shutil.copy(deb, shelf)}" for deb in tool_debs(tool_deb)]
    proc = subprocess.run(
        ["runuser", "-u", SBUILD_USER, "--", "env", "-i", f"HOME={account.pw_dir}",
         f"PATH={SYSTEM_PATH}", "LC_ALL=C.UTF-8",
         "sbuild", "--chroot-mode=unshare", f"--chroot={chroots.pristine(BUILDD)}",
         f"--dist={chroots.HOST_SUITE}", "--apt-update", "--apt-distupgrade",
         "--no-run-lintian", "--no-run-piuparts", "--no-run-autopkgtest", "--nolog",
         *extra, f"--build-dir={out}", str(dsc)],
        cwd=out, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout


def _host_build(dsc, where):
    """dpkg-buildpackage on the host, from the same .dsc."""
    where.mkdir()
    tree = where / "hello-service"
    run(["dpkg-source", "-x", str(dsc), str(tree)], env=build_env())
    return run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree, env=build_env()).stdout


def _debs(where):
    return {p.name: p for p in where.glob("*.deb")}


def _build_info(deb, where):
    """build-info.json of a built .deb (the interpreter's key, the toolchain's versions)."""
    tree = where / deb.stem
    tree.mkdir(parents=True)
    run(["dpkg-deb", "-x", str(deb), str(tree)])
    return json.loads(next(tree.rglob("share/dh-pyrpath/build-info.json")).read_text()), tree


def _keyed_versions_that_differ(sbuild_log):
    """{package: (host version, sbuild chroot version)} for the packages the key names, from
    the host's dpkg database and the "Package versions:" line of sbuild's build environment."""
    names = (recipelib.BUILD_LIBRARIES + recipelib.DETECTED_LIBRARIES
             + recipelib.LEGACY_LIBRARIES + recipelib.BUILD_TOOLS)
    listed = next((line.split(":", 1)[1] for line in sbuild_log.splitlines()
                   if line.startswith("Package versions:")), "")
    chroot = dict(word.split("_", 1) for word in listed.split())  # name_version
    host = dict(v.split("=", 1) for v in recipelib._installed_versions(names))
    return {n: (host.get(n), chroot.get(n)) for n in sorted(names)
            if host.get(n) != chroot.get(n)}


def _differing_files(a, b):
    fa, fb = tree_files(a), tree_files(b)
    return sorted(p for p in fa.keys() | fb.keys() if fa.get(p) != fb.get(p))


def test_sbuild_and_the_host_build_the_same_debs(tool_installed):
    account = _sbuild_user()
    # sbuild's user must read the source package and write its results: not pytest's tmp_path
    work = Path(tempfile.mkdtemp(prefix="dh-pyrpath-sbuild-", dir="/var/tmp"))
    try:
        os.chmod(work, 0o755)
        dsc = _source_package(work)
        log = _sbuild(dsc, tool_installed, work / "sbuild", account)
        # really built there: vendored, with no network, compiled with the PGO training, and
        # the training made no excuse for this environment
        assert "vendored: building from" in log and "instrumented for PGO" in log, log[-4000:]
        assert "may differ from another build's" not in log, log[-4000:]
        _host_build(dsc, work / "host")

        sbuilt, hosted = _debs(work / "sbuild"), _debs(work / "host")
        assert sbuilt and sbuilt.keys() == hosted.keys(), (sorted(sbuilt), sorted(hosted))
        info_s, tree_s = _build_info(sbuilt["hello-service_1.0.0_amd64.deb"], work / "x-sbuild")
        info_h, tree_h = _build_info(hosted["hello-service_1.0.0_amd64.deb"], work / "x-host")
        if info_s["interpreter_key"] != info_h["interpreter_key"]:
            pytest.fail("the host and sbuild's chroot made other interpreter keys: the host is "
                        "not as up to date as the archive (apt-get upgrade), or the archive "
                        "moved meanwhile; keyed packages that differ (host, sbuild): "
                        f"{_keyed_versions_that_differ(log)}")
        differ = [name for name in sbuilt
                  if sbuilt[name].read_bytes() != hosted[name].read_bytes()]
        assert not differ, (differ, _differing_files(tree_h, tree_s)[:20])
        for name, deb in sorted(sbuilt.items()):  # for the record (pytest -s shows it)
            print(f"{name}: {hashlib.sha256(deb.read_bytes()).hexdigest()} on both sides, "
                  f"interpreter key {info_s['interpreter_key']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
