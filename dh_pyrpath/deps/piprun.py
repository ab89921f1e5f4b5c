"""pip, run isolated from the build host's configuration; and what its failures mean.

Only what dh_pyrpath's settings say reaches pip: the index URLs, find-links, the CA bundle and
the vendored files. pip's configuration files are off (PIP_CONFIG_FILE=os.devnull: pip then
loads none of them, not the global /etc/pip.conf or /etc/xdg/pip/pip.conf, not the user's, not
the site's; pip/_internal/configuration.py), no PIP_* or PYTHON* variable of the caller gets
through, nor the variables that choose which CAs Python's ssl and requests trust; the user site
is off. A builder's global constraint file or PIP_FIND_LINKS can then not change a package.

When pip fails, the cause is read from everything it printed (a TLS failure shows in a retry
warning long before pip's last line says "no matching distribution"): TLS verification, proxy,
DNS, HTTP 401/403, unreachable index, hash mismatch, missing hashes, no such distribution.
"""
import base64
import functools
import io
import os
import re
import socket
import ssl
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..host import SYSTEM_CA_BUNDLE
from ..errors import PyrpathError
from ..log import redact

# Variables of the caller that would change what pip trusts, besides PIP_* and PYTHON*.
TRUST_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
                   "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
PROBE_TIMEOUT = 10  # seconds: the index answers a project page in well under that, or not at all
VENDOR_FIX = "run `dh_pyrpath --vendor` (where there is network) to bring the vendored files up to date"


def ca_bundle(settings, system=SYSTEM_CA_BUNDLE):
    """The CA bundle pip verifies TLS with: the ca-bundle setting, else the system's when it
    exists (where an admin adds a TLS proxy's CA), else None (pip's own, certifi)."""
    if settings.ca_bundle:
        if not os.path.isfile(settings.ca_bundle):
            raise PyrpathError(f"ca-bundle {settings.ca_bundle} not found: give a PEM file of "
                               f"CA certificates (the system's is {system})")
        return settings.ca_bundle
    return system if os.path.isfile(system) else None


def environment(settings, cache_dir, environ=None):
    """pip's environment: the caller's, less everything that configures pip or Python, plus
    the settings. Index settings travel here, not in argv: no credentials in `ps`."""
    environ = os.environ if environ is None else environ
    env = {k: v for k, v in environ.items()
           if not k.startswith(("PIP_", "PYTHON")) and k not in TRUST_VARIABLES}
    env.update({
        "PIP_CONFIG_FILE": os.devnull, "PYTHONNOUSERSITE": "1",
        # pip itself may live in the shared cache: never write bytecode next to it.
        "PYTHONDONTWRITEBYTECODE": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
        "PIP_NO_WARN_SCRIPT_LOCATION": "1", "PIP_ROOT_USER_ACTION": "ignore",
        "PIP_RETRIES": "2", "PIP_TIMEOUT": "30", "PIP_CACHE_DIR": str(cache_dir),
    })
    bundle = ca_bundle(settings)
    if bundle:
        env["PIP_CERT"] = bundle
    if settings.index_url:
        env["PIP_INDEX_URL"] = settings.index_url
    if settings.extra_index_urls:
        env["PIP_EXTRA_INDEX_URL"] = " ".join(settings.extra_index_urls)
    if settings.find_links:
        env["PIP_FIND_LINKS"] = " ".join(settings.find_links)
    if settings.no_index:
        env["PIP_NO_INDEX"] = "1"
    return env


