"""Run by the *private* interpreter (its compiler and marshal format): compile every module of
a staged tree to bytecode at the path it will have when installed.

usage: compile_pycs.py ROOT FINAL EPOCH MODE CACHE_DIR|- OPT...

ROOT is the staged lib/pythonX.Y, FINAL the same directory's installed path: each code object
names FINAL/... (tracebacks, inspect). EPOCH is SOURCE_DATE_EPOCH: every .py gets it as its
mtime, which dpkg-deb keeps (it clamps mtimes to it) and dpkg restores, so a timestamp pyc's
header stays true on every host. MODE is timestamp, checked-hash or unchecked-hash (PEP 552).
OPT are optimisation levels (0, 1, 2).

CACHE_DIR keeps the marshalled code of each (compiler, level, installed name, source bytes),
so a rebuild compiles only what changed: the stdlib once per prefix, a wheel's modules once.
The header is written afresh each time (it holds the epoch or the source's hash). An entry is
its code followed by the code's sha256: a damaged one is compiled again and replaced.
PYTHONHASHSEED must be fixed by the caller: set and frozenset constants are written in hash
order. Prints one JSON line: counts and the modules that do not compile (they run from source).
Stand-alone on purpose: it must not import dh_pyrpath, which lives in the system Python.
"""
import hashlib
import importlib.util
import json
import marshal
import os
import sys

FLAGS = {"timestamp": 0, "unchecked-hash": 0b01, "checked-hash": 0b11}
KEY_VERSION = b"dh-pyrpath bytecode 1\0"


def modules(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if name.endswith(".py") and not os.path.islink(path):
                yield path


def cached_code(cache_dir, key):
    path = os.path.join(cache_dir, key[:2], key)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    code, digest = data[:-32], data[-32:]
    return code if len(data) > 32 and hashlib.sha256(code).digest() == digest else None


def store_code(cache_dir, key, code):
    folder = os.path.join(cache_dir, key[:2])
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{key}.{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(code + hashlib.sha256(code).digest())
        os.replace(tmp, os.path.join(folder, key))  # whole or not at all, for other builds
    except OSError:
        # a read-only or full cache costs this build nothing but the saving
        if os.path.exists(tmp):
            os.unlink(tmp)


def header(mode, source, epoch):
    flags = FLAGS[mode]
    if mode == "timestamp":
        tail = (epoch & 0xFFFFFFFF).to_bytes(4, "little") + (len(source) & 0xFFFFFFFF).to_bytes(
            4, "little")
    else:
        tail = importlib.util.source_hash(source)
    return importlib.util.MAGIC_NUMBER + flags.to_bytes(4, "little") + tail


def main(argv):
    root, final, epoch, mode, cache_dir, *levels = argv
    epoch, cache_dir = int(epoch), None if cache_dir == "-" else cache_dir
    levels = [int(level) for level in levels] or [0]
    counts = {"modules": 0, "compiled": 0, "cached": 0}
    failed = []
    for path in modules(root):
        counts["modules"] += 1
        os.utime(path, (epoch, epoch))
        with open(path, "rb") as fh:
            source = fh.read()
        name = final + path[len(root):]
        for level in levels:
            key = hashlib.sha256(KEY_VERSION + importlib.util.MAGIC_NUMBER + bytes([level])
                                 + name.encode() + b"\0" + source).hexdigest()
            code = cached_code(cache_dir, key) if cache_dir else None
            if code is not None:
                counts["cached"] += 1
            else:
                try:
                    code = marshal.dumps(compile(source, name, "exec", dont_inherit=True,
                                                 optimize=level))
                except (SyntaxError, ValueError, UnicodeDecodeError):
                    failed.append(name)
                    break
                counts["compiled"] += 1
                if cache_dir:
                    store_code(cache_dir, key, code)
            pyc = importlib.util.cache_from_source(path, optimization="" if level == 0 else level)
            if not os.path.isdir(os.path.dirname(pyc)):
                os.mkdir(os.path.dirname(pyc))
                os.chmod(os.path.dirname(pyc), 0o755)  # not the umask's (a shared cache's is 002)
            with open(pyc, "wb") as fh:
                fh.write(header(mode, source, epoch) + code)
            os.chmod(pyc, 0o644)
    print(json.dumps({**counts, "failed": failed}))


if __name__ == "__main__":
    main(sys.argv[1:])
