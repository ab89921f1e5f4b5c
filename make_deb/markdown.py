"""Markdown (a README.md, a LICENSE.md) as plain text blocks, for debian/control and
debian/copyright, which are plain text.

Parsing is markdown-it-py's (Debian: python3-markdown-it), a CommonMark parser: reference
links ``[text][ref]`` are resolved by it, lists and headings come out as what they are. Here we
only decide what each piece becomes in plain text: emphasis and code spans their text, a link
its text with the URL in parentheses where the URL adds something, images, badges, HTML and
tables nothing.
"""
import re
import textwrap
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

SUFFIXES = {".md", ".markdown"}
MAX_USEFUL_URL = 70  # a longer URL would not fit a description line with its text


@dataclass
class Block:
    kind: str                 # "heading", "para", "list" or "code"
    text: str = ""
    items: list = field(default_factory=list)   # list: [depth, marker, text]


def _parser():
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


class _Links:
    """What a link becomes. `urls`: "all" (license text: keep every web address), "useful"
    (descriptions: absolute, short, not the link text itself, not already given), "none"."""

    def __init__(self, urls, known=()):
        self.urls = urls
        self.seen = {u.rstrip("/") for u in known if u}

    def render(self, text, href):
        text = " ".join(text.split())
        if not text:
            return ""  # a badge: an image inside a link
        url = href.strip()
        if url == f"mailto:{text}":
            return f"<{text}>"  # an email autolink, as it was written
        if self.urls == "none" or not re.match(r"https?://\S+$", url):
            return text
        key = url.rstrip("/")
        if key in self.seen or key == text.rstrip("/") or key.split("://", 1)[1] == text:
            return text
        if self.urls == "useful" and len(url) > MAX_USEFUL_URL:
            return text
        self.seen.add(key)
        return f"{text} ({url})"


def _inline(children, links):
    out = []
    i = 0
    while i < len(children):
        child = children[i]
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "link_open":
            j = i + 1
            while j < len(children) and children[j].type != "link_close":
                j += 1
            out.append(links.render(_inline(children[i + 1:j], links),
                                    child.attrs.get("href", "")))
            i = j
        # images, inline HTML and emphasis markers contribute nothing
        i += 1
    return " ".join("".join(out).split())


def parse(text, urls="useful", known_urls=()):
    """The blocks of a markdown document, in order. Code blocks are returned verbatim (callers
    decide whether to keep them); HTML blocks, tables and rules are dropped."""
    tokens = _parser().parse(text)
    links = _Links(urls, known_urls)
    blocks, lists, items = [], [], []
    current = None  # the top-level list block being filled
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            blocks.append(Block("heading", _inline(tokens[i + 1].children or [], links)))
            i += 2
        elif tok.type == "paragraph_open":
            line = _inline(tokens[i + 1].children or [], links)
            if items:
                items[-1][2] = " ".join(filter(None, [items[-1][2], line]))
            elif line:
                blocks.append(Block("para", line))
            i += 2
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            start = int(tok.attrs.get("start", 1)) if tok.type == "ordered_list_open" else None
            lists.append([start, 0])
            if current is None:
                current = Block("list")
        elif tok.type == "list_item_open":
            start, count = lists[-1]
            marker = "*" if start is None else f"{tok.info or start + count}."
            lists[-1][1] += 1
            items.append([len(lists) - 1, marker, ""])
            current.items.append(items[-1])
        elif tok.type == "list_item_close":
            items.pop()
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists:
                current.items = [it for it in current.items if it[2]]
                if current.items:
                    blocks.append(current)
                current = None
        elif tok.type in ("fence", "code_block") and not items:
            blocks.append(Block("code", tok.content))
        elif tok.type == "table_open":
            while i < len(tokens) and tokens[i].type != "table_close":
                i += 1
        i += 1
    return blocks


def list_lines(items, width, indent=""):
    """A list's items as lines: ``* text`` (or ``1. text``), wrapped under their text."""
    lines = []
    for depth, marker, text in items:
        prefix = f"{indent}{'  ' * depth}{marker} "
        lines += textwrap.wrap(text, width, initial_indent=prefix,
                               subsequent_indent=" " * len(prefix), break_long_words=False,
                               break_on_hyphens=False)
    return lines


def to_text(text, width=78):
    """A markdown document as plain text: headings and paragraphs as lines of prose, lists as
    items, code blocks verbatim (license texts often sit in one), every web address kept."""
    lines = []
    for block in parse(text, urls="all"):
        if lines:
            lines.append("")
        if block.kind == "code":
            lines += block.text.rstrip("\n").splitlines()
        elif block.kind == "list":
            lines += list_lines(block.items, width)
        else:
            lines += textwrap.wrap(block.text, width, break_long_words=False,
                                   break_on_hyphens=False)
    return "\n".join(lines) + "\n"
