"""make-deb --refresh and docs/security.md's nightly job, for real.

A mirror serves a newer python3.11 revision than this network's archive lets a build take
(tests/local_apt.py: deb12u8's real source under 3.11.2-6+deb12u9+local1, a deb-src and binary
index made by apt-ftparchive), and every apt call of the product reads it through APT_CONFIG.
audit-demo (jinja2 3.1.2) pinned to deb12u8 is built with dpkg-buildpackage and published into
a signed repository with docs/publishing.md's publish-deb; then the nightly job, exactly the
text between the markers of docs/security.md, audits the repository (exit 1), refreshes the
pin, commits, rebuilds for real, publishes, and audits again. The refresh's acceptance checks
read what that one run left: it is the module's only cold CPython build (DEB_BUILD_OPTIONS=noopt,
the plain profile, a user's own switch; later runs find the interpreter in the suite's cache,
since the mirror's files are the same bytes every time). The other tests run the refresh alone
(dry run, already current, the archive's 404, no apt indexes) and build nothing.
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from debian.debian_support import Version

import local_apt
from conftest import HOST_CODENAME, HOST_PYTHON, REPO, SYSTEM_PATH, build_env, build_deb, run
from dh_pyrpath.python import apt

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif((HOST_CODENAME, HOST_PYTHON) != ("bookworm", "python3.11"),
                                 reason="the mirror re-serves bookworm's python3.11")]

DEMO = REPO / "tests" / "data" / "sources" / "audit-demo"
OSV = REPO / "tests" / "data" / "osv"
SECURITY = REPO / "docs" / "security.md"
PUBLISHING = REPO / "docs" / "publishing.md"
PIN = f"python-source = debian:{local_apt.PACKAGE}={local_apt.BASE}\n"
SETTINGS = f"# the interpreter\n{PIN}install-root = /opt  # where it goes\n"
INFO = "./opt/audit-demo/share/dh-pyrpath/build-info.json"


def script(doc, name, dest):
    """The shell script between docs' `<!-- name: begin/end -->` markers, saved executable."""
    m = re.search(rf"<!-- {name}: begin -->\n```sh\n(.*?)```\n<!-- {name}: end -->",
                  doc.read_text(), re.S)
    assert m, f"{doc.name} lost its {name} markers"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(m.group(1))
    dest.chmod(0o755)
    return dest


def project(parent, pin=PIN):
    """audit-demo pinned to `pin`, a git checkout as CI has it."""
    dest = Path(parent) / "audit-demo"
    shutil.copytree(DEMO, dest)
    (dest / "debian" / "audit-demo.pyrpath").write_text(SETTINGS.replace(PIN, pin))
    git = {"PATH": SYSTEM_PATH, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org", "HOME": str(parent)}
    run(["git", "init", "-q", "-b", "main"], cwd=dest, env=git)
    run(["git", "add", "-A"], cwd=dest, env=git)
    run(["git", "commit", "-q", "-m", "audit-demo"], cwd=dest, env=git)
    return dest


def snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git/" not in str(p)}


def make_deb(cwd, *args, env=None):
    environ = {"PATH": SYSTEM_PATH, "PYTHONPATH": str(REPO), "LC_ALL": "C.UTF-8",
               "HOME": str(cwd.parent), **(env or {})}
    return subprocess.run(["/usr/bin/python3", "-m", "make_deb", *map(str, args)], cwd=cwd,
                          text=True, capture_output=True, env=environ, timeout=600)


def build_info(deb):
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True,
                         stdout=subprocess.PIPE).stdout
    return json.loads(subprocess.run(["tar", "-xO", INFO], input=tar, check=True,
                                     stdout=subprocess.PIPE).stdout)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """The APT_CONFIG of the host's apt plus the mirror."""
    work = tmp_path_factory.mktemp("mirror")
    return local_apt.apt_config(work, local_apt.served_revision(work))


def tools(root):
    """make-deb and dh_pyrpath of this checkout, on PATH for the job."""
    bindir = root / "bin"
    bindir.mkdir()
    for name, module in (("make-deb", "make_deb"), ("dh_pyrpath", "dh_pyrpath")):
        (bindir / name).write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec /usr/bin/python3 -m "
                                   f"{module} \"$@\"\n")
        (bindir / name).chmod(0o755)
    return bindir


