"""Publishing for real: docs/publishing.md's publish-deb script puts two versions of a package
built with dh_pyrpath into a signed apt repository; apt in a minimal chroot of the host's release installs,
upgrades and rolls back from it (file: URL, signature checked through Signed-By).

The .debs are the ones test_services_e2e.py uses (tests/service_hosts.py builds each once per
run)."""
import os
import re
import stat
import subprocess

import pytest

import chroots
from conftest import HOST_XY, REPO, ZSTD_MEMBERS, run
from service_hosts import PACKAGE, built, deb_arch, forbid_service_starts, need_host_tools

pytestmark = pytest.mark.e2e

DOC = REPO / "docs" / "publishing.md"
SUITE = chroots.HOST_SUITE
REPO_IN_CHROOT = "/srv/apt"
KEYRING_IN_CHROOT = "/usr/share/keyrings/services-archive-keyring.gpg"
SOURCES = "/etc/apt/sources.list.d/services.sources"


def publish_script(dest):
    """The script between the publish-deb markers of docs/publishing.md: what users copy."""
    text = DOC.read_text()
    m = re.search(r"<!-- publish-deb: begin -->\n```sh\n(.*?)```\n<!-- publish-deb: end -->",
                  text, re.S)
    assert m, "docs/publishing.md lost its publish-deb markers"
    dest.write_text(m.group(1))
    dest.chmod(0o755)
    return dest


def small_deb(workdir, package, version, text):
    """A small arch-all package whose contents say `text`."""
    tree = workdir / "tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: all\nSection: misc\n"
        f"Priority: optional\nMaintainer: Deb Packager <deb@example.org>\n"
        f"Description: probe package\n {text}\n")
    (tree / "usr" / "share" / package).mkdir(parents=True)
    (tree / "usr" / "share" / package / "text").write_text(text + "\n")
    deb = workdir / f"{package}_{version}_all.deb"
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(tree), str(deb)],
        env={"PATH": chroots.SYSTEM_PATH})
    return deb


@pytest.fixture(scope="module")
def debs(request, tmp_path_factory, suite_cache):
    return built("v1", request, tmp_path_factory), built("v2", request, tmp_path_factory)


@pytest.fixture(scope="module")
def signing(tmp_path_factory):
    """A throw-away signing key: (GNUPGHOME, fingerprint)."""
    need_host_tools("gpg", "apt-ftparchive", "flock")
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {"PATH": chroots.SYSTEM_PATH, "GNUPGHOME": str(home), "LC_ALL": "C.UTF-8"}
    run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
         "dh-pyrpath test repository <repo@example.org>", "ed25519", "sign", "1d"], env=env)
    out = run(["gpg", "--with-colons", "--list-secret-keys"], env=env).stdout
    fpr = next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))
    yield env, fpr
    subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False)


