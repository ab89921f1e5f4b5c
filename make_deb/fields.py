"""Decide every value that goes into debian/: flags > environment > metadata > questions.

Only maintainer name, maintainer email and the description are *required* fields that a person
may have to supply; everything else has a sound default or comes from the metadata.
"""
import email.utils
import os
import re
import subprocess
import time
from dataclasses import dataclass, field

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from . import description as desc
from . import licenses, python_source
from . import upstream as upstream_info
from . import services as svc
from .errors import (MetadataError, MissingFieldsError, NamingError, UsageError,
                     VersionError)
from .naming import check_package_name, debian_version, package_name, parse_pep440

STANDARDS_VERSION = "4.6.2"
DEFAULT_INSTALL_ROOT = "/opt"
# dh_pyrpath patches the prefix into libpython's compiled-in strings: it cannot grow past this.
MAX_PREFIX_LEN = 100
EMAIL_RE = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]+$")
SCRIPT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
SECTION_RE = re.compile(r"^([a-z-]+/)?[a-z0-9-]+$")
DIST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
INSTALL_ROOT_RE = re.compile(r"^(/[A-Za-z0-9._+-]+)+$")


@dataclass
class Settings:
    """Everything the templates need, already validated and in Debian form."""
    project_name: str
    source: str
    package: str
    upstream_version: str
    version: str
    maintainer_name: str
    maintainer_email: str
    synopsis: str
    extended_lines: list
    homepage: str | None
    license: licenses.LicenseInfo
    copyright_holders: list
    upstream_contact: str | None
    section: str
    distribution: str
    date: str
    year: int
    console_scripts: dict
    links: bool
    install_root: str
    python_source: str
    index_url: str | None
    requires_dist: list
    requires_python: str | None
    pinned: list | None = None
    lock_file: str | None = None  # the project's own lock file, written as the requirements
    needs_cargo: bool = False       # a Rust build backend: Build-Depends gets cargo
    version_from_vcs: bool = False  # setuptools-scm: debian/rules gives it the version
    warnings: list = field(default_factory=list)
    services: svc.ServiceSet | None = None
    python_source_why: str = ""  # why make-deb chose python-source (none was given)

    @property
    def maintainer(self):
        return f"{self.maintainer_name} <{self.maintainer_email}>"

    @property
    def prefix(self):
        return f"{self.install_root}/{self.package}"


# ------------------------------------------------------------------ small validators

clean_name = upstream_info.clean_name


def valid_email(value):
    value = (value or "").strip()
    return value if EMAIL_RE.match(value) and "localhost" not in value.split("@")[1] else ""


def _flag_email(value, where):
    if not valid_email(value):
        raise UsageError(f"{where} {value!r} is not an email address; use e.g. "
                         f"{where} you@example.org")
    return value.strip()


def _flag_name(value, where):
    name = clean_name(value)
    if not name:
        raise UsageError(f"{where} is empty; give the maintainer's full name")
    return name


def source_date():
    """Seconds since the epoch: SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        return int(time.time())
    if not re.fullmatch(r"\d{1,12}", raw.strip()):
        raise UsageError(f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds since 1970; "
                         f"unset it or set it to e.g. $(date +%s)")
    return int(raw.strip())


def rfc5322_date(ts):
    # formatdate(localtime=False) says "-0000" ("zone unknown"); UTC is known here.
    return email.utils.formatdate(ts, localtime=False)[:-5] + "+0000"


def check_install_root(value):
    root = value.rstrip("/") if value != "/" else value
    if not INSTALL_ROOT_RE.match(root):
        raise UsageError(f"--install-root {value!r} must be an absolute directory without "
                         f"spaces, other than /, e.g. --install-root /opt")
    if ".." in root.split("/") or "." in root.split("/"):
        raise UsageError(f"--install-root {value!r} must not contain '.' or '..' components")
    return root


def check_python_source(value):
    """--python-source, or the host's default python3 when none is given."""
    if value is not None and (not value or any(c.isspace() for c in value)):
        raise UsageError(f"--python-source {value!r} must be one word, e.g. debian:python3.13 "
                         f"or a path or URL of a CPython tarball")
    return python_source.requested(value)


def check_url(value, where):
    if not re.match(r"^https?://[^\s/]+\S*$", value or ""):
        raise UsageError(f"{where} {value!r} is not an http(s) URL; use e.g. "
                         f"{where} https://example.org/project")
    return value


