"""debian/control parsing, package selection as Dh_Lib does it, DEB_BUILD_OPTIONS."""
from types import SimpleNamespace

import pytest

from dh_pyrpath import debhelper
from dh_pyrpath.errors import PyrpathError, UsageError

CONTROL = """\
Source: demo
Build-Depends: debhelper-compat (= 13)

Package: demo-a
Architecture: any
Description: a

Package: demo-doc
Architecture: all
Description: doc

Package: demo-arm
Architecture: arm64
Description: arm only

Package: demo-linux
Architecture: linux-any
Build-Profiles: <!nocheck>
Description: linux
"""


@pytest.fixture
def control(tmp_path):
    path = tmp_path / "control"
    path.write_text(CONTROL)
    return debhelper.read_control(path)


def opts(**kw):
    base = dict(packages=[], no_packages=[], arch=False, indep=False)
    base.update(kw)
    return SimpleNamespace(**base)


def names(pkgs):
    return [p.name for p in pkgs]


def test_reads_source_and_packages(control):
    assert control.source == "demo"
    assert names(control.packages) == ["demo-a", "demo-doc", "demo-arm", "demo-linux"]
    assert control.packages[1].arch_all


def test_default_selection_is_every_package_built_here(control, monkeypatch):
    monkeypatch.delenv("DEB_BUILD_PROFILES", raising=False)
    assert names(debhelper.select_packages(control, opts(), arch="amd64")) == [
        "demo-a", "demo-doc", "demo-linux"]


def test_arch_indep_package_and_exclusion(control):
    assert names(debhelper.select_packages(control, opts(arch=True), arch="amd64")) == [
        "demo-a", "demo-linux"]
    assert names(debhelper.select_packages(control, opts(indep=True), arch="amd64")) == ["demo-doc"]
    assert names(debhelper.select_packages(control, opts(packages=["demo-a"]), arch="amd64")) == [
        "demo-a"]
    assert names(debhelper.select_packages(control, opts(no_packages=["demo-a", "demo-doc"]),
                                           arch="amd64")) == ["demo-linux"]


def test_build_profiles(control, monkeypatch):
    monkeypatch.setenv("DEB_BUILD_PROFILES", "nocheck")
    assert "demo-linux" not in names(debhelper.select_packages(control, opts(), arch="amd64"))
    assert debhelper.profiles_match("<!nocheck> <pkg.demo.x>", {"pkg.demo.x", "nocheck"})
    assert not debhelper.profiles_match("<stage1 !cross>", {"stage1", "cross"})


def test_unknown_package_is_a_usage_error(control):
    with pytest.raises(UsageError, match="not in debian/control"):
        debhelper.select_packages(control, opts(packages=["nope"]), arch="amd64")


def test_missing_or_broken_control(tmp_path):
    with pytest.raises(PyrpathError, match="not found"):
        debhelper.read_control(tmp_path / "control")
    bad = tmp_path / "bad"
    bad.write_text("Package: x\n")
    with pytest.raises(PyrpathError, match="no Source field"):
        debhelper.read_control(bad)


def test_pkgfile_lookup(tmp_path):
    (tmp_path / "demo-a.pyrpath").write_text("")
    (tmp_path / "pyrpath").write_text("")
    assert debhelper.pkgfile("demo-a", "pyrpath", "demo-a", tmp_path).name == "demo-a.pyrpath"
    assert debhelper.pkgfile("demo-b", "pyrpath", "demo-b", tmp_path).name == "pyrpath"
    assert debhelper.pkgfile("demo-b", "pyrpath", "demo-a", tmp_path) is None


def test_build_options():
    o = debhelper.build_options("parallel=3 nocheck,noopt nostrip terse")
    assert (o.parallel, o.nocheck, o.noopt, o.nostrip) == (3, True, True, True)
    assert debhelper.build_options("parallel=zero").parallel == 0


def test_release_is_the_changelog_entry_and_source_date_epoch(tmp_path):
    from dh_pyrpath.log import BuildLog
    (tmp_path / "changelog").write_text(
        "svc (2.1-1) unstable; urgency=medium\n\n  * Release.\n\n"
        " -- A Maintainer <a@example.org>  Mon, 23 Nov 2026 10:00:00 +0000\n")
    log = BuildLog(str(tmp_path / "log"), "svc")
    path = "/usr/sbin:/usr/bin:/sbin:/bin"
    # dh_pyrpath on its own: the entry's date, as dpkg-buildpackage would export it
    assert debhelper.release(tmp_path, log, path, environ={}) == debhelper.Release(
        "2.1-1", 1795428000)
    assert debhelper.release(tmp_path, log, path,
                             environ={"SOURCE_DATE_EPOCH": "1700000000"}).epoch == 1700000000
    with pytest.raises(PyrpathError, match="SOURCE_DATE_EPOCH='yesterday' is not a number"):
        debhelper.release(tmp_path, log, path, environ={"SOURCE_DATE_EPOCH": "yesterday"})
