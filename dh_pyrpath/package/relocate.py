"""Make a staged tree correct at its final path.

Text files (sysconfig data, Makefile, .pc files, python-config, shebangs, RECORD) get the old
prefix replaced; compiled-in C strings in ELF files are patched in place (the placeholder prefix
is long enough, and NUL padding keeps every offset); bytecode is dropped (bytecode.py compiles
it afresh at its final path once relocation is done). RECORD hashes follow the files they describe.
The cache entry's own pycs are rewritten by the private interpreter (helpers/pyc_rewrite.py).
"""
import base64
import csv
import hashlib
import io
import os
import re
import shutil
from pathlib import Path

HELPERS = Path(__file__).resolve().parent / "helpers"
ELF_MAGIC = b"\x7fELF"


def regular_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                yield path


def is_elf(path):
    with open(path, "rb") as fh:
        return fh.read(4) == ELF_MAGIC


def elf_files(root):
    """Every ELF file under root (no symlinks), in a stable order."""
    return (path for path in regular_files(root) if is_elf(path))


def rewrite_text_files(root, mapping):
    """Replace each old path by its new one in every text file under root; return changed paths.

    Binary files (NUL bytes) are left alone: their offsets matter. ELF strings are
    patch_elf_strings' job, .pyc files rewrite_pycs'.
    """
    pairs = sorted(((o.encode(), n.encode()) for o, n in mapping.items()), key=lambda p: -len(p[0]))
    changed = set()
    for path in regular_files(root):
        if path.endswith(".pyc"):
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        if not any(old in data for old, _ in pairs) or b"\0" in data:
            continue
        for old, new in pairs:
            data = data.replace(old, new)
        _write_same_mode(path, data)
        changed.add(path)
    return changed


def _write_same_mode(path, data):
    tmp = path + ".dh-pyrpath-tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)


def patch_c_strings(data, old, new):
    """Replace NUL-terminated strings starting with `old` by `new` + rest, padded with NULs."""
    if len(new) > len(old):
        raise ValueError("the new prefix must not be longer than the placeholder")
    out = bytearray(data)
    start = out.find(old)
    while start != -1:
        end = out.index(b"\0", start)
        value = bytes(out[start:end])
        replaced = new + value[len(old):]
        out[start:end] = replaced + b"\0" * (len(value) - len(replaced))
        start = out.find(old, start + len(replaced) + 1)
    return bytes(out)


def patch_elf_strings(root, old, new):
    """Patch compiled-in paths (libpython's PREFIX) in every ELF file that holds `old`."""
    changed = set()
    old_b, new_b = old.encode(), new.encode()
    for path in elf_files(root):
        with open(path, "rb") as fh:
            data = fh.read()
        if old_b in data:
            _write_same_mode(path, patch_c_strings(data, old_b, new_b))
            changed.add(path)
    return changed


def drop_bytecode(root):
    """Remove every __pycache__ under root: what the cache entry and pip compiled names the
    staged paths; bytecode.py compiles the package's own. Returns the removed pyc files."""
    removed = set()
    for dirpath, dirnames, _ in os.walk(root):
        if "__pycache__" in dirnames:
            cache = os.path.join(dirpath, "__pycache__")
            removed |= {os.path.join(cache, n) for n in os.listdir(cache)}
            shutil.rmtree(cache)
            dirnames.remove("__pycache__")
    return removed


def rewrite_pycs(python, root, mapping, log):
    """Rewrite co_filename paths and make every pyc checked-hash, with the private python."""
    args = [python, "-I", "-S", HELPERS / "pyc_rewrite.py", root]
    for old, new in mapping.items():
        args += [old, new]
    log.run(args, "rewrite .pyc files", env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                             "LC_ALL": "C.UTF-8"})


# pip (distlib) writes this instead of a shebang when the interpreter's path is longer than a
# shebang may be, as the staging path often is; the final path always fits.
_SH_WRAPPER = re.compile(b"\\A#!/bin/sh\n'''exec' (\\S+) \"\\$0\" \"\\$@\"\n' '''\n")


def set_shebang_flags(bindir, python, flags):
    """Give scripts that run `python` (the final path) a plain shebang with the interpreter
    flags, e.g. `#!/opt/svc/bin/python3.11 -I`."""
    changed = set()
    if not os.path.isdir(bindir):
        return changed
    pattern = re.compile(rb"^#!" + re.escape(python.encode()) + rb"(\d(\.\d+)?)?( .*)?$")
    for name in sorted(os.listdir(bindir)):
        path = os.path.join(bindir, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        wrapped = _SH_WRAPPER.match(data)
        if wrapped:
            first, nl, rest = b"#!" + wrapped.group(1), b"\n", data[wrapped.end():]
        else:
            first, nl, rest = data.partition(b"\n")
        match = pattern.match(first)
        if not match:
            continue
        line = b"#!" + python.encode() + (match.group(1) or b"")
        if flags:
            line += b" " + flags.encode()
        if line + nl + rest != data:
            _write_same_mode(path, line + nl + rest)
            changed.add(path)
    return changed


def _record_hash(path):
    digest = hashlib.sha256(Path(path).read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def drop_direct_url(site_packages):
    """direct_url.json names the build directory a project was installed from: remove it."""
    removed = set()
    for path in Path(site_packages).glob("*.dist-info/direct_url.json"):
        path.unlink()
        removed.add(str(path))
    return removed


def fix_records(site_packages, changed, removed=frozenset()):
    """Bring RECORD hashes and sizes in line with rewritten files; forget removed ones."""
    changed = {os.path.realpath(p) for p in changed}
    removed = {os.path.realpath(p) for p in removed}
    for record in Path(site_packages).glob("*.dist-info/RECORD"):
        rows = list(csv.reader(io.StringIO(record.read_text(encoding="utf-8"))))
        out, dirty = [], False
        for row in rows:
            if not row:
                continue
            target = os.path.realpath(os.path.join(site_packages, row[0]))
            if target in removed:
                dirty = True
                continue
            if target in changed and len(row) >= 3 and row[1]:
                row = [row[0], _record_hash(target), str(os.path.getsize(target))]
                dirty = True
            out.append(row)
        if dirty:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(out)
            _write_same_mode(str(record), buf.getvalue().encode("utf-8"))


def relocate_tree(staged, final, python_xy, placeholder, shebang_flags):
    """Make the tree at `staged` correct for `final` (its install path)."""
    mapping = {staged: final, placeholder: final}
    site = os.path.join(staged, "lib", f"python{python_xy}", "site-packages")
    removed = drop_bytecode(staged) | drop_direct_url(site)  # first: the scans below skip them
    changed = rewrite_text_files(staged, mapping)
    patch_elf_strings(staged, placeholder, final)
    changed |= set_shebang_flags(os.path.join(staged, "bin"),
                                 f"{final}/bin/python", shebang_flags)
    fix_records(site, changed, removed)
