"""dh_pyrpath: a debhelper command that ships a Python service with its own RPATH-isolated CPython."""

__version__ = "0.1.1"