class Pip:
    """pip under the private interpreter, from an unpacked copy outside the prefix.

    `vendored` (a directory) makes every command offline: --no-index --find-links=<it> only,
    no wheel cache, no index, no network."""

    def __init__(self, python, pip_dir, settings, cache, workdir, log, vendored=None, epoch=None):
        self.python = str(python)
        self.pip_dir = Path(pip_dir)
        self.settings = settings
        self.workdir = Path(workdir)
        self.log = log
        self.vendored = Path(vendored).resolve() if vendored else None
        self.cache = None if self.vendored else cache
        self.wheelhouse = self.cache.path("wheels") if self.cache else None
        self.wheelhouse_checked = False  # deps checks the wheel cache once per build
        pip_cache = self.cache.path("pip") if self.cache else self.workdir / "pip-cache"
        self.env = environment(settings, pip_cache)
        self.env["PYTHONPATH"] = str(self.pip_dir)
        if epoch is not None:
            # wheels built here (the project's, sdists') record their files' times otherwise:
            # their hashes are in the SBOM
            self.env["SOURCE_DATE_EPOCH"] = str(epoch)
        if self.vendored:
            for key in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
                self.env.pop(key, None)
            self.env["PIP_NO_INDEX"] = "1"
            self.env["PIP_FIND_LINKS"] = str(self.vendored)

    @property
    def version(self):
        found = sorted(self.pip_dir.glob("pip-*.dist-info"))
        return found[0].name[len("pip-"):-len(".dist-info")] if found else None

    def describe(self):
        """What reached pip, for build-info.json: the settings (no host paths), sorted. Not
        where the files came from (vendored, the cache, the index): the same pins give the same
        files, hash-checked, so a vendored offline build and an online one are the same bytes;
        the log says which it was. The ca-bundle setting as given: unset, pip takes the
        system's store where the machine has one, and a build chroot without one would record
        another package (measured: the host against a minbase chroot, build-info.json alone)."""
        s = self.settings
        return {"pip": self.version, "config_files": "none (PIP_CONFIG_FILE=os.devnull)",
                "inherited_pip_variables": "none", "user_site": False,
                "ca_bundle": s.ca_bundle, "no_index": bool(s.no_index),
                "index_url": redact(s.index_url) if s.index_url else None,
                "extra_index_urls": [redact(u) for u in s.extra_index_urls],
                "find_links": [redact(u) for u in s.find_links]}

    def command(self, args):
        if args[:1] == ["install"]:  # no bytecode: the package ships none (postinst compiles it)
            args = ["install", "--no-compile", *args[1:]]
        return [self.python, self.pip_dir / "pip", *args]

    def run(self, args, what, fix, umask=None):
        """Run pip (under `umask`, else this process's); on failure raise one line that names
        the cause (classify())."""
        start = _log_size(self.log)
        try:
            return self.log.run(self.command(args), what, cwd=self.workdir, env=self.env,
                                umask=umask)
        except PyrpathError as exc:
            text = _log_since(self.log, start) or "\n".join(exc.tail or [])
            raise PyrpathError(self.classify(text, what, fix), log=exc.log,
                               tail=exc.tail) from None

    def try_run(self, args, what, umask=None):
        try:
            self.log.run(self.command(args), what, cwd=self.workdir, env=self.env, umask=umask)
            return True
        except PyrpathError:
            return False

    def classify(self, text, what, fix):
        return classify(text, what, fix, self.settings, self.vendored)


def _log_size(log):
    try:
        return os.path.getsize(log.path)
    except (OSError, TypeError):
        return None


def _log_since(log, start):
    if start is None:
        return None
    try:
        with open(log.path, encoding="utf-8", errors="replace") as fh:
            fh.seek(start)
            return fh.read()
    except OSError:
        return None


# ---------------------------------------------------------------- what went wrong

_TLS = re.compile(r"CERTIFICATE_VERIFY_FAILED|SSLCertVerificationError|certificate verify failed")
_PROXY = re.compile(r"ProxyError|Cannot connect to proxy|Tunnel connection failed|"
                    r"407 Proxy Authentication")
_DNS = re.compile(r"NameResolutionError|Temporary failure in name resolution|Name or service "
                  r"not known|No address associated with hostname|getaddrinfo failed|"
                  r"nodename nor servname")
_AUTH = re.compile(r"\b(401|403)\b[^\n]*(Client Error|Unauthorized|Forbidden)|"
                   r"HTTP error (401|403)|\bUser for \S+:")
_UNREACHABLE = re.compile(r"NewConnectionError|Failed to establish a new connection|Connection "
                          r"refused|Network is unreachable|No route to host|ConnectTimeoutError|"
                          r"Read timed out|Connection reset by peer|RemoteDisconnected")
_HOST = re.compile(r"host='([^']+)', port=(\d+)")
# "    click==8.1.7 from https://.../click-8.1.7-py3-none-any.whl#sha256=... (from -r x (line 1)):"
_MISMATCH = re.compile(r"^\s+(\S+) from ([^\s#]+?):?(?:#\S*)?(?: \(from [^\n]*)?\n"
                       r"\s+Expected sha256 (\w+)\s*\n\s+Got\s+(\w+)", re.M)
_MISSING = re.compile(r"No matching distribution found for (\S+)")


def _tls_message(what, host, detail, settings):
    bundle = ca_bundle(settings)
    used = f"CA bundle {bundle}" if bundle else "pip's own CA bundle (certifi)"
    return (f"{what}: TLS verification of {host} failed ({detail}) with {used}: if a TLS "
            "proxy or a private CA signs its certificate, set ca-bundle (DH_PYRPATH_CA_BUNDLE, "
            "or ca-bundle in debian/<package>.pyrpath) to a bundle that holds that CA")


