"""The isolated environment a project's build backend runs in, as pypa/build makes it.

The project's ``build-system.requires`` (then what its backend's get_requires_for_build_wheel
adds) are installed from the package index into a temporary directory, whatever Debian ships;
the hooks run in ``python3 -I -S`` whose sys.path is the standard library plus that directory
(_hook.py), so Debian's dist-packages are invisible to the backend.

pip is Debian's python3-pip, run as ``python3 -I -m pip install --target DIR``. Not a venv: on
Debian a venv gets its pip from python3-venv (or needs pip >= 22.3's ``--python``), while
``--target`` needs only python3-pip, is exempt from PEP 668's externally-managed check by
design, and leaves the hook's sys.path exactly what we list instead of what a venv's site.py
computes.

The builder's own pip configuration must not change what gets installed: no PIP_* variable
reaches pip, and PIP_CONFIG_FILE=/dev/null makes pip skip every pip.conf, /etc/xdg/pip's with
its constraint file included. The CA bundle is passed explicitly (--cert). When the index
cannot be used, wheelhouses are tried: --find-links, DH_PYRPATH_FIND_LINKS and dh_pyrpath's
wheel cache (only wheels that match their recorded sha256).
"""
import logging
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from dh_pyrpath.host import SYSTEM_CA_BUNDLE
from dh_pyrpath.store import files as dh_files, location as dh_location

from .errors import MetadataError, UsageError

log = logging.getLogger("make_deb")

PIP_TIMEOUT = 600
# Variables pip needs to reach the index and write its cache; everything else (PIP_*, PYTHON*,
# the builder's tool settings) is left behind.
_KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "XDG_CACHE_HOME",
             "http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
             "NO_PROXY", "ALL_PROXY")

# What pip prints, newest causes first: a TLS or proxy failure also reads as "unreachable".
_TLS = re.compile(r"CERTIFICATE_VERIFY_FAILED|SSLCertVerificationError|certificate verify failed"
                  r"|problem confirming the ssl certificate")
_PROXY = re.compile(r"ProxyError|Tunnel connection failed|407 Proxy Authentication")
_AUTH = re.compile(r"\b(401|403)\b[^\n]*(Unauthorized|Forbidden|Client Error)|"
                   r"HTTP error (401|403)")
_UNREACHABLE = re.compile(r"NewConnectionError|Failed to establish a new connection|Name or "
                          r"service not known|Temporary failure in name resolution|Network is "
                          r"unreachable|ConnectTimeoutError|Connection refused|No route to host|"
                          r"Read timed out|RemoteDisconnected|Connection reset by peer")
_NETWORK_DETAIL = re.compile(r"Connection refused|Name or service not known|Temporary failure in "
                             r"name resolution|Network is unreachable|No route to host|"
                             r"Read timed out|Connection reset by peer|timed out")
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")


@dataclass
class IndexSettings:
    """Where build requirements come from."""
    index_url: str | None = None
    extra_index_urls: list = field(default_factory=list)
    find_links: list = field(default_factory=list)   # given by the user: used online too
    ca_bundle: str | None = None
    wheel_cache: Path | None = None                  # dh_pyrpath's, offline only

    @classmethod
    def from_options(cls, index_url=None, find_links=(), env=None):
        env = os.environ if env is None else env
        links = [str(x) for x in find_links] + env.get("DH_PYRPATH_FIND_LINKS", "").split()
        for link in links:
            if not re.match(r"https?://", link) and not Path(link).is_dir():
                raise UsageError(f"find-links {link!r} is neither a directory nor an http(s) "
                                 f"URL; point --find-links (or DH_PYRPATH_FIND_LINKS) at a "
                                 f"directory of wheels")
        location = dh_location.default_location(env)
        cache = location / "wheels" if location else None
        return cls(index_url=index_url or env.get("DH_PYRPATH_INDEX_URL") or None,
                   extra_index_urls=env.get("DH_PYRPATH_EXTRA_INDEX_URL", "").split(),
                   find_links=links, ca_bundle=ca_bundle(env),
                   wheel_cache=cache if cache and cache.is_dir() else None)


def ca_bundle(env=None):
    """The CA bundle pip verifies the index with: DH_PYRPATH_CA_BUNDLE when set (as for
    dh_pyrpath), else the host's bundle (it holds a site's own CAs, a TLS proxy's, where the
    admin added them), else pip's own."""
    env = os.environ if env is None else env
    explicit = env.get("DH_PYRPATH_CA_BUNDLE")
    if explicit:
        if not Path(explicit).is_file():
            raise UsageError(f"DH_PYRPATH_CA_BUNDLE={explicit}: no such file; point it at a CA "
                             f"bundle (PEM) or unset it")
        return explicit
    return SYSTEM_CA_BUNDLE if Path(SYSTEM_CA_BUNDLE).is_file() else None


