"""Per-package settings: command line, then environment (machine-level keys), then the
package's config file `debian/<package>.pyrpath`, then defaults.

The config file holds `key = value` lines whose keys are the long option names; `#` starts a
comment. Keys that may repeat (extra-index-url, find-links, keep) accumulate.
"""
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import host
from .errors import UsageError

DEFAULT_INSTALL_ROOT = "/opt"
DEFAULT_REQUIREMENTS = "debian/deb-requirements.txt"
# `dh_pyrpath --vendor` writes here (at the top of the source tree); builds use it when present.
DEFAULT_VENDOR_DIR = "pyrpath-vendor"
DEFAULT_SHEBANG_FLAGS = "-I"
# The interpreter is built once at a placeholder prefix of this length and moved; a longer
# prefix cannot be patched into libpython's compiled-in strings.
MAX_PREFIX_LEN = 100

# What the trim step removes unless kept; each name is a --keep value.
TRIMMABLE = ("test", "static", "idle", "tkinter", "turtledemo", "ensurepip", "opt-pyc")

# key -> kind; "list" keys accumulate, "bool" keys take true/false.
KEYS = {
    "python-source": "str",
    "python-sha256": "str",
    "install-root": "str",
    "prefix": "str",
    "requirements": "str",
    "project-dir": "str",
    "index-url": "str",
    "extra-index-url": "list",
    "find-links": "list",
    "no-index": "bool",
    "keep": "list",
    "keep-build-tools": "bool",
    "shebang-flags": "str",
    "optimize": "bool",
    "cache-dir": "str",
    "no-cache": "bool",
    "ca-bundle": "str",
    "require-pins": "bool",
    "vendor-dir": "str",
    "remote-cache": "str",
    "remote-cache-readonly": "bool",
}

