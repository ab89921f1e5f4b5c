"""dh_pyrpath --audit on a real package: tests/data/sources/audit-demo built with
dpkg-buildpackage (jinja2 3.1.2, the host's CPython from the suite's cache), audited against
the real OSV record of GHSA-h5c8-rqwp-cp95 and against this host's apt indexes; also
installed with apt, in a pool directory next to other .debs, and against apt states made for
the test (no indexes; an index that lists a revision the archive answers 404 for).

Expectations come from the host's apt data where they can (a trixie host checks python3.13
against its own archive); the numbers measured on bookworm (deb12u8 built, deb12u9 listed,
13 CVEs) are checked only there."""
import functools
import json
import os
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from debian.debian_support import Version

import chroots
from conftest import (HOST_CODENAME, HOST_PYTHON, REPO, SYSTEM_PATH, apt, build_deb,
                      copy_source, run, tool_debs)
from test_audit_inputs import make_deb

pytestmark = pytest.mark.e2e

DEMO = REPO / "tests" / "data" / "sources" / "audit-demo"
OSV = REPO / "tests" / "data" / "osv"
BINARY = f"{HOST_PYTHON}-minimal"
BOOKWORM_BUILT, BOOKWORM_NEWER = "3.11.2-6+deb12u8", "3.11.2-6+deb12u9"


def audit(*args, env=None):
    """The audit from this checkout: (exit code, stdout, stderr)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DH_"))}
    environ.update(PATH=SYSTEM_PATH, PYTHONPATH=str(REPO), LC_ALL="C.UTF-8", **(env or {}))
    proc = subprocess.run(["/usr/bin/python3", "-m", "dh_pyrpath", "--audit", *map(str, args)],
                          text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=environ, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def newest_listed():
    """The newest python3.X-minimal apt's binary indexes list on this host, or None."""
    out = run(["apt-cache", "madison", BINARY]).stdout
    versions = [line.split("|")[1].strip() for line in out.splitlines()
                if line.split("|")[0].strip() == BINARY and line.rstrip().endswith("Packages")]
    return max(versions, key=Version) if versions else None


@pytest.fixture(scope="module")
def demo(pyrpath_build, suite_cache, tmp_path_factory):
    """(the .deb, its build-info) of audit-demo built for real."""
    args, env = pyrpath_build
    src = copy_source(DEMO, tmp_path_factory.mktemp("audit-demo"))
    (deb,) = build_deb(src, *args, env=env)
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True,
                         stdout=subprocess.PIPE).stdout
    info = subprocess.run(["tar", "-xO", "./opt/audit-demo/share/dh-pyrpath/build-info.json"],
                          input=tar, check=True, stdout=subprocess.PIPE).stdout
    return deb, json.loads(info)


@pytest.fixture(scope="module")
def expected(demo):
    """What the interpreter row must say on this host: (built, newest or None)."""
    _, info = demo
    built = info["python_debian_revision"]
    newest = newest_listed()
    assert built and newest, f"apt lists no {BINARY} or the build recorded no revision"
    return built, (newest if Version(newest) > Version(built) else None)


def _row(out, text):
    return next(line for line in out.splitlines() if text in line)


def test_the_jinja_package(demo, expected):
    deb, _ = demo
    built, newest = expected
    code, out, err = audit("--osv", OSV, deb)
    assert code == 1, out + err
    jinja = _row(out, "jinja2 3.1.2")
    assert jinja.startswith("audit-demo") and "GHSA-h5c8-rqwp-cp95" in jinja
    assert "CVE-2024-22195" in jinja and jinja.endswith("jinja2 >= 3.1.3")
    # this network's index serves no JSON API; where it does, its advisories join the OSV one
    assert ("PyPI advisories not reached" in err) or "PYSEC" in out or "CVE-2024-22195" in out
    if newest is None:
        assert HOST_PYTHON not in out.split("PACKAGE", 1)[-1].split("\n\n")[0]
        return
    interp = _row(out, f"{HOST_PYTHON} {built} < {newest}")
    assert interp.endswith(f"python-source = debian:{HOST_PYTHON}={newest}")
    assert "newest in apt's binary index" in out and f"{BINARY} {newest}" in out
    if (HOST_CODENAME, built, newest) == ("bookworm", BOOKWORM_BUILT, BOOKWORM_NEWER):
        assert "CVE-2026-1502" in out and "CVE-2026-19445" in out and "(13 CVEs)" in out