def pip_env(index):
    """The environment pip runs in: the builder's pip configuration left behind."""
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1", PIP_ROOT_USER_ACTION="ignore",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    # index URLs travel in the environment, not argv: no credentials in `ps`
    if index.index_url:
        env["PIP_INDEX_URL"] = index.index_url
    if index.extra_index_urls:
        env["PIP_EXTRA_INDEX_URL"] = " ".join(index.extra_index_urls)
    return env


def cert_args(index):
    return ["--cert", index.ca_bundle] if index.ca_bundle else []


class PipFailed(MetadataError):
    """pip could not install requirements: `reason` (what happened), `fix`, the log's path;
    `kind` is "network" (the index cannot be used), "missing" or "failed"."""

    def __init__(self, reason, fix, kind, log_path=None):
        log_part = f" (full log: {log_path})" if log_path else ""
        super().__init__(f"{reason}; {fix}{log_part}")
        self.reason, self.fix, self.kind, self.log_path = reason, fix, kind, log_path


class Offline(MetadataError):
    """The index cannot be used (`cause`, a network PipFailed) and no wheelhouse has the
    requirements; `detail` says what the wheelhouses lacked."""

    def __init__(self, cause, requirements, detail):
        super().__init__(f"{cause.reason} and {detail}; {cause.fix}, or give wheels of "
                         f"{', '.join(requirements)} with --find-links DIR"
                         + (f" (full log: {cause.log_path})" if cause.log_path else ""))
        self.cause, self.requirements, self.detail = cause, requirements, detail

    def summary(self):
        """The cause without the fix, for messages that add their own."""
        return f"{self.cause.reason} and {self.detail}"


