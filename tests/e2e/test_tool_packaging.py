"""dh-pyrpath itself: its .deb (built by dpkg-buildpackage) and its pip-installable wheel."""
import gzip
import re
import shutil
import tempfile
import zipfile

import pytest

from conftest import REPO, build_env, run, tool_debs


@pytest.mark.e2e
def test_tool_deb_contents_and_relations(tool_installed):
    files = run(["dpkg-deb", "-c", str(tool_installed)]).stdout
    for path in ("./usr/bin/dh_pyrpath", "./usr/bin/make-deb",
                 "./usr/share/perl5/Debian/Debhelper/Sequence/pyrpath.pm",
                 "./usr/share/man/man1/dh_pyrpath.1.gz", "./usr/share/man/man1/make-deb.1.gz",
                 "/make_deb/templates/control.j2", ".dist-info/entry_points.txt"):
        assert path in files, path
    assert "/dh_pyrpath/__init__.py" not in files  # the library is dh-pyrpath-audit's
    fields = run(["dpkg-deb", "-f", str(tool_installed), "Provides", "Depends"]).stdout
    assert "Provides: dh-sequence-pyrpath" in fields
    for dep in ("debhelper", "python3-debian", "python3-jinja2", "python3-packaging",
                "build-essential", "libssl-dev", "libffi-dev", "libsqlite3-dev",
                "python3-pip", "patch", "pkgconf"):  # make-deb and vendoring run pip
        assert dep in fields, dep
    version = run(["dpkg-deb", "-f", str(tool_installed), "Version"]).stdout.strip()
    assert f"dh-pyrpath-audit (= {version})" in fields
    # installed: the commands run from /usr/bin with Debian's python3
    assert run(["/usr/bin/dh_pyrpath", "--version"], env=build_env()).stdout.startswith("dh_pyrpath ")
    assert "usage: make-deb" in run(["/usr/bin/make-deb", "--help"], env=build_env()).stdout
    man = run(["zcat", "/usr/share/man/man1/dh_pyrpath.1.gz"]).stdout
    assert ".TH \"DH_PYRPATH\"" in man and "python\\-source" in man and "cache\\-prune" in man


@pytest.mark.e2e
def test_audit_deb_holds_the_library_and_needs_no_build_tools(tool_installed):
    """dh-pyrpath-audit: what a server installs to audit, without compilers or -dev packages."""
    _, audit = tool_debs(tool_installed)
    files = run(["dpkg-deb", "-c", str(audit)]).stdout
    for path in ("./usr/bin/dh-pyrpath-audit", "./usr/share/man/man1/dh-pyrpath-audit.1.gz",
                 "/dh_pyrpath/audit/check.py", "/dh_pyrpath/package/helpers/pyc_rewrite.py",
                 "/dh_pyrpath/python/helpers/pgo_training.py", "/dh_pyrpath/store/entries.py",
                 "/dh_pyrpath/deps/locks.py"):
        assert path in files, path
    assert "make_deb" not in files and "/usr/bin/dh_pyrpath" not in files
    depends = run(["dpkg-deb", "-f", str(audit), "Depends"]).stdout
    names = {d.split()[0] for d in depends.replace("|", ",").split(",") if d.strip()}
    assert names == {"python3:any", "apt", "distro-info-data", "python3-debian",
                     "python3-packaging"}, depends
    assert run(["/usr/bin/dh-pyrpath-audit", "--version"], env=build_env()).stdout.startswith(
        "dh-pyrpath-audit ")
    man = run(["zcat", "/usr/share/man/man1/dh-pyrpath-audit.1.gz"]).stdout
    assert "\\-\\-installed" in man and "\\-\\-osv" in man
    out = run(["lintian", "--tag-display-limit", "0", "-I", "--pedantic", str(audit)],
              check=False).stdout
    assert not [line for line in out.splitlines() if re.match(r"[EWIPX]: ", line)], out


@pytest.mark.e2e
def test_tool_deb_ships_the_docs_and_is_lintian_clean(tool_installed):
    check_docs_and_lintian(tool_installed)


def check_docs_and_lintian(deb):
    """The user documentation under /usr/share/doc/dh-pyrpath, the man pages pointing there,
    no lintian tag at all (pedantic and info included)."""
    files = run(["dpkg-deb", "-c", str(deb)]).stdout
    doc = "./usr/share/doc/dh-pyrpath/"
    for page in sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]:
        assert re.search(rf"{re.escape(doc + page.name)}(\.gz)?$", files, re.M), page.name
    with tempfile.TemporaryDirectory() as tmp:
        run(["dpkg-deb", "-x", str(deb), tmp])
        for name in ("dh_pyrpath", "make-deb"):
            man = gzip.open(f"{tmp}/usr/share/man/man1/{name}.1.gz").read().decode()
            assert "/usr/share/doc/dh\\-pyrpath/" in man and "dh\\-pyrpath sources" not in man, name
    assert "Recommends" not in run(["dpkg-deb", "-I", str(deb)]).stdout.split("Depends:")[1]
    out = run(["lintian", "--tag-display-limit", "0", "-I", "--pedantic", str(deb)],
              check=False).stdout
    tags = [line for line in out.splitlines() if re.match(r"[EWIPX]: ", line)]
    assert not tags, out


def test_pip_installable_wheel(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", ".cache", "__pycache__",
                                                             "build", "*.egg-info"))
    run(["/usr/bin/python3", "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "dist"), str(src)], env=build_env())
    (wheel,) = (tmp_path / "dist").glob("dh_pyrpath-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for helper in ("package/helpers/pyc_rewrite.py", "python/helpers/pgo_training.py"):
        assert f"dh_pyrpath/{helper}" in names
    for package in ("store", "python", "deps", "package"):  # every subpackage is shipped
        assert f"dh_pyrpath/{package}/__init__.py" in names
    assert "make_deb/templates/control.j2" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "dh_pyrpath = dh_pyrpath.__main__:main" in text and "make-deb = make_deb.__main__:main" in text
    assert "dh-pyrpath-audit = dh_pyrpath.audit_cli:main" in text
