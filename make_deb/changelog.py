"""The debian/changelog entry of a refresh (make-deb --refresh): a new version of the same
upstream release, its distribution from the entry before, its author as dch takes it.

Written with python-debian's changelog module and put in front of the file's own bytes: the
entries that were there stay exactly as they were.
"""
import os
import re
import textwrap

from debian.changelog import Changelog, ChangelogParseError, Version

from . import fields
from .errors import RefreshError

_BINNMU = re.compile(r"^(.*\+b)(\d+)$")
_LAST_NUMBER = re.compile(r"^(.*?)(\d+)(\D*)$")
WIDTH = 78


def read(text, where="debian/changelog"):
    """The parsed changelog; RefreshError when it does not parse or is empty."""
    try:
        parsed = Changelog(text, strict=True)
    except ChangelogParseError as exc:
        raise RefreshError(f"{where} does not parse ({exc}): fix it (dpkg-parsechangelog "
                           "shows where) and refresh again") from None
    if not len(parsed) or parsed.version is None:
        raise RefreshError(f"{where} has no entry: write one (make-deb, or dch --create) and "
                           "refresh again")
    return parsed


def next_version(version):
    """The version of a rebuild with a new interpreter: the next Debian revision of the same
    upstream version (1.0-1 -> 1.0-2, 1.0-1+b1 -> 1.0-1+b2). A native version (make-deb's,
    1.0.0) has no revision to raise, and a new upstream number would claim a release that was
    not made: it takes +b1, +b2, ... (sorts after 1.0.0 and before 1.0.1)."""
    text = str(version)
    binnmu = _BINNMU.match(text)
    if binnmu:
        return Version(f"{binnmu[1]}{int(binnmu[2]) + 1}")
    parsed = Version(text)
    if parsed.debian_revision:
        last = _LAST_NUMBER.match(parsed.debian_revision)
        revision = (f"{last[1]}{int(last[2]) + 1}{last[3]}" if last
                    else f"{parsed.debian_revision}.1")
        epoch = f"{parsed.epoch}:" if parsed.epoch else ""
        return Version(f"{epoch}{parsed.upstream_version}-{revision}")
    return Version(f"{text}+b1")


def author(previous, env=None):
    """"Name <email>" as dch takes it: DEBFULLNAME (or NAME) and DEBEMAIL (or EMAIL; DEBEMAIL
    may be "Name <email>" itself), else the author of the entry before."""
    env = os.environ if env is None else env
    name = env.get("DEBFULLNAME") or env.get("NAME") or ""
    mail = env.get("DEBEMAIL") or env.get("EMAIL") or ""
    both = re.match(r"^\s*(.+?)\s*<([^<>\s]+)>\s*$", mail)
    if both:
        name, mail = name or both[1], both[2]
    if name.strip() and mail.strip():
        return f"{name.strip()} <{mail.strip()}>"
    return previous


def entry(parsed, items, env=None, date=None):
    """The text of the new entry (a block of its own, ending in a blank line) for `parsed`
    (the changelog as read), with one bullet per item, wrapped as dch wraps."""
    top = parsed[0]
    new = Changelog()
    new.new_block(package=top.package, version=next_version(top.version),
                  distributions=top.distributions, urgency="medium",
                  author=author(top.author, env),
                  date=date or fields.rfc5322_date(fields.source_date()))
    new.add_change("")
    for item in items:
        for line in textwrap.wrap(item, WIDTH, initial_indent="  * ",
                                  subsequent_indent="    ", break_on_hyphens=False):
            new.add_change(line)
    new.add_change("")
    return str(new) + "\n"