def save_log(text, what="metadata"):
    fd, path = tempfile.mkstemp(prefix=f"make-deb-{what}-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def explain_pip(output, requirements, index, log_path, offline=False):
    """One PipFailed naming what really happened, from pip's output. A TLS or proxy failure
    also looks like "unreachable", so those are recognised first."""
    if not offline:
        if _TLS.search(output):
            bundle = index.ca_bundle or "pip's own"
            return PipFailed(f"TLS verification with the package index failed "
                             f"(CERTIFICATE_VERIFY_FAILED with CA bundle {bundle})",
                             "set DH_PYRPATH_CA_BUNDLE to the CA bundle (PEM) that signs your "
                             "network's TLS proxy", "network", log_path)
        if _PROXY.search(output):
            return PipFailed("the proxy refused the connection to the package index",
                             "check https_proxy/http_proxy", "network", log_path)
        auth = _AUTH.search(output)
        if auth:
            return PipFailed(f"the package index refused access (HTTP {auth[1] or auth[3]})",
                             "check the credentials in --index-url or DH_PYRPATH_INDEX_URL",
                             "network", log_path)
        down = _UNREACHABLE.search(output)
        if down:
            # the most telling words pip has for it, else the exception's name
            words = _NETWORK_DETAIL.search(output)
            detail = words[0] if words else down[0]
            return PipFailed(f"the package index is unreachable ({detail})",
                             "check the network and --index-url", "network", log_path)
    missing = _NO_MATCH.search(output)
    if missing:
        return PipFailed(f"no distribution matches {missing[1]} on "
                         f"{'the wheelhouses' if offline else 'the package index'}",
                         "check the name and version", "missing", log_path)
    errors = [ln.strip() for ln in output.splitlines() if ln.startswith("ERROR")]
    last = " ".join((errors[-1] if errors else "pip failed").split())[:300]
    fix = "install python3-pip" if "No module named pip" in output else \
        "see pip's log for why"
    return PipFailed(f"pip could not install {', '.join(requirements)} ({last})", fix,
                     "failed", log_path)


def _origin(output):
    """Where pip took what it installed, from its log: files of a --find-links directory are
    "Processing <path>", the index's are "Downloading ..." or "Using cached ..."."""
    local = re.search(r"^Processing \.?/", output, re.M)
    remote = re.search(r"^\s*(Downloading|Using cached) ", output, re.M)
    if local and remote:
        return "the package index and a wheelhouse"
    return "a wheelhouse" if local else "the package index"


def verified_wheels(cache_dir, into):
    """A directory of links to the wheels of dh_pyrpath's cache that match their recorded
    sha256 (a wheel without one is never trusted, as in dh_pyrpath)."""
    into.mkdir(parents=True, exist_ok=True)
    for whl in sorted(Path(cache_dir).glob("*.whl")):
        try:
            ok = whl.with_name(whl.name + ".sha256").read_text().strip() == \
                dh_files.sha256_file(whl)
        except OSError:
            ok = False
        if ok:
            (into / whl.name).symlink_to(whl)
    return into


class Environment:
    """Layers of ``pip install --target`` directories, first layer first on sys.path."""

    def __init__(self, root, index, python=None):
        self.root = Path(root)
        self.index = index
        self.python = python or sys.executable
        self.paths = []
        self.origins = []  # per layer: "the package index" or "a wheelhouse"

    def _pip(self, target, requirements, links, offline, constraints):
        cmd = [self.python, "-I", "-m", "pip", "install", "--target", str(target),
               "--no-compile", "--no-warn-script-location", "--progress-bar", "off",
               "--retries", "1", "--timeout", "20", *cert_args(self.index)]
        if offline:
            cmd.append("--no-index")
        for link in links:
            cmd += ["--find-links", str(link)]
        if constraints:
            cmd += ["--constraint", str(constraints)]
        cmd += requirements
        log.info("installing %s from %s", ", ".join(requirements),
                 "the wheelhouses" if offline else "the package index")
        try:
            proc = subprocess.run(cmd, env=pip_env(self.index), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=PIP_TIMEOUT, cwd=self.root)
        except subprocess.TimeoutExpired:
            raise PipFailed(f"pip did not install {', '.join(requirements)} within "
                            f"{PIP_TIMEOUT} s", "check the network and the package index",
                            "network") from None
        except OSError as exc:
            raise MetadataError(f"cannot run {self.python} -m pip: {exc.strerror}; install "
                                f"python3-pip") from None
        output = proc.stdout.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise explain_pip(output, requirements, self.index, save_log(output, "pip"),
                              offline)
        return output

    def install(self, requirements, what):
        """Install `requirements` into a new layer; versions already installed in earlier
        layers are kept (constraints), as one environment would have them."""
        if not requirements:
            return
        target = self.root / f"layer{len(self.paths)}"
        pins = self.installed()
        constraints = None
        if pins:
            constraints = self.root / f"constraints{len(self.paths)}.txt"
            constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
        try:
            output = self._pip(target, requirements, self.index.find_links, False, constraints)
        except PipFailed as exc:
            if exc.kind == "missing":
                raise PipFailed(exc.reason, f"fix {what}", "missing") from None
            if exc.kind != "network":
                raise
            output = self._offline(target, requirements, constraints, exc)
        self.paths.append(target)
        self.origins.append(_origin(output))

    def _offline(self, target, requirements, constraints, cause):
        links = list(self.index.find_links)
        if self.index.wheel_cache:
            links.append(verified_wheels(self.index.wheel_cache, self.root / "wheel-cache"))
        if not links:
            raise Offline(cause, requirements, "no wheelhouse is given")
        log.info("%s; trying the wheelhouses", cause.reason)
        try:
            return self._pip(target, requirements, links, True, constraints)
        except PipFailed as exc:
            raise Offline(cause, requirements, f"the wheelhouses lack them ({exc.reason})") \
                from None

    def installed(self):
        """{canonical name: version} of every distribution in the layers."""
        found = {}
        for dist in importlib_metadata.distributions(path=[str(p) for p in self.paths]):
            name = dist.metadata["Name"]
            if name:
                found.setdefault(canonicalize_name(name), dist.version)
        return found

    def unsatisfied(self, requirements):
        """The requirements the layers do not satisfy yet (markers of this interpreter)."""
        have = self.installed()
        out = []
        for raw in requirements:
            try:
                req = Requirement(raw)
            except InvalidRequirement:
                out.append(raw)  # let pip say what is wrong with it
                continue
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            version = have.get(canonicalize_name(req.name))
            if version is None or not req.specifier.contains(version, prereleases=True):
                out.append(raw)
        return out

    def describe(self, names):
        """"hatchling 1.27.0" for each installed name among `names`."""
        have = self.installed()
        return [f"{n} {have[canonicalize_name(n)]}" for n in names
                if canonicalize_name(n) in have]


def requirement_names(requirements):
    names = []
    for raw in requirements:
        try:
            names.append(Requirement(raw).name)
        except InvalidRequirement:
            continue
    return names
