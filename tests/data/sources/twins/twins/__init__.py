import json
import sys

import click


@click.command()
def main():
    """Say where this process runs from."""
    click.echo(json.dumps({"prefix": sys.prefix, "click": click.__file__}))
