"""hello-service's console script."""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import click

from . import __version__


@click.group()
@click.version_option(__version__)
def main():
    """A small service that proves it runs on its own interpreter."""


@main.command()
@click.option("--name", default="world", help="who to greet")
def greet(name):
    """Print a greeting."""
    click.echo(f"Hello, {name}!")


@main.command()
def ping():
    """Send a message through libzmq (a vendored library) and back."""
    import zmq

    ctx = zmq.Context.instance()
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    a.bind("inproc://ping")
    b.connect("inproc://ping")
    a.send(b"ping")
    reply = b.recv()
    a.close()
    b.close()
    click.echo(f"{reply.decode()} via libzmq {zmq.zmq_version()}")


def _mapped_libraries():
    with open("/proc/self/maps", encoding="utf-8") as fh:
        paths = {line.split()[-1] for line in fh if len(line.split()) >= 6}
    return sorted(p for p in paths if "/" in p and ".so" in p)


@main.command()
def diagnose():
    """Print, as JSON, what this process runs on."""
    import _json
    import zmq

    report = {
        "version": __version__,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "python": sys.version.split()[0],
        "path": sys.path,
        "modules": {m.__name__: m.__file__ for m in (json, _json, click, zmq)},
        "libpython": [p for p in _mapped_libraries() if p.rsplit("/", 1)[-1].startswith("libpython")],
        "ld_library_path": os.environ.get("LD_LIBRARY_PATH", ""),
    }
    click.echo(json.dumps(report, indent=1, sort_keys=True))


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"hello": "world", "python": sys.version.split()[0]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8080, type=int)
def serve(host, port):
    """Serve a tiny JSON HTTP endpoint until stopped."""
    server = ThreadingHTTPServer((host, port), _Handler)
    click.echo(f"serving on http://{host}:{server.server_address[1]}", err=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
