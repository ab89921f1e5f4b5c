"""Print where the private interpreter lives, from a poetry-core 1 project."""
import sys


def main():
    print(f"poetry1-tool on {sys.prefix}")
    return 0
