"""The stages for one package: what to install, the CPython source, the interpreter, the
dependencies and the project, relocation, stripping, verification, the SBOM."""
import json
import os
import shutil
from pathlib import Path

from . import (__version__, debhelper, deps, interpreter, maintscripts, markers, piprun,
               placement, relocate, sbom, shlibs, sources, strip, vendor, verify)
from .cache import discard
from .errors import PyrpathError
from .log import redact


def drop_build_only_parts(staged):
    """C headers serve only to build extension modules, which needs the build tools the
    package does not ship either (--keep-build-tools keeps both)."""
    include = Path(staged) / "include"
    if include.is_dir():
        shutil.rmtree(include)


# Tags a private CPython under its own prefix triggers by design, each confined to the prefix.
# "*" stands for the tag's own detail (a path, a library name) before the [file] context.
LINTIAN_OVERRIDES = (
    ("dir-or-file-in-opt", ""),                         # a self-contained tree outside the FHS
    ("dir-or-file-in-srv", ""),
    ("custom-library-search-path", "* "),                # DT_RPATH $ORIGIN/../lib: the point
    ("unusual-interpreter", "* "),                       # scripts run the private python
    ("python3-script-but-no-python3-dep", "* "),
    ("interpreter-in-usr-local", "* "),
    ("script-uses-unversioned-python-in-shebang", ""),
    ("script-not-executable", ""),
    ("embedded-library", "* "),                          # isolation from system copies
    ("library-not-linked-against-libc", ""),             # libpython3.so, extension modules
    ("shared-library-lacks-prerequisites", ""),
    ("undeclared-elf-prerequisites", "* "),
)
# Not confined to a file: the trigger is the package's.
PACKAGE_OVERRIDES = ("package-has-unnecessary-activation-of-ldconfig-trigger",)


def lintian_overrides(package, prefix):
    top = prefix.strip("/").split("/")[0]
    context = f"[{prefix.strip('/')}/*]"
    lines = ["# Added by dh_pyrpath: tags a private CPython under its own prefix triggers by",
             "# design (see dh_pyrpath(1)); each is confined to that prefix."]
    lines += [f"{package}: {tag} {detail}{context}" for tag, detail in LINTIAN_OVERRIDES]
    lines += [f"{package}: {tag}" for tag in PACKAGE_OVERRIDES]
    if top not in ("opt", "srv", "usr", "var"):
        lines += [f"{package}: non-standard-toplevel-dir [{top}/]",
                  f"{package}: file-in-unusual-dir [{top}/*]"]
    return "\n".join(lines) + "\n"


def install_lintian_overrides(package, prefix, tmpdir, user_file):
    """Ship the overrides, unless the package has its own file (dh_lintian would install that
    one over ours: its author decides)."""
    if user_file is not None:
        return
    target = Path(tmpdir) / "usr" / "share" / "lintian" / "overrides" / package
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(lintian_overrides(package, prefix))


def build_package(settings, build_opts, cache, log, tmpdir, workdir, lintian_overrides=None):
    """Fill debian/<package>/<prefix> for one package; on failure leave no half-built tree."""
    tmpdir = Path(tmpdir).resolve()
    staged = Path(str(tmpdir) + settings.prefix)
    try:
        result = _build(settings, build_opts, cache, log, tmpdir, str(staged), workdir)
        install_lintian_overrides(settings.package, settings.prefix, tmpdir, lintian_overrides)
        return result
    except BaseException:
        for path in (staged, workdir):
            if os.path.lexists(path):
                discard(path)
        parent = staged.parent  # and the directories created only to hold it
        while (parent != tmpdir and tmpdir in parent.parents and parent.is_dir()
               and not any(parent.iterdir())):
            parent.rmdir()
            parent = parent.parent
        raise