@pytest.fixture(scope="module")
def nightly(mirror, pyrpath_build, suite_cache, tmp_path_factory):
    """The stale package built and published, then the nightly job run once (the refresh
    and the one rebuild every test of the module reads)."""
    args, build_extra = pyrpath_build
    root = tmp_path_factory.mktemp("nightly")
    src = project(root / "work")
    noopt = {**build_extra, "DEB_BUILD_OPTIONS": "noopt"}
    (stale,) = build_deb(src, *args, env=noopt)
    gnupg = root / "gnupg"
    gnupg.mkdir(mode=0o700)
    keys = {"PATH": SYSTEM_PATH, "GNUPGHOME": str(gnupg), "LC_ALL": "C.UTF-8"}
    run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
         "nightly test <repo@example.org>", "ed25519", "sign", "1d"], env=keys)
    fpr = next(line.split(":")[9] for line in run(
        ["gpg", "--with-colons", "--list-secret-keys"], env=keys).stdout.splitlines()
        if line.startswith("fpr:"))
    publish = script(PUBLISHING, "publish-deb", src / "ci" / "publish-deb")
    job = script(SECURITY, "nightly-refresh", src / "ci" / "nightly-refresh")
    repo = root / "apt"
    run([str(publish), str(repo), HOST_CODENAME, str(stale)], env={**keys, "GPG_KEY": fpr})
    env = build_env(**{
        **noopt, "PATH": f"{tools(root)}:{build_extra.get('PATH', SYSTEM_PATH)}",
        "APT_CONFIG": str(mirror), "REPO": str(repo), "SUITE": HOST_CODENAME,
        "OSV": str(OSV), "GNUPGHOME": str(gnupg), "GPG_KEY": fpr,
        "DEBFULLNAME": "Nightly refresh", "DEBEMAIL": "ci@example.org", "HOME": str(root),
        "GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.org",
        "GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@example.org"})
    if "-d" in args:  # this checkout's dh_pyrpath: dpkg-buildpackage's own config file says -d
        (root / ".config" / "dpkg").mkdir(parents=True)
        (root / ".config" / "dpkg" / "buildpackage.conf").write_text("no-check-builddeps\n")
        env["XDG_CONFIG_HOME"] = str(root / ".config")
    proc = run([str(job)], cwd=src, env=env, check=False)
    print(proc.stdout)
    return {"proc": proc, "project": src, "repo": repo, "stale": stale, "env": env}


def test_the_nightly_job_refreshes_rebuilds_and_publishes(nightly):
    proc, repo = nightly["proc"], nightly["repo"]
    out = proc.stdout
    # jinja2 3.1.2 is still locked: a person re-locks it; the job says so with exit 1
    assert proc.returncode == 1, out[-3000:]
    first, last = out.split("make-deb: debian/audit-demo.pyrpath: moved", 1)
    assert f"{local_apt.BASE} < {local_apt.LOCAL}" in first and "jinja2 3.1.2" in first
    assert all(cve in first for cve in local_apt.LOCAL_IDS)
    assert "audit-demo_1.0+b1_" in last and "added to" in last
    rows = [line for line in last.splitlines() if line.startswith("audit-demo")]
    assert rows and all("1.0+b1" in row for row in rows), rows
    assert any("jinja2 3.1.2" in row for row in rows)
    assert not any(HOST_PYTHON in row for row in rows), rows  # the interpreter is fixed
    pool = sorted((p.name for p in (repo / "pool" / HOST_CODENAME / "main").iterdir()),
                  key=lambda name: Version(name.split("_")[1]))
    assert [n.split("_")[1] for n in pool] == ["1.0", "1.0+b1"], pool
    packages = next((repo / "dists" / HOST_CODENAME / "main").glob("binary-*/Packages"))
    assert packages.read_text().count("Package: audit-demo\n") == 2
    # the repository's new package, audited on its own: only jinja2 is left
    new = repo / "pool" / HOST_CODENAME / "main" / pool[1]
    audit = run(["dh_pyrpath", "--audit", "--json", "--no-pypi", "--osv", str(OSV), str(new)],
                env=nightly["env"], check=False)
    report = json.loads(audit.stdout)
    (package,) = report["packages"]
    assert package["python_debian"]["revision"] == local_apt.LOCAL
    assert [f["name"] for f in package["findings"]] == ["jinja2"]


def test_refresh_wrote_the_pin_and_a_changelog_entry(nightly):
    src, env = nightly["project"], nightly["env"]
    settings = (src / "debian" / "audit-demo.pyrpath").read_text()
    assert settings == SETTINGS.replace(local_apt.BASE, local_apt.LOCAL)  # nothing else
    fields = {f: run(["dpkg-parsechangelog", f"-S{f}"], cwd=src, env=env).stdout.strip()
              for f in ("Version", "Distribution", "Maintainer", "Changes")}
    assert fields["Version"] == "1.0+b1" and fields["Distribution"] == "unstable"
    assert fields["Maintainer"] == "Nightly refresh <ci@example.org>"
    assert local_apt.LOCAL in fields["Changes"] and f"was {local_apt.BASE}" in fields["Changes"]
    assert all(cve in fields["Changes"] for cve in local_apt.LOCAL_IDS)
    # the previous entry is byte for byte what it was
    assert (src / "debian" / "changelog").read_text().endswith(
        (DEMO / "debian" / "changelog").read_text())
    changed = run(["git", "show", "--name-only", "--format=%s", "HEAD"], cwd=src,
                  env=env).stdout.split()
    assert changed[-2:] == ["debian/audit-demo.pyrpath", "debian/changelog"], changed


