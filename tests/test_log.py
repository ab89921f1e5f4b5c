"""Credentials never reach the log or the terminal."""
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
