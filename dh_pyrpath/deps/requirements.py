"""Requirements files as pip reads them (continuations, -r includes, options, hashes), checked
for what cannot work in a package: index options (they belong to the settings), editable and
local paths, unpinned VCS references; unpinned requirements are reported."""
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement

from ..errors import PyrpathError
from .lockfile import COMMIT, VCS

# ---------------------------------------------------------------- requirements files

# Options of a requirements file that choose where pip looks: dh_pyrpath passes pip only its
# own settings (and records them), so these are refused rather than obeyed.
_INDEX_OPTIONS = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--no-index",
                  "--trusted-host")
_INCLUDE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")
_ARCHIVE = re.compile(r"\.(whl|tar\.gz|tgz|tar\.bz2|tar\.xz|zip)$")
_LINE_OPTION = re.compile(r"\s--(hash|config-settings|global-option|install-option)[= ]\S+")


@dataclass
class Requirements:
    """A requirements file, checked: what it installs and what it leaves unpinned."""
    path: Path
    files: list              # the file and every file it includes (-r, -c), in order
    lines: list              # the requirement lines (options and hashes stripped)
    hashed: bool             # hash-checking mode (--hash on its lines)
    unpinned: list           # requirement lines that allow more than one version
    hashes: list = field(default_factory=list)  # per hashed line: its "sha256:<hex>" values


def _logical_lines(text):
    """(line number, text) with continuations joined and comments removed."""
    number = 0
    pending, start = "", 1
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, (pending + line).strip()
        pending = ""
    if pending.strip():
        yield start, pending.strip()


def _option(line, options):
    """The value of `line` when it is one of `options` (`-r x`, `-rx`, `--requirement=x`)."""
    for option in options:
        if line == option:
            return ""
        # a short option may be glued to its value (-rfile); a long one takes = or a space
        for sep in ("=", " ") if option.startswith("--") else (" ", "=", ""):
            if line.startswith(option + sep):
                return line[len(option) + len(sep):].strip()
    return None


def read_requirements(path, _seen=None):
    """Read and check a pip requirements file (and the files it includes).

    Refused with one line naming the file, line and fix: editable and local path requirements
    (a .deb cannot carry an editable install, and a path names files outside what a clean
    build can fetch), VCS URLs not pinned to a full commit (a branch or tag moves), and options
    that change where pip looks."""
    path = Path(path)
    seen = set() if _seen is None else _seen
    if path.resolve() in seen:
        return Requirements(path, [], [], False, [])
    seen.add(path.resolve())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PyrpathError(f"cannot read requirements file {path}: {exc.strerror}: fix the "
                           "requirements setting") from None
    result = Requirements(path, [path], [], False, [])
    for number, line in _logical_lines(text):
        if not line:
            continue
        where = f"{path}:{number}"
        include = _option(line, _INCLUDE_OPTIONS)
        if include is not None:
            nested = read_requirements(path.parent / include, seen)
            result.files += nested.files
            if _option(line, ("-r", "--requirement")) is not None:
                result.lines += nested.lines
                result.unpinned += nested.unpinned
                result.hashes += nested.hashes
                result.hashed = result.hashed or nested.hashed
            continue
        if _option(line, ("-e", "--editable")) is not None:
            raise PyrpathError(f"{where}: editable requirement '{line}': a package cannot "
                               "carry an editable install: remove the line (dh_pyrpath builds "
                               "and installs the project itself) or pin a released version")
        if any(_option(line, (o,)) is not None for o in _INDEX_OPTIONS):
            raise PyrpathError(f"{where}: '{line}' changes where pip looks, which only "
                               "dh_pyrpath's settings decide: move it to index-url, "
                               "extra-index-url or find-links in debian/<package>.pyrpath")
        if line.startswith("-"):
            continue  # --pre, --prefer-binary, --only-binary, --require-hashes, ...
        hashes = re.findall(r"--hash[= ](\w+:\w+)", line)
        if hashes:
            result.hashed = True
            result.hashes.append(sorted(h.lower() for h in hashes))
        line = _LINE_OPTION.sub("", " " + line).strip()
        _check_requirement(line, where)
        result.lines.append(line)
        if not _is_pinned(line):
            result.unpinned.append(line)
    return result


def _reference(line):
    """The URL or path a requirement line refers to (`name @ url`, or a bare one), or None."""
    head = line.split(";", 1)[0].strip()
    if " @ " in head or re.match(r"^[A-Za-z0-9._-]+(\[[^\]]*\])?\s*@\s", head):
        return head.split("@", 1)[1].strip()
    if re.match(r"^[A-Za-z0-9._-]+(\[[^\]]*\])?\s*([<>=!~;]|$)", head) and not _ARCHIVE.search(
            head) and head not in (".", ".."):
        return None
    return head


def _check_requirement(line, where):
    ref = _reference(line)
    if ref is None:
        try:
            Requirement(line)
        except InvalidRequirement as exc:
            raise PyrpathError(f"{where}: '{line}' is not a requirement pip understands "
                               f"({exc}): fix the line") from None
        return
    if VCS.match(ref):
        url = ref.split("#", 1)[0]
        path = urlsplit(url.split("+", 1)[1]).path
        commit = path.rsplit("@", 1)[1] if "@" in path else ""
        if not COMMIT.match(commit):
            raise PyrpathError(f"{where}: VCS requirement '{line}' is not pinned to a full "
                               "commit hash (a branch or tag can move): append "
                               "@<40-hex commit> to the URL")
        return
    if re.match(r"^(https?)://", ref):
        return  # an archive on a server: pinned by its URL (and --hash, if given)
    fix = ("remove it: dh_pyrpath builds and installs the project itself"
           if ref.rstrip("/") in (".", "file:.", "file://.") else
           "build it into a wheel and serve it through the find-links setting, or make it "
           "part of the project")
    raise PyrpathError(f"{where}: local path requirement '{line}': a package's build cannot "
                       f"depend on files outside what it fetches and checks: {fix}")


def _is_pinned(line):
    """One version exactly: name==version (no wildcard), or a VCS/URL reference."""
    if _reference(line) is not None:
        return True
    req = Requirement(line)
    specs = list(req.specifier)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version
