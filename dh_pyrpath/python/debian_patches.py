"""Debian's upstream fixes, applied to a debian:python3.X source.

Debian's python3.X source is the pristine upstream tarball plus debian/patches, of two kinds:
- Debian's own changes (dist-packages, multiarch paths, its install schemes, its build and
  test setup). They serve /usr/bin/python3 and would break a private prefix: left out.
- Upstream fixes that Debian cherry-picked or backported for a stable release: every security
  fix is one (47 of bookworm's 83 patches for 3.11.2, 38 of trixie's 62 for 3.13.5). Applied,
  in series order, with fuzz 0.

A patch is an upstream fix when its name names a CVE or a CPython issue (CVE-2025-8194.patch,
0001-3.11-gh-123270-...), or its DEP-3 or git header says so (Origin: upstream/backport,
Bug-Upstream, a Subject with gh-NNN, "cherry picked from commit"); and it is not Debian's
(Origin: vendor, or Forwarded:, which DEP-3 uses for changes sent upstream, not taken from it).
"""
import re
import tarfile
from pathlib import Path

from ..errors import PyrpathError

_UPSTREAM_NAME = re.compile(r"CVE-\d{4}-\d+|\b(?:gh|bpo)-\d+", re.I)
_UPSTREAM_HEADER = re.compile(
    r"^Origin:.*\b(?:upstream|backport)|^Origin:\s*https?://github\.com/python/cpython/"
    r"|^Bug-Upstream:|^Subject:.*\b(?:gh|bpo)-\d+|cherry.picked from commit", re.I | re.M)
_DEBIANS_OWN = re.compile(r"^(?:Origin:\s*vendor|Forwarded:)", re.I | re.M)


def header(text):
    """A patch's description: everything before its first diff."""
    match = re.search(r"^(?:--- |diff --git |Index: )", text, re.M)
    return text[:match.start()] if match else text


def is_upstream_fix(name, text):
    head = header(text)
    return bool((_UPSTREAM_NAME.search(name) or _UPSTREAM_HEADER.search(head))
                and not _DEBIANS_OWN.search(head))


def series_names(series):
    """Patch names in quilt series order (comments, blank lines and options dropped)."""
    names = []
    for line in series.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            names.append(words[0])
    return names


def read_patches(debian_tarball):
    """(the series' names in order, {name: text} of debian/patches/) of a .debian.tar.*."""
    try:
        with tarfile.open(debian_tarball) as tar:
            texts = {}
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if member.isfile() and len(parts) == 3 and parts[:2] == ("debian", "patches"):
                    texts[parts[2]] = tar.extractfile(member).read().decode("utf-8", "replace")
    except (tarfile.TarError, OSError) as exc:
        raise PyrpathError(f"{debian_tarball.name} is not a readable Debian tarball ({exc}): "
                           "remove it from the cache's sources/ and build again") from None
    if "series" not in texts:
        return [], texts
    return series_names(texts.pop("series")), texts


def upstream_fixes(debian_tarball):
    """([(name, text)] of the upstream fixes in the tarball's series, in order; how many
    patches the series names in all)."""
    names, texts = read_patches(debian_tarball)
    missing = [n for n in names if n not in texts]
    if missing:
        raise PyrpathError(f"{debian_tarball.name}: debian/patches/series names {missing[0]}, "
                           "which is not in the tarball: remove it from the cache's sources/ "
                           "and build again")
    return [(n, texts[n]) for n in names if is_upstream_fix(n, texts[n])], len(names)


def apply(debian, srcdir, workdir, log):
    """Apply `debian`'s upstream fixes to the CPython tree `srcdir`; return their names."""
    fixes, total = upstream_fixes(debian.tarball)
    pdir = Path(workdir) / "debian-patches"
    pdir.mkdir(parents=True, exist_ok=True)
    for name, text in fixes:
        (pdir / name).write_text(text, encoding="utf-8")
        # fuzz 0, as dpkg-source: a hunk that only fits elsewhere is a failure, not a guess
        log.run(["patch", "-p1", "--fuzz=0", "--batch", "--forward", "--no-backup-if-mismatch",
                 "-i", pdir / name], f"Debian's patch {name} from {debian.label}", cwd=srcdir,
                fix="it does not apply without the Debian changes that are left out; pin a "
                    "version whose fixes apply (debian:<package>=<version>), or give an "
                    "upstream release tarball (--python-source, --python-sha256)")
    log.write(f"applied {len(fixes)} of the {total} patches of {debian.label}: "
              + ", ".join(n for n, _ in fixes))
    return [n for n, _ in fixes]
