"""Run by the *private* interpreter (its marshal format): rewrite the .pyc files under a tree.

usage: pyc_rewrite.py ROOT [OLD NEW]...

Each code object's co_filename that starts with OLD gets NEW instead; a pyc that no longer
matches its source (the source was itself rewritten) is compiled afresh. Every pyc whose
source is present becomes a checked-hash pyc: valid whatever mtimes dpkg gives the files, the
same bytes from any build, and still recompiled in memory if someone edits the .py on a server.
Stand-alone on purpose: it must not import dh_pyrpath, which lives in the system Python.
"""
import importlib.util
import marshal
import os
import sys

CHECKED_HASH = 0b11


def fix_code(code, pairs):
    consts = tuple(fix_code(c, pairs) if isinstance(c, type(code)) else c for c in code.co_consts)
    return code.replace(co_filename=map_name(code.co_filename, pairs), co_consts=consts)


def map_name(filename, pairs):
    for old, new in pairs:
        if filename == old or filename.startswith(old + "/"):
            return new + filename[len(old):]
    return filename


def is_current(data, source, source_bytes):
    """Does the pyc header still describe this source (hash- or timestamp-based)?"""
    flags = int.from_bytes(data[4:8], "little")
    if flags & 0b1:
        return data[8:16] == importlib.util.source_hash(source_bytes)
    st = os.stat(source)
    return (int.from_bytes(data[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(data[12:16], "little") == st.st_size & 0xFFFFFFFF)


def rewrite(path, pairs, magic):
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] != magic:
        return False  # another interpreter's pyc: not ours to touch
    cache_dir = os.path.dirname(path)
    source = os.path.join(os.path.dirname(cache_dir), os.path.basename(path).split(".")[0] + ".py")
    if os.path.isfile(source):
        with open(source, "rb") as fh:
            source_bytes = fh.read()
        header = magic + CHECKED_HASH.to_bytes(4, "little") + importlib.util.source_hash(source_bytes)
        if is_current(data, source, source_bytes):
            code = fix_code(marshal.loads(data[16:]), pairs)
        else:
            # Its constants may name old paths too: compile the current source instead.
            old_name = marshal.loads(data[16:]).co_filename
            code = compile(source_bytes, map_name(old_name, pairs), "exec", dont_inherit=True)
    else:
        header = data[:16]
        code = fix_code(marshal.loads(data[16:]), pairs)
    new = header + marshal.dumps(code)
    if new == data:
        return False
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(new)
    os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)
    return True


def main(argv):
    root, rest = argv[0], argv[1:]
    pairs = sorted(zip(rest[::2], rest[1::2]), key=lambda p: -len(p[0]))
    magic = importlib.util.MAGIC_NUMBER
    changed = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if os.path.basename(dirpath) != "__pycache__":
            continue
        for name in sorted(filenames):
            if name.endswith(".pyc") and rewrite(os.path.join(dirpath, name), pairs, magic):
                changed += 1
    print(f"rewrote {changed} pyc files")


if __name__ == "__main__":
    main(sys.argv[1:])
