import sys


def main():
    print(f"cool-app running on {sys.prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
