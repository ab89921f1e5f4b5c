"""What debian/copyright says about the upstream project: who holds the copyright since when,
and how to reach the project. All of it is the project's, never the Debian maintainer's nor
today's date.

Copyright: the license file's own ``Copyright ...`` lines; else the authors from the metadata
with the year of the project's first commit (in a git checkout); else, as the last resort and
with a warning, with the year of the packaging (SOURCE_DATE_EPOCH): lintian wants a year, and
nothing in the project tells it.
"""
import re
import subprocess
import time

from . import description as desc

MAX_HOLDERS = 10
_COPYRIGHT = re.compile(r"^\s*Copyright\b\s*((?:\([cC]\)|©)\s*)*(?P<rest>.*\S)\s*$")
_URL_IN_PARENS = re.compile(r"\s*\(https?://[^)\s]*\)")


def clean_name(value):
    """A person's name fit for Maintainer or Copyright: one line, no address punctuation."""
    return " ".join(re.sub(r"[<>,;\"]", " ", desc.one_line(value or "")).split())


def license_holders(text):
    """Holders from the license text's ``Copyright [(c)] <years> <holder>`` lines; a line
    without a year counts only with a (c) or © mark. Template lines (``<year> <name>``) and
    body text ("copyright notice ...") are not holders."""
    holders = []
    for line in (text or "").splitlines():
        m = _COPYRIGHT.match(line)
        if not m:
            continue
        rest = _URL_IN_PARENS.sub("", m["rest"]).strip()
        marked = bool(m.group(1))
        template = "<" in rest and ">" in rest and not re.search(r"<[^>\s]+@", rest)
        if len(rest) >= 120 or template:
            continue
        if re.match(r"\d{4}", rest) or (marked and re.match(r"[^\W\d_]", rest)
                                        and not re.match(r"(notice|holder|and)\b", rest, re.I)):
            holders.append(" ".join(rest.split()))
    return list(dict.fromkeys(holders))[:MAX_HOLDERS]


def first_commit_year(project_dir):
    """Year (UTC) of the first commit touching the project directory, if it is in a git
    checkout; None otherwise."""
    try:
        proc = subprocess.run(["git", "log", "--format=%at", "--", "."], cwd=project_dir,
                              capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    stamps = [int(x) for x in proc.stdout.split() if x.isdigit()] if proc.returncode == 0 else []
    return time.gmtime(min(stamps)).tm_year if stamps else None


def holders(meta, license_text, project_dir, packaging_year):
    """The Copyright field's lines, and a warning when the year is only the packaging's."""
    found = license_holders(license_text)
    if found:
        return found, None
    names = [clean_name(p.name) for p in meta.authors + meta.maintainers if clean_name(p.name)]
    names = list(dict.fromkeys(names))[:MAX_HOLDERS] or \
        [f"The {meta.name or 'upstream'} authors"]
    year = first_commit_year(project_dir)
    warning = None
    if year is None:
        year = packaging_year
        warning = (f"neither a license file nor a git history gives the project's copyright "
                   f"year: debian/copyright says {year}, the packaging's; correct it there")
    return [f"{year} {name}" for name in names], warning


def contact(meta):
    """Upstream-Contact: the project's maintainer, else its author (``Name <email>``, or the
    address alone); None when the metadata names no address."""
    for person in meta.maintainers + meta.authors:
        mail = (person.email or "").strip()
        if "@" in mail and not re.search(r"[\s<>,;]", mail):
            name = clean_name(person.name)
            return f"{name} <{mail}>" if name else mail
    return None
