"""The stages for one package: interpreter, dependencies, project, relocation, verification."""
import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

from . import (__version__, deps, interpreter, maintscripts, markers, piprun, relocate, shlibs,
               sources, vendor, verify)
from .cache import discard
from .errors import PyrpathError
from .log import redact


def _place_interpreter(interp, staged, workdir):
    """Copy the interpreter out of the cache: its tree to the package's staged prefix, pip and
    the bundled wheels to the work directory. Nothing refers to the cache entry afterwards."""
    staged = Path(staged)
    if staged.exists():
        discard(staged)
    staged.parent.mkdir(parents=True, exist_ok=True)
    copy_tree_linking_bytecode(interp.tree, staged)
    for part in ("pip", "bundled"):
        subprocess.run(["cp", "-a", str(getattr(interp, part)), str(workdir / part)], check=True)
    # pip and extension builds read sysconfig: make it name the staged prefix until relocation.
    relocate.rewrite_text_files(staged, {interpreter.PLACEHOLDER: str(staged)})
    return dataclasses.replace(interp, tree=staged, pip=workdir / "pip",
                               bundled=workdir / "bundled")


def _link(path, out):
    try:
        os.link(path, out)
        return True
    except OSError:  # another filesystem, or protected_hardlinks and another owner: copy
        return False


def drop_build_only_parts(staged):
    """C headers serve only to build extension modules, which needs the build tools the
    package does not ship either (--keep-build-tools keeps both)."""
    include = Path(staged) / "include"
    if include.is_dir():
        shutil.rmtree(include)


def copy_tree_linking_bytecode(src, dest):
    """cp -a, except that pyc files are hard links into the cache entry.

    The stdlib's pycs (a third of the entry) only serve pip while the package is built, then
    relocation drops them (packages ship no bytecode): nothing writes to them in between
    (PYTHONDONTWRITEBYTECODE, and rewrites replace files rather than write into them), so
    copying them would only cost time. Every other file is copied: debhelper later changes
    modes and contents in place.
    """
    src, dest = Path(src), Path(dest)
    dirs = []
    for dirpath, dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        target = dest / rel
        target.mkdir()
        dirs.append((Path(dirpath), target))
        for name in list(dirnames) + filenames:
            path, out = Path(dirpath) / name, target / name
            if path.is_symlink():
                os.symlink(os.readlink(path), out)
                if name in dirnames:
                    dirnames.remove(name)
            elif name in dirnames:
                continue
            elif rel.name == "__pycache__" and _link(path, out):
                pass
            else:
                shutil.copy2(path, out)
    for source, target in reversed(dirs):
        shutil.copystat(source, target)


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
                                    lambda found: _place_interpreter(found, staged, workdir),
                                    source, facts)
        line.detail = f"{interpreter.describe(interp)}, placed at {settings.prefix}"
    xy = interp.xy
    python = f"{staged}/bin/python{xy}"

    pip = piprun.Pip(python, interp.pip, settings, cache, workdir, log, vendored=vendored_python)
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
    shlibs.add_substvar(package, interp.depends, debian_dir)
    maintscripts.install(package, settings.prefix, xy, "opt-pyc" in settings.keep, debian_dir)
    shutil.rmtree(workdir, ignore_errors=True)
    return {"python": interp.version, "prefix": settings.prefix, "installed": installed,
            "artifacts": records}
