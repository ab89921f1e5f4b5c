"""Entries: directories the store publishes under a key, each with a manifest of its files.

An entry is `<kind>/<key>/` holding `payload/` and `manifest.json` (every file's kind, mode,
size and sha256, written once when the entry is complete). Its key is the hash of one JSON
document in its payload (KEY_DOCUMENT) that whoever builds the entry writes: the store checks
the hash and knows nothing of what the document says. An entry that does not match its manifest
is never used. The stamp `last-used` beside the payload dates it for --cache-prune.

Entries travel to and from a remote cache (remote.py) packed as one blob (archive.py) and named
by a small record; everything fetched is verified as a local entry is before it is published.
"""
import hashlib
import json
import os
import time
from pathlib import Path

from .archive import ENTRY_FORMAT, pack_entry, unpack_entry
from .cache import progress
from .files import (discard, manifest_problems, sha256_file, share_modes, summarize,
                    tree_manifest)
from .remote import BadBlob, RemoteError, blob_path, is_sha256

MANIFEST = "manifest.json"
# The payload's document whose hash is the entry's key (an interpreter's recipe).
KEY_DOCUMENT = "recipe.json"


def key_of(document):
    """The key of an entry whose KEY_DOCUMENT is `document` (a JSON value)."""
    blob = json.dumps(document, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:32]



def entry_record(record):
    """(blob sha256, size, manifest sha256) of a remote interpreter record, checked."""
    blob, size, manifest = record.get("blob"), record.get("size"), record.get("manifest")
    if (record.get("format") != ENTRY_FORMAT or not is_sha256(blob) or not is_sha256(manifest)
            or not isinstance(size, int) or size < 0):
        raise BadBlob(f"its record is not a {ENTRY_FORMAT} record")
    return blob, size, manifest


def check_entry(entry, key, manifest_sum):
    """Raise BadBlob unless the unpacked `entry` is interpreter entry `key` and intact: its
    manifest is the one the record names, the payload matches it, the recipe hashes to key."""
    entry = Path(entry)
    if sorted(p.name for p in entry.iterdir()) != [MANIFEST, "payload"]:
        raise BadBlob("the entry lacks manifest.json or payload/, or holds more")
    if sha256_file(entry / MANIFEST) != manifest_sum:
        raise BadBlob("its manifest is not the one its record names")
    manifest = read_manifest(entry)
    if not isinstance(manifest, dict):
        raise BadBlob("its manifest is not readable")
    problems = manifest_problems(entry / "payload", manifest)
    if problems:
        raise BadBlob(f"the entry does not match its manifest ({summarize(problems)})")
    try:
        document = json.loads((entry / "payload" / KEY_DOCUMENT).read_text())
    except (OSError, ValueError):
        raise BadBlob(f"the entry has no readable {KEY_DOCUMENT}") from None
    if key_of(document) != key:
        raise BadBlob(f"its recipe is that of entry {key_of(document)}")


LAST_USED = "last-used"


def touch_last_used(entry):
    """Stamp an entry as used now (outside its payload, so the manifest stays valid).

    In a shared cache the stamp may be another user's (group-writable: utime works); where it
    cannot be stamped, the entry only ages sooner for --cache-prune."""
    stamp = Path(entry) / LAST_USED
    try:
        os.utime(stamp)
    except FileNotFoundError:
        try:
            os.close(os.open(stamp, os.O_WRONLY | os.O_CREAT, 0o666))
        except PermissionError:
            pass
    except PermissionError:
        pass


def last_used(entry):
    stamp = Path(entry) / LAST_USED
    return (stamp if stamp.exists() else Path(entry)).stat().st_mtime


def write_manifest(entry, tree):
    """Record the manifest of `tree` in `entry`/manifest.json, its modes made shareable first
    (share_modes): the manifest is written once, when the entry is complete."""
    share_modes(tree)
    with open(Path(entry) / MANIFEST, "w", encoding="utf-8") as fh:
        json.dump(tree_manifest(tree), fh, sort_keys=True)


