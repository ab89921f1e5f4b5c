"""What went into a package: one record per installed distribution.

deps/ produces them (from the lock, the wheel cache, the vendored files or the index);
package/sbom.py and build-info read them. Kept apart from both so neither imports the other.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Installed:
    """A distribution installed into the prefix, and the exact file it was installed from."""
    name: str                # as its METADATA spells it
    version: str
    artifact: str            # file name of the wheel or sdist installed (for an sdist, the sdist
                             # itself, although a wheel was built from it)
    sha256: str              # of that file
    origin: str              # "lock", "requirements", "index", "vendored", "wheel cache", "project"
    url: str | None = None   # where it came from (credentials redacted); None for local files
