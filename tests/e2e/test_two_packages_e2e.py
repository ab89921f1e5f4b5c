"""Two binary packages from one source: separate prefixes, both work, -p selects one."""
import json
from pathlib import Path

import pytest

from conftest import HOST_XY, REPO, apt, build_deb, copy_source, dh_pyrpath, run

pytestmark = pytest.mark.e2e
TWINS = REPO / "tests" / "data" / "sources" / "twins"


def test_two_packages_get_separate_prefixes_and_both_work(tool_installed, suite_cache, tmp_path):
    src = copy_source(TWINS, tmp_path)
    debs = build_deb(src)
    by_name = {d.name.split("_")[0]: d for d in debs}
    assert set(by_name) == {"twin-a", "twin-b", "twins-doc"}
    doc_files = run(["dpkg-deb", "-c", str(by_name["twins-doc"])]).stdout
    assert "/opt/" not in doc_files and "/srv/" not in doc_files
    apt("install", str(by_name["twin-a"]), str(by_name["twin-b"]))
    try:
        for pkg, prefix in (("twin-a", "/opt/twin-a"), ("twin-b", "/srv/stack/twin-b")):
            out = json.loads(run([f"{prefix}/bin/twins-hello"]).stdout)
            assert out["prefix"] == prefix
            assert out["click"].startswith(prefix + f"/lib/python{HOST_XY}/site-packages/")
            listing = run(["dpkg", "-L", pkg]).stdout
            other = "/srv/stack/twin-b" if pkg == "twin-a" else "/opt/twin-a"
            assert prefix + f"/bin/python{HOST_XY}" in listing and other not in listing
    finally:
        apt("purge", "twin-a", "twin-b")
    assert not Path("/opt/twin-a").exists() and not Path("/srv/stack/twin-b").exists()


def test_dash_p_acts_on_one_package_only(suite_cache, tmp_path):
    src = copy_source(TWINS, tmp_path)
    proc = dh_pyrpath("-p", "twin-b", cwd=src, check=True)
    assert (src / "debian/twin-b/srv/stack/twin-b/bin/twins-hello").is_file()
    assert not (src / "debian/twin-a").exists()
    assert "twin-a" not in proc.stdout
    out = dh_pyrpath("-N", "twin-b", "--no-act", cwd=src, check=True).stdout
    assert "twin-a" in out and "twin-b" not in out and "twins-doc" not in out
    proc = dh_pyrpath("-p", "twins-doc", cwd=src)
    assert proc.returncode == 2 and "Architecture: all" in proc.stdout
