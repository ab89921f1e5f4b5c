"""A package index on the loopback interface, over HTTPS with a certificate made for the test
(openssl): the "simple" pages (PEP 503) of the wheels and sdists in one directory. It stands
for an index behind a TLS proxy or with a private CA."""
import hashlib
import html
import re
import ssl
import subprocess
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1; returns (cert.pem, key.pem)."""
    directory = Path(directory)
    cert, key = directory / "index-cert.pem", directory / "index-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def _project(filename):
    name = re.split(r"-\d", filename, 1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


@contextmanager
def serve(files_dir, cert, key):
    """Serve `files_dir` as an index at https://127.0.0.1:<port>/simple/; yields that URL."""
    files_dir = Path(files_dir)
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            requests.append(self.path)
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            if parts[:1] == ["files"] and len(parts) == 2 and (files_dir / parts[1]).is_file():
                body = (files_dir / parts[1]).read_bytes()
                kind = "application/octet-stream"
            elif parts[:1] == ["simple"] and len(parts) == 2:
                links = []
                for path in sorted(files_dir.iterdir()):
                    if _project(path.name) == parts[1]:
                        digest = hashlib.sha256(path.read_bytes()).hexdigest()
                        links.append(f'<a href="/files/{html.escape(path.name)}#sha256={digest}">'
                                     f"{html.escape(path.name)}</a><br>")
                if not links:
                    self.send_error(404)
                    return
                body = ("<!DOCTYPE html><html><body>" + "".join(links)
                        + "</body></html>").encode()
                kind = "text/html"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/simple", requests
    finally:
        server.shutdown()
        server.server_close()
