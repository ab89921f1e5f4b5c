"""License names (SPDX, free text, trove classifiers, license file text) -> DEP-5 short names.

debian/copyright uses the short names of the copyright-format 1.0 spec (``Expat`` for MIT,
``GPL-3+`` for GPL-3.0-or-later, ...). Licenses shipped in /usr/share/common-licenses must be
referenced there rather than copied: lintian reports a copied GPL or Apache text as an error.
"""
import re
import textwrap
from dataclasses import dataclass

COMMON_LICENSES = "/usr/share/common-licenses"
# DEP-5 short name (without "+") -> file in /usr/share/common-licenses
_COMMON = {"Apache-2.0": "Apache-2.0", "Artistic": "Artistic", "CC0-1.0": "CC0-1.0",
           "GPL-1": "GPL-1", "GPL-2": "GPL-2", "GPL-3": "GPL-3", "LGPL-2": "LGPL-2",
           "LGPL-2.1": "LGPL-2.1", "LGPL-3": "LGPL-3", "MPL-1.1": "MPL-1.1",
           "MPL-2.0": "MPL-2.0", "GFDL-1.2": "GFDL-1.2", "GFDL-1.3": "GFDL-1.3"}

_SPDX = {
    "mit": "Expat", "mit-0": "MIT-0", "apache-2.0": "Apache-2.0", "apache-1.1": "Apache-1.1",
    "bsd-2-clause": "BSD-2-clause", "bsd-3-clause": "BSD-3-clause",
    "bsd-4-clause": "BSD-4-clause", "0bsd": "0BSD", "isc": "ISC", "zlib": "Zlib",
    "cc0-1.0": "CC0-1.0", "unlicense": "Unlicense", "mpl-2.0": "MPL-2.0", "mpl-1.1": "MPL-1.1",
    "psf-2.0": "PSF-2.0", "python-2.0": "Python-2.0", "artistic-2.0": "Artistic-2.0",
    "bsl-1.0": "BSL-1.0", "epl-2.0": "EPL-2.0", "epl-1.0": "EPL-1.0", "eupl-1.2": "EUPL-1.2",
    "wtfpl": "WTFPL", "zpl-2.1": "ZPL-2.1", "cc-by-4.0": "CC-BY-4.0",
    "cc-by-sa-4.0": "CC-BY-SA-4.0",
}
for _fam in ("GPL", "LGPL", "AGPL"):
    for _ver in ("1.0", "2.0", "2.1", "3.0"):
        _short = f"{_fam}-{_ver[:-2] if _ver.endswith('.0') else _ver}"
        _SPDX[f"{_fam}-{_ver}".lower()] = _short
        _SPDX[f"{_fam}-{_ver}-only".lower()] = _short
        _SPDX[f"{_fam}-{_ver}-or-later".lower()] = _short + "+"
        _SPDX[f"{_fam}-{_ver}+".lower()] = _short + "+"

