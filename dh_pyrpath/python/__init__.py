"""Where CPython comes from and how it is built.

Sources (sources.py: Debian's source packages through apt.py, tarballs, vendored files; with
debian_patches.py for Debian's upstream fixes), the recipe and its cache key (recipe.py), the
build (cpython.py, training.py for PGO, trim.py), the interpreter's own Depends (shlibs.py),
the front door to the store (interpreter.py) and placing an interpreter where a build uses it
(placement.py). Uses the store and package/'s tree tools; never deps/ or the pipeline.
"""