# Machine-level settings a CI server sets once, without touching debian/rules.
ENVIRONMENT = {
    "cache-dir": "DH_PYRPATH_CACHE_DIR",
    "index-url": "DH_PYRPATH_INDEX_URL",
    "extra-index-url": "DH_PYRPATH_EXTRA_INDEX_URL",
    "find-links": "DH_PYRPATH_FIND_LINKS",
    "no-index": "DH_PYRPATH_NO_INDEX",
    "no-cache": "DH_PYRPATH_NO_CACHE",
    "ca-bundle": "DH_PYRPATH_CA_BUNDLE",
    "remote-cache": "DH_PYRPATH_REMOTE_CACHE",
    "remote-cache-readonly": "DH_PYRPATH_REMOTE_CACHE_READONLY",
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_PREFIX_RE = re.compile(r"^(/[A-Za-z0-9._+-]+)+$")


@dataclass
class Settings:
    package: str
    python_source: str = None
    python_sha256: str = None
    prefix: str = None
    requirements: str = None
    requirements_explicit: bool = False
    project_dir: str = "."
    index_url: str = None
    extra_index_urls: list = field(default_factory=list)
    find_links: list = field(default_factory=list)
    no_index: bool = False
    keep: frozenset = frozenset()
    keep_build_tools: bool = False
    shebang_flags: str = DEFAULT_SHEBANG_FLAGS
    optimize: bool = False
    cache_dir: str = None
    no_cache: bool = False
    ca_bundle: str = None          # None: host.SYSTEM_CA_BUNDLE if it exists, else pip's own
    require_pins: bool = False     # unpinned requirements are an error, not a warning
    vendor_dir: str = DEFAULT_VENDOR_DIR
    remote_cache: str = None       # URL of a shared HTTP cache (remote.py)
    remote_cache_readonly: bool = False


def parse_bool(value, where):
    v = str(value).strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise UsageError(f"{where}: '{value}' is not a boolean: use true or false")


def read_config(path):
    """Parse a `key = value` settings file into {key: value or [values]}."""
    values = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text: save it as UTF-8") from None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        where = f"{path}:{number}"
        if not sep:
            raise UsageError(f"{where}: expected 'key = value', got '{raw.strip()}'")
        if key not in KEYS:
            raise UsageError(f"{where}: unknown setting '{key}': known settings are "
                             + ", ".join(sorted(KEYS)))
        kind = KEYS[key]
        if kind == "list":
            values.setdefault(key, []).extend(v for v in re.split(r"[\s,]+", value) if v)
        elif kind == "bool":
            values[key] = parse_bool(value, where)
        else:
            values[key] = value
    return values


def _from_environment(env):
    values = {}
    for key, var in ENVIRONMENT.items():
        if env.get(var, "") == "":
            continue
        kind = KEYS[key]
        if kind == "list":
            values[key] = env[var].split()
        elif kind == "bool":
            values[key] = parse_bool(env[var], var)
        else:
            values[key] = env[var]
    return values


def resolve(package, cli, config_path=None, env=None, default_source=None):
    """Merge the sources for one package. `cli` maps keys to values given on the command line.

    Without a python-source, the host's default python3 (`default_source`, a function; read
    from the host by default) is used."""
    env = os.environ if env is None else env
    merged = {}
    layers = [read_config(config_path) if config_path else {}, _from_environment(env),
              {k: v for k, v in cli.items() if v not in (None, [], ())}]
    for layer in layers:
        merged.update(layer)
    s = Settings(package=package)
    s.python_source = merged.get("python-source") or (
        default_source or host.host_default_source)()
    s.python_sha256 = merged.get("python-sha256")
    if s.python_sha256 and not re.fullmatch(r"[0-9a-fA-F]{64}", s.python_sha256):
        raise UsageError(f"--python-sha256 '{s.python_sha256}' is not a sha256 hex digest: "
                         "give the 64 hex digits of `sha256sum` of the tarball")
    root = merged.get("install-root", DEFAULT_INSTALL_ROOT).rstrip("/") or "/"
    s.prefix = merged.get("prefix") or f"{root.rstrip('/')}/{package}"
    _check_prefix(s.prefix)
    s.requirements_explicit = "requirements" in merged
    s.requirements = merged.get("requirements", DEFAULT_REQUIREMENTS)
    s.project_dir = merged.get("project-dir", ".")
    s.index_url = merged.get("index-url")
    s.extra_index_urls = list(merged.get("extra-index-url", []))
    s.find_links = list(merged.get("find-links", []))
    s.no_index = bool(merged.get("no-index", False))
    keep = set(merged.get("keep", []))
    unknown = keep - set(TRIMMABLE)
    if unknown:
        raise UsageError(f"--keep {','.join(sorted(unknown))}: unknown; choose from "
                         + ", ".join(TRIMMABLE))
    s.keep = frozenset(keep)
    s.keep_build_tools = bool(merged.get("keep-build-tools", False))
    s.shebang_flags = merged.get("shebang-flags", DEFAULT_SHEBANG_FLAGS)
    if s.shebang_flags and not re.fullmatch(r"-[A-Za-z]+", s.shebang_flags):
        raise UsageError(f"--shebang-flags '{s.shebang_flags}': give one word of single-letter "
                         "interpreter flags such as -I or -sE (or an empty string)")
    s.optimize = bool(merged.get("optimize", False))
    s.cache_dir = merged.get("cache-dir")
    s.no_cache = bool(merged.get("no-cache", False))
    s.ca_bundle = merged.get("ca-bundle") or None
    s.require_pins = bool(merged.get("require-pins", False))
    s.vendor_dir = merged.get("vendor-dir", DEFAULT_VENDOR_DIR)
    s.remote_cache = merged.get("remote-cache") or None
    if s.remote_cache and not re.match(r"https?://[^/\s]+", s.remote_cache):
        raise UsageError(f"remote-cache '{s.remote_cache}' is not an http(s) URL: give the "
                         "base URL of the cache server, e.g. http://cache.example:8080/pyrpath")
    s.remote_cache_readonly = bool(merged.get("remote-cache-readonly", False))
    return s


def _check_prefix(prefix):
    if not _PREFIX_RE.match(prefix) or "/../" in prefix + "/" or "/./" in prefix + "/":
        raise UsageError(f"install prefix '{prefix}' must be an absolute normalised path of "
                         "letters, digits and ._+- (e.g. /opt/myservice)")
    if prefix.startswith(("/usr/", "/etc/", "/var/lib/dpkg")) or prefix in ("/usr", "/opt"):
        raise UsageError(f"install prefix '{prefix}' would mix the private interpreter into the "
                         "system's own tree: use a directory of its own, e.g. /opt/<package>")
    if len(prefix) > MAX_PREFIX_LEN:
        raise UsageError(f"install prefix '{prefix}' is {len(prefix)} characters; at most "
                         f"{MAX_PREFIX_LEN} are supported: choose a shorter --install-root/--prefix")
