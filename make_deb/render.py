"""Render debian/ into a temporary directory, validate it, then move it into the project.

The order matters for the promise "an error leaves the project untouched": every template is
rendered and every file parsed back (control and changelog with python-debian, copyright as
DEP-5) before the first byte is written to the project, and files are first written next to
their targets under temporary names and only then renamed over them.
"""
import configparser
import difflib
import os
import re
import subprocess
import tempfile
from pathlib import Path

import jinja2
from debian import deb822
from debian.changelog import Changelog, ChangelogParseError, Version
from debian.copyright import Copyright, Error as CopyrightError

from . import __version__
from . import licenses
from . import services as services_mod
from .errors import OutputError, TemplateError
from .fields import STANDARDS_VERSION
from .naming import PACKAGE_NAME_RE

BUILTIN_TEMPLATES = Path(__file__).with_name("templates")
BUILD_DEPENDS = ["debhelper-compat (= 13)", "dh-sequence-pyrpath"]
# template -> output path; {package} is the binary package name.
OUTPUTS = {
    "control.j2": "debian/control",
    "rules.j2": "debian/rules",
    "source-format.j2": "debian/source/format",
    "source-lintian-overrides.j2": "debian/source/lintian-overrides",
    "copyright.j2": "debian/copyright",
    "pyrpath.j2": "debian/{package}.pyrpath",
    "links.j2": "debian/{package}.links",
}
# Written only for packages with services or config files (make_deb/services.py).
SERVICE_OUTPUTS = {
    "service.j2": "debian/systemd/{unit}",
    "supervisor.j2": "debian/supervisor/{package}.conf",
    "default.j2": "debian/{package}.default",
    "install.j2": "debian/{package}.install",
    "postinst.j2": "debian/{package}.postinst",
    "prerm.j2": "debian/{package}.prerm",
    "postrm.j2": "debian/{package}.postrm",
}
TEMPLATES = {**OUTPUTS, **SERVICE_OUTPUTS}
CHANGELOG = "debian/changelog"
REQUIREMENTS = "debian/deb-requirements.txt"
# The paths that do not depend on the package name: checked before reading metadata.
FIXED_OUTPUTS = [p for p in OUTPUTS.values() if "{" not in p] + [CHANGELOG]
EXECUTABLE = {"debian/rules"}
BASE_DEPENDS = ["${shlibs:Depends}", "${misc:Depends}"]
# dh_pyrpath's long options that its settings file accepts (dh_pyrpath/settings.py KEYS)
PYRPATH_KEYS = {"python-source", "python-sha256", "install-root", "prefix", "requirements",
                "project-dir", "index-url", "extra-index-url", "find-links", "no-index", "keep",
                "keep-build-tools", "shebang-flags", "optimize", "cache-dir", "no-cache"}


def continuation(lines):
    """Lines of a deb822 multi-line field body: one leading space, ' .' for blank lines."""
    return "\n".join(" " + ln.rstrip() if ln.strip() else " ." for ln in lines)


