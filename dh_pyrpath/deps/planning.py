"""What a package installs besides CPython, decided before anything is built: the input (a lock
file, a requirements file, or the project's own declared dependencies) read and checked
(`plan`), then the pins of a lock for the private interpreter on the target (`select`)."""
import os
from dataclasses import dataclass, field
from pathlib import Path


from ..errors import PyrpathError
from . import lockfile, locks, markers
from .requirements import Requirements, read_requirements

# Files of a project whose change changes what it needs to build or install (vendor inputs).
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


# ---------------------------------------------------------------- 1. the plan

@dataclass
class Plan:
    """What to install and where that was found."""
    kind: str                    # "lock", "requirements" or "project"
    path: Path | None            # the lock or requirements file
    label: str                   # for the stage line: "uv.lock (the project's own)"
    project_dir: Path
    requirements: Requirements | None = None
    lock: lockfile.Lock | None = None   # set by select()
    env: dict | None = None          # the marker environment select() used
    inputs: list = field(default_factory=list)  # files whose change makes a vendor set stale


def plan(settings, project_dir, log, debian_dir="debian"):
    """Find and check what to install (before anything is built): refuse requirements that
    cannot work in a package, warn about unpinned ones (an error with require-pins)."""
    project_dir = Path(project_dir)
    if settings.requirements_explicit:
        path = Path(settings.requirements)
        if not path.is_file():
            raise PyrpathError(f"requirements file {path} not found: create it, or drop the "
                               "requirements setting (a lock file of the project's own is "
                               "found by itself)")
        how = "the requirements setting"
    else:
        path = locks.find_default(project_dir, debian_dir)
        how = "the project's own" if path and path.parent.resolve() == project_dir.resolve() \
            else "the default"
    inputs = [project_dir / name for name in PROJECT_FILES if (project_dir / name).is_file()]
    if path is None:
        if settings.require_pins:
            raise PyrpathError("require-pins is set, but no lock file or requirements file pins "
                               "the dependencies (debian/deb-requirements.txt, or the project's "
                               "pylock.toml, uv.lock or poetry.lock): add one")
        return Plan("project", None, "the project's declared dependencies (resolved now)",
                    project_dir, inputs=inputs)
    shown = os.path.relpath(path)
    label = f"{path if shown.startswith('..') else shown} ({how})"
    if locks.kind_of(path):
        return Plan("lock", path, label, project_dir, inputs=[path, *inputs])
    reqs = read_requirements(path)
    if reqs.unpinned:
        names = ", ".join(reqs.unpinned)
        if settings.require_pins:
            raise PyrpathError(f"{path}: not pinned to one version: {names}: pin them "
                               "(name==version, as pip freeze writes) or drop require-pins")
        log.warn(f"{path}: not pinned to one version, so the package may differ from build "
                 f"to build: {names} (pin them; require-pins makes this an error)")
    return Plan("requirements", path, label, project_dir, requirements=reqs,
                inputs=[*reqs.files, *inputs])


def select(plan, python_version, deb_arch, log):
    """Evaluate a lock for CPython `python_version` (X.Y.Z) on Debian architecture `deb_arch`:
    sets plan.lock to the pins for that target."""
    plan.env = markers.environment(python_version, deb_arch)
    if plan.kind == "lock":
        plan.lock = locks.read(plan.path, plan.project_dir, plan.env)
        log.write(f"{plan.path}: for CPython {python_version} on {deb_arch}: "
                  + ", ".join(f"{p.name}=={p.version}" for p in plan.lock.pins))
        if plan.lock.left_out:
            log.write(f"{plan.path}: left out (other environments, dev groups, extras): "
                      + ", ".join(plan.lock.left_out))
    return plan


def hash_groups(plan):
    """Per pin, the hashes any one of which satisfies it (hashed plans only)."""
    if plan.lock is not None:
        return {p.requirement(): p.hashes for p in plan.lock.pins if not p.vcs}
    if plan.requirements is not None and plan.requirements.hashed:
        return {" ".join(h): h for h in plan.requirements.hashes}
    return {}
