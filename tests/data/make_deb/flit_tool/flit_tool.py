"""Print where the private interpreter lives, from a flit_core project."""
import sys

__version__ = "0.9.dev3"


def main():
    print(f"flit-tool {__version__} on {sys.prefix}")
    return 0
