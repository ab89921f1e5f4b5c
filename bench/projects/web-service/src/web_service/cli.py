"""web-service's console script. It imports the whole stack up front, as services do."""
import click
import httpx  # noqa: F401  (clients a real service would use)
import marshmallow  # noqa: F401
import requests  # noqa: F401

from . import __version__
from .app import create_app


@click.group()
@click.version_option(__version__)
def main():
    """A small web service (Flask, SQLAlchemy, pydantic) with many pinned dependencies."""


@main.command()
def selftest():
    """Create an in-memory database and serve requests through the Flask test client."""
    client = create_app().test_client()
    created = client.post("/items", json={"name": "tea", "price": 2.5})
    assert created.status_code == 201, created.data
    page = client.get("/")
    assert b"tea: 2.5" in page.data, page.data
    click.echo("ok")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8080, type=int)
def serve(host, port):
    """Serve until stopped (Flask's development server)."""
    create_app().run(host=host, port=port)


if __name__ == "__main__":
    main()
