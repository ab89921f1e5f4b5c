"""--requirements: pinning through pip against the real index (the one networked unit test)."""
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from make_deb import requirements
from make_deb.errors import RequirementsError

REPO = Path(__file__).resolve().parents[2]


def index_reachable():
    try:
        urllib.request.urlopen("https://pypi.org/simple/six/", timeout=10).close()
        return True
    except OSError:
        return False


def test_extras_only_needs_no_network():
    assert requirements.pin(['pytest ; extra == "test"']) == []
    with pytest.raises(RequirementsError, match="not a valid PEP 508 requirement"):
        requirements.pin(["requests >>> 2"])


@pytest.mark.skipif(not index_reachable(), reason="the package index is not reachable")
def test_requirements_pinned_from_the_index(tmp_path):
    """The only unit test that uses the network (pip needs the index to resolve)."""
    pytest.importorskip("pip", reason="--requirements needs python3-pip")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "pinned-app"\nversion = "1.0"\ndescription = "Pinned"\n'
        'authors = [{name = "A B", email = "ab@example.org"}]\n'
        'dependencies = ["six>=1.10", "pytest ; extra == \'test\'"]\n')
    env = {**os.environ, "PYTHONPATH": str(REPO), "SOURCE_DATE_EPOCH": "1700000000"}
    proc = subprocess.run(["/usr/bin/python3", "-m", "make_deb", "--yes", "--requirements"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "debian/deb-requirements.txt").read_text().splitlines()
    pins = [ln for ln in lines if not ln.startswith("#")]
    assert len(pins) == 1 and pins[0].startswith("six==")  # extras are not runtime deps
    assert "pytest" not in "\n".join(pins)
    # and a dependency the index does not have is one clear error
    with pytest.raises(RequirementsError, match="pip could not resolve the dependencies: ERROR"):
        requirements.pin(["this-package-does-not-exist-make-deb-test==99"])
