"""The bench packages on this host: purged before and after a run."""
from .projects import all_package_names
from .proc import apt_get, installed_version


def purge_bench_packages(log):
    present = [n for n in all_package_names() if installed_version(n)]
    if present:
        apt_get("purge", *present, log=log)
    return present
