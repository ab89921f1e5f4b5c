"""Maintainer-script snippets: what they say, how they merge into debhelper's files, and that
they run (sh) with the effects promised, on a scratch tree standing in for the target."""
import re
import shutil
import subprocess

import pytest

from dh_pyrpath.package import maintscripts


def test_snippets_name_the_prefix_and_base_files_dirs():
    s = maintscripts.snippets("svc", "/opt/svc", "3.11")
    assert "postinst" not in s  # the package ships its bytecode: installing compiles nothing
    assert "find /opt/svc -path '*/__pycache__/*.opt-[12].pyc' -type f -delete" in s["prerm"]
    assert "mkdir -m 0755 /opt" in s["postrm"] and "/srv" not in s["postrm"]
    s = maintscripts.snippets("svc", "/srv/stack/svc", "3.13", opt_pycs=True)
    assert "prerm" not in s  # it ships the opt pycs too: Python writes none of its own
    assert "mkdir -m 0755 /srv\n" in s["postrm"] and "/srv/stack" not in s["postrm"]
    s = maintscripts.snippets("svc", "/usr/local/lib/svc", "3.11")
    assert s["postrm"].index("mkdir -m 2775 /usr/local\n") < s["postrm"].index("/usr/local/lib\n")
    assert "postrm" not in maintscripts.snippets("svc", "/data/svc", "3.11")


def test_paths_with_shell_metacharacters_are_quoted():
    s = maintscripts.snippets("svc", "/opt/my svc", "3.11")
    assert "find '/opt/my svc' -path" in s["prerm"]


@pytest.mark.parametrize("script", ["prerm", "postrm"])
def test_snippets_are_valid_sh(script):
    text = maintscripts.snippets("svc", "/opt/svc", "3.11")[script]
    subprocess.run(["sh", "-n"], input=text, text=True, check=True)


def test_merge_appends_to_postinst_prepends_to_removal_scripts_and_replaces_itself():
    other = "# Automatically added by dh_installsystemd/13\nstart\n# End automatically added section\n"
    post = maintscripts.merge(other, "postinst", "compile\n")
    assert post.index("start") < post.index("compile")
    pre = maintscripts.merge(other, "prerm", "clean\n")
    assert pre.index("clean") < pre.index("start")
    again = maintscripts.merge(maintscripts.merge(post, "postinst", "compile2\n"), "postinst",
                               "compile3\n")
    assert again.count("dh_pyrpath/") == 1 and "compile3" in again and "compile\n" not in again
    assert again.startswith(other)


def test_install_writes_debhelper_files_idempotently(tmp_path):
    (tmp_path / "svc.prerm.debhelper").write_text("# from another helper\n")
    for _ in range(2):
        maintscripts.install("svc", "/opt/svc", "3.11", debian_dir=tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["svc.postrm.debhelper", "svc.prerm.debhelper"]
    prerm = (tmp_path / "svc.prerm.debhelper").read_text()
    assert prerm.count(".opt-[12].pyc") == 1 and prerm.endswith("# from another helper\n")


def test_install_drops_the_sections_a_rerun_has_no_use_for(tmp_path):
    """An earlier dh-pyrpath's postinst section (it compiled at install time), and the prerm
    section of a build without --keep opt-pyc: a rerun takes them out, and only them."""
    old = f"{maintscripts.START}0.9\ncompileall\n{maintscripts.END}\n"
    (tmp_path / "svc.postinst.debhelper").write_text(old)
    maintscripts.install("svc", "/opt/svc", "3.11", debian_dir=tmp_path)
    assert not (tmp_path / "svc.postinst.debhelper").exists()
    (tmp_path / "svc.prerm.debhelper").write_text(
        (tmp_path / "svc.prerm.debhelper").read_text() + "# from another helper\n")
    maintscripts.install("svc", "/opt/svc", "3.11", opt_pycs=True, debian_dir=tmp_path)
    assert (tmp_path / "svc.prerm.debhelper").read_text() == "# from another helper\n"


def _run(text, *args, root):
    """Run a snippet with every absolute path moved under `root`."""
    text = re.sub(r"(?<=[\s'])/(?=opt)", f"{root}/", text)
    return subprocess.run(["sh", "-e", "-c", text, "script", *args], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_snippets_clean_and_restore_on_a_scratch_tree(tmp_path):
    """The real commands: find removes what `python -O` wrote and nothing shipped; mkdir."""
    prefix = tmp_path / "opt" / "svc"
    cache = prefix / "lib" / "python3.11" / "pkg" / "__pycache__"
    cache.mkdir(parents=True)
    (cache.parent / "__init__.py").write_text("X = 1\n")
    for name in ("__init__.cpython-311.pyc", "__init__.cpython-311.opt-1.pyc",
                 "__init__.cpython-311.opt-2.pyc"):
        (cache / name).write_bytes(b"")
    s = maintscripts.snippets("svc", "/opt/svc", "3.11")
    for _ in range(2):  # idempotent
        proc = _run(s["prerm"], "remove", root=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in cache.iterdir()) == ["__init__.cpython-311.pyc"]

    shutil.rmtree(tmp_path / "opt")
    assert _run(s["prerm"], "remove", root=tmp_path).returncode == 0  # prefix gone: no error
    for _ in range(2):
        assert _run(s["postrm"], "purge", root=tmp_path).returncode == 0
    assert (tmp_path / "opt").is_dir() and oct((tmp_path / "opt").stat().st_mode & 0o7777) == "0o755"
