"""Print where the private interpreter lives, from a poetry-core 2 project."""
import sys


def main():
    print(f"poetry2-tool on {sys.prefix}")
    return 0
