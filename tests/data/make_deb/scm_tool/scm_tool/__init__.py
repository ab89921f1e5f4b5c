"""Print where the private interpreter lives; the version is the installed distribution's."""
import sys
from importlib.metadata import version


def main():
    print(f"scm-tool {version('scm-tool')} on {sys.prefix}")
    return 0
