import six


def main():
    print("oldstyle with six", six.__version__)
