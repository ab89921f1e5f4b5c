"""tiny-web: a tiny HTTP service that reports what it runs as (for dh-pyrpath's tests)."""
import argparse
import json
import os
import pwd
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version

CONFIG = os.environ.get("TINY_WEB_CONFIG", "/etc/tiny-web/tiny-web.conf")


def _can_write(directory):
    path = os.path.join(directory, f".tiny-web-probe-{os.getpid()}")
    try:
        with open(path, "w") as fh:
            fh.write("x")
        os.unlink(path)
        return True
    except OSError:
        return False


def _umask():
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _hits():
    """Count requests in the working directory: the state the service keeps."""
    try:
        with open("hits", encoding="ascii") as fh:
            count = int(fh.read() or 0) + 1
    except FileNotFoundError:
        count = 1
    try:
        with open("hits", "w", encoding="ascii") as fh:
            fh.write(str(count))
    except OSError:
        return -1
    return count


BANNER = ""


def report():
    try:
        with open(CONFIG, encoding="utf-8") as fh:
            config = fh.read()
    except OSError as exc:
        config = f"unreadable: {exc.strerror}"
    return {
        "version": version("tiny-web"),
        "pid": os.getpid(),
        "uid": os.getuid(),
        "gid": os.getgid(),
        "user": pwd.getpwuid(os.getuid()).pw_name,
        "cwd": os.getcwd(),
        "executable": sys.executable,
        "greeting": os.environ.get("GREETING", ""),
        "banner": BANNER,
        "argv": sys.argv,
        "config": config,
        "hits": _hits(),
        "umask": oct(_umask()),
        "writable": {d: _can_write(d) for d in (os.getcwd(), "/tmp", sys.prefix, "/etc")},
    }


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(report(), sort_keys=True).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print(f"tiny-web: {self.address_string()} {fmt % args}", file=sys.stderr)


def serve():
    global BANNER
    parser = argparse.ArgumentParser(prog="tiny-web")
    parser.add_argument("--port", type=int, default=int(os.environ.get("TINY_WEB_PORT", "8080")))
    parser.add_argument("--bind", default=os.environ.get("TINY_WEB_BIND", "127.0.0.1"))
    parser.add_argument("--banner", default="")
    args = parser.parse_args()
    BANNER = args.banner
    bind, port = args.bind, args.port
    server = ThreadingHTTPServer((bind, port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"tiny-web {version('tiny-web')} listening on {bind}:{port}", flush=True)
    server.serve_forever()


def work():
    parser = argparse.ArgumentParser(prog="tiny-web-worker")
    parser.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    n = 0
    while True:
        n += 1
        print(f"tiny-web-worker: tick {n}", flush=True)
        time.sleep(args.interval)
