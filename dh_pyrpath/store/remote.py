"""A shared HTTP cache behind the local one: content-addressed blobs over GET, HEAD and PUT.

Layout under the configured URL (files for a web server that accepts PUT, such as nginx with
`dav_methods PUT`; bazel-remote's own two stores):

    cas/<sha256>   a blob named by the sha256 of its bytes: a packed interpreter entry, a CPython
                   or Debian source tarball, a wheel
    ac/<sha256>    a small JSON record found by name: the sha256 of "dh-pyrpath <kind> <name>";
                   says which blob holds interpreter entry <key>, or wheel <file name>

Nothing read from the remote is trusted: a blob must hash to its name and have the size its
record gives; an entry must then match its own manifest and its recipe must hash to its key
(entries.py), as local entries do. The remote is optional: down, slow, refusing, or serving bad
bytes, it costs a few seconds and one warning, and the build goes on locally. Credentials come
from the URL's user:password (given through the environment) or ~/.netrc, and are sent only
as an Authorization header: never in a log line or a message.
"""
import base64
import hashlib
import http.client
import io
import json
import netrc
import os
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from ..errors import UsageError
from ..host import SYSTEM_CA_BUNDLE
from ..log import redact


# A remote that does not answer within this many seconds is given up for the rest of the run.
TIMEOUT = 5.0
# One more try, this long after a reset connection or a 502/503/504: a restarting proxy.
RETRY_DELAY = 0.5
MAX_RECORD = 1 << 20       # ac/ records are a few hundred bytes
CHUNK = 1 << 20
LARGE = 1 << 20            # transfers from this size on get a progress line
# sha256 of nothing: bazel-remote always has this blob; --cache-info probes with it
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class RemoteError(Exception):
    """A request that failed. `down`: the remote is unusable for this run (it does not answer,
    or refuses us); otherwise only this request failed."""

    def __init__(self, message, down=False, no_write=False):
        super().__init__(message)
        self.down = down
        self.no_write = no_write


class BadBlob(Exception):
    """Bytes from the remote that are not what their name or record says."""


def record_path(kind, name):
    """Where the record naming `kind` `name` lives: ac/<sha256 of 'dh-pyrpath kind name'>."""
    return "ac/" + hashlib.sha256(f"dh-pyrpath {kind} {name}".encode()).hexdigest()


def blob_path(sha256):
    return f"cas/{sha256}"


def is_sha256(text):
    return isinstance(text, str) and bool(_HEX64.fullmatch(text))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A cache server has no business redirecting; following would carry the Authorization
    header to wherever the redirect points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _credentials(parts, netrc_file):
    """(user, password) from the URL, else from ~/.netrc ($NETRC), else None."""
    if parts.username is not None:
        return (urllib.parse.unquote(parts.username),
                urllib.parse.unquote(parts.password or ""))
    try:
        found = netrc.netrc(netrc_file).authenticators(parts.hostname or "")
    except (OSError, netrc.NetrcParseError):
        return None  # no netrc (the common case), or one we cannot read: no credentials
    if found:
        login, _, password = found
        return (login or "", password or "")
    return None


def _tls_context(ca_bundle):
    cafile = ca_bundle or (SYSTEM_CA_BUNDLE if os.path.isfile(SYSTEM_CA_BUNDLE) else None)
    return ssl.create_default_context(cafile=cafile)


