"""Where the audit reads the newer revision's CVE ids: its .debian.tar when apt's deb-src
index lists it and the archive serves it, else python3.X-minimal's changelog.Debian.gz.

A local archive served over loopback HTTP plays Debian's: a real source package of
HOST_PYTHON built with dpkg-source (a newer revision whose debian/changelog names a CVE id the
binary's changelog does not), and a real python3.X-minimal .deb, indexed by apt-ftparchive;
apt reads it through an APT_CONFIG of the test's own, and the audit runs as a command on a
package whose build-info says it was built from the older revision. (On this network the real
archive lists deb12u9's source and answers 404 for it: the binary route, which
test_audit_e2e.py checks against the real archive.)"""
import functools
import gzip
import json
import os
import subprocess
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import HOST_PYTHON, REPO, SYSTEM_PATH, run
from dh_pyrpath.audit import interpreter
from dh_pyrpath.errors import AuditError
from test_audit_inputs import built_files, build_info, make_deb

BINARY = f"{HOST_PYTHON}-minimal"
UPSTREAM = "3.11.2"
BUILT = "3.11.2-6+deb12u8"
NEWER = "3.11.2-6+deb12u8+audit1"
SOURCE_CVE, BINARY_CVE = "CVE-2099-10001", "CVE-2099-20002"


def _changelog(package, newer_item):
    return (f"{package} ({NEWER}) bookworm-security; urgency=medium\n\n"
            f"  * {newer_item}\n\n"
            " -- Test Maintainer <t@example.org>  Sun, 06 Dec 2026 10:00:00 +0000\n\n"
            f"{package} ({BUILT}) bookworm-security; urgency=medium\n\n"
            "  * CVE-2026-1111: fixed before the package was built.\n\n"
            " -- Test Maintainer <t@example.org>  Sat, 05 Dec 2026 10:00:00 +0000\n")


def _source_package(dest):
    """HOST_PYTHON NEWER as dpkg-source builds it: .dsc, .orig.tar.xz, .debian.tar.xz."""
    tree = dest / f"{HOST_PYTHON}-{UPSTREAM}"
    (tree / "debian" / "source").mkdir(parents=True)
    (tree / "README").write_text("upstream\n")
    with tarfile.open(dest / f"{HOST_PYTHON}_{UPSTREAM}.orig.tar.xz", "w:xz") as tar:
        tar.add(tree / "README", f"{tree.name}/README")
    (tree / "debian" / "changelog").write_text(
        _changelog(HOST_PYTHON, f"{SOURCE_CVE}: a fix the source's changelog names."))
    (tree / "debian" / "control").write_text(
        f"Source: {HOST_PYTHON}\nMaintainer: Test Maintainer <t@example.org>\n\n"
        f"Package: {BINARY}\nArchitecture: any\nDescription: test\n test\n")
    (tree / "debian" / "source" / "format").write_text("3.0 (quilt)\n")
    (tree / "debian" / "rules").write_text("#!/usr/bin/make -f\n%:\n\tdh $@\n")
    run(["dpkg-source", "-b", tree.name], cwd=dest, env={"PATH": SYSTEM_PATH, "LC_ALL": "C"})
    (debian_tar,) = dest.glob("*.debian.tar.*")
    return debian_tar


