"""Debian package descriptions from a project's summary and README.

Debian's format (policy 5.6.13): a synopsis under 80 characters, then extended lines that start
with one space, `` .`` for a blank line, no tabs. Lines starting with two spaces are shown
verbatim by apt frontends, so we reflow everything as prose and keep only the README's opening
paragraphs: badges, headings, images, HTML and code blocks do not survive a plain-text field.
"""
import re
import textwrap
import unicodedata

SYNOPSIS_MAX = 79          # "should be under 80 characters"
WIDTH = 79                 # lintian warns at 80 (extended-description-line-too-long)
MAX_PARAGRAPHS = 4
MAX_CHARS = 1200           # long READMEs would otherwise flood `apt show`

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def clean_text(text):
    """Drop control characters (except newline), turn tabs into spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
    return _CONTROL.sub("", unicodedata.normalize("NFC", text))


def one_line(text):
    """Collapse any whitespace (newlines included) to single spaces."""
    return " ".join(clean_text(text).split())


def synopsis(text):
    """A single line under 80 characters, no trailing full stop (policy 5.6.13)."""
    line = one_line(text).rstrip(".").strip()
    if len(line) > SYNOPSIS_MAX:
        head = line[:SYNOPSIS_MAX + 1]
        cut = head.rsplit(" ", 1)[0] if " " in head else ""
        line = (cut if len(cut) >= 20 else line[:SYNOPSIS_MAX]).rstrip(" ,;:-.")
    return line


def debian_synopsis(text, package, fallback):
    """A synopsis as lintian wants it: not starting with the package name (an error) nor with
    an article (a warning). "Foo is a tool for X" becomes "Tool for X"."""
    line = synopsis(text)
    name = re.match(rf"^{re.escape(package)}\b", line, re.I)
    if name:
        line = re.sub(r"^[\s\-:,\u2013\u2014]*((is|are)\b)?\s*", "", line[name.end():], flags=re.I)
    line = re.sub(r"^(an?|the)\s+", "", line, flags=re.I).strip()
    if not line or re.match(rf"^{re.escape(package)}\b", line, re.I):
        return synopsis(fallback)
    return line[0].upper() + line[1:]


def _same_text(a, b):
    return re.sub(r"[^a-z0-9]", "", a.lower()) == re.sub(r"[^a-z0-9]", "", b.lower())


def first_sentence(text):
    """A default synopsis offered in interactive mode when the project has no summary."""
    for para in readme_paragraphs(text or ""):
        return synopsis(re.split(r"(?<=[.!?])\s", para, maxsplit=1)[0])
    return ""


_SKIP_LINE = re.compile(
    r"""^\s*(
        \#{1,6}\s.*                       # markdown heading
      | [=\-~^*+`'"#:.]{3,}\s*            # rst over/underline, markdown rule
      | \[!\[.*                           # markdown badge
      | !\[.*                             # markdown image
      | \.\.\s.*                          # rst directive / comment / target
      | :[\w-]+:.*                        # rst field list (e.g. :alt:)
      | <[^>]*>\s*                        # a line that is only an HTML tag
      | \[[^\]]+\]:\s.*                   # markdown link reference definition
    )$""", re.X)


def _is_heading_para(lines):
    # rst heading: "Title" followed by "=====" (already removed) leaves a lone short line
    return len(lines) == 1 and len(lines[0]) < 60 and not lines[0].rstrip().endswith(
        (".", ":", "!", "?"))


def _inline(text):
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)                  # images
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)              # [text](url)
    text = re.sub(r"`([^`<]+?)\s*<[^>]+>`_+", r"\1", text)            # rst `text <url>`_
    text = re.sub(r"<[^>\s]+(\s[^>]*)?>", "", text)                   # html tags
    text = re.sub(r":[\w-]+:`([^`]+)`", r"\1", text)                  # rst roles
    text = re.sub(r"(\*\*|__|``|\*|`)(\S(?:.*?\S)?)\1", r"\2", text)  # emphasis, literals
    return text


def readme_paragraphs(text):
    """The prose paragraphs of a README, markup stripped, in order."""
    text = clean_text(text)
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M)  # fenced code
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.split("\n") if ln.strip() and not _SKIP_LINE.match(ln)]
        if not lines or _is_heading_para(lines):
            continue
        if block.lstrip("\n").startswith(("    ", ">>>", "$ ", "|")) or lines[0].endswith("::"):
            continue  # code, doctest, shell or table: not prose
        para = " ".join(" ".join(ln.split()) for ln in lines)
        para = " ".join(_inline(para).split())
        if para:
            out.append(para)
    return out


def extended(long_description, summary, trailer, original_summary=""):
    """Extended description lines (without the leading space), blank paragraphs as ''.

    ``trailer`` is a paragraph we always add (what the package contains), so the extended text
    is never empty and never just repeats the synopsis.
    """
    paras, total = [], 0
    for para in readme_paragraphs(long_description or ""):
        if any(_same_text(synopsis(para), s) for s in (summary, original_summary) if s):
            continue  # the README often opens with the summary itself (a lintian error)
        if paras and total + len(para) > MAX_CHARS:
            break
        if len(para) > MAX_CHARS:
            para = textwrap.shorten(para, MAX_CHARS, placeholder=" ...")
        paras.append(para)
        total += len(para)
        if len(paras) >= MAX_PARAGRAPHS:
            break
    paras.append(trailer)
    lines = []
    for para in paras:
        if lines:
            lines.append("")
        wrapped = textwrap.wrap(para, WIDTH - 1, break_long_words=True, break_on_hyphens=False)
        # a line that is only "." would read as a paragraph separator
        lines.extend(w for w in wrapped if w.strip() != ".")
    return lines


def control_field(syn, lines):
    """The full value of a Description field as it appears in debian/control."""
    body = "\n".join(" " + ln if ln else " ." for ln in lines)
    return f"{syn}\n{body}" if lines else syn
