"""A newer CPython revision served locally, for the refresh and nightly-job tests.

On this network the archive lists bookworm's python3.11 3.11.2-6+deb12u9 but answers 404 for
its source, so no build can take a newer revision than deb12u8. These helpers make one the way
a team's own mirror would hold it: deb12u8's real source (downloaded with apt, checked against
the signed index), one changelog entry added (dpkg-source -x, then -b, SOURCE_DATE_EPOCH fixed
so its bytes, and the interpreter's cache key, are the same on every run), indexed by
apt-ftparchive in a flat repository. Its version sorts above every revision the archive lists
(deb12u9 included), so the mirror is the newest, as a mirror that serves what the archive lists
would be; a stand-in python3.11-minimal of that version (its control file and the new
changelog.Debian.gz, all the audit reads) is in its binary index. `apt_config` is the host's own apt (its sources
and its lists, copied) plus that repository, for APT_CONFIG: the product's apt calls read the
configuration from the environment, and the host's /etc/apt is never changed.
"""
import gzip
import shutil
from pathlib import Path

from debian.changelog import Changelog

from conftest import SYSTEM_PATH, run

PACKAGE = "python3.11"
BASE = "3.11.2-6+deb12u8"
LOCAL = "3.11.2-6+deb12u9+local1"
# The entry the local revision adds: a refresh must name exactly these.
LOCAL_IDS = ("CVE-2026-1502", "CVE-2026-19445")
EPOCH = "1796558400"  # 2026-12-06 12:00 UTC: the new entry's date, and every file's mtime


def _env(**extra):
    return {"PATH": SYSTEM_PATH, "LC_ALL": "C.UTF-8", **extra}


def served_revision(workdir):
    """A flat deb-src repository in workdir/repo holding python3.11 BASE (as the archive has
    it) and LOCAL (BASE plus an entry naming LOCAL_IDS); its directory."""
    workdir = Path(workdir)
    repo = workdir / "repo"
    repo.mkdir(parents=True)
    run(["apt-get", "source", "--download-only", f"{PACKAGE}={BASE}"], cwd=repo, env=_env())
    dsc = repo / f"{PACKAGE}_{BASE}.dsc"
    tree = workdir / "src"
    run(["dpkg-source", "--no-check", "-x", str(dsc), str(tree)], env=_env())
    path = tree / "debian" / "changelog"
    changelog = Changelog(path.read_text())
    top = changelog[0]
    changelog.new_block(package=PACKAGE, version=LOCAL, distributions=top.distributions,
                        urgency="high", author="dh-pyrpath tests <tests@example.org>",
                        date="Sun, 06 Dec 2026 12:00:00 +0000")
    changelog.add_change("")
    changelog.add_change(f"  * {LOCAL_IDS[0]}: test entry: {BASE}'s code served under a newer "
                         "revision, for dh-pyrpath's refresh tests.")
    changelog.add_change(f"  * {LOCAL_IDS[1]}: test entry.")
    changelog.add_change("")
    path.write_text(str(changelog))
    run(["dpkg-source", "-b", str(tree)], cwd=repo,
        env=_env(SOURCE_DATE_EPOCH=EPOCH, DEB_BUILD_OPTIONS=""))
    minimal(workdir / "minimal", repo, path.read_bytes())
    shutil.rmtree(tree)
    index(repo)
    return repo


def minimal(tree, repo, changelog):
    """The stand-in binary package python3.11-minimal LOCAL, into repo."""
    doc = tree / "usr" / "share" / "doc" / f"{PACKAGE}-minimal"
    doc.mkdir(parents=True)
    (doc / "changelog.Debian.gz").write_bytes(gzip.compress(changelog, mtime=0))
    arch = run(["dpkg", "--print-architecture"], env=_env()).stdout.strip()
    (tree / "DEBIAN").mkdir()
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {PACKAGE}-minimal\nSource: {PACKAGE}\nVersion: {LOCAL}\n"
        f"Architecture: {arch}\nMaintainer: dh-pyrpath tests <tests@example.org>\n"
        "Description: stand-in for the refresh tests (its changelog only)\n")
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(tree),
         str(repo / f"{PACKAGE}-minimal_{LOCAL}_{arch}.deb")],
        env=_env(SOURCE_DATE_EPOCH=EPOCH))


def index(repo):
    sources = run(["apt-ftparchive", "sources", "."], cwd=repo, env=_env()).stdout
    (repo / "Sources").write_text(sources)
    (repo / "Sources.gz").write_bytes(gzip.compress(sources.encode(), mtime=0))
    packages = run(["apt-ftparchive", "packages", "."], cwd=repo, env=_env()).stdout
    (repo / "Packages").write_text(packages)
    release = run(["apt-ftparchive", "release", "."], cwd=repo, env=_env()).stdout
    (repo / "Release").write_text(release)


def apt_config(workdir, repo):
    """An apt.conf under workdir: the host's sources and lists plus `repo` (trusted: a test
    fixture on the local disk), its lists updated; for APT_CONFIG."""
    base = Path(workdir) / "apt"
    parts, local = base / "sources.list.d", base / "local.d"
    for sub in (parts, local, base / "lists" / "partial", base / "cache" / "archives" / "partial"):
        sub.mkdir(parents=True, exist_ok=True)
    for found in Path("/etc/apt/sources.list.d").iterdir():
        if found.suffix in (".sources", ".list"):
            shutil.copy(found, parts / found.name)
    if Path("/etc/apt/sources.list").is_file():
        shutil.copy("/etc/apt/sources.list", parts / "host.list")
    for found in Path("/var/lib/apt/lists").iterdir():
        if found.is_file() and found.name != "lock":
            shutil.copy(found, base / "lists" / found.name)
    entry = f"Types: deb deb-src\nURIs: file:{repo}\nSuites: ./\nTrusted: yes\n"
    (parts / "local-python.sources").write_text(entry)
    (local / "local-python.sources").write_text(entry)
    conf = base / "apt.conf"
    conf.write_text(f'Dir::Etc::sourcelist "/dev/null";\nDir::Etc::sourceparts "{parts}";\n'
                    f'Dir::State::lists "{base / "lists"}";\nDir::Cache "{base / "cache"}";\n'
                    'Acquire::Languages "none";\n')
    # only the local repository is fetched: the host's lists are as fresh as the host's
    run(["apt-get", "update", "-q", "-o", f"Dir::Etc::sourceparts={local}",
         "-o", "APT::Get::List-Cleanup=0"], env=_env(APT_CONFIG=str(conf)))
    return conf