def _binary_package(dest, arch):
    """python3.X-minimal NEWER: its changelog.Debian.gz names BINARY_CVE, not SOURCE_CVE."""
    root = dest / "binary-tree"
    doc = root / "usr" / "share" / "doc" / BINARY
    doc.mkdir(parents=True)
    (doc / "changelog.Debian.gz").write_bytes(gzip.compress(
        _changelog(HOST_PYTHON, f"{BINARY_CVE}: a fix the binary's changelog names.").encode()))
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(
        f"Package: {BINARY}\nSource: {HOST_PYTHON}\nVersion: {NEWER}\nArchitecture: {arch}\n"
        "Maintainer: Test Maintainer <t@example.org>\nDescription: test\n")
    deb = dest / f"{BINARY}_{NEWER}_{arch}.deb"
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)])
    return deb


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def archive(tmp_path):
    """(serve(source, binary) -> apt environment, the .debian.tar): an archive whose indexes
    list both the source and the binary of NEWER; `source`/`binary` False: that file answers
    404 (the index still lists it, as this network's archive does for deb12u9's source)."""
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    repo = tmp_path / "repo"
    repo.mkdir()
    debian_tar = _source_package(repo)
    deb = _binary_package(repo, arch)
    for cmd in ("apt-ftparchive sources . > Sources", "apt-ftparchive packages . > Packages",
                "apt-ftparchive release . > Release"):
        run(["sh", "-c", cmd], cwd=repo)
    servers = []

    def serve(source=True, binary=True):
        for path, keep in ((debian_tar, source), (deb, binary)):
            if not keep:
                path.unlink()
        server = ThreadingHTTPServer(("127.0.0.1", 0),
                                     functools.partial(_QuietHandler, directory=str(repo)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        conf = tmp_path / "apt"
        for sub in ("lists/partial", "cache/archives/partial", "sources.list.d"):
            (conf / sub).mkdir(parents=True)
        (conf / "sources.list").write_text(f"deb [trusted=yes] {url} ./\n"
                                           f"deb-src [trusted=yes] {url} ./\n")
        (conf / "apt.conf").write_text(
            f'Dir::Etc::SourceList "{conf}/sources.list";\n'
            f'Dir::Etc::SourceParts "{conf}/sources.list.d";\n'
            f'Dir::State::Lists "{conf}/lists";\nDir::Cache "{conf}/cache";\n'
            'APT::Sandbox::User "root";\nAcquire::Languages "none";\n')
        env = {"APT_CONFIG": str(conf / "apt.conf")}
        run(["apt-get", "update", "-q"], env={**os.environ, "PATH": SYSTEM_PATH, **env})
        return env

    yield serve, debian_tar
    for server in servers:
        server.shutdown()
        server.server_close()


def audit(deb, env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DH_"))}
    environ.update(PATH=SYSTEM_PATH, PYTHONPATH=str(REPO), LC_ALL="C.UTF-8", **env)
    proc = subprocess.run(["/usr/bin/python3", "-m", "dh_pyrpath", "--audit", "--no-pypi",
                           "--json", str(deb)], text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=environ, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def package(tmp_path):
    """A package dh-pyrpath built from HOST_PYTHON BUILT (build-info and SBOM only)."""
    label = f"{HOST_PYTHON}_{UPSTREAM}.orig.tar.gz (Debian {HOST_PYTHON} {BUILT})"
    info = build_info(python_source=label, python_debian_revision=BUILT)
    return make_deb(tmp_path, files=built_files(info=info))


def _interpreter(out):
    data = json.loads(out)
    (pkg,) = data["packages"]
    return data, next(f for f in pkg["findings"] if f["kind"] == "interpreter")


def test_the_ids_come_from_the_debian_tar_when_it_is_served(archive, package):
    serve, debian_tar = archive
    env = serve(source=True, binary=False)  # the binary answers 404: only the source can tell
    code, out, err = audit(package, env)
    data, finding = _interpreter(out)
    assert code == 1 and data["problems"] == [], err
    assert (finding["installed"], finding["newest"]) == (BUILT, NEWER)
    assert finding["ids"] == [SOURCE_CVE]
    assert finding["changelog"] == debian_tar.name  # named: the .debian.tar, not the binary


def test_the_binary_changelog_when_the_source_answers_404(archive, package):
    serve, _ = archive
    env = serve(source=False, binary=True)  # this network's case for deb12u9
    code, out, err = audit(package, env)
    data, finding = _interpreter(out)
    assert code == 1 and data["problems"] == [], err
    assert finding["ids"] == [BINARY_CVE]
    assert finding["changelog"] == f"the changelog of {BINARY} {NEWER}"


def test_neither_served_is_one_line_and_exit_2(archive, package):
    serve, _ = archive
    env = serve(source=False, binary=False)
    code, out, err = audit(package, env)
    data, finding = _interpreter(out)
    assert code == 2 and finding["ids"] is None
    (problem,) = data["problems"]
    assert problem.startswith(f"apt's index lists {BINARY} {NEWER} but the archive does not "
                              "serve it (") and "404" in problem
    assert problem.endswith(f"the CVE ids fixed since {BUILT} are unknown; audit where the "
                            "archive serves it")
    assert [line for line in err.splitlines() if "error" in line] == [
        f"dh_pyrpath: error: {problem}"]


def test_changelog_of_a_real_debian_tar_and_of_broken_ones(tmp_path):
    debian_tar = _source_package(tmp_path)
    text = interpreter.source_changelog(debian_tar)
    assert interpreter.cves_since(text, BUILT) == (SOURCE_CVE,)
    empty = tmp_path / "x_1.debian.tar.xz"
    with tarfile.open(empty, "w:xz") as tar:
        tar.add(tmp_path / f"{HOST_PYTHON}-{UPSTREAM}" / "README", "debian/README")
    with pytest.raises(AuditError) as err:
        interpreter.source_changelog(empty)
    assert str(err.value) == f"{empty}: has no debian/changelog"
    cut = tmp_path / "y_1.debian.tar.xz"
    cut.write_bytes(debian_tar.read_bytes()[:100])
    with pytest.raises(AuditError) as err:
        interpreter.source_changelog(cut)
    assert str(err.value).startswith(f"{cut}: is damaged (")
