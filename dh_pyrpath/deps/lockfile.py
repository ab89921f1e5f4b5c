"""What every lock file reader shares: the pins and artifacts read from a lock, the context
of one read (its path, the project, the target's marker environment) and the checks every
entry gets (a hash or a commit-pinned VCS reference, no local paths)."""
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import PyrpathError
from . import markers

# pip's --hash accepts these; a lock may name others too (PEP 751 allows any hashlib name).
PIP_HASHES = ("sha256", "sha384", "sha512")
COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
VCS = re.compile(r"^(git|hg|svn|bzr)\+")


@dataclass(frozen=True)
class Artifact:
    """A file the lock names for a pin (any platform's; pip picks the target's)."""
    filename: str
    url: str | None
    hash: str                # "sha256:<hex>"


@dataclass(frozen=True)
class Pin:
    """One distribution to install, exactly: name==version and its hashes, or a direct
    reference (an archive URL, a VCS URL at a commit)."""
    name: str                # canonical
    version: str | None
    artifacts: tuple = ()    # Artifact, sorted
    direct: str | None = None  # "https://.../x.whl" or "git+https://...@<commit>"

    @property
    def hashes(self):
        return sorted({a.hash for a in self.artifacts})

    @property
    def vcs(self):
        return bool(self.direct and VCS.match(self.direct))

    def requirement(self):
        """The line of a pip requirements file that installs exactly this pin."""
        head = f"{self.name} @ {self.direct}" if self.direct else f"{self.name}=={self.version}"
        return " ".join([head] + [f"--hash={h}" for h in self.hashes])

    def url_for(self, sha256):
        """The lock's URL of the artifact with this sha256, or None."""
        for artifact in self.artifacts:
            if artifact.hash == f"sha256:{sha256}":
                return artifact.url
        return None


@dataclass
class Lock:
    """A lock file's pins for one target."""
    path: Path
    kind: str                # "pylock.toml", "uv.lock", "poetry.lock"
    pins: list               # Pin, sorted by name
    left_out: list = field(default_factory=list)  # "name version" for other environments


def load_toml(path):
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PyrpathError(f"{path} is not valid TOML ({exc}): regenerate it with the tool "
                           "that made it") from None


def project_name(project_dir):
    """The canonical name in the project's pyproject.toml ([project] or [tool.poetry]), or
    None."""
    pyproject = Path(project_dir) / "pyproject.toml"
    if not pyproject.is_file():
        return None
    data = load_toml(pyproject)
    name = data.get("project", {}).get("name") or data.get("tool", {}).get(
        "poetry", {}).get("name")
    return canonicalize_name(name) if name else None


class Context:
    """The lock being read, the project, the target: and errors that name them."""

    def __init__(self, path, project_dir, env):
        self.path = path
        self.project_dir = project_dir.resolve()
        self.env = env
        self.project = project_name(project_dir)

    def error(self, name, version, problem, fix):
        entry = f"{name} {version}" if version else name
        return PyrpathError(f"{self.path}: {entry}: {problem}: {fix}")

    def holds(self, marker, name, extras=(), groups=()):
        return markers.evaluate(marker, self.env, extras, groups,
                                where=f"{self.path}: {name}")

    def check_requires_python(self, spec):
        if not spec:
            return
        python = self.env["python_full_version"]
        try:
            ok = Version(python) in SpecifierSet(spec, prereleases=True)
        except (InvalidSpecifier, InvalidVersion):
            ok = True  # not PEP 440 (poetry's "^3.9"): the pins' own markers decide
        if not ok:
            raise PyrpathError(f"{self.path}: made for Python {spec}, but the package's "
                               f"CPython is {python}: regenerate the lock for it, or set "
                               "python-source to a version it allows")

    def is_project_dir(self, relpath):
        return (self.path.parent / relpath).resolve() == self.project_dir


def hash_of(table):
    """"sha256:<hex>" from a PEP 751 `hashes` table, strongest pip-accepted first."""
    for algo in reversed(PIP_HASHES):
        if table.get(algo):
            return f"{algo}:{table[algo].lower()}"
    return None


def url_file_name(url):
    return urlsplit(url).path.rsplit("/", 1)[-1] if url else None


def pinned_vcs(ctx, name, version, url, commit, subdirectory=None):
    """git+URL@commit, or the error for a VCS entry that names no full commit."""
    if not commit or not COMMIT.match(commit):
        raise ctx.error(name, version, "a VCS entry not pinned to a full commit hash",
                        "regenerate the lock from a commit, or publish the distribution to "
                        "an index")
    scheme = url.split("+", 1)[0] if VCS.match(url) else "git"
    base = url if VCS.match(url) else f"{scheme}+{url}"
    ref = f"{base}@{commit}"
    return ref + (f"#subdirectory={subdirectory}" if subdirectory else "")


def no_path(ctx, name, version, what):
    return ctx.error(name, version, f"a {what} entry (a local path: no hash, and nothing a "
                     "clean build can fetch)", "publish it to an index or a find-links "
                     "directory and lock that, or make it part of the project")
