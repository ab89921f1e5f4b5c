"""The build log and the progress lines: credentials never reach either; a long stage says it
is alive."""
import io
import re

from dh_pyrpath.errors import PyrpathError
from dh_pyrpath.log import BuildLog, redact

import pytest


def test_redact_hides_userinfo_in_urls():
    assert redact("pip -i https://bob:s3cret@pypi.example/simple x") == \
        "pip -i https://***@pypi.example/simple x"
    assert redact("https://TOKEN@host/p and http://u:p@h/") == "https://***@host/p and http://***@h/"
    assert redact("no urls here user@example.org") == "no urls here user@example.org"


def test_run_logs_redacted_output_and_raises_with_tail(tmp_path, capsys):
    log = BuildLog(str(tmp_path / "b.log"), "svc", verbose=True)
    log.run(["echo", "fetch https://bob:s3cret@idx.example/simple"], "echo")
    with pytest.raises(PyrpathError) as err:
        log.run(["sh", "-c", "echo boom https://x:y@h/; exit 3"], "step", fix="do this")
    log.close()
    text = (tmp_path / "b.log").read_text() + capsys.readouterr().out
    assert "s3cret" not in text and "x:y@" not in text
    assert str(err.value) == "step failed (exit 3): do this"
    assert err.value.tail == ["boom https://***@h/"]


def test_a_long_stage_announces_itself_and_beats_while_its_command_runs(tmp_path):
    """A slow step (sleep), not a real build: the stage says when it starts, then that it is
    still alive every `heartbeat` seconds while the command runs, with the time elapsed."""
    out = io.StringIO()
    log = BuildLog(str(tmp_path / "b.log"), "svc", out=out, heartbeat=0.3)
    with log.stage("build", "CPython 3.11.2 instrumented for PGO, make -j2", announce=True):
        log.run(["sleep", "1.1"], "sleep")
        log.run(["true"], "a quick one")
    log.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "dh_pyrpath: svc: build: CPython 3.11.2 instrumented for PGO, make -j2 ..."
    beats = [l for l in lines if re.fullmatch(r"dh_pyrpath: svc: build: CPython 3\.11\.2 "
                                              r"instrumented for PGO, make -j2 \.\.\. \d+ s", l)]
    assert 2 <= len(beats) <= 4, lines
    assert re.fullmatch(r"dh_pyrpath: svc: build: CPython .* \(\d+\.\d s\)", lines[-1]), lines
    assert lines.index(beats[-1]) < len(lines) - 1  # no beat after the stage ended


def test_no_heartbeat_when_quiet_or_quick(tmp_path):
    out = io.StringIO()
    quiet = BuildLog(str(tmp_path / "q.log"), "svc", quiet=True, out=out, heartbeat=0.1)
    with quiet.stage("build", "x", announce=True):
        quiet.run(["sleep", "0.4"], "sleep")
    loud = BuildLog(str(tmp_path / "l.log"), "svc", out=out, heartbeat=5)
    with loud.stage("install deps", "from a lock"):
        loud.run(["sleep", "0.2"], "sleep")
    assert out.getvalue().splitlines() == [
        l for l in out.getvalue().splitlines() if l.startswith("dh_pyrpath: svc: install deps: "
                                                               "from a lock (0.")]
    assert len(out.getvalue().splitlines()) == 1
