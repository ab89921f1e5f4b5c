"""dh-pyrpath-audit, the audit's command of its own (dh_pyrpath/audit_cli.py): the same options,
report and exit codes as `dh_pyrpath --audit`, its own name on every stderr line. Run in process
on .deb files dpkg-deb builds for the test (CPython from a tarball: no apt is asked here;
tests/e2e/test_audit_server_e2e.py runs the installed command in a chroot)."""
import pytest

from dh_pyrpath import audit_cli
from dh_pyrpath.__main__ import main as dh_pyrpath_main

from test_audit_report import OSV, pool  # noqa: F401  (pool is a fixture)


def _both(argv, capsys):
    """(exit, stdout, stderr) of dh-pyrpath-audit ARGV and of dh_pyrpath --audit ARGV."""
    results = []
    for run in (lambda: audit_cli.main(argv), lambda: dh_pyrpath_main(["--audit", *argv])):
        code = run()
        out, err = capsys.readouterr()
        results.append((code, out, err))
    return results


def test_same_report_and_exit_code_as_dh_pyrpath_audit(pool, capsys):  # noqa: F811
    (code, out, err), (code2, out2, err2) = _both(["--no-pypi", "--osv", str(OSV), str(pool)],
                                                  capsys)
    assert code == code2 == 1 and out == out2 and "jinja2 >= 3.1.3" in out
    assert err.splitlines() == [line.replace("dh_pyrpath: ", "dh-pyrpath-audit: ", 1)
                                for line in err2.splitlines()]
    assert f"dh-pyrpath-audit: {pool}/plain_1.0_amd64.deb: not built by dh-pyrpath: skipped" in (
        err.splitlines())


def test_json(pool, capsys):  # noqa: F811
    (code, out, _), (_, out2, _) = _both(["--json", "--no-pypi", "--osv", str(OSV), str(pool)],
                                         capsys)
    assert code == 1 and out == out2 and '"exit_code": 1' in out


@pytest.mark.parametrize("argv,message", [
    ([], "nothing to audit: give .deb files or directories of them, or --installed"),
    (["--no-pypi", "/nonexistent/x.deb"],
     "/nonexistent/x.deb: no such file or directory: give .deb files or directories of them"),
    (["--python-source", "debian:python3.11", "x.deb"],
     "unrecognized arguments: --python-source: see dh-pyrpath-audit --help"),
])
def test_bad_command_lines_are_one_line_and_exit_2(argv, message, capsys):
    assert audit_cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [f"dh-pyrpath-audit: error: {message}"]


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        audit_cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("dh-pyrpath-audit 0.")


def test_the_man_page_documents_every_option():
    page = (OSV.parents[2] / "docs" / "dh-pyrpath-audit.1.rst").read_text()
    flags = {flag for action in audit_cli.make_parser()._actions for flag in action.option_strings
             if flag.startswith("--") and flag not in ("--help", "--version")}
    assert flags and not [f for f in sorted(flags) if f"``{f}``" not in page]
