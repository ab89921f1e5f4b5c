"""The Python half of `dh_pyrpath --vendor`: every distribution, build requirement and sdist
build requirement a build needs, downloaded for the target into one directory, and the digests
of the inputs they were chosen from (a build compares them to notice a stale vendor set)."""
from pathlib import Path


from ..store.files import sha256_file
from . import piprun
from .backends import SDIST, backend_requirements, build_system, unpack_sdist
from .planning import plan, select
from .preflight import check_vendored, vendored_files
from .project import copy_project

# ---------------------------------------------------------------- 5. vendoring

def vendor(settings, project_dir, python, pip_dir, python_version, deb_arch, dest_dir,
           workdir, log, debian_dir="debian", cache=None):
    """Download into `dest_dir` (one flat directory, best empty: a staging directory) every
    file an offline build of the project needs: what the lock or requirements name for the
    target (hash-checked), the project's build requirements, and the build requirements of
    every sdist among them, recursively. `python`/`pip_dir` are a runnable private
    interpreter of the target (pip picks its wheels). Needs the index.

    Returns {"files": [names], "inputs": {path: sha256}}: `inputs` are the files whose change
    makes the set stale (the lock or requirements files, the project's pyproject.toml,
    setup.py, setup.cfg), paths as given (relative to the source tree). `cache` (optional):
    pip's HTTP cache lives there, so a repeated --vendor fetches only what is new."""
    dest = Path(dest_dir).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    the_plan = select(plan(settings, project_dir, log, debian_dir), python_version, deb_arch,
                      log)
    # with the cache, pip's own HTTP cache keeps what an earlier --vendor fetched
    pip = piprun.Pip(python, pip_dir, settings, cache, workdir, log)
    fix = "see the log"
    into = ["-d", str(dest), "--find-links", str(dest)]
    if the_plan.kind == "lock":
        if any(p.vcs for p in the_plan.lock.pins):
            check_vendored(the_plan, dest)  # raises: VCS entries cannot be vendored
        req_file = workdir / "locked-requirements.txt"
        req_file.write_text("".join(p.requirement() + "\n" for p in the_plan.lock.pins))
        pip.run(["download", "--no-deps", "--require-hashes", "-r", str(req_file), *into],
                "download the pinned files", fix)
    elif the_plan.kind == "requirements":
        pip.run(["download", *(["--require-hashes"] if the_plan.requirements.hashed else []),
                 "-r", str(the_plan.path.resolve()), *into], "download the requirements", fix)
    src = copy_project(project_dir, workdir / "vendor-project")
    if the_plan.kind == "project":
        pip.run(["download", *into, str(src)], "download the project's dependencies", fix)
    todo, done = [src], set()
    while todo:
        tree = todo.pop(0)
        before = set(vendored_files(dest))
        requires, _, _ = build_system(tree)
        what = f"download the build requirements of {tree.name}"
        if requires:
            pip.run(["download", *into, *requires], what, fix)
        dynamic = backend_requirements(pip, tree, [dest], online=True)
        if dynamic:
            pip.run(["download", *into, *dynamic], what, fix)
        for name in sorted(set(vendored_files(dest)) - before) + (
                sorted(before) if tree is src else []):
            if SDIST.search(name) and name not in done:
                done.add(name)
                todo.append(unpack_sdist(dest / name, workdir / "vendor-sdists" / name))
    return {"files": sorted(vendored_files(dest)),
            "inputs": vendor_inputs(settings, project_dir, debian_dir)}


class _Silent:
    """A log for a second look at the plan: its warnings were given once already."""
    def warn(self, text):
        pass


def vendor_inputs(settings, project_dir, debian_dir="debian"):
    """{path: sha256} of the files whose change makes a vendor set stale (the lock or
    requirements files and the project's own metadata files), paths as plan() finds them from
    `project_dir`: --vendor records them, a build compares them (vendor.py)."""
    found = plan(settings, project_dir, _Silent(), debian_dir)
    return dict(sorted((str(p), sha256_file(p)) for p in found.inputs))
