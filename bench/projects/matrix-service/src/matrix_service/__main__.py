from . import selftest

print(selftest())