def check_templates_dir(path):
    """--templates DIR must exist and hold only templates we know (catches typos)."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_dir():
        raise TemplateError(f"--templates {path}: no such directory; create it with the "
                            f"templates to override (names: {', '.join(TEMPLATES)})")
    unknown = sorted(p.name for p in path.glob("*.j2") if p.name not in TEMPLATES)
    if unknown:
        raise TemplateError(f"--templates {path}: unknown template {unknown[0]}; overridable "
                            f"templates are {', '.join(TEMPLATES)}")
    for p in path.glob("*.j2"):
        try:
            p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"--templates {p}: cannot read it as UTF-8 text "
                                f"({getattr(exc, 'strerror', None) or exc.reason}); fix or "
                                f"remove it") from None
    return path


def environment(templates_dir=None):
    loaders = [jinja2.FileSystemLoader(str(templates_dir))] if templates_dir else []
    loaders.append(jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES)))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             autoescape=False)
    env.filters["continuation"] = continuation
    return env


def context(s):
    """Template variables (documented in docs/make-deb.md)."""
    atoms = [a for a in re.split(r"\s+(?:or|and|with)\s+", s.license.short)
             if a and a != "exception"]
    non_common = [a for a in atoms if not licenses.common_license_file(a)]
    paragraphs = []
    for atom in dict.fromkeys(atoms):
        # the project's license text belongs to the one license that has no common file
        text = s.license.text if len(non_common) <= 1 else None
        paragraphs.append((atom, licenses.license_paragraph_lines(atom, text)))
    root = s.install_root.lstrip("/")
    links = [(f"{root}/{s.package}/bin/{name}", f"usr/bin/{name}")
             for name in s.console_scripts] if s.links else []
    ctx = {
        "source": s.source, "package": s.package, "version": s.version,
        "upstream_version": s.upstream_version, "project_name": s.project_name,
        "maintainer": s.maintainer, "maintainer_name": s.maintainer_name,
        "maintainer_email": s.maintainer_email, "section": s.section,
        "standards_version": STANDARDS_VERSION,
        # maturin and setuptools-rust compile with cargo, which no index provides
        "build_depends": BUILD_DEPENDS + (["cargo"] if s.needs_cargo else []),
        "homepage": s.homepage, "synopsis": s.synopsis, "extended_lines": s.extended_lines,
        "license": s.license.short, "license_paragraphs": paragraphs,
        "copyright_holders": s.copyright_holders, "upstream_contact": s.upstream_contact,
        "console_scripts": s.console_scripts, "links": links, "install_root": s.install_root,
        "prefix": s.prefix, "python_source": s.python_source, "index_url": s.index_url,
        "lock_file": s.lock_file,
        "requires_python": s.requires_python, "distribution": s.distribution,
        "make_deb_version": __version__, "year": s.year,
        "version_from_vcs": s.version_from_vcs,
    }
    ctx.update(service_context(s))
    return ctx


def service_context(s):
    """Template variables for services (empty lists and None without --service/--config)."""
    ss = s.services
    services = ss.services if ss else []
    manager = ss.manager if services else None
    install = []
    if manager == "systemd":
        install += [(f"debian/systemd/{x.unit}", "lib/systemd/system") for x in services]
    elif manager == "supervisor":
        install.append((f"debian/supervisor/{s.package}.conf", "etc/supervisor/conf.d"))
    if ss:
        install += [(src, ss.config_dir.lstrip("/")) for src, _ in ss.config_files]
    env_file = f"/etc/default/{s.package}"
    return {
        "depends": BASE_DEPENDS + (ss.depends if ss else []),
        "service_manager": manager,
        "services": [{"name": x.name, "unit": x.unit, "argv": x.argv,
                      "exec_start": x.exec_start, "description": x.description,
                      "supervisor_command": x.supervisor_command(env_file)} for x in services],
        "service_user": ss.user if services else None,
        "state_dir": f"/var/lib/{s.package}",
        "env_file": env_file,
        "environment": [(k, services_mod.env_value(v)) for k, v in ss.environment] if ss else [],
        "config_dir": f"/etc/{s.package}",
        "config_files": ss.config_files if ss else [],
        "supervisor_conf": f"/etc/supervisor/conf.d/{s.package}.conf",
        "install_lines": install,
    }


def _render_one(env, name, ctx):
    try:
        return env.get_template(name).render(ctx)
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or name}:{exc.lineno}"
        raise TemplateError(f"template syntax error in {where}: {exc.message}; fix the "
                            f"template or remove it from --templates") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"template {name}: {exc.message}; see docs/make-deb.md for the "
                            f"variables templates can use") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template {name}: {exc}; fix the template") from None
    except Exception as exc:  # a filter or test raising inside a user template
        raise TemplateError(f"template {name} failed: {type(exc).__name__}: {exc}; fix the "
                            f"template") from None


def changelog_text(s):
    cl = Changelog()
    cl.new_block(package=s.source, version=Version(s.version), distributions=s.distribution,
                 urgency="medium", author=s.maintainer, date=s.date)
    cl.add_change("")
    cl.add_change(f"  * Initial release (debian/ generated by make-deb {__version__}).")
    cl.add_change("")
    return str(cl)


def requirements_text(s):
    head = [f"# {s.project_name}'s dependencies pinned by make-deb --requirements; dh_pyrpath",
            "# installs exactly these. Regenerate with make-deb --requirements --force,",
            "# or edit by hand."]
    return "\n".join(head + list(s.pinned)) + "\n"


def render(s, templates_dir=None):
    """Return {relative path: text} for every file make-deb writes."""
    env = environment(templates_dir)
    ctx = context(s)
    files = {}
    for name, out in OUTPUTS.items():
        if name == "links.j2" and not ctx["links"]:
            continue
        files[out.format(package=s.package)] = _render_one(env, name, ctx)
    files.update(_render_services(env, ctx, s))
    files[CHANGELOG] = changelog_text(s)
    if s.pinned is not None:
        files[REQUIREMENTS] = requirements_text(s)
    return dict(sorted(files.items()))


def _render_services(env, ctx, s):
    out = {}
    paths = {k: v.format(package=s.package, unit="{unit}") for k, v in SERVICE_OUTPUTS.items()}
    manager = ctx["service_manager"]
    if manager == "systemd":
        for service in ctx["services"]:
            out[paths["service.j2"].format(unit=service["unit"])] = _render_one(
                env, "service.j2", {**ctx, "service": service})
    elif manager == "supervisor":
        out[paths["supervisor.j2"]] = _render_one(env, "supervisor.j2", ctx)
        out[paths["prerm.j2"]] = _render_one(env, "prerm.j2", ctx)
    if manager:
        for name in ("default.j2", "postinst.j2", "postrm.j2"):
            out[paths[name]] = _render_one(env, name, ctx)
    if ctx["install_lines"]:
        out[paths["install.j2"]] = _render_one(env, "install.j2", ctx)
    return out


# ------------------------------------------------------------------ validation

def _fail(path, problem, fix="fix the template that produced it"):
    raise TemplateError(f"generated {path} is invalid: {problem}; {fix}")


def validate(files, s):
    """Parse every generated file back the way dpkg/debhelper will read it."""
    control = files["debian/control"]
    paras = list(deb822.Deb822.iter_paragraphs(control.splitlines(True), use_apt_pkg=False))
    if len(paras) < 2 or "Source" not in paras[0]:
        _fail("debian/control", "it needs a Source paragraph followed by a Package paragraph")
    src = paras[0]
    for key in ("Maintainer", "Standards-Version", "Build-Depends"):
        if key not in src:
            _fail("debian/control", f"the Source paragraph has no {key} field")
    if not PACKAGE_NAME_RE.match(src["Source"]):
        _fail("debian/control", f"source name {src['Source']!r} is not a valid Debian name")
    binaries = []
    for para in paras[1:]:
        if "Package" not in para:
            _fail("debian/control", "a binary paragraph has no Package field")
        if not PACKAGE_NAME_RE.match(para["Package"]):
            _fail("debian/control", f"package name {para['Package']!r} is not valid")
        if "Architecture" not in para or "Description" not in para:
            _fail("debian/control", f"package {para['Package']} lacks Architecture or "
                                    f"Description")
        _check_description(para["Description"])
        binaries.append(para["Package"])
    if s.package not in binaries:
        _fail("debian/control", f"it does not declare package {s.package!r}, which the other "
                                f"debian/{s.package}.* files are named after")
    try:
        cl = Changelog(files[CHANGELOG], strict=True)
    except (ChangelogParseError, ValueError) as exc:
        _fail(CHANGELOG, str(exc), "report this as a make-deb bug")
    if cl.package != src["Source"]:
        _fail("debian/control", f"Source {src['Source']!r} differs from debian/changelog's "
                                f"{cl.package!r}")
    if "-" in cl.upstream_version or cl.debian_revision:
        _fail(CHANGELOG, "a native package version cannot have a Debian revision")
    try:
        Copyright(files["debian/copyright"].splitlines(True), strict=True)
    except (CopyrightError, ValueError) as exc:
        _fail("debian/copyright", f"not valid DEP-5 ({' '.join(str(exc).split())})")
    if files["debian/source/format"].strip() != "3.0 (native)":
        _fail("debian/source/format", "it must be '3.0 (native)': make-deb writes versions "
                                      "without a Debian revision")
    if not files["debian/rules"].startswith("#!"):
        _fail("debian/rules", "it must start with '#!/usr/bin/make -f'")
    _check_pyrpath(f"debian/{s.package}.pyrpath", files[f"debian/{s.package}.pyrpath"])
    links = files.get(f"debian/{s.package}.links", "")
    for n, line in enumerate(links.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#") and len(line.split()) != 2:
            _fail(f"debian/{s.package}.links", f"line {n} needs exactly 'source destination'")
    _validate_services(files, s)


def _validate_services(files, s):
    pkg = s.package
    for path, text in files.items():
        if path.startswith("debian/systemd/"):
            _check_unit(path, text)
        elif path.startswith("debian/supervisor/"):
            _check_supervisor(path, text)
        elif path in (f"debian/{pkg}.postinst", f"debian/{pkg}.prerm", f"debian/{pkg}.postrm"):
            _check_maintainer_script(path, text)
    default = files.get(f"debian/{pkg}.default", "")
    for n, line in enumerate(default.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#") and not re.match(
                r"^[A-Za-z_][A-Za-z0-9_]*=([^'\s]*|'[^']*')$", line):
            _fail(f"debian/{pkg}.default", f"line {n} is not NAME=value or NAME='value'")
    install = files.get(f"debian/{pkg}.install", "")
    for n, line in enumerate(install.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2:
            _fail(f"debian/{pkg}.install", f"line {n} needs exactly 'source destination'")
        if words[0].startswith("debian/") and words[0] not in files:
            _fail(f"debian/{pkg}.install", f"line {n} installs {words[0]}, which make-deb "
                                           f"does not write")


def _check_unit(path, text):
    section, seen = None, {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not re.fullmatch(r"\[[A-Za-z]+\]", line):
                _fail(path, f"line {n} is not a [Section] header")
            section = line[1:-1]
            seen.setdefault(section, {})
            continue
        key, sep, value = line.partition("=")
        if section is None or not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()):
            _fail(path, f"line {n} is not Key=Value inside a section")
        seen[section][key.strip()] = value.strip()
    service = seen.get("Service", {})
    if "ExecStart" not in service or not service["ExecStart"].lstrip("-@:+!").startswith("/"):
        _fail(path, "[Service] needs an ExecStart= with an absolute path")
    if "Install" not in seen:
        _fail(path, "it has no [Install] section, so it could not be enabled")


def _check_supervisor(path, text):
    parser = configparser.RawConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        _fail(path, " ".join(str(exc).split()))
    programs = [p for p in parser.sections() if p.startswith("program:")]
    if not programs:
        _fail(path, "it has no [program:NAME] section")
    for p in programs:
        if not parser.get(p, "command", fallback="").strip():
            _fail(path, f"[{p}] has no command")
        # supervisord expands %(name)s in values: a lone % would stop it from starting
        if re.search(r"%(?!%|\([a-z_A-Z0-9]+\)s)", parser.get(p, "command").replace("%%", "")):
            _fail(path, f"[{p}] command has a '%' that is not '%%' or '%(name)s'")


def _check_maintainer_script(path, text):
    if not text.startswith("#!/bin/sh"):
        _fail(path, "it must start with '#!/bin/sh'")
    if "#DEBHELPER#" not in text:
        _fail(path, "it lacks the #DEBHELPER# token, so debhelper could not add its snippets")
    try:
        proc = subprocess.run(["sh", "-n"], input=text, text=True, capture_output=True,
                              timeout=30)
    except (OSError, subprocess.SubprocessError):
        return
    if proc.returncode != 0:
        _fail(path, f"sh -n: {' '.join(proc.stderr.split())}")


def _check_description(value):
    lines = value.split("\n")
    if not lines[0].strip() or len(lines[0].strip()) >= 80:
        _fail("debian/control", "the Description synopsis must be 1-79 characters")
    for line in lines[1:]:
        if "\t" in line:
            _fail("debian/control", "the Description contains a tab")


def _check_pyrpath(path, text):
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()  # dh_pyrpath allows trailing comments
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or key.strip() not in PYRPATH_KEYS or not value.strip():
            _fail(path, f"line {n} is not 'key = value' with a known key "
                        f"({', '.join(sorted(PYRPATH_KEYS))})")


# ------------------------------------------------------------------ output

def existing(project_dir, paths):
    return [p for p in paths if os.path.lexists(Path(project_dir, p))]


def check_overwrite(project_dir, paths, force):
    debian = Path(project_dir, "debian")
    if os.path.lexists(debian) and not debian.is_dir():
        raise OutputError(f"{debian} exists but is not a directory; move it away")
    for p in paths:
        if Path(project_dir, p).is_dir():
            raise OutputError(f"{p} is a directory, not a file; move it away")
    found = existing(project_dir, paths)
    if found and not force:
        raise OutputError(
            f"{', '.join(found)} already exist{'s' if len(found) == 1 else ''}; pass --force to "
            f"overwrite the files make-deb generates (your other debian/ files are kept), or "
            f"--dry-run to see the differences")


def stage(files):
    """Write the rendered files into a fresh temporary directory (the reviewed copy)."""
    tmp = Path(tempfile.mkdtemp(prefix="make-deb-out-"))
    for rel, text in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755 if rel in EXECUTABLE else 0o644)
    return tmp


def install(project_dir, staged, files, force):
    """Move the staged files into the project; on any error undo what was done."""
    project_dir = Path(project_dir)
    check_overwrite(project_dir, list(files), force)
    if not os.access(project_dir, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to {project_dir}: permission denied; run make-deb as "
                          f"a user who can write there")
    created, pending = [], []
    current = None
    try:
        for rel in files:
            for parent in reversed(Path(rel).parents):
                target = project_dir / parent
                if str(parent) != "." and not target.exists():
                    current = str(parent)
                    target.mkdir()
                    created.append(target)
        for rel in files:
            current = rel
            final = project_dir / rel
            tmp = final.with_name(f".{final.name}.make-deb-new")
            data = (staged / rel).read_bytes()
            with open(tmp, "wb") as f:
                pending.append(tmp)
                f.write(data)
            tmp.chmod((staged / rel).stat().st_mode & 0o777)
        for tmp in pending:
            os.replace(tmp, tmp.with_name(tmp.name[1:-len(".make-deb-new")]))
    except OSError as exc:
        for tmp in pending:
            try:
                tmp.unlink()
            except OSError:
                pass
        for directory in reversed(created):
            try:
                directory.rmdir()
            except OSError:
                pass
        raise OutputError(f"cannot write {current}: {exc.strerror or exc}; check that you can "
                          f"write to {project_dir}/debian") from None


def diff(project_dir, files):
    """Unified diff of what would change (new files diff against /dev/null)."""
    chunks = []
    for rel, text in files.items():
        path = Path(project_dir, rel)
        old, old_name = [], "/dev/null"
        if path.is_file():
            old = path.read_bytes().decode("utf-8", "replace").splitlines(True)
            old_name = f"a/{rel}"
        new = text.splitlines(True)
        if old == new:
            chunks.append(f"# {rel}: unchanged\n")
            continue
        chunks.extend(difflib.unified_diff(old, new, old_name, f"b/{rel}"))
        if chunks and not chunks[-1].endswith("\n"):
            chunks.append("\n\\ No newline at end of file\n")
    return "".join(chunks)
