"""Which CPython dh_pyrpath builds for the package: make-deb writes it pinned.

Without --python-source it is the host's default python3 (read from the system by
dh_pyrpath.host, never from a table of release names) when that satisfies the project's
requires-python. Otherwise it is the newest Debian python3.X that does, looked for in the host's
release and then in the newer stable releases (trixie for bookworm), each through a private apt
configuration (dh_pyrpath.python.releases: the host's /etc/apt is not touched). Testing and
unstable get no security support: they are taken only when named (--python-source
debian:python3.X@<release>). A ``debian:python3.X`` source is written as
``debian:python3.X=<revision>[@<release>]``, the newest revision the archive serves, so the
package builds the same interpreter on every host and later; dh_pyrpath reports newer revisions
when they appear. A pinned spec or a tarball is written as given.
"""
import atexit
import contextlib
import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from dh_pyrpath import host
from dh_pyrpath.errors import PyrpathError
from dh_pyrpath.python import catalog, releases, sources

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
    """``debian:python3.X[@release]`` -> ``debian:python3.X=<revision>[@release]``; anything
    else unchanged."""
    if not spec.startswith("debian:") or "=" in spec:
        return spec
    try:
        package, _, release = sources.parse_debian(spec[len("debian:"):])
        if release is None or release == host.host_codename():
            return sources.pinned_spec(package)
        codename, support = releases.classify(release)
        conf = releases.config(codename, apt_root(), stable=support == "stable")
        with releases.using(conf):
            return f"{sources.pinned_spec(package, codename)}@{codename}"
    except PyrpathError as exc:
        raise PythonSourceError(str(exc)) from None


def choose(requires, default):
    """(python-source, why): `default` (the host's python3) when it satisfies `requires` (the
    project's requires-python), else the newest python3.X that does from the host's release or
    a newer stable one. An error names what was looked at, and a testing/unstable match that
    is not taken without being named."""
    try:
        specifier = SpecifierSet(requires) if requires else None
    except InvalidSpecifier:
        return default, ""  # check_requires_python says what is wrong with it
    have = version(default)
    if specifier is not None and have is not None and len(have) == 2 and \
            fits(specifier, have) and not all(fits(specifier, (*have, p)) for p in range(30)):
        have = version(pin(default))  # only some 3.X.Y fit: the revision it would pin decides
    if specifier is None or have is None or fits(specifier, have):
        why = (f"requires-python {requires}" if requires else "no requires-python")
        return default, f"the host's default python3 ({dotted(have or ())}) fits {why}"
    looked, development = [], []
    try:
        here = host.host_codename()
        for codename, support in catalog.releases_to_list(here):
            offered = [o for o in catalog.offers_of(codename, support, apt_root()) if o.served]
            matching = sorted((o for o in offered if fits(specifier, _of(o))),
                              key=lambda o: _of(o), reverse=True)
            if support == "development":
                development += matching[:1]
                continue
            if matching:
                best = matching[0]
                where = "" if codename == here else f"@{codename}"
                kind = "this host's release" if codename == here else "stable"
                return (f"debian:{best.package}={best.version}{where}",
                        f"the project requires Python {requires} and the host's python3 is "
                        f"{dotted(have)}: Debian {codename} ({kind}) has {best.package} "
                        f"{dotted(_of(best))}")
            names = ", ".join(f"{o.package} {dotted(_of(o))}" for o in offered)
            looked.append(f"{codename} ({names or 'nothing served'})")
    except PyrpathError as exc:
        raise PythonSourceError(str(exc)) from None
    if development:
        best = development[0]
        raise PythonSourceError(
            f"the project requires Python {requires}, which no supported Debian release has "
            f"({'; '.join(looked)}); Debian {best.release} has {best.package} "
            f"{dotted(_of(best))} but gets no security support: pass --python-source "
            f"debian:{best.package}@{best.release} to take it anyway")
    raise PythonSourceError(
        f"the project requires Python {requires}, which no Debian release this host can use "
        f"has (looked at {'; '.join(looked)}, testing and unstable): pass --python-source with "
        "a CPython tarball and --python-sha256")


def _of(offer):
    return version(f"debian:{offer.package}={offer.version}")


def fits(specifier, version_tuple):
    """Whether a Python version (as precise as known) satisfies requires-python."""
    candidates = [dotted(version_tuple)] if len(version_tuple) > 2 else \
        [f"{version_tuple[0]}.{version_tuple[1]}.{patch}" for patch in range(0, 30)]
    return any(specifier.contains(c, prereleases=True) for c in candidates)


_ROOT = []  # (the ExitStack that holds it, the path), once per run


def apt_root():
    """Where the private apt configurations of other releases live (releases.apt_root:
    dh_pyrpath's cache, else a temporary directory removed at exit), one for the run."""
    if not _ROOT:
        stack = contextlib.ExitStack()
        atexit.register(stack.close)
        _ROOT.extend([stack, stack.enter_context(releases.apt_root())])
    return _ROOT[1]


def version(spec):
    """The Python version a source builds, as precisely as the spec says: (3, 11, 2) for
    ``debian:python3.11=3.11.2-6+deb12u8`` or ``.../Python-3.11.9.tgz``, (3, 11) for
    ``debian:python3.11``; None when it cannot be told."""
    if spec.startswith("debian:"):
        spec = spec.split("@", 1)[0]  # the release it comes from says nothing of the version
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