def early_checks(opts):
    """Validate flags before any slow work, so typos fail in milliseconds."""
    try:  # a malformed flag value is a usage error (exit 2), whatever module spots it
        if opts.package:
            check_package_name(opts.package, "--package")
        if opts.source_package:
            check_package_name(opts.source_package, "--source-package")
        if opts.upstream_version:
            debian_version(opts.upstream_version, "--upstream-version")
    except (NamingError, VersionError) as exc:
        raise UsageError(str(exc)) from None
    if opts.maintainer_email:
        _flag_email(opts.maintainer_email, "--maintainer-email")
    if opts.maintainer_name is not None:
        _flag_name(opts.maintainer_name, "--maintainer-name")
    if opts.description is not None and not desc.synopsis(opts.description):
        raise UsageError("--description is empty; give a one-line summary of the project")
    if opts.homepage:
        check_url(opts.homepage, "--homepage")
    if opts.index_url:
        check_url(opts.index_url, "--index-url")
    if not SECTION_RE.match(opts.section):
        raise UsageError(f"--section {opts.section!r} is not a Debian section; use e.g. "
                         f"--section misc")
    if not DIST_RE.match(opts.distribution):
        raise UsageError(f"--distribution {opts.distribution!r} is not a distribution name; "
                         f"use e.g. --distribution unstable")
    opts.install_root = check_install_root(opts.install_root)
    opts.python_source_given = opts.python_source is not None
    opts.python_source = check_python_source(opts.python_source)
    source_date()
    svc.early_checks(opts)


def check_requires_python(spec, source):
    """Fail early when the interpreter dh_pyrpath will build cannot run the project: the exact
    version when the source pins one (debian:python3.X=<revision>, Python-X.Y.Z.tgz), else any
    release of its X.Y."""
    if not spec:
        return
    try:
        specifier = SpecifierSet(spec)
    except InvalidSpecifier:
        raise MetadataError(f"Requires-Python {spec!r} is not a valid version specifier; "
                            f"fix requires-python / python_requires") from None
    version = python_source.version(source)
    if version is None:
        return
    candidates = [python_source.dotted(version)] if len(version) > 2 else \
        [f"{version[0]}.{version[1]}.{patch}" for patch in range(0, 30)]
    if not any(specifier.contains(c, prereleases=True) for c in candidates):
        raise MetadataError(
            f"the project requires Python {spec} but --python-source {source} is Python "
            f"{python_source.dotted(version)}; pass a matching --python-source (e.g. "
            f"debian:python3.X for another Debian python3.X source package)")


# ------------------------------------------------------------------ maintainer sources

def _from_env():
    """(name, email) from devscripts' variables: DEBFULLNAME/DEBEMAIL, then NAME/EMAIL."""
    name = os.environ.get("DEBFULLNAME") or ""
    mail = os.environ.get("DEBEMAIL") or ""
    if "<" in mail:  # DEBEMAIL="Jane Doe <jane@example.org>" is accepted by dch too
        real, addr = email.utils.parseaddr(mail)
        name, mail = name or real, addr
    if mail and not valid_email(mail):
        raise UsageError(f"DEBEMAIL={os.environ['DEBEMAIL']!r} is not an email address; fix or "
                         f"unset it, or pass --maintainer-email")
    name = name or os.environ.get("NAME", "")
    mail = mail or valid_email(os.environ.get("EMAIL", ""))
    return clean_name(name), mail


