"""Debian names and versions from Python ones.

Package names: Debian allows ``[a-z0-9][a-z0-9+.-]+`` (policy 5.6.1, 5.6.7). We apply PEP 503
normalisation (runs of ``-_.`` become ``-``, lowercase) so the Debian name equals the name pip
shows, and transliterate accented Latin letters instead of dropping them.

Versions: PEP 440 and dpkg order versions differently, so the mapping is chosen for ordering, not
looks (see docs/make-deb.md for the full table and its two documented limits):

  ``1.0.dev3``   -> ``1.0~~dev3``   (``~~`` sorts before ``~a``: dev < alpha, as in PEP 440)
  ``1.0a1``      -> ``1.0~a1``      (``~`` sorts before the end of the string)
  ``1.0a1.dev2`` -> ``1.0~a1~dev2``
  ``1.0``        -> ``1.0``
  ``1.0+loc.1``  -> ``1.0+loc.1``   (``+`` sorts after the end, before ``.``)
  ``1.0.post2``  -> ``1.0+post2``   (``+`` not ``.``: ``1.0.post2`` must stay below ``1.0.1``)
  ``1!2.0``      -> ``1:2.0``
"""
import re
import unicodedata

from debian.debian_support import Version as DebianVersion
from packaging.version import InvalidVersion, Version

from .errors import NamingError, VersionError

PACKAGE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
# dpkg's own check for the upstream part of a version without revision (native packages).
DEBIAN_UPSTREAM_RE = re.compile(r"^[0-9][A-Za-z0-9.+~]*$")


def package_name(name, what="project name", flag="--package"):
    """Convert a Python distribution name into a valid Debian package name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    converted = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not PACKAGE_NAME_RE.match(converted):
        raise NamingError(
            f"cannot make a Debian package name from {what} {name!r}: Debian names need at "
            f"least 2 characters from [a-z0-9+.-] starting with a letter or digit; "
            f"pass {flag} NAME")
    return converted


def check_package_name(name, flag="--package"):
    """Validate a name the user typed: we never silently rewrite an explicit choice."""
    if not PACKAGE_NAME_RE.match(name):
        raise NamingError(
            f"{flag} {name!r} is not a valid Debian package name: use at least 2 characters "
            f"from [a-z0-9+.-] starting with a letter or digit, e.g. "
            f"{flag} {package_name(name, flag=flag) if _convertible(name) else 'my-service'}")
    return name


def _convertible(name):
    try:
        package_name(name)
    except NamingError:
        return False
    return True


def parse_pep440(text, source="project version"):
    try:
        return Version(text)
    except InvalidVersion:
        raise VersionError(
            f"{source} {text!r} is not a valid PEP 440 version (e.g. 1.2.0, 1.2rc1, "
            f"1.2.post1); fix it in the project metadata or pass --upstream-version") from None


def debian_version(text, source="project version"):
    """PEP 440 version string -> Debian (native, revision-less) version string."""
    v = parse_pep440(text, source)
    out = ".".join(str(part) for part in v.release)
    if v.pre is not None:
        out += f"~{v.pre[0]}{v.pre[1]}"
    if v.post is not None:
        out += f"+post{v.post}"
    if v.dev is not None:
        # Alone, a dev release precedes every pre-release of the same version; "~~" is the
        # only spelling that sorts below "~a". Attached to a pre/post release, "~" suffices.
        out += f"{'~' if v.pre is not None or v.post is not None else '~~'}dev{v.dev}"
    if v.local is not None:
        out += f"+{v.local}"
    if not DEBIAN_UPSTREAM_RE.match(out):
        raise VersionError(f"{source} {text!r} converts to {out!r}, which dpkg rejects; "
                           f"pass --upstream-version with a plainer PEP 440 version")
    if v.epoch:
        out = f"{v.epoch}:{out}"
    DebianVersion(out)  # raises ValueError on anything python-debian cannot parse
    return out
