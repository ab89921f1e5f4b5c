"""The store: what builds share, named by content.

A local cache directory (cache.py; where it is: location.py; shared by a group: sharing.py)
holding source tarballs, wheels and entries (entries.py: a payload, its manifest and the key
its document hashes to), a remote HTTP cache behind it (remote.py; entries packed by
archive.py), and their upkeep (maintenance.py). The store knows nothing of CPython, recipes,
apt or pip: the layers above decide what goes in and what a key means.
"""