def _git_config(key, cwd):
    try:
        out = subprocess.run(["git", "config", "--get", key], cwd=cwd, capture_output=True,
                             text=True, timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _metadata_person(meta):
    for person in meta.maintainers + meta.authors:
        if person.name or person.email:
            return clean_name(person.name), valid_email(person.email)
    return "", ""


# ------------------------------------------------------------------ the resolution

class Prompter:
    """Asks on the terminal; ``None`` instead of a Prompter means non-interactive."""

    def __init__(self, read_line, write):
        self.read_line, self.write = read_line, write

    def ask(self, label, default, validate):
        for _ in range(5):
            hint = f" [{default}]" if default else ""
            self.write(f"{label}{hint}: ")
            line = self.read_line()
            if line == "":  # EOF
                self.write("\n")
                return ""
            value = line.strip() or default
            if value and validate(value):
                return validate(value)
            self.write(f"  not valid: {'enter a value' if not value else value!r}\n")
        return ""


def resolve(meta, opts, project_dir, prompter=None):
    """Build Settings from metadata and options; ask or fail for missing required fields."""
    warnings = []
    # --- names and version
    if opts.package:
        package = opts.package
    elif meta.name:
        package = package_name(meta.name)
    else:
        raise MetadataError(f"the project declares no name ({meta.source or 'metadata'}); add "
                            f"one (name= in setup(), setup.cfg [metadata] or [project]) or pass "
                            f"--package NAME")
    source = opts.source_package or package
    prefix = f"{opts.install_root}/{package}"
    if len(prefix) > MAX_PREFIX_LEN:
        raise UsageError(f"install prefix {prefix} is {len(prefix)} characters; dh_pyrpath "
                         f"supports at most {MAX_PREFIX_LEN}: pass a shorter --install-root or "
                         f"--package")
    upstream = opts.upstream_version or meta.version
    if not upstream:
        raise MetadataError("the project declares no version; add one (version= in setup(), "
                            "setup.cfg [metadata] or [project]) or pass --upstream-version")
    if upstream == "0.0.0" and not opts.upstream_version and "setuptools" in meta.source:
        raise MetadataError("the project declares no version (setuptools reported its "
                            "placeholder 0.0.0); add version= or pass --upstream-version 0.0.0")
    version = debian_version(upstream, "--upstream-version" if opts.upstream_version
                             else "project version")
    upstream = str(parse_pep440(upstream))
    why = ""
    if not getattr(opts, "python_source_given", True):
        opts.python_source, why = python_source.choose(meta.requires_python, opts.python_source)
    check_requires_python(meta.requires_python, opts.python_source)

    # --- required fields: flag > environment > metadata > question
    env_name, env_mail = _from_env()
    meta_name, meta_mail = _metadata_person(meta)
    name = (_flag_name(opts.maintainer_name, "--maintainer-name")
            if opts.maintainer_name is not None else env_name or meta_name)
    mail = (_flag_email(opts.maintainer_email, "--maintainer-email")
            if opts.maintainer_email else env_mail or meta_mail)
    original_summary = desc.synopsis(opts.description if opts.description is not None
                                     else meta.summary or "")
    summary = original_summary
    missing = []
    if prompter:
        if not name:
            name = prompter.ask("Maintainer name", clean_name(_git_config("user.name",
                                                                          project_dir)),
                                clean_name)
        if not mail:
            mail = prompter.ask("Maintainer email",
                                valid_email(_git_config("user.email", project_dir)),
                                valid_email)
        if not summary:
            summary = prompter.ask("One-line description",
                                   desc.first_sentence(meta.description,
                                                       meta.description_content_type),
                                   desc.synopsis)
    if not name:
        missing.append("maintainer name (--maintainer-name or DEBFULLNAME)")
    if not mail:
        missing.append("maintainer email (--maintainer-email or DEBEMAIL)")
    if not summary:
        missing.append("description (--description)")
    if missing:
        raise MissingFieldsError(
            f"missing required field{'s' if len(missing) > 1 else ''}: {'; '.join(missing)}; "
            f"pass them as flags or run make-deb in a terminal to be asked")

    # --- everything else
    summary = desc.debian_synopsis(summary, package,
                                   f"Python application {meta.name or package} with its own "
                                   f"interpreter")
    ts = source_date()
    year = time.gmtime(ts).tm_year
    homepage = opts.homepage or meta.homepage
    license_text = meta.license_text(project_dir)
    lic = licenses.resolve(meta.license_expression, meta.license, meta.classifiers,
                           license_text, opts.license)
    if lic is None:
        warnings.append("the project declares no license and ships no license file; "
                        "debian/copyright says 'other' (pass --license to set it)")
        lic = licenses.LicenseInfo("other", None, "default")
    scripts = dict(sorted(meta.console_scripts.items()))
    if not opts.no_links:
        bad = [s for s in scripts if not SCRIPT_RE.match(s)]
        if bad:
            raise MetadataError(f"console script name {bad[0]!r} cannot be a file name in "
                                f"/usr/bin; rename the entry point or pass --no-links")
    if not scripts:
        warnings.append("the project has no console scripts; no /usr/bin links are made")
    trailer = (f"This package installs {meta.name or package} with its dependencies and a "
               f"private CPython interpreter under {prefix}, isolated "
               f"from the system Python.")
    services = svc.resolve(opts, package, prefix, scripts, summary, project_dir)
    holders, warning = upstream_info.holders(meta, license_text, project_dir, year)
    if warning:
        warnings.append(warning)
    return Settings(
        project_name=meta.name or package, source=source, package=package,
        upstream_version=upstream, version=version, maintainer_name=name,
        maintainer_email=mail, synopsis=summary,
        extended_lines=desc.extended(meta.description, summary, trailer, original_summary,
                                     meta.description_content_type, meta.name or package,
                                     [homepage] if homepage else []),
        homepage=homepage, license=lic,
        copyright_holders=holders,
        upstream_contact=upstream_info.contact(meta), section=opts.section,
        distribution=opts.distribution,
        date=rfc5322_date(ts), year=year, console_scripts=scripts, links=not opts.no_links,
        install_root=opts.install_root, python_source=opts.python_source,
        index_url=opts.index_url, requires_dist=list(meta.requires_dist),
        requires_python=meta.requires_python, needs_cargo=meta.needs_cargo,
        version_from_vcs=meta.version_from_vcs, warnings=warnings,
        services=services, python_source_why=why)
