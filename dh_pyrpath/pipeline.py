"""The stages for one package, in order: what to install, the CPython source, the interpreter,
the dependencies and the project, relocation, stripping, bytecode, verification, the SBOM."""
import json
import os
import shutil
from pathlib import Path

from . import __version__, debhelper, host, vendor
from .deps import install, markers, piprun, planning, preflight, project
from .errors import PyrpathError
from .log import redact
from .package import bytecode, lintian, maintscripts, relocate, sbom, strip, verify
from .python import interpreter, placement, shlibs, sources
from .python.recipe import PLACEHOLDER
from .store.files import discard


def drop_build_only_parts(staged):
    """C headers serve only to build extension modules, which needs the build tools the
    package does not ship either (--keep-build-tools keeps both)."""
    include = Path(staged) / "include"
    if include.is_dir():
        shutil.rmtree(include)


def build_package(settings, build_opts, cache, log, tmpdir, workdir, lintian_overrides=None):
    """Fill debian/<package>/<prefix> for one package; on failure leave no half-built tree."""
    tmpdir = Path(tmpdir).resolve()
    staged = Path(str(tmpdir) + settings.prefix)
    try:
        result = _build(settings, build_opts, cache, log, tmpdir, str(staged), workdir)
        lintian.install_lintian_overrides(settings.package, settings.prefix, tmpdir, lintian_overrides)
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
    plan = planning.plan(settings, project_dir, log, debian_dir=tmpdir.parent)
    release = debhelper.release(tmpdir.parent, log, host.SYSTEM_PATH)

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
    planning.select(plan, facts["version"], markers.deb_host_arch(), log)
    preflight.preflight(settings, plan, cache, vendored_python, log, pip_source=source.path)

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
            records = install.install_dependencies(pip, plan)
    with log.stage("install project", str(project_dir)):
        records = project.install_project(pip, plan, project_dir) + records
        if settings.keep_build_tools:
            project.add_build_tools(pip, interp.bundled)
        else:
            drop_build_only_parts(staged)
        project.check_consistent(pip)
        installed = project.freeze(python, log)
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
        "python_release": source.release,
        "python_profile": interp.info.get("profile"), "pip": pip.describe(),
    }, indent=1, sort_keys=True) + "\n")

    with log.stage("relocate", f"to {settings.prefix}"):
        relocate.relocate_tree(staged, settings.prefix, xy, PLACEHOLDER,
                               settings.shebang_flags)
        if not build_opts.nostrip:  # no -dbgsym made of symbol tables alone (strip.py)
            relocate.fix_records(site, strip.strip_symbol_tables(staged, log,
                                                                 host.SYSTEM_PATH))

    # at the modules' final paths and after the last change to a .py (package/bytecode.py)
    with log.stage("bytecode", f"{settings.prefix}/lib/python{xy}") as line:
        counts = bytecode.compile_tree(
            python, f"{staged}/lib/python{xy}", f"{settings.prefix}/lib/python{xy}",
            release.epoch, cache.bytecode_dir() if cache is not None else None, log,
            (0, 1, 2) if "opt-pyc" in settings.keep else (0,))
        line.detail = bytecode.describe(counts)

    with log.stage("verify", "isolation"):
        needles = [staged, PLACEHOLDER, str(workdir)]
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
        sbom.write(staged, package, release, debhelper.host_arch(), settings.prefix,
                   {**interp.info, "debian_release": source.release},
                   interp.depends, records, site, debian_dir, log, host.SYSTEM_PATH)
    shlibs.add_substvar(package, interp.depends, debian_dir)
    maintscripts.install(package, settings.prefix, xy, "opt-pyc" in settings.keep, debian_dir)
    shutil.rmtree(workdir, ignore_errors=True)
    return {"python": interp.version, "prefix": settings.prefix, "installed": installed,
            "artifacts": records}
