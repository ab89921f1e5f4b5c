"""Print where the private interpreter lives, from a pdm-backend project."""
import sys

__version__ = "3.1.4"


def main():
    print(f"pdm-tool {__version__} on {sys.prefix}")
    return 0
