"""Metadata extraction: the four project shapes, static PEP 621 details, METADATA parsing."""
import shutil
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from make_deb import metadata
from make_deb.errors import MetadataError

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "make_deb"


def tree(path):
    return sorted(str(p.relative_to(path)) for p in Path(path).rglob("*"))


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """Read each fixture once (the backend hook costs about a second) from a pristine copy."""
    out = {}
    for name in ("setuppy_kwargs", "setupcfg_only", "pep621_setuptools", "flit_tool"):
        copy = tmp_path_factory.mktemp("shape") / name
        shutil.copytree(FIXTURES / name, copy)
        before = tree(copy)
        out[name] = (metadata.read(copy), copy, before)
    return out


def test_setup_py_kwargs(shapes):
    meta, copy, _ = shapes["setuppy_kwargs"]
    # current setuptools writes the name with "_" (it did with "-"): same project either way
    assert (canonicalize_name(meta.name), meta.version) == ("hello-kwargs", "1.2.0rc1")
    assert meta.summary.startswith("Say hello from a setup.py project")
    assert "keyword argument" in meta.description
    assert meta.authors[0].name == "Ada Lovelace" and meta.authors[0].email == "ada@example.org"
    assert meta.license == "MIT" and meta.homepage == "https://example.org/hello-kwargs"
    assert meta.requires_python == ">=3.9"
    assert meta.console_scripts == {"hello-kwargs": "hello_kwargs.cli:main"}
    assert meta.license_files == ["LICENSE"]
    assert "Permission is hereby granted" in meta.license_text(copy)
    assert "setup.py" in meta.source


def test_setup_cfg_only(shapes):
    meta, copy, _ = shapes["setupcfg_only"]
    assert canonicalize_name(meta.name) == "my-cool-app"
    assert meta.version == "0.3.0.post2"                     # attr: directive
    assert meta.description.startswith("# My Cool App")      # file: directive
    assert meta.license == "BSD-3-Clause" and meta.license_files == ["LICENSE.txt"]
    assert meta.urls["Source"] == "https://example.org/my-cool-app/src"
    assert meta.homepage == "https://example.org/my-cool-app"
    assert meta.console_scripts == {"cool-app": "my_cool_app.__main__:main"}
    assert meta.authors[0].email == "grace@example.org"


def test_pep621_setuptools_dynamic_version(shapes):
    meta, _, _ = shapes["pep621_setuptools"]
    assert (meta.name, meta.version) == ("pep621-service", "2.0.0")
    assert meta.license == "Apache-2.0"
    assert meta.homepage == "https://example.org/pep621-service"
    assert meta.console_scripts == {"pep621-service": "pep621_service:main"}
    assert "setuptools.build_meta" in meta.source


def test_flit_backend_dynamic_version_and_description(shapes):
    meta, copy, _ = shapes["flit_tool"]
    assert (meta.name, meta.version) == ("flit_tool", "0.9.dev3")
    assert meta.summary == "Print where the private interpreter lives, from a flit_core project."
    assert meta.homepage == "https://example.org/flit-tool"
    assert meta.console_scripts == {"flit-tool": "flit_tool:main"}
    assert meta.license_files == ["COPYING"]
    assert "flit_core" in meta.source


def test_reading_leaves_no_artifacts(shapes):
    for name, (_, copy, before) in shapes.items():
        assert tree(copy) == before, name


def write(path, files):
    for rel, text in files.items():
        p = Path(path, rel)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_static_pep621_is_read_without_a_backend(tmp_path):
    write(tmp_path, {"pyproject.toml": """
[build-system]
requires = ["no-such-backend"]
build-backend = "no_such_backend"
[project]
name = "static-one"
version = "3.1"
description = "Static"
readme = {text = "Inline readme.", content-type = "text/plain"}
license = "MIT OR Apache-2.0"
authors = [{name = "A", email = "a@example.org"}, {email = "b@example.org"}]
maintainers = [{name = "M", email = "m@example.org"}]
dependencies = ["requests>=2"]
requires-python = ">=3.9"
dynamic = ["optional-dependencies"]
[project.urls]
Repository = "https://example.org/repo"
Documentation = "https://docs.example.org"
[project.scripts]
static-one = "static_one:main"
""", "LICENSE.md": "Permission is hereby granted, free of charge"})
    meta = metadata.read(tmp_path)
    assert (meta.name, meta.version, meta.summary) == ("static-one", "3.1", "Static")
    assert meta.description == "Inline readme."
    assert meta.license_expression == "MIT OR Apache-2.0"
    assert [p.email for p in meta.authors] == ["a@example.org", "b@example.org"]
    assert meta.maintainers[0].name == "M"
    assert meta.homepage == "https://example.org/repo"
    assert meta.requires_dist == ["requests>=2"]
    assert meta.license_files == ["LICENSE.md"]
    assert meta.source == "pyproject.toml [project]"


