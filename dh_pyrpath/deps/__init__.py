"""What the package installs besides CPython: the pinned dependencies, then the project.

1. planning.plan(): which input (a lock file, a requirements file, or the project's own
   declared dependencies; locks.py, requirements.py), read and checked before anything is
   built: requirements that cannot work in a package are refused, unpinned ones warned about
   (an error with require-pins).
2. planning.select(): the pins of a lock for the private interpreter on the target
   architecture (markers.py).
3. preflight.preflight(): before the CPython build, whether the build needs the index and, if
   so, whether it answers; with vendored files, whether they hold every pin.
4. install.install_dependencies(), project.install_project(): pip (piprun.Pip, isolated from
   the host's pip configuration) installs them, each step returning what it installed
   (artifacts.Installed) for build-info and the SBOM.
5. vendoring.vendor(): every file a build needs, downloaded into one directory for offline
   builds.

Where files come from:
- hashed pins (a lock, a requirements file with --hash): the exact files are downloaded once,
  checked, kept in the store by sha256 (its sources/) and installed from there with
  --no-index; pip checks every one against its pinned hash again;
- pinned requirements without hashes: through the wheel cache (wheelhouse.py);
- vendored files: --no-index --find-links=<vendored dir> and nothing else.
The project is built as pip would build it (pip wheel --use-pep517 --no-deps), so a setup.py
with setup_requires gets them as build requirements; in the cache each build requirement is a
wheel, and the backend is asked for its dynamic ones (backends.py) in an isolated environment,
as pypa/build does, so a warm build needs no index.

Uses the store and the bottom modules; never python/, package/ or the pipeline.
"""
