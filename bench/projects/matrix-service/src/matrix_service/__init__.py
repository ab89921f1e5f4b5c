"""The tiny service of bench/matrix: `matrix-service selftest` (or `python -m matrix_service`)
exercises the stdlib modules a service relies on and prints `ok <version>`."""
import sys

import click


def selftest():
    import decimal
    import hashlib
    import json
    import sqlite3
    import ssl
    import zlib
    ssl.create_default_context()
    assert json.loads(json.dumps({"a": [1, 2]})) == {"a": [1, 2]}
    assert sqlite3.connect(":memory:").execute("select 1").fetchone() == (1,)
    assert str(decimal.Decimal(1) / decimal.Decimal(8)) == "0.125"
    assert hashlib.sha256(b"").hexdigest().startswith("e3b0c442")
    assert zlib.decompress(zlib.compress(b"x" * 100)) == b"x" * 100
    return f"ok {sys.version.split()[0]}"


@click.group()
def main():
    """A tiny service packaged with its own CPython."""


@main.command("selftest")
def selftest_command():
    click.echo(selftest())
