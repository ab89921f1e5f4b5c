"""One audit run: read the inputs, check each package's interpreter and distributions, and
collect what was found into a report.Report.

What concerns one input (a damaged .deb, a missing SBOM, an interpreter apt cannot tell
about) becomes one problem line and the others are still audited; what concerns every input
(an unreadable OSV file) raises before anything is read.
"""
from packaging.utils import canonicalize_name

from ..errors import AuditError
from . import advisories, inputs, interpreter, report as reportlib


def _merge(found):
    """Advisories grouped by the vulnerability they describe: records sharing an id or an
    alias (an OSV GHSA record and the index's PYSEC entry of the same CVE) are one."""
    groups = []  # [(ids, [Advisory])]
    for advisory in found:
        ids = set(advisory.ids)
        joined = [g for g in groups if g[0] & ids]
        for group in joined:
            groups.remove(group)
            ids |= group[0]
        members = [a for g in joined for a in g[1]] + [advisory]
        groups.append((ids, members))
    return [members for _, members in groups]


def dependency_finding(dist, found):
    """The finding for one distribution and the advisories that affect it."""
    name = canonicalize_name(dist.name)
    summaries, fixes, unfixed = [], [], []
    for members in _merge(found):
        main = members[0].id
        aliases = sorted({i for a in members for i in a.ids} - {main})
        fix = min(filter(None, (a.fix_above(dist.version) for a in members)), default=None)
        summaries.append({"id": main, "aliases": aliases,
                          "fixed": str(fix) if fix else None,
                          "sources": sorted({a.source for a in members})})
        (fixes if fix else unfixed).append(fix or main)
    fix = f"{name} >= {max(fixes)}" if fixes else f"{name}: no fixed release yet"
    if fixes and unfixed:
        fix += f" (no fix yet for {', '.join(unfixed)})"
    ids = tuple(dict.fromkeys(i for s in summaries for i in [s["id"], *s["aliases"]]))
    return reportlib.Finding("dependency", name, dist.version, ids, fix,
                             source=", ".join(sorted({a.source for a in found})),
                             advisories=tuple(summaries))


def interpreter_finding(built, interpreters, report):
    if not built.debian_package:
        report.note(f"{built.package}: its CPython came from {built.python_source}, not a "
                    "Debian source: its security fixes are not checked here")
        return None
    try:
        newer, problem = interpreters.check(built.debian_package, built.debian_revision,
                                            built.debian_release)
    except AuditError as exc:
        report.problem(str(exc))
        return None
    if problem:
        report.problem(problem)
    if newer is None:
        return None
    return reportlib.Finding("interpreter", newer.package, newer.built, newer.ids, newer.fix,
                             newest=newer.newest, source=newer.index,
                             changelog=newer.changelog)


def findings(built, osv, index, interpreters, report):
    found = []
    stale = interpreter_finding(built, interpreters, report)
    if stale:
        found.append(stale)
    for dist in built.distributions:
        matching = osv.matching(dist.name, dist.version)
        if index is not None:
            matching += index.lookup(dist.name, dist.version)
        if matching:
            found.append(dependency_finding(dist, matching))
    return found


def _read_inputs(paths, installed, report):
    builts = []
    for deb in inputs.find_debs(paths):
        try:
            result = inputs.read_deb(deb)
        except AuditError as exc:
            report.problem(str(exc))
            continue
        if isinstance(result, inputs.Skipped):
            report.skipped.append(result)
        else:
            builts.extend(result)
    if installed:
        owned = inputs.installed_files()
        if not owned:
            report.note("no installed package was built by dh-pyrpath")
        for package, files in sorted(owned.items()):
            try:
                builts.extend(inputs.read_installed(package, files))
            except AuditError as exc:
                report.problem(str(exc))
    return builts


def audit(paths=(), installed=False, osv_sources=(), index=None, interpreters=None):
    """A report.Report of the packages at `paths` (.deb files, directories of them) and, with
    `installed`, of the installed ones. `index` is an advisories.IndexAdvisories, or None not
    to ask the package index."""
    osv = advisories.load_osv(osv_sources)  # first: a bad advisory file changes every verdict
    interpreters = interpreters or interpreter.Interpreters()
    report = reportlib.Report()
    builts = _read_inputs(paths, installed, report)
    for built in builts:
        report.audited.append(reportlib.Audited(
            built, findings(built, osv, index, interpreters, report)))
    if index is not None and index.unreached:
        only = "the --osv records only" if osv_sources else "nothing: give OSV records with --osv"
        report.note(f"PyPI advisories not reached ({index.unreached}); the dependencies were "
                    f"checked against {only}")
    if not osv_sources and index is None and builts:
        report.note("the Python dependencies were not checked: give OSV records with --osv, "
                    "or let the audit ask the package index")
    return report