def classify(text, what, fix, settings, vendored=None):
    """One line for a pip failure: what happened, from pip's output, and what fixes it."""
    where = _HOST.search(text)
    host = f"the package index at {where.group(1)}:{where.group(2)}" if where else \
        "the package index"
    if _TLS.search(text):
        return _tls_message(what, host, "CERTIFICATE_VERIFY_FAILED", settings)
    if _PROXY.search(text):
        names = sorted(v for v in PROXY_VARIABLES if os.environ.get(v))
        via = f" ({', '.join(names)})" if names else ""
        return (f"{what}: the proxy{via} failed the connection to {host}: check the proxy "
                "variables, the proxy's credentials, and no_proxy")
    if _DNS.search(text):
        return (f"{what}: cannot resolve {host} (DNS): check the network's name service and "
                "index-url, or build offline: `dh_pyrpath --vendor` where there is network")
    auth = _AUTH.search(text)
    if auth:
        code = next((g for g in auth.groups() if g and g.isdigit()), "401")
        return (f"{what}: the index refused access (HTTP {code}) at {host}: give credentials "
                "in index-url (https://user:token@host/...; DH_PYRPATH_INDEX_URL keeps them out "
                "of debian/) or ~/.netrc")
    if _UNREACHABLE.search(text):
        at = f" at {where.group(1)}:{where.group(2)}" if where else ""
        return (f"{what}: the package index is unreachable{at}: check the network and "
                "index-url, or build offline: `dh_pyrpath --vendor` where there is network")
    mismatch = _MISMATCH.search(text)
    if mismatch or "THESE PACKAGES DO NOT MATCH THE HASHES" in text:
        detail = (f" ({mismatch.group(1)} from {redact(mismatch.group(2))}: expected sha256 "
                  f"{mismatch.group(3)}, got {mismatch.group(4)})" if mismatch else "")
        return (f"{what}: a file does not match the hash it is pinned to{detail}: it is not "
                "the file the lock or requirements name; check the index, find-links and "
                "vendored files it came from, and the pinned hashes")
    if "Hashes are required in --require-hashes mode" in text:
        return (f"{what}: hash-checking mode needs a --hash on every requirement, dependencies "
                "included, and some have none: add them (pip-compile --generate-hashes), or "
                "remove every --hash")
    missing = _MISSING.search(text)
    if missing:
        name = missing.group(1)
        if vendored:
            return f"{what}: {name} is not among the vendored files ({vendored}): {VENDOR_FIX}"
        if settings.no_index:
            return (f"{what}: no distribution matches {name} in the find-links directories "
                    "(no-index is set): add it there, or drop no-index")
        return (f"{what}: no distribution matches {name} on the package index: check the name "
                "and version, or add an extra-index-url or find-links that has it")
    return f"{what} failed: {fix}"


# ---------------------------------------------------------------- is the index reachable?

@functools.lru_cache(maxsize=None)
def default_index_url(where):
    """The index pip uses when none is set, read from pip's own source: `where` is an unpacked
    pip directory, a pip wheel, or a CPython source tarball (whose ensurepip bundles one)."""
    where = Path(where)
    pattern = re.compile(rb"PyPI = PackageIndex\(\s*[\"']([^\"']+)[\"']")
    member = "pip/_internal/models/index.py"
    text = None
    if where.is_dir():
        path = where / member
        text = path.read_bytes() if path.is_file() else None
    elif where.suffix == ".whl":
        with zipfile.ZipFile(where) as zf:
            text = zf.read(member)
    elif where.is_file():
        with tarfile.open(where, "r|*") as tf:
            for info in tf:
                if re.search(r"/Lib/ensurepip/_bundled/pip-[^/]+\.whl$", info.name):
                    data = tf.extractfile(info).read()
                    with zipfile.ZipFile(io.BytesIO(data)) as zf:
                        text = zf.read(member)
                    break
    match = pattern.search(text or b"")
    if not match:
        return None
    return match.group(1).decode().rstrip("/") + "/simple"


def probe_index(url, name, settings, timeout=PROBE_TIMEOUT, missing_ok=False):
    """None if the index at `url` answers for project `name`; else one line naming the cause
    (TLS, proxy, DNS, 401/403, unreachable, no such project unless `missing_ok`: an extra
    index may have it). Runs on the build host's Python with the CA bundle and proxies pip
    would use, before there is a private interpreter."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None  # file:// indexes are local
    what = f"the package index {redact(url)}"
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    target = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + f"/{name}/", "", ""))
    request = urllib.request.Request(target, headers={"User-Agent": "dh_pyrpath",
                                                      "Accept": "text/html"})
    if parts.username:
        token = f"{parts.username}:{parts.password or ''}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(token).decode())
    bundle = ca_bundle(settings)
    context = ssl.create_default_context(cafile=bundle)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context):
            return None
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None if missing_ok else (f"{what} has no project {name} (HTTP 404): check the name, or add an "
                    "extra-index-url or find-links that has it")
        if exc.code in (401, 403):
            return classify(f"HTTP error {exc.code} host='{parts.hostname}', "
                            f"port={parts.port or 443}", f"reach {what}", "", settings)
        if exc.code == 407:
            return classify("407 Proxy Authentication", f"reach {what}", "", settings)
        return f"{what} answered HTTP {exc.code} ({exc.reason}): check index-url and the index"
    except urllib.error.URLError as exc:
        reason = exc.reason
    except (OSError, ssl.SSLError) as exc:
        reason = exc
    port = parts.port or (443 if parts.scheme == "https" else 80)
    where = f"host='{parts.hostname}', port={port}"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return _tls_message(f"reach {what}", f"{parts.hostname}:{port}",
                            reason.verify_message, settings)
    if isinstance(reason, socket.gaierror):
        return classify(f"Name or service not known {where}", f"reach {what}", "", settings)
    if "Tunnel connection failed" in str(reason) or "407" in str(reason):
        return classify(f"ProxyError {where}", f"reach {what}", "", settings)
    return (f"the package index is unreachable at {redact(url)} ({reason}): check the network "
            "and index-url, or build offline: `dh_pyrpath --vendor` where there is network")