def _build(settings, build_opts, cache, log, tmpdir, staged, workdir):
    package = settings.package
    workdir = Path(workdir).resolve()
    if workdir.exists():
        discard(workdir)
    workdir.mkdir(parents=True)

    project_dir = Path(settings.project_dir).resolve()
    if not project_dir.is_dir():
        raise PyrpathError(f"project directory {settings.project_dir} not found: fix --project-dir")
    if not any((project_dir / f).is_file() for f in ("setup.py", "setup.cfg", "pyproject.toml")):
        raise PyrpathError(f"{project_dir} has no setup.py, setup.cfg or pyproject.toml: point "
                           "--project-dir at the Python project")
    # what to install, checked before anything is built (refusals, unpinned warnings)
    plan = deps.plan(settings, project_dir, log, debian_dir=tmpdir.parent)
    release = debhelper.release(tmpdir.parent, log, interpreter.BUILD_PATH)

    # a vendor directory (dh_pyrpath --vendor) makes the build need no network and no cache
    vendored = vendor.open_for(settings)
    if vendored is not None:
        log.say(f"vendored: building from {vendored.root} (no network needed)")
    vendored_python = vendored.python_dir if vendored is not None else None
    # What to install for the target and whether it can be had, known before CPython is built:
    # a missing deb-src, a dead index or a TLS proxy costs seconds, not a cold build.
    source = sources.resolve(settings.python_source, settings.python_sha256, cache, workdir, log,
                             vendored)
    facts = sources.facts(source, cache)
    deps.select(plan, facts["version"], markers.deb_host_arch(), log)
    deps.preflight(settings, plan, cache, vendored_python, log, pip_source=source.path)

    with log.stage("interpreter", f"CPython from {settings.python_source} placed at "
                   f"{settings.prefix}") as line:
        interp = interpreter.ensure(settings, build_opts, cache, workdir, log,
                                    lambda found: placement.place(found, staged, workdir),
                                    source, facts)
        line.detail = f"{interpreter.describe(interp)}, placed at {settings.prefix}"
    xy = interp.xy
    python = f"{staged}/bin/python{xy}"

    pip = piprun.Pip(python, interp.pip, settings, cache, workdir, log, vendored=vendored_python,
                     epoch=release.epoch)
    records = []
    if plan.kind != "project":
        with log.stage("install deps", f"from {plan.label}"):
            records = deps.install_dependencies(pip, plan)
    with log.stage("install project", str(project_dir)):
        records = deps.install_project(pip, plan, project_dir) + records
        if settings.keep_build_tools:
            deps.add_build_tools(pip, interp.bundled)
        else:
            drop_build_only_parts(staged)
        deps.check_consistent(pip)
        installed = deps.freeze(python, log)
        site = Path(staged) / "lib" / f"python{xy}" / "site-packages"

    info_dir = Path(staged) / "share" / "dh-pyrpath"
    info_dir.mkdir(parents=True, exist_ok=True)
    (info_dir / "installed-requirements.txt").write_text("\n".join(installed) + "\n")
    (info_dir / "build-info.json").write_text(json.dumps({
        "dh_pyrpath": __version__, "package": package, "prefix": settings.prefix,
        "python": interp.version, "python_source": redact(interp.info["source"]),
        "python_source_sha256": interp.info["source_sha256"], "interpreter_key": interp.key,
        "python_patches": interp.info["debian_patches"], "configure": interp.info["configure"],
        "python_debian_revision": interp.info.get("debian_revision"),
        "python_profile": interp.info.get("profile"), "pip": pip.describe(),
    }, indent=1, sort_keys=True) + "\n")

    with log.stage("relocate", f"to {settings.prefix}"):
        relocate.relocate_tree(staged, settings.prefix, xy, interpreter.PLACEHOLDER,
                               settings.shebang_flags)
        if not build_opts.nostrip:  # no -dbgsym made of symbol tables alone (strip.py)
            relocate.fix_records(site, strip.strip_symbol_tables(staged, log,
                                                                 interpreter.BUILD_PATH))

    with log.stage("verify", "isolation"):
        needles = [staged, interpreter.PLACEHOLDER, str(workdir)]
        srcroot = str(Path.cwd().resolve())
        if len(srcroot) >= 8:  # a very short path (/src) would match ordinary text
            needles.append(srcroot + "/")
        if cache is not None:
            needles.append(str(cache.root.resolve()))
        verify.verify(staged, xy, needles, smoke=not build_opts.nocheck)

    # dpkg-shlibdeps resolves $ORIGIN rpaths inside the package only when DEBIAN/ exists;
    # then the private libpython counts as the package's own and adds no Depends.
    (tmpdir / "DEBIAN").mkdir(exist_ok=True)
    debian_dir = tmpdir.parent
    with log.stage("sbom", f"{settings.prefix}/share/dh-pyrpath/{sbom.FILE}"):
        sbom.write(staged, package, release, debhelper.host_arch(), settings.prefix, interp.info,
                   interp.depends, records, site, debian_dir, log, interpreter.BUILD_PATH)
    shlibs.add_substvar(package, interp.depends, debian_dir)
    maintscripts.install(package, settings.prefix, xy, "opt-pyc" in settings.keep, debian_dir)
    shutil.rmtree(workdir, ignore_errors=True)
    return {"python": interp.version, "prefix": settings.prefix, "installed": installed,
            "artifacts": records}
