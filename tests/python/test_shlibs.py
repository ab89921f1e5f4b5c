"""The interpreter's Depends: into ${misc:Depends}, merged with what other helpers put there."""
import pytest

from dh_pyrpath import debhelper
from dh_pyrpath.python import shlibs
from dh_pyrpath.errors import PyrpathError


def test_substvar_is_added_and_merged(tmp_path):
    shlibs.add_substvar("svc", "libc6 (>= 2.34), libssl3 (>= 3.0.0)", tmp_path)
    path = tmp_path / "svc.substvars"
    assert path.read_text() == "misc:Depends=libc6 (>= 2.34), libssl3 (>= 3.0.0)\n"
    path.write_text("shlibs:Depends=libzmq5\nmisc:Depends=adduser\nmisc:Pre-Depends=x\n")
    shlibs.add_substvar("svc", "libc6 (>= 2.34), adduser", tmp_path)
    assert path.read_text() == ("shlibs:Depends=libzmq5\nmisc:Depends=adduser, libc6 (>= 2.34)\n"
                                "misc:Pre-Depends=x\n")
    shlibs.add_substvar("svc", "", tmp_path)
    assert "libc6" in path.read_text()


def test_control_without_misc_depends_is_refused():
    shlibs.check_control_uses_it("svc", "${shlibs:Depends}, ${misc:Depends}")
    with pytest.raises(PyrpathError, match=r"svc has no \$\{misc:Depends\}.*add it"):
        shlibs.check_control_uses_it("svc", "${shlibs:Depends}")


@pytest.mark.parametrize("build_depends,compat_file,level", [
    ("debhelper-compat (= 13), dh-sequence-pyrpath", None, 13),
    ("debhelper-compat (=14)", None, 14),
    ("debhelper (>= 12)", "12\n", 12),
    ("debhelper", None, 0),
])
def test_compat_level(tmp_path, build_depends, compat_file, level):
    if compat_file:
        (tmp_path / "compat").write_text(compat_file)
    control = debhelper.Control("x", [], build_depends)
    assert debhelper.compat_level(control, tmp_path) == level
