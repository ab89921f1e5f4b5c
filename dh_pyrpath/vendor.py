"""Vendored build inputs: `dh_pyrpath --vendor`, and what builds take from it.

Debian Policy 4.9: a build must not use the network; pbuilder, cowbuilder and sbuild build with
none, and without a user cache. `dh_pyrpath --vendor`, run in the source tree where there is
network, puts everything the builds of every package of debian/control need into the source
tree; from then on the build needs no network, no apt and no cache, and uses the vendored files
automatically. dh-cargo and dh-golang work the same way with their vendor directories.

Layout of the vendor directory (the `vendor-dir` setting, default pyrpath-vendor/ at the top of
the source tree; shared by all packages):

  MANIFEST.json   every file with its sha256 and size; per package the CPython source it
                  resolved and the digests of the inputs it was made from (python-source, the
                  lock or requirements file, the project's build configuration)
  cpython/        the CPython tarball, and Debian's .debian.tar for debian: sources
  python/         wheels and sdists: the locked distributions for the target, the project's
                  build requirements and those of every sdist (pip --no-index --find-links)

A build checks the manifest first: a file missing or with another sha256, or an input changed
since `--vendor` (the lock was updated), stops it with one line that names the file and
`dh_pyrpath --vendor` as the fix. Running `--vendor` again keeps what is still right, fetches
what is missing and removes what is no longer needed.
"""
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import debhelper
from .deps import vendoring
from .errors import PyrpathError
from .python import interpreter, placement, sources
from .store.files import sha256_file

FORMAT = 1
MANIFEST = "MANIFEST.json"


class StaleVendor(PyrpathError):
    """The vendor directory does not match what the build needs."""


def _fix(vendor_dir):
    return f"run `dh_pyrpath --vendor` (with network) to update {vendor_dir}"


@dataclass
class VendorSet:
    """A verified vendor directory."""
    root: Path
    manifest: dict

    @classmethod
    def open(cls, root):
        """The vendor directory at `root` (verified, file by file), or None when there is none."""
        root = Path(root)
        if not root.exists():
            return None
        try:
            manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StaleVendor(f"{root}/{MANIFEST} is missing or unreadable ({exc}): "
                              f"{_fix(root)}") from None
        if manifest.get("format") != FORMAT:
            raise StaleVendor(f"{root}/{MANIFEST} has format {manifest.get('format')}, this "
                              f"dh_pyrpath reads {FORMAT}: {_fix(root)}")
        for rel, want in sorted(manifest.get("files", {}).items()):
            path = root / rel
            if not path.is_file():
                raise StaleVendor(f"vendored file {root}/{rel} is missing: {_fix(root)}")
            got = sha256_file(path)
            if got != want["sha256"]:
                raise StaleVendor(f"vendored file {root}/{rel} has sha256 {got}, the manifest "
                                  f"says {want['sha256']}: it is corrupt or was changed; "
                                  f"{_fix(root)}")
        return cls(root, manifest)

    def for_package(self, settings, project_dir):
        """The vendored inputs of one package, checked against its current settings and
        inputs; raise StaleVendor when they no longer match."""
        entry = self.manifest.get("packages", {}).get(settings.package)
        if entry is None:
            raise StaleVendor(f"{self.root} has nothing vendored for package "
                              f"{settings.package}: {_fix(self.root)}")
        if entry.get("python-source") != settings.python_source:
            raise StaleVendor(f"{self.root} was made for python-source = "
                              f"{entry.get('python-source')}, the build asks for "
                              f"{settings.python_source}: {_fix(self.root)}")
        current = vendoring.vendor_inputs(settings, project_dir)
        for rel in sorted(set(current) | set(entry.get("inputs", {}))):
            if current.get(rel) != entry.get("inputs", {}).get(rel):
                raise StaleVendor(f"{rel} changed since {self.root} was made: {_fix(self.root)}")
        return PackageVendor(self.root, entry)


