"""What the audit reads from a package: build-info.json and the SBOM (written here by the
SBOM's own writer), found in .deb files that dpkg-deb builds for the test."""
import json
import subprocess

import pytest

from dh_pyrpath.audit import inputs
from dh_pyrpath.deps.artifacts import Installed
from dh_pyrpath.errors import AuditError
from dh_pyrpath.package import sbom

PREFIX = "/srv/stack/svc"
LABEL = "python3.11_3.11.2.orig.tar.gz (Debian python3.11 3.11.2-6+deb12u8)"
INTERP = {"version": "3.11.2", "source": LABEL, "source_sha256": "0" * 64,
          "debian_patches": [], "debian_package": "python3.11",
          "debian_revision": "3.11.2-6+deb12u8"}


def build_info(**changes):
    """build-info.json as pipeline.py writes it (the keys the audit reads, and others)."""
    info = {"dh_pyrpath": "0.1.0", "package": "svc", "prefix": PREFIX, "python": "3.11.2",
            "python_source": LABEL, "python_debian_revision": "3.11.2-6+deb12u8",
            "python_patches": [], "interpreter_key": "k" * 32, "configure": []}
    info.update(changes)
    return json.dumps(info).encode()


def sbom_document(interp=INTERP):
    installed = [Installed("Jinja2", "3.1.2", "Jinja2-3.1.2-py3-none-any.whl", "a" * 64, "index"),
                 Installed("MarkupSafe", "3.0.2", "m.whl", "b" * 64, "index"),
                 Installed("svc", "1.0", "svc-1.0-py3-none-any.whl", "c" * 64, "project")]
    doc = sbom.document(sbom.Package("svc", "1.0", "amd64", PREFIX), interp, "libc6",
                        installed, {}, {}, 0)
    return sbom.serialize(doc).encode()


def make_deb(tmp_path, name="svc", files=None):
    """A real .deb of `files` ({path: bytes}), built by dpkg-deb."""
    root = tmp_path / f"{name}-tree"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@example.org>\n"
        "Description: test\n")
    for path, data in (files or {}).items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    deb = tmp_path / f"{name}_1.0_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
                   check=True, stdout=subprocess.DEVNULL)
    return deb


def built_files(info=None, doc=None):
    return {f"{PREFIX}/{inputs.BUILD_INFO}": info or build_info(),
            f"{PREFIX}/{inputs.SBOM}": doc or sbom_document()}


def test_a_package_dh_pyrpath_built(tmp_path):
    deb = make_deb(tmp_path, files={**built_files(), "/usr/share/doc/svc/README": b"hi"})
    (built,) = inputs.read_deb(deb)
    assert (built.origin, built.package, built.version, built.prefix) == (
        str(deb), "svc", "1.0", PREFIX)
    assert (built.debian_package, built.debian_revision) == ("python3.11", "3.11.2-6+deb12u8")
    assert built.distributions == (
        inputs.Distribution("Jinja2", "3.1.2"), inputs.Distribution("MarkupSafe", "3.0.2"),
        inputs.Distribution("svc", "1.0", project=True))


def test_the_debian_source_from_the_sbom_or_the_label():
    older = build_info(python_debian_revision=None)
    built = inputs.describe("x", "svc", "1.0", older, sbom_document(), PREFIX)
    assert built.debian_revision == "3.11.2-6+deb12u8"  # the SBOM's pedigree
    tarball = {**INTERP, "source": "Python-3.12.1.tgz", "debian_package": None,
               "debian_revision": None}
    built = inputs.describe("x", "svc", "1.0",
                            build_info(python_debian_revision=None,
                                       python_source="Python-3.12.1.tgz"),
                            sbom_document(tarball), PREFIX)
    assert built.debian_package is None and built.debian_revision is None


def test_the_release_the_source_came_from_when_build_info_records_it():
    built = inputs.describe("x", "svc", "1.0", build_info(python_release="trixie"),
                            sbom_document(), PREFIX)
    assert built.debian_release == "trixie"
    assert inputs.describe("x", "svc", "1.0", build_info(), sbom_document(),
                           PREFIX).debian_release is None


def test_not_built_by_dh_pyrpath_is_skipped(tmp_path):
    deb = make_deb(tmp_path, "plain", {"/usr/share/doc/plain/README": b"hi"})
    assert inputs.read_deb(deb) == inputs.Skipped(str(deb), "not built by dh-pyrpath")


def test_build_info_without_sbom_is_one_error(tmp_path):
    deb = make_deb(tmp_path, files={f"{PREFIX}/{inputs.BUILD_INFO}": build_info()})
    with pytest.raises(AuditError) as err:
        inputs.read_deb(deb)
    assert str(err.value) == (
        f"{deb}: {PREFIX}/{inputs.BUILD_INFO} but no {PREFIX}/{inputs.SBOM} (removed, or built "
        "by a dh-pyrpath older than SBOMs): rebuild it with a current dh-pyrpath")


def test_a_damaged_sbom_is_one_error(tmp_path):
    deb = make_deb(tmp_path, files=built_files(doc=b'{"bomFormat": "CycloneDX", '))
    with pytest.raises(AuditError, match=rf"{PREFIX}/{inputs.SBOM}: not valid JSON"):
        inputs.read_deb(deb)


def test_corrupt_debs_are_one_error_each(tmp_path):
    good = make_deb(tmp_path, files=built_files())
    truncated = tmp_path / "truncated.deb"
    truncated.write_bytes(good.read_bytes()[:1500])
    garbage = tmp_path / "garbage.deb"
    garbage.write_bytes(b"not an archive\n")
    for bad in (truncated, garbage):
        with pytest.raises(AuditError) as err:
            inputs.read_deb(bad)
        text = str(err.value)
        assert text.startswith(f"{bad}: not a readable .deb (") and "\n" not in text
        assert text.endswith("download or build it again")


def test_find_debs_searches_directories_and_names_a_missing_path(tmp_path):
    pool = tmp_path / "pool" / "main" / "s"
    pool.mkdir(parents=True)
    (pool / "b_1_amd64.deb").write_bytes(b"")
    (pool / "a_1_amd64.deb").write_bytes(b"")
    (pool / "notes.txt").write_text("")
    assert [p.name for p in inputs.find_debs([tmp_path / "pool"])] == [
        "a_1_amd64.deb", "b_1_amd64.deb"]
    with pytest.raises(AuditError, match="missing.deb: no such file or directory"):
        inputs.find_debs([tmp_path / "missing.deb"])


def test_installed_files_is_a_dict_of_lists():
    # the host may have no such package installed: the e2e test installs one
    owned = inputs.installed_files()
    assert all(isinstance(paths, list) for paths in owned.values())


def test_an_installed_file_removed_by_hand_names_the_reinstall(tmp_path):
    with pytest.raises(AuditError) as err:
        inputs._read(tmp_path / "gone.json", "svc")
    assert str(err.value) == (f"svc: cannot read {tmp_path}/gone.json (No such file or "
                              "directory): reinstall the package (apt install --reinstall svc)")
