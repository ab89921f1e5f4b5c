"""One timed `dpkg-buildpackage -us -uc -b` in a fresh copy of a source, with the neutral
environment both tools get; what its time-stamped log says about its steps and dh_pyrpath's
stages; and the sizes of what it built."""
import os
import re
import shutil
import time
from pathlib import Path

from . import host
from .proc import SYSTEM_PATH, BenchError, run, say
from .projects import package_name
from .variants import make_source

MB = 1_000_000  # sizes are reported in decimal megabytes (10^6 bytes)
# Environment passed through to builds; everything else (PYTHON*, DEB_*, DH_*, PIP_* of this
# shell, its pip.conf) is left out so both tools see the same neutral setup.
PASS_ENV = ("HOME", "USER", "LOGNAME", "TERM", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR",
            "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT", "PIP_DEFAULT_TIMEOUT",
            "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
# Lines that start a step in dpkg-buildpackage's output: dh's command echo and dpkg's helpers.
STEP_RE = re.compile(r"^\s{3}(dh_\w+|debian/rules \S+)|^ ?(dpkg-genbuildinfo|dpkg-genchanges|"
                     r"dpkg-source)\b")
PYRPATH_STAGE_RE = re.compile(r"^dh_pyrpath: [^:]+: ([^:(]+?)(?:: (.*))? \((\d+\.\d+) s\)$")

TOOL = {}  # the snapshot of dh-pyrpath the builds use (host.snapshot_tool)


def build_env(caches, extra=None):
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update({
        "PATH": f"{TOOL['bin']}:{SYSTEM_PATH}", "PERL5LIB": TOOL["perl"], "LC_ALL": "C.UTF-8",
        "PIP_CONFIG_FILE": os.devnull,  # no pip.conf: no local find-links or extra indexes
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "DH_PYRPATH_CACHE_DIR": str(caches / "dh-pyrpath"),  # dh-pyrpath: interpreter + wheels
        "PIP_CACHE_DIR": str(caches / "pip"),                # dh-virtualenv's pip
        "XDG_CACHE_HOME": str(caches / "xdg"),
    })
    env.update(extra or {})
    return env


def fresh_caches(work, name):
    caches = work / "caches" / name
    if caches.exists():
        shutil.rmtree(caches)
    caches.mkdir(parents=True)
    return caches


def step_times(log):
    """Seconds per dpkg-buildpackage step, from the time-stamped log; plus dh_pyrpath stages
    (a stage that runs twice, such as the two compiles of a PGO build, is summed), and what
    the log says of how the interpreter was compiled (interpreter_profile())."""
    marks, stages, details = [], {}, []
    end = 0.0
    for line in Path(log).read_text(errors="replace").splitlines():
        m = re.match(r"^\[\s*(\d+\.\d+)\] (.*)$", line)
        if not m:
            continue
        t, text = float(m.group(1)), m.group(2)
        end = t
        s = STEP_RE.match(text)
        if s:
            name = s.group(1) or s.group(2)
            if name.startswith("debian/rules "):
                name = name.split()[1].replace("override_", "")
            marks.append((name, t))
        p = PYRPATH_STAGE_RE.match(text)
        if p:
            name = p.group(1).strip()
            stages[name] = stages.get(name, 0.0) + float(p.group(3))
            details.append(f"{name}: {p.group(2) or ''}")
    steps = {}
    for (name, t), nxt in zip(marks, marks[1:] + [("end", end)]):
        steps[name] = steps.get(name, 0.0) + max(0.0, nxt[1] - t)
    return steps, stages, interpreter_profile(stages, details)


def interpreter_profile(stages, details=None):
    """How a build compiled its interpreter ("PGO+LTO", "PGO", "LTO", "no PGO"), or None when it
    took it from the cache. From the stages dh_pyrpath printed: a `train` stage is PGO; LTO
    shows in a stage's line (`build: ... with the profile and LTO`, or a `link: ... with LTO`
    stage). Without the lines (results written before they were kept), a `link` stage."""
    if "configure" not in stages and "train" not in stages:
        return None
    compiles = [d for d in details or [] if d.startswith(("build:", "link:"))]
    lto = "link" in stages or any(re.search(r"\bLTO\b", d) for d in compiles)
    if "train" in stages:
        return "PGO+LTO" if lto else "PGO"
    return "LTO" if lto else "no PGO"


def fresh_dir(path):
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def build_source(src, pkg, env, log, label):
    """`dpkg-buildpackage -us -uc -b` in src, timed, its output time-stamped into `log`;
    the measurements of the one `pkg` .deb it must make (in src's parent)."""
    if log.exists():
        log.unlink()
    say(f"  build {label:34s} ... ")
    start = time.monotonic()
    run(["dpkg-buildpackage", "-us", "-uc", "-b"], log=log, cwd=src, env=env, timestamps=True)
    seconds = time.monotonic() - start
    dest = src.parent
    debs = sorted(dest.glob(f"{pkg}_*.deb"))
    dbgsym = sorted(dest.glob(f"{pkg}-dbgsym_*.deb"))
    if len(debs) != 1:
        raise BenchError(f"{label}: expected one {pkg} .deb, found {[d.name for d in debs]}")
    steps, stages, profile = step_times(log)
    nfiles = len([ln for ln in run(["dpkg-deb", "-c", debs[0]]).splitlines()
                  if not ln.startswith("d")])
    result = {"seconds": seconds, "deb": str(debs[0]), "deb_bytes": debs[0].stat().st_size,
              "files": nfiles,
              "dbgsym_bytes": sum(d.stat().st_size for d in dbgsym),
              "installed_kib": int(run(["dpkg-deb", "-f", debs[0], "Installed-Size"]).strip()),
              "steps": steps, "stages": stages, "interpreter": profile, "log": str(log),
              "load": os.getloadavg()[0]}
    say(f"    {seconds:7.1f} s   .deb {result['deb_bytes'] / MB:6.2f} MB   "
        f"installed {result['installed_kib'] * 1024 / MB:6.1f} MB   (load {result['load']:.1f})")
    return result


def build(project, variant, work, caches, label, extra_env=None):
    """One timed build of a bench project's variant in a fresh copy; returns its measurements."""
    dest = fresh_dir(work / "builds" / label)
    src = make_source(project, variant, dest)
    return build_source(src, package_name(project, variant), build_env(caches, extra_env),
                        work / "logs" / f"{label}.log", label)


def keep_deb(result, work):
    """Move a build's .deb out of its build tree (which is then removed to save space)."""
    debs = work / "debs"
    debs.mkdir(exist_ok=True)
    deb = Path(result["deb"])
    target = debs / deb.name
    shutil.copy2(deb, target)
    shutil.rmtree(deb.parent)
    result["deb"] = str(target)
    return target


def interpreter_part_bytes(deb, pkg, work):
    """The compressed size of the interpreter alone: the dh-pyrpath .deb with site-packages,
    the project's scripts and dh-pyrpath's records removed, rebuilt by dpkg-deb with the same
    default compression (xz) that dh_builddeb used for the real package."""
    tree = work / "interp-part" / pkg
    if tree.exists():
        shutil.rmtree(tree)
    tree.parent.mkdir(parents=True, exist_ok=True)
    run(["dpkg-deb", "-R", deb, tree])
    prefix = tree / "opt" / pkg
    site = prefix / "lib" / host.python() / "site-packages"
    for child in site.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    for child in (prefix / "bin").iterdir():  # console scripts of the project and its deps
        if not re.match(r"(python|pydoc|2to3|idle)", child.name):
            child.unlink()
    shutil.rmtree(prefix / "share" / "dh-pyrpath", ignore_errors=True)
    out = tree.parent / f"{pkg}-interpreter-only.deb"
    run(["dpkg-deb", "--root-owner-group", "-b", tree, out])
    size = out.stat().st_size
    installed = int(run(["du", "-s", "--block-size=1024", "--apparent-size", prefix]).split()[0])
    shutil.rmtree(tree)
    out.unlink()
    return size, installed
