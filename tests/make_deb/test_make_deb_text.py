"""Description formatting and license mapping."""
import pytest

from make_deb import description as desc
from make_deb import licenses


# ------------------------------------------------------------------ descriptions

def test_synopsis_single_line_and_short():
    assert desc.synopsis("  A tool\nfor  things.\t") == "A tool for things"
    long = "word " * 40
    s = desc.synopsis(long)
    assert len(s) < 80 and "\n" not in s and s == s.strip()


def test_synopsis_strips_control_characters():
    assert desc.synopsis("Bell\x07 and\x1b[31m escape\x00") == "Bell and[31m escape"


def test_synopsis_long_single_word_is_cut():
    assert len(desc.synopsis("x" * 300)) == desc.SYNOPSIS_MAX


MARKDOWN = """# Project

[![CI](https://ci/badge.svg)](https://ci)
![logo](logo.png)

This is **the** project. It does [things](https://example.org) with `code`.

## Install

```
pip install project
```

    indented code

<div align="center">html</div>

Second paragraph
continues here.
"""

RST = """=======
Project
=======

.. image:: https://badge.svg
   :target: https://ci

Project does ``things`` with `links <https://example.org>`_ and :class:`roles`.

Usage::

    project --run
"""


def test_readme_paragraphs_markdown():
    paras = desc.readme_paragraphs(MARKDOWN)
    assert paras == ["This is the project. It does things with code.",
                     "Second paragraph continues here."]


def test_readme_paragraphs_rst():
    assert desc.readme_paragraphs(RST) == ["Project does things with links and roles."]


def test_extended_format_rules():
    text = "Para one " + "word " * 50 + "\n\n.\n\nPara\ttwo\x0c with\ttabs."
    lines = desc.extended(text, "Summary", "Trailer paragraph.")
    assert lines[-1] == "Trailer paragraph."
    for line in lines:
        assert len(line) < 80 and "\t" not in line and line.strip() != "."
        assert not line.startswith(" ")
    field = desc.control_field("Summary", lines)
    body = field.split("\n")[1:]
    assert all(ln.startswith(" ") and not ln.startswith("  ") for ln in body)
    assert " ." in body  # paragraph separator


def test_extended_is_bounded_for_huge_readme():
    huge = "\n\n".join(f"Paragraph {i} " + "text " * 200 for i in range(5000))
    lines = desc.extended(huge, "Summary", "Trailer.")
    assert sum(len(ln) for ln in lines) < desc.MAX_CHARS + 400


def test_extended_skips_summary_repeated_in_readme():
    lines = desc.extended("My tool does X.\n\nMore detail here.", "My tool does X", "T.")
    assert lines[0] == "More detail here."


def test_extended_never_empty():
    assert desc.extended("", "Summary", "Trailer.") == ["Trailer."]


def test_first_sentence():
    assert desc.first_sentence(MARKDOWN) == "This is the project"
    assert desc.first_sentence("") == ""


# ------------------------------------------------------------------ licenses

@pytest.mark.parametrize("name, short", [
    ("MIT", "Expat"), ("mit", "Expat"), ("MIT License", "Expat"),
    ("Apache-2.0", "Apache-2.0"), ("Apache License, Version 2.0", "Apache-2.0"),
    ("Apache Software License", "Apache-2.0"),
    ("BSD-3-Clause", "BSD-3-clause"), ("BSD-2-Clause", "BSD-2-clause"), ("BSD", "BSD-3-clause"),
    ("GPL-3.0-or-later", "GPL-3+"), ("GPL-3.0-only", "GPL-3"), ("GPLv3+", "GPL-3+"),
    ("GPL-2.0+", "GPL-2+"), ("GPLv2", "GPL-2"), ("LGPL-2.1-or-later", "LGPL-2.1+"),
    ("LGPLv3", "LGPL-3"), ("AGPL-3.0-or-later", "AGPL-3+"), ("MPL-2.0", "MPL-2.0"),
    ("ISC", "ISC"), ("Zlib", "Zlib"), ("CC0-1.0", "CC0-1.0"), ("Unlicense", "Unlicense"),
    ("PSF-2.0", "PSF-2.0"), ("Proprietary", "other"),
    ("MIT OR Apache-2.0", "Expat or Apache-2.0"),
    ("Apache-2.0 AND BSD-3-Clause", "Apache-2.0 and BSD-3-clause"),
    ("GPL-2.0-or-later WITH Classpath-exception-2.0", "GPL-2+ with Classpath-2.0 exception"),
    ("My Own License (v1)", "My-Own-License-v1"),
])
def test_from_expression(name, short):
    assert licenses.from_expression(name) == short