def test_publish_install_upgrade_rollback(debs, signing, tmp_path):
    v1, v2 = debs
    # make-deb's zstd .debs: apt-ftparchive indexes them, apt in a minbase bookworm installs them
    assert all(run(["ar", "t", str(d)]).stdout.split() == ZSTD_MEMBERS for d in debs)
    env, fpr = signing
    script = publish_script(tmp_path / "publish-deb")
    with chroots.fresh(chroots.MINBASE, tmp_path) as target:
        forbid_service_starts(target)
        repo = target / REPO_IN_CHROOT

        def publish(*files, check=True):
            return run([str(script), str(repo), SUITE, *map(str, files)],
                       env={**env, "GPG_KEY": fpr}, check=check)

        def update_from_repo():
            """apt-get update of this repository alone (Debian's lists are fresh already)."""
            target.apt_get("update", "-o", f"Dir::Etc::SourceList={SOURCES}",
                           "-o", "Dir::Etc::SourceParts=-", "-o", "APT::Get::List-Cleanup=0")

        def installed_version():
            return target.run("dpkg-query", "-W", "-f", "${Version}", PACKAGE).stdout.strip()

        # the repository, as a server would be set up to use it (binary keyring: bytes)
        (target / KEYRING_IN_CHROOT).write_bytes(
            subprocess.run(["gpg", "--export", fpr], env=env, capture_output=True,
                           check=True).stdout)
        (target / SOURCES.lstrip("/")).write_text(
            f"Types: deb\nURIs: file:{REPO_IN_CHROOT}\nSuites: {SUITE}\nComponents: main\n"
            f"Signed-By: {KEYRING_IN_CHROOT}\n")

        out = publish(v1).stdout
        assert f"{v1.name}: added to {SUITE}/main" in out
        assert (repo / "dists" / SUITE / "InRelease").is_file()
        first_release = (repo / "dists" / SUITE / "Release").read_text()
        update_from_repo()
        target.apt_get("install", "--no-install-recommends", PACKAGE)
        assert installed_version() == "1.0.0"

        # upgrade
        publish(v2)
        update_from_repo()
        policy = target.run("apt-cache", "policy", PACKAGE).stdout
        assert re.search(r"Candidate: 2\.0\.0", policy), policy
        assert "1.0.0 500" in policy and "2.0.0 500" in policy, policy  # both offered
        target.apt_get("install", "--no-install-recommends", PACKAGE)
        assert installed_version() == "2.0.0"
        assert target.exists(f"/opt/tiny-web/lib/python{HOST_XY}/site-packages/"
                             "tiny_web-2.0.0.dist-info")

        # rollback, with an explicit version
        target.apt_get("install", "--no-install-recommends", "--allow-downgrades",
                       f"{PACKAGE}=1.0.0")
        assert installed_version() == "1.0.0"
        assert target.exists(f"/opt/tiny-web/lib/python{HOST_XY}/site-packages/"
                             "tiny_web-1.0.0.dist-info")
        assert not target.exists(f"/opt/tiny-web/lib/python{HOST_XY}/site-packages/"
                                 "tiny_web-2.0.0.dist-info")
        # the private interpreter of the rolled-back version runs
        version = target.run("/opt/tiny-web/bin/python3", "-c",
                             "import importlib.metadata as m; print(m.version('tiny-web'))")
        assert version.stdout.strip() == "1.0.0"

        # published versions are immutable: the same bytes again add nothing ...
        pool_dir = repo / "pool" / SUITE / "main"
        assert sorted(p.name for p in pool_dir.iterdir()) == sorted([v1.name, v2.name])
        assert f"{v1.name}: already published" in publish(v1).stdout
        assert sorted(p.name for p in pool_dir.iterdir()) == sorted([v1.name, v2.name])
        # ... and other bytes under a published name are refused before anything is written
        first, other = (small_deb(tmp_path / name, "probe", "1.0", text)
                        for name, text in (("a", "one"), ("b", "other")))
        publish(first)
        release = (repo / "dists" / SUITE / "InRelease").read_bytes()
        proc = publish(other, check=False)
        assert proc.returncode == 1 and "immutable" in proc.stdout, proc.stdout
        assert (pool_dir / first.name).read_bytes() == first.read_bytes()
        assert (repo / "dists" / SUITE / "InRelease").read_bytes() == release
        packages = repo / "dists" / SUITE / "main" / f"binary-{deb_arch()}" / "Packages"
        assert packages.read_text().count(f"Package: {PACKAGE}\n") == 2
        assert release.startswith(b"-----BEGIN PGP SIGNED MESSAGE-----")
        # Acquire-By-Hash: a client still holding the first InRelease finds what it lists
        assert "Acquire-By-Hash: yes" in first_release
        sha256 = first_release.split("SHA256:\n", 1)[1].split("SHA512:", 1)[0]
        listed = [line.split() for line in sha256.splitlines() if line.strip()]
        assert len(listed) == 2  # Packages and Packages.gz
        for digest, _, name in listed:
            assert (repo / "dists" / SUITE / os.path.dirname(name) / "by-hash" / "SHA256"
                    / digest).is_file(), name
        # nothing of the publisher's is left in the repository but its lock and checksum db
        leftovers = [p.name for p in repo.iterdir() if p.name.startswith(".")]
        assert sorted(leftovers) == [".apt-ftparchive.db", ".publish-deb.lock"], leftovers
        assert not any(stat.S_IMODE(p.stat().st_mode) & 0o002 for p in repo.rglob("*"))


def test_ci_examples_are_well_formed():
    """The Jenkinsfile and .gitlab-ci.yml of docs/publishing.md: YAML that parses, and every
    shell step they run passes `sh -n`; both build with dpkg-buildpackage -us -uc using the
    shared cache and publish with the tested script."""
    text = DOC.read_text()
    groovy = re.search(r"```groovy\n(.*?)```", text, re.S).group(1)
    steps = [s.replace("\\\\", "\\") for s in re.findall(r"sh '''(.*?)'''", groovy, re.S)]
    steps += re.findall(r"sh '([^'\n]*)'", groovy)
    assert groovy.count("{") == groovy.count("}") and len(steps) >= 4
    yaml = pytest.importorskip("yaml", reason="python3-yaml parses the GitLab example")
    gitlab = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    for job in ("build-deb", "publish-deb"):
        steps += gitlab[job].get("before_script", []) + gitlab[job]["script"]
    for step in steps:
        proc = subprocess.run(["sh", "-n"], input=step, text=True, capture_output=True)
        assert proc.returncode == 0, (step, proc.stderr)
    for example in (groovy, yaml.safe_dump(gitlab)):
        assert "dpkg-buildpackage -us -uc -b" in example
        assert "DH_PYRPATH_CACHE_DIR" in example
        assert "ci/publish-deb /srv/apt bookworm dist/*.deb" in example
