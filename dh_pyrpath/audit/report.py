"""What an audit found, and how it is shown: a table a person reads, JSON a CI job reads, and
the exit code (0 nothing to fix, 1 something to fix, 2 something could not be audited)."""
import json
from dataclasses import dataclass, field

EXIT_CLEAN, EXIT_STALE, EXIT_INCOMPLETE = 0, 1, 2
JSON_FORMAT = 1
IDS_PER_LINE = 3  # 13 CVE ids on one line make a table nobody reads


@dataclass(frozen=True)
class Finding:
    """One thing in one package to fix."""
    kind: str              # "interpreter" or "dependency"
    name: str              # "python3.11", "jinja2"
    installed: str         # the revision or version the package holds
    ids: tuple | None      # the advisories' ids; None when they could not be read
    fix: str               # "python-source = debian:python3.11=3.11.2-6+deb12u9", "jinja2 >= 3.1.3"
    newest: str | None = None   # interpreter: the newest revision apt lists
    source: str = ""            # interpreter: the index that said so; dependency: the records
    advisories: tuple = ()      # dependency: ({"id", "aliases", "fixed", "sources"}, ...)
    changelog: str = ""         # interpreter: where the ids were read (a .debian.tar, the
                                # binary package's changelog)

    @property
    def stale(self):
        if self.kind == "interpreter":
            return f"{self.name} {self.installed} < {self.newest}"
        return f"{self.name} {self.installed}"


@dataclass
class Audited:
    built: object          # inputs.Built
    findings: list


@dataclass
class Report:
    audited: list = field(default_factory=list)
    skipped: list = field(default_factory=list)    # [inputs.Skipped]
    problems: list = field(default_factory=list)   # one line each: what could not be audited
    notes: list = field(default_factory=list)      # one line each: what was not checked

    def problem(self, text):
        if text not in self.problems:
            self.problems.append(text)

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)

    @property
    def exit_code(self):
        if self.problems:
            return EXIT_INCOMPLETE
        if any(a.findings for a in self.audited):
            return EXIT_STALE
        return EXIT_CLEAN


# ---------------------------------------------------------------- the table

def _ids_cell(finding):
    if finding.ids is None:
        return ["unknown: its changelog was not read"]
    if finding.kind == "dependency":
        return [advisory["id"] + (f" ({', '.join(advisory['aliases'])})"
                                  if advisory["aliases"] else "")
                for advisory in finding.advisories]
    if not finding.ids:
        return ["none in its changelog"]
    ids = list(finding.ids)
    lines = [", ".join(ids[n:n + IDS_PER_LINE]) for n in range(0, len(ids), IDS_PER_LINE)]
    return [line + ("," if n < len(lines) - 1 else "") for n, line in enumerate(lines)] + [
        f"({len(ids)} CVE{'s' if len(ids) != 1 else ''})"]


def _table(rows):
    """Rows of cells, a cell being a list of lines; columns padded to their widest line."""
    widths = [max(len(line) for row in rows for line in (row[i] or [""]))
              for i in range(len(rows[0]))]
    out = []
    for row in rows:
        for n in range(max(len(cell) for cell in row)):
            cells = [(cell[n] if n < len(cell) else "").ljust(width)
                     for cell, width in zip(row, widths)]
            out.append("  ".join(cells).rstrip())
    return out


def _source_line(finding):
    if finding.kind == "interpreter":
        where = finding.changelog or f"the changelog of {finding.name}-minimal {finding.newest}"
        ids = f"CVE ids from {where}" if finding.ids is not None else "its changelog not read"
        return (f"{finding.name} {finding.newest}: newest in apt's binary index "
                f"{finding.source}; {ids}")
    return None


def render_table(report):
    """The report for a person: findings, then where the facts came from, then a summary."""
    lines = []
    rows = [[["PACKAGE"], ["VERSION"], ["STALE"], ["IDS"], ["FIX"]]]
    for audited in report.audited:
        for finding in audited.findings:
            rows.append([[audited.built.package], [audited.built.version], [finding.stale],
                         _ids_cell(finding), [finding.fix]])
    if len(rows) > 1:
        lines.extend(_table(rows))
        lines.append("")
    sources = dict.fromkeys(filter(None, (_source_line(f) for a in report.audited
                                          for f in a.findings)))
    lines.extend(sources)
    stale = sum(1 for a in report.audited if a.findings)
    summary = (f"{len(report.audited)} package{'s' if len(report.audited) != 1 else ''} "
               "audited: ")
    summary += f"{stale} with something to fix" if stale else "nothing to fix"
    if report.skipped:
        summary += f"; {len(report.skipped)} not built by dh-pyrpath, skipped"
    if report.problems:
        summary += f"; {len(report.problems)} could not be audited (exit 2)"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def message_lines(report):
    """The lines that go to stderr: skipped inputs, notes, problems (one line each)."""
    lines = [f"{s.origin}: {s.reason}: skipped" for s in report.skipped]
    lines += [f"note: {n}" for n in report.notes]
    lines += [f"error: {p}" for p in report.problems]
    return lines


# ---------------------------------------------------------------- JSON

def _finding_json(finding):
    data = {"kind": finding.kind, "name": finding.name, "installed": finding.installed,
            "ids": list(finding.ids) if finding.ids is not None else None, "fix": finding.fix}
    if finding.kind == "interpreter":
        data.update(newest=finding.newest, index=finding.source,
                    changelog=finding.changelog or None)
    else:
        data["advisories"] = [dict(a) for a in finding.advisories]
    return data


def to_json(report):
    """The report for CI: every audited package (with no findings too), skips, notes,
    problems, and the exit code."""
    packages = []
    for audited in report.audited:
        built = audited.built
        packages.append({
            "origin": built.origin, "package": built.package, "version": built.version,
            "prefix": built.prefix, "python": built.python,
            "python_source": built.python_source,
            "python_debian": ({"package": built.debian_package,
                               "revision": built.debian_revision,
                               "release": built.debian_release}
                              if built.debian_package else None),
            "distributions": len(built.distributions),
            "findings": [_finding_json(f) for f in audited.findings],
        })
    return json.dumps({
        "format": JSON_FORMAT, "exit_code": report.exit_code, "packages": packages,
        "skipped": [{"origin": s.origin, "reason": s.reason} for s in report.skipped],
        "notes": report.notes, "problems": report.problems,
    }, indent=1, sort_keys=True) + "\n"


def show(report, as_json, out, err, prog="dh_pyrpath"):
    """Skips, notes and problems on `err`, one line each, after the command's name `prog`;
    the table or the JSON on `out`."""
    for line in message_lines(report):
        print(f"{prog}: {line}", file=err)
    out.write(to_json(report) if as_json else render_table(report))
