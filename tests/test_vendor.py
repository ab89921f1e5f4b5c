"""The vendor directory's checks (vendor.py): what a build refuses, on real files."""
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from dh_pyrpath.deps import vendoring
from dh_pyrpath import vendor
from dh_pyrpath.settings import Settings

PROJECT = Path(__file__).parent / "data" / "sources" / "locked"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """The locked project as a source tree with a vendor directory made for it (one wheel)."""
    src = tmp_path / "src"
    shutil.copytree(PROJECT, src)
    monkeypatch.chdir(src)
    (src / "debian" / "deb-requirements.txt").write_text("click==8.1.7\n")
    settings = Settings(package="locked", python_source="debian:python3.11",
                        vendor_dir="pyrpath-vendor")
    root = src / "pyrpath-vendor"
    (root / "python").mkdir(parents=True)
    wheel = root / "python" / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel, but bytes with a digest")
    manifest = {
        "format": vendor.FORMAT,
        "files": {"python/demo-1.0-py3-none-any.whl": {
            "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(), "size": 43}},
        "packages": {"locked": {"python-source": settings.python_source, "cpython": {},
                                "inputs": vendoring.vendor_inputs(settings, Path("."))}},
    }
    (root / vendor.MANIFEST).write_text(json.dumps(manifest))
    return src, settings


def test_a_matching_vendor_set_is_taken(tree):
    src, settings = tree
    found = vendor.open_for(settings)
    assert found.python_dir == Path("pyrpath-vendor") / "python"


def test_no_vendor_directory_is_no_vendoring(tree):
    src, settings = tree
    shutil.rmtree(src / "pyrpath-vendor")
    assert vendor.open_for(settings) is None


def test_inputs_are_the_project_files_and_the_requirements(tree):
    src, settings = tree
    inputs = vendoring.vendor_inputs(settings, Path("."))
    assert set(inputs) == {"pyproject.toml", "debian/deb-requirements.txt"}, inputs
    assert all(len(v) == 64 for v in inputs.values())


def test_a_changed_input_is_stale(tree):
    src, settings = tree
    (src / "pyproject.toml").write_text((src / "pyproject.toml").read_text() + "\n# changed\n")
    with pytest.raises(vendor.StaleVendor, match=r"^pyproject.toml changed since "
                                                 r"pyrpath-vendor was made: run `dh_pyrpath "
                                                 r"--vendor`"):
        vendor.open_for(settings)


def test_a_changed_requirement_is_stale(tree):
    src, settings = tree
    (src / "debian" / "deb-requirements.txt").write_text("click==8.1.8\n")
    with pytest.raises(vendor.StaleVendor, match="^debian/deb-requirements.txt changed since"):
        vendor.open_for(settings)


def test_another_python_source_is_stale(tree):
    src, settings = tree
    settings.python_source = "debian:python3.13"
    with pytest.raises(vendor.StaleVendor, match="made for python-source = debian:python3.11, "
                                                 "the build asks for debian:python3.13"):
        vendor.open_for(settings)


def test_a_corrupt_file_is_named(tree):
    src, settings = tree
    (src / "pyrpath-vendor" / "python" / "demo-1.0-py3-none-any.whl").write_bytes(b"changed")
    with pytest.raises(vendor.StaleVendor, match="python/demo-1.0-py3-none-any.whl has sha256 "
                                                 "[0-9a-f]{64}, the manifest says"):
        vendor.open_for(settings)


def test_a_missing_file_is_named(tree):
    src, settings = tree
    (src / "pyrpath-vendor" / "python" / "demo-1.0-py3-none-any.whl").unlink()
    with pytest.raises(vendor.StaleVendor, match="demo-1.0-py3-none-any.whl is missing"):
        vendor.open_for(settings)


def test_a_package_not_vendored_is_named(tree):
    src, settings = tree
    settings.package = "other"
    with pytest.raises(vendor.StaleVendor, match="nothing vendored for package other"):
        vendor.open_for(settings)


def test_the_vendored_source_is_labelled_as_an_online_build_labels_it(tmp_path):
    """build-info.json and the SBOM carry the label: where the files came from must not change
    them (the SBOM reads the Debian revision out of it)."""
    from dh_pyrpath.package import sbom
    entry = {"cpython": {"tarball": "cpython/python3.11_3.11.2.orig.tar.gz", "sha256": "ab" * 32,
                         "debian": "cpython/python3.11_3.11.2-6+deb12u8.debian.tar.xz",
                         "debian_sha256": "cd" * 32, "package": "python3.11",
                         "revision": "3.11.2-6+deb12u8"}}
    source = vendor.PackageVendor(tmp_path, entry).cpython("debian:python3.11", None)
    assert source.label == "python3.11_3.11.2.orig.tar.gz (Debian python3.11 3.11.2-6+deb12u8)"
    assert sbom._DEBIAN_LABEL.match(source.label)
    entry = {"cpython": {"tarball": "cpython/Python-3.11.9.tar.xz", "sha256": "ab" * 32}}
    assert vendor.PackageVendor(tmp_path, entry).cpython("x", None).label == "Python-3.11.9.tar.xz"
