import json
import sys

import attrs
import click
import docopt
import six


@click.command()
def main():
    """Say which versions of the locked dependencies this process runs with."""
    click.echo(json.dumps({"prefix": sys.prefix, "attrs": attrs.__version__,
                           "six": six.__version__, "docopt": docopt.__version__}))