def test_json_for_ci(demo, expected):
    deb, _ = demo
    built, newest = expected
    code, out, err = audit("--json", "--no-pypi", "--osv", OSV, deb)
    data = json.loads(out)
    assert code == data["exit_code"] == 1, err
    (package,) = data["packages"]
    assert (package["package"], package["origin"]) == ("audit-demo", str(deb))
    assert package["python_debian"]["package"] == HOST_PYTHON
    assert package["python_debian"]["revision"] == built
    by_name = {f["name"]: f for f in package["findings"]}
    assert by_name["jinja2"]["installed"] == "3.1.2" and by_name["jinja2"]["fix"] == (
        "jinja2 >= 3.1.3")
    assert by_name["jinja2"]["ids"] == ["GHSA-h5c8-rqwp-cp95", "CVE-2024-22195"]
    if newest:
        interp = by_name[HOST_PYTHON]
        assert (interp["installed"], interp["newest"]) == (built, newest)
        assert interp["index"].endswith(" Packages") and interp["ids"] is not None
        if (HOST_CODENAME, newest) == ("bookworm", BOOKWORM_NEWER):
            assert len(interp["ids"]) == 13 and "CVE-2026-1502" in interp["ids"]
    assert data["problems"] == [] and data["skipped"] == []


def test_a_pool_directory_with_other_and_corrupt_debs(demo, tmp_path):
    deb, _ = demo
    pool = tmp_path / "pool" / "main" / "a"
    pool.mkdir(parents=True)
    (pool / deb.name).write_bytes(deb.read_bytes())
    plain = pool / "plain_1.0_amd64.deb"
    plain.write_bytes(make_deb(tmp_path, "plain", {"/usr/share/doc/plain/README": b"x"})
                      .read_bytes())
    code, out, err = audit("--no-pypi", "--osv", OSV, tmp_path / "pool")
    assert code == 1, out + err
    assert f"dh_pyrpath: {plain}: not built by dh-pyrpath: skipped" in err.splitlines()
    assert "jinja2 >= 3.1.3" in out
    # a damaged copy: one line naming it, exit 2, the rest still audited, nothing changed
    broken = pool / "audit-demo_broken_amd64.deb"
    broken.write_bytes(deb.read_bytes()[:len(deb.read_bytes()) // 2])
    before = {p: p.read_bytes() for p in pool.iterdir()}
    code, out, err = audit("--no-pypi", "--osv", OSV, tmp_path / "pool")
    assert code == 2, out + err
    errors = [line for line in err.splitlines() if line.startswith("dh_pyrpath: error: ")]
    assert len(errors) == 1 and errors[0].startswith(
        f"dh_pyrpath: error: {broken}: not a readable .deb (")
    assert "jinja2 >= 3.1.3" in out
    assert {p: p.read_bytes() for p in pool.iterdir()} == before


def test_the_installed_package(demo):
    deb, _ = demo
    apt("install", "--no-install-recommends", str(deb))
    try:
        code, out, err = audit("--installed", "--no-pypi", "--json", "--osv", OSV)
        data = json.loads(out)
        ours = [p for p in data["packages"] if p["package"] == "audit-demo"]
        assert code == 1 and len(ours) == 1, err
        assert ours[0]["origin"] == "installed" and ours[0]["prefix"] == "/opt/audit-demo"
        assert "jinja2 >= 3.1.3" in [f["fix"] for f in ours[0]["findings"]]
    finally:
        apt("purge", "audit-demo")
    code, out, err = audit("--installed", "--no-pypi", "--json", "--osv", OSV)
    assert "audit-demo" not in [p["package"] for p in json.loads(out)["packages"]]


def _apt_config(tmp_path, sources):
    """An apt configuration of the test's own: its sources, lists and cache; the host's
    dpkg database. apt's tools read it through APT_CONFIG, the audit's too."""
    (tmp_path / "lists" / "partial").mkdir(parents=True)
    (tmp_path / "cache" / "archives" / "partial").mkdir(parents=True)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(sources)
    config = tmp_path / "apt.conf"
    config.write_text(f'Dir::Etc::SourceList "{tmp_path}/sources.list";\n'
                      f'Dir::Etc::SourceParts "{tmp_path}/sources.list.d";\n'
                      f'Dir::State::Lists "{tmp_path}/lists";\n'
                      f'Dir::Cache "{tmp_path}/cache";\n'
                      'APT::Sandbox::User "root";\n')
    return {"APT_CONFIG": str(config)}


def test_no_apt_indexes_is_one_line_and_exit_2(demo, tmp_path):
    deb, _ = demo
    host_sources = Path("/etc/apt/sources.list").read_text() if Path(
        "/etc/apt/sources.list").exists() else ""
    parts = sorted(Path("/etc/apt/sources.list.d").glob("*"))
    env = _apt_config(tmp_path, host_sources)
    for part in parts:  # the host's sources, none of their lists downloaded
        (tmp_path / "sources.list.d" / part.name).write_bytes(part.read_bytes())
    before = sorted(tmp_path.rglob("*"))
    code, out, err = audit("--no-pypi", "--osv", OSV, deb, env=env)
    assert sorted(tmp_path.rglob("*")) == before  # no lists fetched: the audit changes nothing
    assert code == 2, out + err
    errors = [line for line in err.splitlines() if line.startswith("dh_pyrpath: error: ")]
    assert errors == [f"dh_pyrpath: error: apt has no package indexes (its lists are empty), "
                      f"so the newest {BINARY} is unknown: run apt-get update and audit again"]
    assert "jinja2 >= 3.1.3" in out  # the dependencies are still audited


def test_a_listed_revision_the_archive_answers_404_for(demo, expected, tmp_path):
    deb, _ = demo
    built, _ = expected
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    listed = f"{built}+audit1"
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Packages").write_text(
        f"Package: {BINARY}\nVersion: {listed}\nArchitecture: {arch}\n"
        "Maintainer: tests <tests@example.org>\n"
        f"Filename: ./{BINARY}_{listed}_{arch}.deb\nSize: 1000\nSHA256: {'0' * 64}\n"
        "Description: listed, never served\n")
    run(["sh", "-c", "apt-ftparchive release . > Release"], cwd=repo)
    handler = functools.partial(_QuietHandler, directory=str(repo))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        env = _apt_config(tmp_path / "apt",
                          f"deb [trusted=yes] http://127.0.0.1:{port}/ ./\n")
        run(["apt-get", "update", "-q"], env={**os.environ, "PATH": SYSTEM_PATH, **env})
        code, out, err = audit("--no-pypi", "--osv", OSV, deb, env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 2, out + err
    errors = [line for line in err.splitlines() if line.startswith("dh_pyrpath: error: ")]
    assert len(errors) == 1, err
    assert f"apt's index lists {BINARY} {listed} but the archive does not serve it" in errors[0]
    assert "404" in errors[0] and f"the CVE ids fixed since {built} are unknown" in errors[0]
    # the row still says the interpreter is behind, with the ids unknown
    assert f"{HOST_PYTHON} {built} < {listed}" in out and "its changelog was not read" in out


# What a server must not get for the audit: a compiler, make, the -dev packages a CPython
# build needs (their names end in -dev), pip.
BUILD_TOOLS = ("build-essential", "gcc", "cpp", "make", "dpkg-dev", "python3-pip", "debhelper")


def test_a_server_audits_with_dh_pyrpath_audit_alone(demo, expected, tool_installed, tmp_path):
    """A clean minbase chroot of the host's release gets the dh-pyrpath-audit .deb (apt
    resolves its Depends from the archive) and the service package, nothing else; the
    installed command audits the installed service against the chroot's own apt indexes
    (no deb-src entries there: the binary changelog route) and the OSV records."""
    deb, _ = demo
    built, newest = expected
    _, audit_deb = tool_debs(tool_installed)
    with chroots.fresh(chroots.MINBASE, tmp_path) as box:
        box.install_debs(audit_deb)
        box.install_debs(deb)
        packages = set(box.run("dpkg-query", "-W", "-f", "${Package}\\n").stdout.split())
        assert {"dh-pyrpath-audit", "audit-demo"} <= packages
        assert "dh-pyrpath" not in packages
        heavy = sorted(p for p in packages if p in BUILD_TOOLS or p.endswith("-dev"))
        assert not heavy, f"the audit pulled in build tools: {heavy}"
        box.copy_in(*sorted(OSV.glob("*.json")), dest="/srv/osv")
        before = box.snapshot()
        proc = box.run("dh-pyrpath-audit", "--installed", "--osv", "/srv/osv", check=False,
                       merge=False)
        assert box.snapshot() == before  # nothing changed (apt's and root's caches aside)
        # the installed package's SBOM removed by hand: its own line, exit 2
        sbom = "/opt/audit-demo/share/dh-pyrpath/sbom.cdx.json"
        box.run("rm", sbom)
        gone = box.run("dh-pyrpath-audit", "--installed", "--no-pypi", "--osv", "/srv/osv",
                       check=False, merge=False)
    assert gone.returncode == 2, gone.stdout + gone.stderr
    assert gone.stderr.splitlines() == [
        f"dh-pyrpath-audit: error: audit-demo: cannot read {sbom} (No such file or directory): "
        "reinstall the package (apt install --reinstall audit-demo)"]
    out, err = proc.stdout, proc.stderr
    print(out + err)  # the report as a server sees it (pytest -s)
    assert proc.returncode == 1, out + err
    jinja = _row(out, "jinja2 3.1.2")
    assert jinja.startswith("audit-demo") and "GHSA-h5c8-rqwp-cp95 (CVE-2024-22195)" in jinja
    assert jinja.endswith("jinja2 >= 3.1.3")
    # no pip on the server: the index's JSON API is not asked, and one line says so
    assert "dh-pyrpath-audit: note: PyPI advisories not reached (no index configured, and " \
           "pip, which knows the default one, is not installed)" in err, err
    assert not [line for line in err.splitlines() if "error" in line], err
    if newest:
        interp = _row(out, f"{HOST_PYTHON} {built} < {newest}")
        assert interp.startswith("audit-demo") and interp.endswith(
            f"python-source = debian:{HOST_PYTHON}={newest}")
        assert f"CVE ids from the changelog of {BINARY} {newest}" in out
        if (HOST_CODENAME, built, newest) == ("bookworm", BOOKWORM_BUILT, BOOKWORM_NEWER):
            assert "CVE-2026-1502" in out and "(13 CVEs)" in out
    assert out.splitlines()[-1] == "1 package audited: 1 with something to fix"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
