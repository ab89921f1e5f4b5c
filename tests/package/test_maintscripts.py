"""Maintainer-script snippets: what they say, how they merge into debhelper's files, and that
they run (sh) with the effects promised, on a scratch tree standing in for the target."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from dh_pyrpath.package import maintscripts


def test_snippets_name_the_interpreter_the_prefix_and_base_files_dirs():
    s = maintscripts.snippets("svc", "/opt/svc", "3.11")
    assert "/opt/svc/bin/python3.11 -I -m compileall" in s["postinst"]
    assert "--invalidation-mode timestamp /opt/svc/lib/python3.11" in s["postinst"]
    assert "-o 1" not in s["postinst"]
    assert "find /opt/svc -depth -type d -name __pycache__" in s["prerm"]
    assert "mkdir -m 0755 /opt" in s["postrm"] and "/srv" not in s["postrm"]
    s = maintscripts.snippets("svc", "/srv/stack/svc", "3.13", opt_pycs=True)
    assert "-o 0 -o 1 -o 2" in s["postinst"]
    assert "mkdir -m 0755 /srv\n" in s["postrm"] and "/srv/stack" not in s["postrm"]
    s = maintscripts.snippets("svc", "/usr/local/lib/svc", "3.11")
    assert s["postrm"].index("mkdir -m 2775 /usr/local\n") < s["postrm"].index("/usr/local/lib\n")
    assert "postrm" not in maintscripts.snippets("svc", "/data/svc", "3.11")


def test_paths_with_shell_metacharacters_are_quoted():
    s = maintscripts.snippets("svc", "/opt/my svc", "3.11")
    assert "'/opt/my svc/bin/python3.11' -I" in s["postinst"]
    assert "find '/opt/my svc' -depth" in s["prerm"]


@pytest.mark.parametrize("script", ["postinst", "prerm", "postrm"])
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
    assert names == ["svc.postinst.debhelper", "svc.postrm.debhelper", "svc.prerm.debhelper"]
    prerm = (tmp_path / "svc.prerm.debhelper").read_text()
    assert prerm.count("__pycache__ -exec") == 1 and prerm.endswith("# from another helper\n")


def _run(text, *args, root):
    """Run a snippet with every absolute path moved under `root`."""
    text = re.sub(r"(?<=[\s'])/(?=opt)", f"{root}/", text)
    return subprocess.run(["sh", "-e", "-c", text, "script", *args], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_snippets_compile_clean_and_restore_on_a_scratch_tree(tmp_path):
    """The real commands: compileall by an interpreter at <prefix>/bin, find, mkdir."""
    prefix = tmp_path / "opt" / "svc"
    lib = prefix / "lib" / "python3.11"
    (lib / "pkg").mkdir(parents=True)
    (lib / "pkg" / "__init__.py").write_text("X = 1\n")
    (lib / "broken.py").write_text("def (:\n")
    (prefix / "bin").mkdir()
    os.symlink(sys.executable, prefix / "bin" / "python3.11")
    s = maintscripts.snippets("svc", "/opt/svc", "3.11")

    proc = _run(s["postinst"], "configure", root=tmp_path)
    assert proc.returncode == 0, proc.stderr  # a module that does not compile is no failure
    assert "svc: some Python modules could not be byte-compiled" in proc.stderr
    tag = sys.implementation.cache_tag
    assert (lib / "pkg" / "__pycache__" / f"__init__.{tag}.pyc").is_file()
    assert not (lib / "__pycache__" / f"broken.{tag}.pyc").exists()
    assert _run(s["postinst"], "triggered", root=tmp_path).returncode == 0

    (lib / "pkg" / "__pycache__" / f"__init__.{tag}.opt-1.pyc").write_bytes(b"")
    for _ in range(2):  # idempotent
        proc = _run(s["prerm"], "remove", root=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert not list(prefix.rglob("__pycache__")) and (lib / "pkg" / "__init__.py").is_file()

    shutil.rmtree(tmp_path / "opt")
    for _ in range(2):
        assert _run(s["postrm"], "purge", root=tmp_path).returncode == 0
    assert (tmp_path / "opt").is_dir() and oct((tmp_path / "opt").stat().st_mode & 0o7777) == "0o755"