class Remote:
    """One remote cache, as configured for this run."""

    def __init__(self, url, readonly=False, ca_bundle=None, timeout=TIMEOUT, netrc_file=None):
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host:
            raise UsageError(f"remote-cache '{redact(url)}' is not an http(s) URL: give the base "
                             "URL of the cache server, e.g. http://cache.example:8080/pyrpath")
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        self.base = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "",
                                             ""))
        self.label = self.base  # for messages: never the credentials
        self.readonly = readonly
        self.timeout = timeout
        self.down = None        # why the remote is not used any more this run
        self.no_write = None    # why nothing is published any more this run
        self.headers = {"User-Agent": "dh-pyrpath", "Accept-Encoding": "identity"}
        creds = _credentials(parts, netrc_file or os.environ.get("NETRC") or None)
        if creds:
            token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        handlers = [_NoRedirect()]
        if parts.scheme == "https":
            handlers.append(urllib.request.HTTPSHandler(context=_tls_context(ca_bundle)))
        self._opener = urllib.request.build_opener(*handlers)

    @property
    def usable(self):
        return self.down is None

    @property
    def writable(self):
        return self.down is None and self.no_write is None and not self.readonly

    # ------------------------------------------------------------ one request

    def _open(self, method, path, body=None, size=None):
        """The response to one request (2xx), retried once after a reset or a 502/503/504.

        Raises urllib.error.HTTPError for other statuses (the caller decides what 404 or 403
        mean) and RemoteError when the remote cannot be reached."""
        url = f"{self.base}/{path}"
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Length"] = str(size)
            headers["Content-Type"] = "application/octet-stream"
        for attempt in (1, 2):
            if body is not None:
                body.seek(0)
            req = urllib.request.Request(url, data=body, method=method, headers=headers)
            try:
                return self._opener.open(req, timeout=self.timeout)
            except urllib.error.HTTPError as exc:
                exc.close()
                if exc.code in (502, 503, 504) and attempt == 1:
                    time.sleep(RETRY_DELAY)
                    continue
                if 300 <= exc.code < 400:
                    raise RemoteError(f"HTTP {exc.code}: the server redirects; give the URL it "
                                      "redirects to", down=True) from None
                if exc.code in (502, 503, 504):
                    raise RemoteError(f"HTTP {exc.code} twice", down=True) from None
                raise
            except (TimeoutError, socket.timeout):
                raise RemoteError(f"no answer within {self.timeout:g} s", down=True) from None
            except (ConnectionResetError, http.client.RemoteDisconnected,
                    http.client.BadStatusLine) as exc:
                if attempt == 1:
                    time.sleep(RETRY_DELAY)
                    continue
                raise RemoteError(f"the connection broke twice ({exc.__class__.__name__})",
                                  down=True) from None
            except urllib.error.URLError as exc:
                raise RemoteError(_reason(exc.reason), down=True) from None
            except OSError as exc:
                raise RemoteError(_reason(exc), down=True) from None
        raise AssertionError("unreachable")

    def exists(self, path):
        """True when the remote has `path`, False on 404."""
        try:
            with self._open("HEAD", path):
                return True
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise _refused(exc, "read") from None

    def get_record(self, kind, name):
        """The JSON object recorded for `kind` `name`, or None when there is none."""
        buf = io.BytesIO()
        try:
            self._download(record_path(kind, name), buf, limit=MAX_RECORD)
        except FileNotFoundError:
            return None
        try:
            value = json.loads(buf.getvalue().decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadBlob(f"its {kind} record for {name} is not JSON") from None
        if not isinstance(value, dict):
            raise BadBlob(f"its {kind} record for {name} is not a JSON object")
        return value

    def put_record(self, kind, name, value):
        data = json.dumps(value, sort_keys=True).encode()
        self._upload(record_path(kind, name), io.BytesIO(data), len(data))

    def fetch_blob(self, sha256, out, size=None):
        """Download blob `sha256` into the binary file `out`; verify it. Returns its size, or
        None when the remote does not have it. Raises BadBlob when the bytes are wrong."""
        if not is_sha256(sha256):
            raise BadBlob(f"it names a blob '{sha256}', which is no sha256")
        try:
            got, digest = self._download(blob_path(sha256), out, limit=size)
        except FileNotFoundError:
            return None
        if size is not None and got != size:
            raise BadBlob(f"blob {sha256[:16]}... is {got} bytes, its record says {size}")
        if digest != sha256:
            raise BadBlob(f"blob {sha256[:16]}... does not match its name (its sha256 is "
                          f"{digest[:16]}...)")
        return got

    def publish_blob(self, sha256, path):
        """PUT the file `path` (whose sha256 the caller computed) unless the remote has it.
        Returns True when it was uploaded."""
        if self.exists(blob_path(sha256)):
            return False
        with open(path, "rb") as fh:
            self._upload(blob_path(sha256), fh, os.fstat(fh.fileno()).st_size)
        return True

    def _download(self, path, out, limit=None):
        """Stream `path` into `out`; (bytes, sha256). FileNotFoundError on 404. A body longer
        than `limit`, or shorter than its Content-Length, is a BadBlob."""
        try:
            resp = self._open("GET", path)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise FileNotFoundError(path) from None
            raise _refused(exc, "read") from None
        h = hashlib.sha256()
        got = 0
        with resp:
            length = resp.headers.get("Content-Length")
            try:
                while True:
                    block = resp.read(CHUNK)
                    if not block:
                        break
                    got += len(block)
                    if limit is not None and got > limit:
                        raise BadBlob(f"{path} is longer than the {limit} bytes expected")
                    h.update(block)
                    out.write(block)
            except (TimeoutError, socket.timeout):
                raise RemoteError(f"no data for {self.timeout:g} s while reading {path}",
                                  down=True) from None
            except (http.client.HTTPException, ConnectionError) as exc:
                raise BadBlob(f"{path}: the transfer broke off after {got} bytes "
                              f"({exc.__class__.__name__})") from None
        if length is not None and length.isdigit() and got != int(length):
            raise BadBlob(f"{path}: the transfer broke off after {got} of {length} bytes")
        return got, h.hexdigest()

    def _upload(self, path, body, size, force=False):
        if not (self.writable or force):
            return
        try:
            with self._open("PUT", path, body=body, size=size):
                pass
        except urllib.error.HTTPError as exc:
            raise _refused(exc, "write") from None

    # ------------------------------------------------------------ --cache-info

    def probe(self):
        """One line: does the remote answer, and (unless read-only) does it take uploads?"""
        start = time.monotonic()
        try:
            self.exists(blob_path(EMPTY_SHA256))
        except RemoteError as exc:
            return f"does not answer: {exc}"
        answers = f"answers ({(time.monotonic() - start) * 1000:.0f} ms)"
        if self.readonly:
            return f"{answers}; read-only: this host never publishes"
        try:  # the empty blob: correct content for its name, harmless to write
            self._upload(blob_path(EMPTY_SHA256), io.BytesIO(b""), 0, force=True)
        except RemoteError as exc:
            return f"{answers}, but refuses uploads: {exc}"
        return f"{answers} and accepts uploads"


def _reason(reason):
    """Why a connection failed, in words."""
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the cache server running?)"
    if isinstance(reason, socket.gaierror):
        return "cannot resolve its host name"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (f"its TLS certificate is not trusted ({reason.verify_message}): set ca-bundle "
                "(DH_PYRPATH_CA_BUNDLE) to the CA that signed it")
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "no answer in time"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason)


def _refused(exc, what):
    """The RemoteError for an HTTP status other than 404."""
    if exc.code in (401, 403) and what == "read":
        return RemoteError(f"HTTP {exc.code} on read: check the credentials (~/.netrc, or "
                           "user:password in the URL given through the environment)", down=True)
    if exc.code in (401, 403, 405, 501) and what == "write":
        return RemoteError(f"HTTP {exc.code} on upload: the server does not let this host "
                           "publish; set DH_PYRPATH_REMOTE_CACHE_READONLY=1 on hosts that must "
                           "not write", no_write=True)
    return RemoteError(f"HTTP {exc.code} on {what}", down=exc.code >= 500)


_CONNECTIONS = {}


def connect(url, readonly=False, ca_bundle=None):
    """The Remote for this URL, one per run: a remote found down for one package is not tried
    again for the next."""
    if not url:
        return None
    key = (url, bool(readonly), ca_bundle)
    if key not in _CONNECTIONS:
        _CONNECTIONS[key] = Remote(url, readonly=readonly, ca_bundle=ca_bundle)
    return _CONNECTIONS[key]
