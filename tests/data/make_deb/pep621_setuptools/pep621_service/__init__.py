"""pep621-service."""
import sys

__version__ = "2.0.0"


def main():
    print(f"pep621-service {__version__} on {sys.prefix}")
    return 0