def entry_problems(entry):
    """What is wrong with the local entry directory `entry` (empty when it is intact)."""
    manifest = read_manifest(entry)
    if manifest is None:
        return [f"{MANIFEST} is missing or unreadable"]
    return manifest_problems(Path(entry) / "payload", manifest)


def read_manifest(entry):
    try:
        with open(Path(entry) / MANIFEST, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def fetch_interpreter(cache, key, log):
    """Bring interpreter entry `key` from the remote cache into place, verified; True when
    it is there now. The caller holds the key's lock. Without a remote: False."""
    remote = cache.remote_for()
    if remote is None:
        return False
    staging = None
    try:
        record = remote.get_record("interpreter", key)
        if record is None:
            log.write(f"remote cache: no interpreter entry {key}")
            return False
        blob, size, manifest_sum = entry_record(record)
        # named like a build's staging directory: prune removes it when the key is free
        staging = cache.tempdir(f"interpreter-{key}-")
        start = time.monotonic()
        with open(staging / "blob", "wb") as out:
            if remote.fetch_blob(blob, out, size) is None:
                log.write(f"remote cache: interpreter entry {key} names blob {blob}, which "
                          "it no longer holds")
                return False
        unpack_entry(staging / "blob", staging / "entry")
        os.unlink(staging / "blob")
        check_entry(staging / "entry", key, manifest_sum)
        cache.publish(staging / "entry", cache.path("interpreters", key))
        progress(log, f"remote cache: fetched interpreter {key}", size, start, always=True)
        cache.fetched.add(key)
        return True
    except (RemoteError, BadBlob) as exc:
        cache.remote_trouble(exc, log, f"interpreter entry {key}",
                             "discarded, building it here")
        return False
    finally:
        if staging is not None:
            discard(staging)

def offer_interpreter(cache, key, log):
    """Publish the local entry `key` to the remote cache unless it has it already (one
    request), or is read-only, or the entry is not intact. An entry of this key with other
    contents on the remote is not overwritten: it is reported."""
    remote = cache.remote_for(write=True)
    entry = cache.path("interpreters", key)
    if remote is None or key in cache.fetched or not (entry / MANIFEST).is_file():
        return
    tmp = None
    try:
        manifest_sum = sha256_file(entry / MANIFEST)
        record = remote.get_record("interpreter", key)
        if record is not None:
            blob, _, theirs = entry_record(record)
            if theirs != manifest_sum:
                log.warn(f"remote cache {remote.label}: it holds another interpreter entry "
                         f"{key} (manifest {theirs[:12]}, this host's {manifest_sum[:12]}):"
                         " not overwritten; two builds of one key differ (docs/cache.md)")
                return
            if remote.exists(blob_path(blob)):
                log.write(f"remote cache: has interpreter entry {key}")
                return
            # the same entry, its blob evicted (bazel-remote ages blobs): upload it again
        problems = manifest_problems(entry / "payload", read_manifest(entry) or {})
        if problems:
            log.warn(f"remote cache: interpreter entry {key} does not match its manifest "
                     f"({problems[0]}): not published")
            return
        tmp = cache.tempdir("remote-")
        start = time.monotonic()
        with open(tmp / "entry.tar.gz", "wb") as out:
            pack_entry(entry, out)
        blob, size = sha256_file(tmp / "entry.tar.gz"), (tmp / "entry.tar.gz").stat().st_size
        remote.publish_blob(blob, tmp / "entry.tar.gz")
        # the blob first: a record never names a blob that is not there yet
        remote.put_record("interpreter", key, {
            "format": ENTRY_FORMAT, "key": key, "blob": blob, "size": size,
            "manifest": manifest_sum})
        progress(log, f"remote cache: published interpreter {key}", size, start,
                  always=True)
    except (RemoteError, BadBlob) as exc:
        cache.remote_trouble(exc, log, f"interpreter entry {key}",
                             "left as it is, not published")
    finally:
        if tmp is not None:
            discard(tmp)
