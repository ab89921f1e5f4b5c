"""Print where the private interpreter lives, from a hatchling project."""
import sys

__version__ = "1.5.0"


def main():
    print(f"hatch-tool {__version__} on {sys.prefix}")
    return 0
