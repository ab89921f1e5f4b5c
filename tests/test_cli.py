"""Argument parsing: debhelper's shared options, -O passthrough, DH_OPTIONS."""
import pytest

from dh_pyrpath.__main__ import main, parse
from dh_pyrpath.errors import UsageError


def test_passthrough_options_apply_and_unknown_ones_are_ignored():
    o = parse(["-O--install-root=/srv", "-O--buildsystem=pybuild", "-O", "--parallel"], environ={})
    assert o.install_root == "/srv"


def test_direct_options_win_over_passthrough():
    o = parse(["--install-root=/data", "-O--install-root=/srv"], environ={})
    assert o.install_root == "/data"


def test_dh_options_and_verbosity():
    o = parse([], environ={"DH_OPTIONS": "-p svc --bogus", "DH_VERBOSE": "1"})
    assert o.packages == ["svc"] and o.verbose
    assert parse([], environ={"DH_QUIET": "1"}).quiet


def test_keep_accepts_commas_and_repeats():
    assert parse(["--keep=test,idle", "--keep", "static"], environ={}).keep == [
        "test", "idle", "static"]


def test_unknown_direct_option_is_an_error():
    with pytest.raises(UsageError, match="unrecognized arguments: --frobnicate"):
        parse(["--frobnicate"], environ={})


def test_main_prints_one_error_line_and_exits_2(capsys):
    assert main(["--frobnicate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dh_pyrpath: error: ")


def test_cache_share_with_an_unknown_group_is_one_line_and_changes_nothing(tmp_path, capsys):
    target = tmp_path / "shared"
    assert main(["--cache-share", str(target), "--group", "no-such-group-pyrpath"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["dh_pyrpath: error: group no-such-group-pyrpath does not exist: create it "
                   "(groupadd --system no-such-group-pyrpath) or name another with --group"]
    assert not target.exists()