def test_static_license_file_table_and_license_files_globs(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname="ab"\nversion="1"\n'
                                       'license = {file = "COPYING.txt"}\n',
                     "COPYING.txt": "terms"})
    assert metadata.read(tmp_path).license_files == ["COPYING.txt"]
    write(tmp_path, {"pyproject.toml": '[project]\nname="ab"\nversion="1"\n'
                                       'license-files = ["legal/*.txt"]\n',
                     "legal/A.txt": "a"})
    assert metadata.read(tmp_path).license_files == ["legal/A.txt"]


@pytest.mark.parametrize("files, message", [
    ({}, "no Python project metadata"),
    ({"pyproject.toml": "[tool.black]\nline-length = 99\n"}, "no Python project metadata"),
    ({"pyproject.toml": "[project\nname="}, "not valid TOML"),
    ({"pyproject.toml": b"[project]\nname = '\xff'\n"}, "not valid UTF-8"),
    ({"pyproject.toml": "[project]\nversion = '1'\n"}, "has no name"),
    ({"pyproject.toml": "[project]\nname = 3\n"}, "name must be a string"),
    ({"pyproject.toml": "project = 3\n"}, "must be a table"),
    ({"pyproject.toml": "[project]\nname='ab'\nreadme='NOPE.md'\n"}, "does not exist"),
    ({"pyproject.toml": "[project]\nname='ab'\nreadme='R.md'\n", "R.md": b"caf\xe9"},
     "R.md is not valid UTF-8"),
    ({"pyproject.toml": "[project]\nname='ab'\nauthors=['x']\n"}, "entries must be tables"),
    ({"pyproject.toml": "[project]\nname='ab'\ndynamic='version'\n"}, "list of strings"),
])
def test_static_errors(tmp_path, files, message):
    write(tmp_path, files)
    with pytest.raises(MetadataError, match=message):
        metadata.read(tmp_path)


def test_missing_backend_is_named_with_its_fix(tmp_path):
    write(tmp_path, {"pyproject.toml": '[build-system]\nrequires=["hatchling-nope-make-deb"]\n'
                                       'build-backend="hatchling_nope.build"\n'
                                       '[project]\nname="ab"\ndynamic=["version"]\n'})
    with pytest.raises(MetadataError, match=r"^no distribution matches hatchling-nope-make-deb "
                                            r"on the package index; fix build-system.requires"):
        metadata.read(tmp_path)


METADATA = """\
Metadata-Version: 2.1
Name: Sample
Version: 1.0
Summary: A sample
Home-page: UNKNOWN
Author: Jane Doe, John Roe
Author-email: Jane Doe <jane@example.org>, john@example.org
License: UNKNOWN
Project-URL: Bug Tracker, https://example.org/issues
Project-URL: Source Code, https://example.org/src
Classifier: License :: OSI Approved :: MIT License
Requires-Dist: requests (>=2)
Requires-Dist: pytest ; extra == "test"
Requires-Python: >=3.8
License-File: LICENSE

Long description
here.
"""


def test_parse_metadata():
    meta = metadata.parse_metadata(METADATA)
    assert meta.name == "Sample" and meta.description == "Long description\nhere."
    assert meta.license is None and meta.homepage == "https://example.org/src"
    assert [(p.name, p.email) for p in meta.authors] == [("Jane Doe", "jane@example.org"),
                                                        ("", "john@example.org")]
    assert meta.requires_dist == ["requests (>=2)", 'pytest ; extra == "test"']
    assert meta.license_files == ["LICENSE"]


def test_parse_metadata_description_header():
    text = ("Metadata-Version: 1.2\nName: old\nVersion: 1\nAuthor: Solo\n"
            "Description: First line\n        second line\n        |third\n")
    meta = metadata.parse_metadata(text)
    assert meta.description == "First line\nsecond line\nthird"
    assert meta.authors[0].name == "Solo"


def test_parse_console_scripts():
    text = "[console_scripts]\nMyTool = pkg.cli:main\nother=pkg:run\n\n[gui_scripts]\ng = a:b\n"
    assert metadata.parse_console_scripts(text) == {"MyTool": "pkg.cli:main",
                                                    "other": "pkg:run"}
    assert metadata.parse_console_scripts("[other]\nx = y\n") == {}
