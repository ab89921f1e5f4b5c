"""An entry packed as one blob for the remote cache: a gzip'd tar of manifest.json and payload/
with fixed owners and times, and its careful unpacking (nothing outside the entry, no device
files, hard links or setuid bits, no path twice)."""
import gzip
import os
import stat
import tarfile
import zlib
from pathlib import Path

from .remote import CHUNK, BadBlob

ENTRY_FORMAT = "dh-pyrpath-entry-1"  # a gzip'd tar of manifest.json and payload/


# ---------------------------------------------------------------- interpreter entries on the wire

def pack_entry(entry, out):
    """Write cache entry `entry` (manifest.json and payload/) to the binary file `out` as a
    gzip'd tar, deterministically: sorted names, no owners, mtime 0, modes as they are (the
    manifest records them). Two hosts packing the same entry write the same bytes."""
    entry = Path(entry)
    names = ["manifest.json"]
    for dirpath, dirnames, filenames in os.walk(entry / "payload"):
        dirnames.sort()
        rel = Path(dirpath).relative_to(entry)
        names.append(str(rel))
        names += [str(rel / n) for n in sorted(filenames)]
        # symlinks to directories are listed in dirnames and not descended into
        names += [str(rel / d) for d in dirnames if os.path.islink(Path(dirpath) / d)]
    names.sort()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=6, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            path = entry / name
            st = path.lstat()
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
                tar.addfile(info)
            elif stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                if name == "manifest.json":
                    info.mode = 0o644  # outside the manifest: whatever the umask made it
                info.size = st.st_size
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)


def unpack_entry(blob, dest, max_bytes=8 << 30):
    """Unpack a packed entry (a file path) into the new directory `dest`, refusing anything a
    packed entry never holds: paths outside dest, links as parents, devices, hard links,
    setuid bits, a second copy of a path. Raises BadBlob. Modes are set exactly (umask aside),
    mtimes are left at now, as a build here would have left them."""
    dest = Path(dest)
    dest.mkdir(mode=0o700)
    dirs = {"": dest}
    modes = []
    total = 0
    try:
        with tarfile.open(blob, mode="r|gz") as tar:
            for member in tar:
                name = member.name
                parts = name.split("/")
                if (name.startswith("/") or any(p in ("", ".", "..") for p in parts)
                        or parts[0] not in ("manifest.json", "payload")):
                    raise BadBlob(f"the entry holds a path it must not: {name!r}")
                parent = dirs.get("/".join(parts[:-1]))
                if parent is None:
                    raise BadBlob(f"the entry holds {name!r} before its directory")
                path = parent / parts[-1]
                if name in dirs or os.path.lexists(path):
                    raise BadBlob(f"the entry holds {name!r} twice")
                mode = member.mode & 0o777
                if member.isdir():
                    path.mkdir(mode=0o700)
                    dirs[name] = path
                    modes.append((path, mode))
                elif member.issym():
                    os.symlink(member.linkname, path)
                elif member.isreg():
                    total += member.size
                    if total > max_bytes:
                        raise BadBlob(f"the entry unpacks to more than {max_bytes} bytes")
                    src = tar.extractfile(member)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                                 0o600)
                    with os.fdopen(fd, "wb") as fh:
                        while True:
                            block = src.read(CHUNK)
                            if not block:
                                break
                            fh.write(block)
                        os.fchmod(fh.fileno(), mode)
                else:
                    raise BadBlob(f"the entry holds {name!r}, which is neither a file, a "
                                  "directory nor a symlink")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise BadBlob(f"the entry is not a readable tar.gz ({exc})") from None
    for path, mode in reversed(modes):  # innermost first: a read-only parent is set last
        os.chmod(path, mode)
