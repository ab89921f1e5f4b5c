import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hello-kwargs")
    parser.add_argument("--name", default="world")
    args = parser.parse_args(argv)
    print(f"hello {args.name} from {sys.prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
