"""Where the cache is: the location a build uses by default, and opening it (or finding that
it cannot be written, and building without one)."""
import os
import tempfile
from pathlib import Path

from .cache import Cache
from .sharing import is_shared, share_with_group

# The build host's cache, shared by group dh-pyrpath (docs/cache.md): used by default by every
# user who may write it.
SYSTEM_LOCATION = Path("/var/cache/dh-pyrpath")


def default_location(env=None, system=SYSTEM_LOCATION):
    """$DH_PYRPATH_CACHE_DIR, else the build host's shared cache when this user may write it,
    else $XDG_CACHE_HOME/dh-pyrpath, else ~/.cache/dh-pyrpath."""
    env = os.environ if env is None else env
    if env.get("DH_PYRPATH_CACHE_DIR"):
        return Path(env["DH_PYRPATH_CACHE_DIR"])
    if system and os.path.isdir(system) and os.access(system, os.W_OK | os.X_OK):
        return Path(system)
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "dh-pyrpath"
    home = env.get("HOME")
    if home:
        return Path(home) / ".cache" / "dh-pyrpath"
    return None


def open_cache(location, remote=None):
    """A Cache at `location` (with a remote.Remote behind it, or None), or None when it cannot be
    created or written (caching is off).

    In a shared cache this process's umask stops masking the group's bits, so that everything
    it writes there (pip's cache and wheels included) stays usable by the group's other users.
    """
    if location is None:
        return None
    try:
        location = Path(location)
        location.mkdir(parents=True, exist_ok=True)
        if is_shared(location):
            share_with_group(location)
        probe = tempfile.NamedTemporaryFile(dir=location, prefix=".probe-")
        probe.close()
    except OSError:
        return None
    return Cache(location, remote)