@pytest.mark.parametrize("classifier, short", [
    ("License :: OSI Approved :: MIT License", "Expat"),
    ("License :: OSI Approved :: Apache Software License", "Apache-2.0"),
    ("License :: OSI Approved :: BSD License", "BSD-3-clause"),
    ("License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)", "GPL-3+"),
    ("License :: OSI Approved :: GNU General Public License v2 (GPLv2)", "GPL-2"),
    ("License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)", "LGPL-3"),
    ("License :: OSI Approved :: GNU Affero General Public License v3", "AGPL-3"),
    ("License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
    ("License :: OSI Approved :: ISC License (ISCL)", "ISC"),
    ("License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication", "CC0-1.0"),
    ("License :: Public Domain", "public-domain"),
    ("License :: OSI Approved :: Python Software Foundation License", "PSF-2.0"),
    ("License :: Other/Proprietary License", "other"),
])
def test_from_classifiers(classifier, short):
    assert licenses.from_classifiers(["Programming Language :: Python", classifier]) == short


MIT_TEXT = "Copyright (c) 2020 X\n\nPermission is hereby granted, free of charge, to any person"
BSD3 = ("Redistribution and use in source and binary forms, with or without modification...\n"
        "3. Neither the name of the copyright holder nor the names of its contributors")
BSD2 = "Redistribution and use in source and binary forms, with or without modification..."


@pytest.mark.parametrize("text, short", [
    (MIT_TEXT, "Expat"), (BSD3, "BSD-3-clause"), (BSD2, "BSD-2-clause"),
    ("                                 Apache License\n                           Version 2.0, "
     "January 2004", "Apache-2.0"),
    ("GNU GENERAL PUBLIC LICENSE\n   Version 3, 29 June 2007", "GPL-3"),
    ("GNU LESSER GENERAL PUBLIC LICENSE\n Version 2.1, February 1999", "LGPL-2.1"),
    ("This is free and unencumbered software released into the public domain.", "Unlicense"),
    ("whatever", None),
])
def test_from_file_text(text, short):
    assert licenses.from_file_text(text) == short


def test_resolve_priority_and_ambiguous_bsd():
    # flag beats everything
    assert licenses.resolve("MIT", "GPL", [], None, override="ISC").short == "ISC"
    # License-Expression beats License
    assert licenses.resolve("MIT", "GPL", [], None).short == "Expat"
    # bare "BSD" is refined by the file
    assert licenses.resolve(None, "BSD", [], BSD2).short == "BSD-2-clause"
    # classifier when no field, refined by the file for BSD
    assert licenses.resolve(None, None, ["License :: OSI Approved :: BSD License"],
                            BSD2).short == "BSD-2-clause"
    # whole license text stuffed into the License field (setup(license=open(...).read()))
    info = licenses.resolve(None, MIT_TEXT + "\n" * 3 + "x" * 100, [], None)
    assert info.short == "Expat" and "Permission" in info.text
    # the file alone
    assert licenses.resolve(None, "UNKNOWN", [], BSD3).short == "BSD-3-clause"
    assert licenses.resolve(None, None, [], None) is None
    assert licenses.resolve(None, None, [], "custom terms").short == "other"


def test_common_licenses_are_referenced_not_copied():
    lines = licenses.license_paragraph_lines("GPL-3+", "FULL GPL TEXT")
    assert "FULL GPL TEXT" not in lines
    assert any("/usr/share/common-licenses/GPL-3" in ln for ln in lines)
    assert "any later version" in " ".join(lines)
    assert all(len(ln) < 80 for ln in lines)
    assert licenses.license_paragraph_lines("Expat", "line1\n\tline2") == ["line1",
                                                                           "        line2"]
    assert "add its text" in " ".join(licenses.license_paragraph_lines("Expat", None))


@pytest.mark.parametrize("summary, expected", [
    ("good-app is a tool for X", "Tool for X"),
    ("Good-App: the tool for X", "Tool for X"),
    ("good-app - an app", "App"),
    ("A cool application", "Cool application"),
    ("The best", "Best"),
    ("good-appliance maker", "Good-appliance maker"),  # lintian's \b: not the package name
    ("good-app", "Fallback text"),
    ("good-app good-app", "Fallback text"),
    ("tool for X", "Tool for X"),
])
def test_debian_synopsis_avoids_lintian_tags(summary, expected):
    """lintian: description-starts-with-package-name (error), -starts-with-article (warning)."""
    assert desc.debian_synopsis(summary, "good-app", "Fallback text.") == expected


def test_extended_skips_first_paragraph_duplicating_the_synopsis():
    lines = desc.extended("A tool, for X!\n\nDetails.", "Tool for X", "T.", "A tool for X")
    assert lines[0] == "Details."


# ------------------------------------------------------------------ markdown READMEs

from make_deb import markdown, upstream  # noqa: E402
from make_deb.metadata import Person, ProjectMetadata  # noqa: E402

README_MD = """# tool

[![CI](https://ci.example.org/badge.svg)](https://ci.example.org/tool)

**tool** does *one* thing with [the widget][w] and [inline links](https://example.org/i).
See [the docs](docs/index.md) and <https://example.org/auto>.

## Features

- first item, with a [reference][w] already given
- second item that is long enough to be wrapped onto a second line of the description
  by the writer, under its own text
  1. a nested step

## Contents

- [Features](#features)
- [Install](#install)

## Why

Because.

## Installation

```sh
pip install tool
```

That text is not part of the description.

[w]: https://example.org/widget
"""


def test_markdown_readme_becomes_paragraphs_headings_and_list_items():
    lines = desc.extended(README_MD, "Does one thing", "Trailer.", content_type="text/markdown",
                          title="tool")
    assert lines == [
        "tool does one thing with the widget (https://example.org/widget) and inline",
        "links (https://example.org/i). See the docs and https://example.org/auto.",
        "",
        "Features",
        "",
        " * first item, with a reference already given",
        " * second item that is long enough to be wrapped onto a second line of the",
        "   description by the writer, under its own text",
        "   1. a nested step",
        "",
        "Why",
        "",
        "Because.",
        "",
        "Trailer.",
    ]
    field = desc.control_field("Does one thing", lines)
    assert all(len(ln) < 80 for ln in field.splitlines())
    assert "[" not in field and "](" not in field and "*tool*" not in field


def test_markdown_is_recognised_without_a_content_type():
    assert desc.is_markdown(README_MD) and not desc.is_markdown(RST)
    assert not desc.is_markdown(README_MD, "text/x-rst")
    assert desc.extended(README_MD, "S", "T.", title="tool")[3] == "Features"


def test_homepage_urls_are_not_repeated_and_long_urls_dropped():
    text = ("Read [the site](https://example.org/home) or [a very long page]"
            "(https://example.org/" + "x" * 80 + ").")
    lines = desc.extended(text, "S", "T.", content_type="text/markdown",
                          known_urls=["https://example.org/home/"])
    assert lines[0] == "Read the site or a very long page."


def test_long_list_is_cut_to_the_size_limit():
    items = "\n".join(f"- item number {i} " + "word " * 20 for i in range(100))
    lines = desc.extended(items, "S", "T.", content_type="text/markdown")
    assert 5 < len(lines) < 40 and lines[-1] == "T."
    assert sum(len(ln) for ln in lines) < desc.MAX_CHARS + 200


def test_huge_markdown_readme_keeps_references_defined_at_its_end():
    text = "Uses [the widget][w].\n\n" + ("Filler paragraph. " * 20 + "\n\n") * 10000 + \
        "[w]: https://example.org/widget\n"
    assert len(text) > 3_000_000
    lines = desc.extended(text, "S", "T.", content_type="text/markdown")
    assert lines[0] == "Uses the widget (https://example.org/widget)."


def test_readme_without_description_sections():
    lines = desc.extended("# tool\n\n## Installation\n\npip install it\n", "S", "T.",
                          content_type="text/markdown", title="tool")
    assert lines == ["T."]


def test_markdown_to_text_for_license_files():
    text = markdown.to_text("# The License\n\nCopyright (c) 2020 **Jane** <jane@example.org>"
                            "\n\nSee [the FSF](https://www.fsf.org/) _now_.\n\n"
                            "```\nverbatim   block\n```\n\n1. first\n2. second\n")
    assert text == ("The License\n\nCopyright (c) 2020 Jane <jane@example.org>\n\n"
                    "See the FSF (https://www.fsf.org/) now.\n\nverbatim   block\n\n"
                    "1. first\n2. second\n")


# ------------------------------------------------------------------ copyright holders

@pytest.mark.parametrize("text, holders", [
    ("Copyright (c) 2019-2024 Jane Doe <jane@example.org>\n", ["2019-2024 Jane Doe <jane@example.org>"]),
    ("Copyright © 2020 ACME Corp. (https://acme.example)\n", ["2020 ACME Corp."]),
    ("Copyright (c) Jane Doe and contributors\n", ["Jane Doe and contributors"]),
    ("Copyright (C) <year>  <name of author>\n", []),
    ("copyright notice and this permission notice shall be included\n", []),
    ("Copyright 2001 A\nCopyright 2001 A\nCopyright 2002 B\n", ["2001 A", "2002 B"]),
])
def test_license_holders(text, holders):
    assert upstream.license_holders(text) == holders


def test_holders_year_from_the_license_then_git_then_the_packaging(tmp_path):
    meta = ProjectMetadata(name="p", version="1", authors=[Person("Ada Lovelace", "a@x.org")])
    assert upstream.holders(meta, "Copyright (c) 2012 Ada L.", tmp_path, 2030) == \
        (["2012 Ada L."], None)
    holders, warning = upstream.holders(meta, "no copyright line here", tmp_path, 2030)
    assert holders == ["2030 Ada Lovelace"] and "says 2030, the packaging's" in warning
    (tmp_path / "f").write_text("x")
    from test_make_deb_backends import git_checkout
    git_checkout(tmp_path, date="2017-05-04T10:00:00+00:00")
    assert upstream.holders(meta, None, tmp_path, 2030) == (["2017 Ada Lovelace"], None)
    assert upstream.holders(ProjectMetadata(name="p", version="1"), None, tmp_path, 2030) == \
        (["2017 The p authors"], None)


def test_upstream_contact_is_the_project_maintainer_else_author():
    meta = ProjectMetadata(name="p", version="1", authors=[Person("A", "a@x.org")],
                           maintainers=[Person("M", "m@x.org")])
    assert upstream.contact(meta) == "M <m@x.org>"
    meta.maintainers = [Person("No Mail", "")]
    assert upstream.contact(meta) == "A <a@x.org>"
    meta.authors = [Person("", "only@x.org")]
    assert upstream.contact(meta) == "only@x.org"
    assert upstream.contact(ProjectMetadata(name="p", version="1")) is None