# Text found in a license file -> short name; first match wins, so specific before generic.
_FILE_PATTERNS = [
    (r"GNU AFFERO GENERAL PUBLIC LICENSE\s+Version 3", "AGPL-3"),
    (r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version 3", "LGPL-3"),
    (r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version 2\.1", "LGPL-2.1"),
    (r"GNU (LIBRARY|LESSER) GENERAL PUBLIC LICENSE\s+Version 2", "LGPL-2"),
    (r"GNU GENERAL PUBLIC LICENSE\s+Version 3", "GPL-3"),
    (r"GNU GENERAL PUBLIC LICENSE\s+Version 2", "GPL-2"),
    (r"Apache License,?\s+Version 2\.0", "Apache-2.0"),
    (r"Mozilla Public License,?\s+(Version|v\.?)\s*2\.0", "MPL-2.0"),
    (r"Permission is hereby granted, free of charge", "Expat"),
    (r"Permission to use, copy, modify, and(/or)? distribute this software for any\s+purpose",
     "ISC"),
    (r"free and unencumbered software released into the public domain", "Unlicense"),
    (r"CC0 1\.0 Universal", "CC0-1.0"),
    (r"Redistribution and use in source and binary forms(?=.*advertising materials)",
     "BSD-4-clause"),
    (r"Redistribution and use in source and binary forms(?=.*(Neither the name|names of (its|the) "
     r"contributors))", "BSD-3-clause"),
    (r"Redistribution and use in source and binary forms", "BSD-2-clause"),
    (r"This software is provided 'as-is', without any express or implied\s+warranty", "Zlib"),
]


def _gnu(family, text):
    ver = re.search(r"(\d(?:\.\d)?)", text)
    ver = ver.group(1) if ver else ""
    ver = ver[:-2] if ver.endswith(".0") else ver
    plus = "+" if re.search(r"\+|or[ -]later|or any later|or-later", text) else ""
    return f"{family}-{ver}{plus}" if ver else family


def _free_text(text):
    """Map one free-text name or trove classifier to a short name, or None."""
    t = text.lower()
    if re.search(r"affero|\bagpl", t):
        return _gnu("AGPL", t)
    if re.search(r"lesser|library general|\blgpl", t):
        return _gnu("LGPL", t)
    if re.search(r"general public|\bgpl", t):
        return _gnu("GPL", t)
    if re.search(r"\bmit\b|\bexpat\b", t):
        return "Expat"
    if "apache" in t:
        return "Apache-1.1" if "1.1" in t else "Apache-2.0"
    if re.search(r"\bbsd\b|bsd-?\d", t):
        if re.search(r"\b2\b|2-clause|simplified|freebsd", t):
            return "BSD-2-clause"
        return "BSD-4-clause" if re.search(r"\b4\b|4-clause|original", t) else "BSD-3-clause"
    if re.search(r"mozilla|\bmpl\b", t):
        return "MPL-1.1" if "1.1" in t else "MPL-2.0"
    if re.search(r"\bisc\b|iscl", t):
        return "ISC"
    if "zlib" in t:
        return "Zlib"
    if "cc0" in t:
        return "CC0-1.0"
    if "unlicense" in t:
        return "Unlicense"
    if "public domain" in t:
        return "public-domain"
    if re.search(r"python software foundation|\bpsf", t):
        return "PSF-2.0"
    if re.search(r"proprietary|all rights reserved", t):
        return "other"
    return None


def _sanitize(name):
    """Unknown names still have to be one DEP-5 token: no spaces, commas or parentheses."""
    token = re.sub(r"[^A-Za-z0-9.+-]+", "-", name).strip("-")
    return token or "other"


def from_expression(expr):
    """SPDX expression (``MIT OR Apache-2.0``) or a short free-text name -> DEP-5 expression."""
    parts = re.split(r"\s+(OR|AND|WITH)\s+", expr.strip().strip("()"))
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part.lower())
            continue
        part = part.strip("() ")
        if i and parts[i - 1] == "WITH":
            out[-1:] = ["with", _sanitize(re.sub(r"(?i)-?exception", "", part)), "exception"]
            continue
        out.append(_SPDX.get(part.lower()) or _free_text(part) or _sanitize(part))
    return " ".join(out)


def from_classifiers(classifiers):
    for c in classifiers:
        if c.startswith("License ::"):
            leaf = c.split("::")[-1].strip()
            if leaf in ("OSI Approved", "Other/Proprietary License"):
                if "Proprietary" in leaf:
                    return "other"
                continue
            name = _free_text(leaf)
            if name:
                return name
    return None


def from_file_text(text):
    flat = " ".join(text.split())
    for pattern, name in _FILE_PATTERNS:
        if re.search(pattern.replace(r"\s+", " "), flat, re.I | re.S):
            return name
    return None


def common_license_file(short):
    """Path in /usr/share/common-licenses for a short name (``GPL-3+`` -> GPL-3), or None."""
    base = short.rstrip("+")
    return f"{COMMON_LICENSES}/{_COMMON[base]}" if base in _COMMON else None


@dataclass
class LicenseInfo:
    short: str           # DEP-5 license expression for the Files paragraph
    text: str | None     # full text for the standalone License paragraph(s), if any
    source: str          # where the name came from, for messages


def resolve(expression=None, license_field=None, classifiers=(), file_text=None, override=None):
    """Pick the license: flag > License-Expression > License > classifier > license file."""
    if override:
        return LicenseInfo(from_expression(override), file_text, "--license")
    if expression:
        return LicenseInfo(from_expression(expression), file_text, "License-Expression")
    field = (license_field or "").strip()
    if field.upper() == "UNKNOWN":
        field = ""
    if field and ("\n" in field or len(field) > 80):
        # setup(license=open("LICENSE").read()) puts the whole text in the field
        name = from_file_text(field) or _free_text(field.splitlines()[0])
        if name:
            return LicenseInfo(name, file_text or field, "License text in metadata")
        field = ""
    if field:
        name = from_expression(field)
        # "BSD" alone is ambiguous: the file tells 2- from 3-clause
        if name == "BSD-3-clause" and file_text:
            name = from_file_text(file_text) or name
        return LicenseInfo(name, file_text, "License")
    name = from_classifiers(classifiers)
    if name:
        if name.startswith("BSD") and file_text:
            name = from_file_text(file_text) or name
        return LicenseInfo(name, file_text, "classifier")
    if file_text:
        name = from_file_text(file_text)
        if name:
            return LicenseInfo(name, file_text, "license file")
        return LicenseInfo("other", file_text, "license file (unrecognised text)")
    return None


_GNU_NAMES = {"GPL": "GNU General Public License", "LGPL": "GNU Lesser General Public License",
              "AGPL": "GNU Affero General Public License"}


def license_paragraph_lines(short, text):
    """Lines (no leading space) of the standalone License paragraph body for one short name."""
    common = common_license_file(short)
    if common:
        lines = []
        family, _, version = short.rstrip("+").partition("-")
        if short.endswith("+") and family in _GNU_NAMES:
            lines += textwrap.wrap(
                f"This program is free software: you can redistribute it and/or modify it "
                f"under the terms of the {_GNU_NAMES[family]} as published by the Free "
                f"Software Foundation, either version {version} of the License, or (at your "
                f"option) any later version.", 78) + [""]
        lines += textwrap.wrap(f"On Debian systems, the complete text of this license can be "
                               f"found in \"{common}\".", 78)
        return lines
    if text:
        return [ln.rstrip() for ln in text.expandtabs(8).splitlines()]
    if short == "public-domain":
        return ["The upstream project dedicates this work to the public domain."]
    return textwrap.wrap(f"The upstream project declares the license \"{short}\" but ships no "
                         f"license file; add its text here.", 78)