def test_the_rebuild_carries_the_newer_revision(nightly):
    assert build_info(nightly["stale"])["python_debian_revision"] == local_apt.BASE
    new = next((nightly["project"] / "build").glob("audit-demo_1.0+b1_*.deb"))
    info = build_info(new)
    assert info["python_debian_revision"] == local_apt.LOCAL, info


def test_dry_run_prints_the_diff_and_changes_nothing(mirror, tmp_path):
    src = project(tmp_path)
    before = snapshot(src)
    proc = make_deb(src, "--refresh", "--dry-run", "--osv", OSV, env={"APT_CONFIG": str(mirror)})
    assert proc.returncode == 0, proc.stderr
    assert f"-{PIN}" in proc.stdout and f"+{PIN.replace(local_apt.BASE, local_apt.LOCAL)}" in \
        proc.stdout
    assert "+audit-demo (1.0+b1) unstable; urgency=medium" in proc.stdout
    assert "would move python-source" in proc.stderr and "jinja2 3.1.2" in proc.stderr
    assert snapshot(src) == before


def test_a_current_pin_is_left_alone(mirror, tmp_path):
    src = project(tmp_path, PIN.replace(local_apt.BASE, local_apt.LOCAL))
    before = snapshot(src)
    proc = make_deb(src, "--refresh", env={"APT_CONFIG": str(mirror)})
    assert proc.returncode == 0, proc.stderr
    assert "is the newest revision apt lists; nothing to refresh" in proc.stdout
    assert snapshot(src) == before


def test_a_revision_the_archive_does_not_serve_is_never_written(tmp_path):
    """This network as it is: apt lists deb12u9, the archive answers 404 for its source."""
    listed = apt.revisions(apt.showsrc(local_apt.PACKAGE))
    if not listed or apt.archive_serves(local_apt.PACKAGE, listed[0].version) or \
            listed[0].version == local_apt.BASE:
        pytest.skip("the archive serves the newest python3.11 source here")
    src = project(tmp_path)
    before = snapshot(src)
    proc = make_deb(src, "--refresh", "--osv", OSV)
    assert proc.returncode == 1 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"make-deb: error: debian/audit-demo.pyrpath: apt lists "
                           f"{local_apt.PACKAGE} {listed[0].version}")
    assert "does not serve its source (404)" in line and "nothing was changed" in line
    assert snapshot(src) == before


def test_no_apt_indexes(tmp_path):
    src = project(tmp_path)
    before = snapshot(src)
    empty = tmp_path / "apt"
    for sub in ("sources.list.d", "lists/partial", "cache/archives/partial"):
        (empty / sub).mkdir(parents=True)
    conf = empty / "apt.conf"
    conf.write_text(f'Dir::Etc::sourcelist "/dev/null";\nDir::Etc::sourceparts '
                    f'"{empty}/sources.list.d";\nDir::State::lists "{empty}/lists";\n'
                    f'Dir::Cache "{empty}/cache";\n')
    proc = make_deb(src, "--refresh", env={"APT_CONFIG": str(conf)})
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line.startswith("make-deb: error: debian/audit-demo.pyrpath: apt has no deb-src "
                           "entries"), line
    assert snapshot(src) == before


def test_a_pin_of_another_release_moves_within_it(suite_cache, tmp_path):
    """debian:python3.13=3.13.5-2@trixie on this bookworm host: trixie's deb-src entries,
    through the private apt configuration a build uses (its lists in the suite's cache)."""
    src = project(tmp_path, "python-source = debian:python3.13=3.13.5-2@trixie\n")
    before = snapshot(src)
    proc = make_deb(src, "--refresh", "--dry-run",
                    env={"DH_PYRPATH_CACHE_DIR": str(suite_cache)})
    assert proc.returncode == 0, proc.stderr
    new = re.search(r"^\+python-source = debian:python3\.13=(\S+)@trixie$", proc.stdout, re.M)
    assert new and Version(new[1]) > Version("3.13.5-2"), proc.stdout
    assert re.search(r"\(fixes CVE-\d{4}-\d+", proc.stderr), proc.stderr
    assert snapshot(src) == before
