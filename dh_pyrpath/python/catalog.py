"""What CPython this host can have from Debian (`dh_pyrpath --list-pythons`): for the host's
release, the newer stable releases, testing and unstable, every python3.X source package with
its newest revision and whether the archive really serves its files (an index may list a
revision whose files answer 404: security uploads whose sources are not mirrored yet, sid's
newest uploads on this network)."""
from dataclasses import dataclass

from debian.debian_support import Version

from .. import host
from . import apt, releases


@dataclass(frozen=True)
class Offer:
    release: str     # codename
    support: str     # "this host", "stable", "development"
    package: str     # python3.X
    version: str     # a revision apt's index lists
    served: bool     # whether the archive serves its files


def releases_to_list(host_codename, today=None):
    """[(codename, support)]: the host's release, the newer stable ones, testing, unstable."""
    listed = [(host_codename, "this host")]
    listed += [(c, "stable") for c in releases.newer_stable(host_codename, today)]
    for alias in ("testing", "unstable"):
        codename, support = releases.classify(alias, today)
        if codename not in [c for c, _ in listed]:
            listed.append((codename, support))
    return listed


def offers(root, log=None, today=None):
    """[Offer] for every release releases_to_list names, each read through its own private
    apt configuration under `root` (the host's /etc/apt is neither used nor changed)."""
    found = []
    for codename, support in releases_to_list(host.host_codename(), today):
        found += offers_of(codename, support, root, log)
    return found


def offers_of(codename, support, root, log=None):
    """[Offer] of one release: for each python3.X its newest revision, and when the archive
    does not serve that one, the older ones down to the newest it does serve."""
    found = []
    conf = releases.config(codename, root, log, stable=support != "development")
    with releases.using(conf):
        for package in apt.known_python_sources():
            known = apt.revisions(apt.showsrc(package))
            for rev in sorted(known, key=lambda r: Version(r.version), reverse=True):
                served = apt.archive_serves(package, rev.version)
                found.append(Offer(codename, support, package, rev.version, served))
                if served:
                    break
    return found


def table(found):
    """The lines --list-pythons prints."""
    notes = {"this host": "this host's release", "stable": "stable, security support",
             "development": "no security support: only when named, @<release>"}
    rows = [("release", "support", "source", "revision", "files", "python-source")]
    for offer in found:
        spec = (f"debian:{offer.package}={offer.version}@{offer.release}" if offer.served
                else "")
        rows.append((offer.release, notes.get(offer.support, offer.support), offer.package,
                     offer.version, "served" if offer.served else "listed, not served", spec))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
