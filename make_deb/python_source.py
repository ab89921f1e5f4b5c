"""Which CPython dh_pyrpath builds for the package: make-deb writes it pinned.

Without --python-source it is the host's default python3 (read from the system by
dh_pyrpath.host and dh_pyrpath.python.sources, never from a table of release names). A
``debian:python3.X`` source is written as ``debian:python3.X=<revision>``, the newest revision apt knows that the archive
serves, so the package builds the same interpreter on every host and later; dh_pyrpath reports
newer revisions when they appear. A pinned spec or a tarball is written as given.
"""
import re

from dh_pyrpath import host
from dh_pyrpath.python import sources
from dh_pyrpath.errors import PyrpathError

from .errors import PythonSourceError


def requested(value):
    """--python-source as given, else the host's default (``debian:python3.X``)."""
    if value:
        return value
    try:
        return host.host_default_source()
    except PyrpathError as exc:
        raise PythonSourceError(str(exc)) from None


def pin(spec):
    """``debian:python3.X`` -> ``debian:python3.X=<revision>``; anything else unchanged."""
    if not spec.startswith("debian:") or "=" in spec:
        return spec
    try:
        return sources.pinned_spec(spec[len("debian:"):])
    except PyrpathError as exc:
        raise PythonSourceError(str(exc)) from None


def version(spec):
    """The Python version a source builds, as precisely as the spec says: (3, 11, 2) for
    ``debian:python3.11=3.11.2-6+deb12u8`` or ``.../Python-3.11.9.tgz``, (3, 11) for
    ``debian:python3.11``; None when it cannot be told."""
    package, _, revision = spec.partition("=") if spec.startswith("debian:") else ("", "", "")
    if revision:
        m = re.match(r"^(?:\d+:)?(\d+)\.(\d+)(?:\.(\d+))?", revision)
        if m:
            return tuple(int(x) for x in m.groups() if x is not None)
    if package:
        m = re.search(r"python(\d)\.(\d+)$", package)
        return (int(m[1]), int(m[2])) if m else None
    m = re.search(r"(?<![\d.])(\d)\.(\d{1,2})(?:\.(\d{1,2}))?(?![\d])", spec.rsplit("/", 1)[-1])
    return tuple(int(x) for x in m.groups() if x is not None) if m else None


def dotted(version_tuple):
    return ".".join(str(x) for x in version_tuple)