@dataclass
class PackageVendor:
    root: Path
    entry: dict

    @property
    def python_dir(self):
        return self.root / "python"

    def cpython(self, spec, sha256):
        """The vendored CPython source for `spec` (checked with the manifest already)."""
        c = self.entry["cpython"]
        tarball = self.root / c["tarball"]
        debian = None
        if c.get("debian"):
            debian = sources.DebianPatches(self.root / c["debian"], c["debian_sha256"],
                                           f"{c['package']} {c['revision']}")
        # the label an online build gives the same files: it is in build-info.json and the
        # SBOM, which must not depend on where the files came from (the log says it)
        label = tarball.name + (f" (Debian {c['package']} {c['revision']})"
                                if c.get("package") else "")
        return sources.Source(tarball, c["sha256"], label, debian, package=c.get("package"),
                              revision=c.get("revision"), release=c.get("release"))


def open_for(settings):
    """The package's vendored inputs when the source tree has a vendor directory, else None."""
    found = VendorSet.open(settings.vendor_dir)
    return found.for_package(settings, Path(settings.project_dir)) if found else None


# ---------------------------------------------------------------- dh_pyrpath --vendor

def make(plans, build_opts, log, cache=None):
    """Fill the vendor directory for every package in `plans` (Settings sharing one vendor_dir):
    made anew beside the old one and swapped in, so an interrupted run leaves the old set.
    Files fetched before come from the caches again (apt's, dh_pyrpath's sources and pip's),
    not from the network. Returns (files new or changed, files removed, the manifest)."""
    root = Path(plans[0].vendor_dir)
    old = {}
    if (root / MANIFEST).is_file():
        try:
            old = json.loads((root / MANIFEST).read_text(encoding="utf-8")).get("files", {})
        except ValueError:
            old = {}
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        manifest = {"format": FORMAT, "files": {}, "packages": {}}
        for settings in plans:
            manifest["packages"][settings.package] = _vendor_package(settings, build_opts,
                                                                     staging, cache, log)
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            manifest["files"][path.relative_to(staging).as_posix()] = {
                "sha256": sha256_file(path), "size": path.stat().st_size}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                        encoding="utf-8")
        _replace(root, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    changed = sorted(rel for rel, f in manifest["files"].items()
                     if old.get(rel, {}).get("sha256") != f["sha256"])
    return changed, sorted(set(old) - set(manifest["files"])), manifest


def _vendor_package(settings, build_opts, staging, cache, log):
    """Vendor one package's CPython source and Python distributions; its manifest entry.

    pip runs on the package's own private interpreter (from the cache, or built now, which the
    build needs anyway), so that it picks the files for the target interpreter and platform."""
    with tempfile.TemporaryDirectory(prefix="dh-pyrpath-vendor-") as tmp:
        work = Path(tmp)
        source = sources.resolve(settings.python_source, settings.python_sha256, cache, work, log)
        (staging / "cpython").mkdir(exist_ok=True)
        c = {"tarball": f"cpython/{source.name}", "sha256": source.sha256,
             "release": source.release}
        shutil.copy2(source.path, staging / c["tarball"])
        if source.debian:
            c.update(debian=f"cpython/{source.debian.name}", debian_sha256=source.debian.sha256,
                     package=source.package, revision=source.revision)
            shutil.copy2(source.debian.tarball, staging / c["debian"])
        facts = sources.facts(source, cache)
        with log.stage("interpreter", f"CPython {facts['version']} for pip to run on"):
            interp = interpreter.ensure(
                settings, build_opts, cache, work, log,
                lambda found: placement.place(found, work / "prefix", work), source, facts)
        with log.stage("python", "the distributions, build requirements and sdists' ones"):
            result = vendoring.vendor(settings, Path(settings.project_dir),
                                      str(work / "prefix" / "bin" / f"python{interp.xy}"),
                                      interp.pip, facts["version"], debhelper.host_arch(),
                                      staging / "python", work / "deps", log, cache=cache)
    return {"python-source": settings.python_source, "cpython": c,
            "inputs": result["inputs"], "python": sorted(f"python/{n}" for n in result["files"])}


def _replace(root, staging):
    """Put the new vendor directory in place of the old one with renames only."""
    old = None
    if root.exists():
        old = root.with_name(f".{root.name}.old-{os.getpid()}")
        os.rename(root, old)
    os.rename(staging, root)
    os.chmod(root, 0o755)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
