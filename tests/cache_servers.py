"""Loopback servers for the remote-cache tests: Debian's nginx with a PUT-enabled location, a
small in-process store whose faults a test chooses, a socket that never answers, a closed port.

Every server listens on 127.0.0.1 only and is stopped by the test that started it.
"""
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

NGINX = "/usr/sbin/nginx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc=None, timeout=15):
    """Until something accepts on 127.0.0.1:port (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


NGINX_CONF = """\
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        # the set-up docs/cache.md gives
        location /cache/ {{
            dav_methods PUT;
            create_full_put_path on;
            dav_access group:rw all:r;
            client_max_body_size 0;
        }}
        # the same store, for runners that may only read: a PUT is refused with 403
        location /readonly/ {{
            alias {root}/cache/;
            limit_except GET HEAD {{ deny all; }}
        }}
    }}
}}
"""


class Nginx:
    """Debian's nginx in the foreground, with its own prefix and configuration in `workdir`."""

    def __init__(self, workdir):
        self.prefix = Path(workdir) / "nginx"
        self.root = self.prefix / "www"
        (self.root / "cache").mkdir(parents=True)
        self.port = free_port()
        user = "user root root;\n" if os.geteuid() == 0 else ""
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(NGINX_CONF.format(user=user, prefix=self.prefix, port=self.port,
                                               root=self.root))
        self.proc = subprocess.Popen([NGINX, "-p", str(self.prefix), "-c", str(self.conf),
                                      "-e", str(self.prefix / "error.log"),
                                      "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc)

    def url(self, location="cache"):
        return f"http://127.0.0.1:{self.port}/{location}"

    @property
    def store(self):
        return self.root / "cache"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def errors(self):
        log = self.prefix / "error.log"
        return log.read_text() if log.exists() else ""


class Store(http.server.ThreadingHTTPServer):
    """An in-memory GET/HEAD/PUT store. `requests` records (method, path, headers); faults:
    deny_put (403 on every PUT), truncate (paths whose GET sends half the body it announces),
    fail_once (paths that answer 503 the first time)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _StoreHandler)
        self.blobs = {}
        self.requests = []
        self.deny_put = False
        self.truncate = set()
        self.fail_once = set()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/c"

    def methods(self, method):
        return [path for m, path, _ in self.requests if m == method]

    def stop(self):
        self.shutdown()
        self.server_close()


class _StoreHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _key(self):
        return self.path[len("/c/"):] if self.path.startswith("/c/") else None

    def _answer(self, code, body=b"", length=None):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.server.requests.append(("HEAD", self.path, dict(self.headers)))
        key = self._key()
        if key in self.server.blobs:
            self._answer(200, length=len(self.server.blobs[key]))
        else:
            self._answer(404)

    def do_GET(self):
        self.server.requests.append(("GET", self.path, dict(self.headers)))
        key = self._key()
        if key in self.server.fail_once:
            self.server.fail_once.discard(key)
            self._answer(503, b"try again")
            return
        if key not in self.server.blobs:
            self._answer(404)
            return
        body = self.server.blobs[key]
        if key in self.server.truncate:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._answer(200, body)

    def do_PUT(self):
        self.server.requests.append(("PUT", self.path, dict(self.headers)))
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.server.deny_put:
            self._answer(403, b"forbidden")
            return
        self.server.blobs[self._key()] = body
        self._answer(201)


class Hanging:
    """Accepts connections and never answers (a remote that hangs); at most `limit` are held."""

    def __init__(self, limit=16):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(limit)
        self.held = []
        self.limit = limit
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/c"

    def _accept(self):
        while len(self.held) < self.limit:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def stop(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def refused_url():
    """A loopback URL where nothing listens: connection refused."""
    return f"http://127.0.0.1:{free_port()}/c"


def copy_tree(src, dest):
    shutil.copytree(src, dest, symlinks=True)
    return dest
