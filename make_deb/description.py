"""Debian package descriptions from a project's summary and README.

Debian's format (policy 5.6.13): a synopsis under 80 characters, then extended lines that start
with one space, `` .`` for a blank line, no tabs. Lines starting with two spaces are shown
verbatim by apt frontends: list items are written that way (`` * item``), one per line, as
Debian's own descriptions do; everything else is reflowed prose. From the README we keep its
opening: paragraphs, headings (as paragraphs of their own) and lists; badges, images, HTML,
tables and code do not survive a plain-text field, and links become their text with the URL
where it adds something. A markdown README is parsed as markdown (markdown.py); a
reStructuredText or plain one by the line rules below.
"""
import re
import textwrap
import unicodedata

from . import markdown

SYNOPSIS_MAX = 79          # "should be under 80 characters"
WIDTH = 79                 # lintian warns at 80 (extended-description-line-too-long)
MAX_PARAGRAPHS = 6         # paragraphs and lists; headings are not counted
MAX_CHARS = 1200           # long READMEs would otherwise flood `apt show`
MARKDOWN_HEAD = 64 * 1024  # of a huge README only the head is parsed (we keep 1,200 chars)
# A README section with one of these headings ends what describes the package (what follows is
# how to install, develop, test, ...); a table of contents is skipped.
_STOP = re.compile(r"^(install(ation|ing)?|getting started|quick ?start|develop(ment|ing)?|"
                   r"contribut\w*|licen[cs]e|copying|change ?log|changes|history|"
                   r"release notes|test(s|ing)?|running tests|credits|authors|acknowledg\w*|"
                   r"support|faq|citation|citing)\b", re.I)
_SKIP = re.compile(r"^(table of )?contents$|^toc$", re.I)
# Signs of reStructuredText in a README without a declared content type.
_RST = re.compile(r"^\.\. [\w|-]+::|^\.\. _|`_\b|`__|:[a-z]+:`|::\s*$", re.M)

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


def first_sentence(text, content_type=""):
    """A default synopsis offered in interactive mode when the project has no summary."""
    for block in readme_blocks(text or "", content_type):
        if block.kind == "para":
            return synopsis(re.split(r"(?<=[.!?])\s", block.text, maxsplit=1)[0])
    return ""


def is_markdown(text, content_type=""):
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in ("text/x-rst", "text/plain"):
        return False
    return kind == "text/markdown" or not _RST.search(text)


def _markdown_head(text):
    """The first MARKDOWN_HEAD characters (at a blank line) plus every link reference
    definition of the whole text, so references defined at the end still resolve."""
    if len(text) <= MARKDOWN_HEAD:
        return text
    head = text[:MARKDOWN_HEAD].rsplit("\n\n", 1)[0]
    refs = re.findall(r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S+.*$", text, re.M)
    return head + "\n\n" + "\n".join(refs) + "\n"


def readme_blocks(text, content_type="", known_urls=()):
    """The README's blocks (markdown.Block: para, heading, list), markup reduced to text."""
    text = clean_text(text or "")
    if not is_markdown(text, content_type):
        return [markdown.Block("para", p) for p in readme_paragraphs(text)]
    return [b for b in markdown.parse(_markdown_head(text), "useful", known_urls)
            if b.kind != "code"]


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


def _select(blocks, repeats, title):
    """The README's opening blocks within the size limits; headings only before content."""
    out, total, count, skipping = [], 0, 0, False
    for block in blocks:
        if block.kind == "heading":
            if _STOP.match(block.text):
                break
            skipping = bool(_SKIP.match(block.text))
            if not skipping and block.text and not any(
                    _same_text(block.text, r) for r in (title, *repeats) if r):
                out.append(block)
            continue
        if skipping or (block.kind == "para" and any(
                _same_text(synopsis(block.text), r) for r in repeats if r)):
            continue  # the README often opens with the summary itself (a lintian error)
        if block.kind == "list":
            items, size = [], 0
            for item in block.items:
                if total + size + len(item[2]) > MAX_CHARS and items:
                    break
                items.append(item)
                size += len(item[2])
            block = markdown.Block("list", items=items)
        else:
            size = len(block.text)
            if size > MAX_CHARS:
                block = markdown.Block("para", textwrap.shorten(block.text, MAX_CHARS,
                                                                placeholder=" ..."))
                size = MAX_CHARS
        if count and total + size > MAX_CHARS:
            break
        out.append(block)
        total += size
        count += 1
        if count >= MAX_PARAGRAPHS or total >= MAX_CHARS:
            break
    while out and out[-1].kind == "heading":
        out.pop()  # a heading with nothing under it
    return out


def extended(long_description, summary, trailer, original_summary="", content_type="",
             title="", known_urls=()):
    """Extended description lines (without the leading space), blank paragraphs as ''.

    ``trailer`` is a paragraph we always add (what the package contains), so the extended text
    is never empty and never just repeats the synopsis. List items start with a space, so that
    the field line starts with two and is shown verbatim.
    """
    blocks = readme_blocks(long_description, content_type, known_urls)
    blocks = _select(blocks, (summary, original_summary), title)
    blocks.append(markdown.Block("para", " ".join(trailer.split())))
    lines = []
    for block in blocks:
        if lines:
            lines.append("")
        if block.kind == "list":
            lines += markdown.list_lines(block.items, WIDTH - 1, indent=" ")
            continue
        wrapped = textwrap.wrap(block.text, WIDTH - 1, break_long_words=True,
                                break_on_hyphens=False)
        # a line that is only "." would read as a paragraph separator
        lines.extend(w for w in wrapped if w.strip() != ".")
    return lines


def control_field(syn, lines):
    """The full value of a Description field as it appears in debian/control."""
    body = "\n".join(" " + ln if ln else " ." for ln in lines)
    return f"{syn}\n{body}" if lines else syn
