"""Print where the private interpreter lives, from a uv_build project."""
import sys


def main():
    print(f"uv-tool on {sys.prefix}")
    return 0
