"""What to install, as the project pinned it: a lock file (PEP 751 pylock.toml, uv.lock,
poetry.lock) or a requirements file, read into pins for one target.

Nothing is resolved at build time. A lock names every distribution for every environment it
was made for; the pins for the package are those whose markers hold for the private
interpreter on the target architecture (markers.py), found the way each tool defines it:
- pylock.toml: every package carries its own `marker` (PEP 751);
- uv.lock: universal; the dependency graph is walked from the project with each edge's marker
  (dev groups left out, extras only where a dependency asks for them), which picks one of the
  versions a name may have under different `resolution-markers`;
- poetry.lock: lock-version 2.1 gives each package its groups and markers; 2.0 has neither,
  and its graph is walked from the project's dependencies in pyproject.toml.
Every pin must carry a hash (pip checks each artifact against it) or be a VCS reference pinned
to a full commit; anything else is refused with one line naming the entry and the fix.

The readers of each format are pylock.py, uvlock.py and poetrylock.py (lockfile.py: what they
share); requirements files are requirements.py's. Parsed with tomllib and packaging (Debian's;
its pylock module, packaging 25+, is newer than bookworm's 23.0 and trixie's 24.2, and a newer
packaging fetched at build time would be one more thing to pin and vendor): the formats are
plain TOML and the semantics above are not in any library anyway.
"""
import re
from collections import defaultdict
from pathlib import Path


from . import poetrylock, pylock, uvlock
from .lockfile import Context, Lock, load_toml

# Looked for, in this order, when no requirements setting is given.
DEFAULT_REQUIREMENTS = "deb-requirements.txt"          # in debian/
PROJECT_LOCKS = ("pylock.toml", "uv.lock", "poetry.lock")
_PYLOCK_NAME = re.compile(r"^pylock(\.[^.]+)?\.toml$")


def kind_of(path):
    """"pylock.toml", "uv.lock" or "poetry.lock" for a lock file's name, else None (a
    requirements file)."""
    name = Path(path).name
    if _PYLOCK_NAME.match(name):
        return "pylock.toml"
    if name in ("uv.lock", "poetry.lock"):
        return name
    return None


def find_default(project_dir, debian_dir):
    """What a build installs when no requirements setting is given: debian/deb-requirements.txt,
    else the project's own pylock.toml, uv.lock or poetry.lock (first found), else None (the
    project's declared dependencies, resolved at build time)."""
    candidates = [Path(debian_dir) / DEFAULT_REQUIREMENTS]
    candidates += [Path(project_dir) / name for name in PROJECT_LOCKS]
    for path in candidates:
        if path.is_file():
            return path
    return None


def read(path, project_dir, env):
    """The pins of lock file `path` for the marker environment `env` (markers.environment)."""
    path = Path(path)
    kind = kind_of(path)
    reader = {"pylock.toml": pylock.read, "uv.lock": uvlock.read,
              "poetry.lock": poetrylock.read}[kind]
    context = Context(path, Path(project_dir), env)
    pins, left_out = reader(load_toml(path), context)
    seen = defaultdict(list)
    for pin in pins:
        seen[pin.name].append(pin.version or pin.direct)
    for name, versions in sorted(seen.items()):
        if len(versions) > 1:
            raise context.error(name, None, f"selects {len(versions)} versions ("
                                f"{', '.join(map(str, versions))}) for this target",
                                "regenerate the lock so its markers exclude each other")
    return Lock(path, kind, sorted(pins, key=lambda p: p.name), sorted(left_out))
