"""Pin the project's declared dependencies to exact versions (``make-deb --requirements``).

pip resolves them against the index without installing anything (``install --dry-run
--report``, pip >= 22.2; bookworm has 23.0.1). The result is what dh_pyrpath installs, so the
package's contents stop depending on the day it is built.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from . import buildenv
from . import python_source as pysource
from .errors import RequirementsError

PIP_TIMEOUT = 900


def target_version(python_source, running=None):
    """pip's --python-version for the interpreter dh_pyrpath will build ("3.11.2" from a
    pinned source), or None when it is the one running us (at the precision the source
    tells) or unknown."""
    version = pysource.version(python_source or "")
    running = tuple(running or sys.version_info[:3])
    if version is None or tuple(running[:len(version)]) == version:
        return None
    return pysource.dotted(version)


def pin(requires_dist, python_source=None, index=None, python=None):
    """Return sorted ``name==version`` lines for the runtime dependencies.

    `index` (buildenv.IndexSettings) is where they are resolved; pip runs with the builder's
    pip configuration left behind, as for the build backend (buildenv.pip_env)."""
    reqs = []
    for raw in requires_dist:
        try:
            req = Requirement(raw)
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0] if str(exc) else "syntax error"
            raise RequirementsError(f"dependency {raw!r} is not a valid PEP 508 requirement "
                                    f"({reason}); fix it in the project metadata") from None
        if req.marker and "extra" in str(req.marker):
            continue  # optional extras are not runtime dependencies of the service
        reqs.append(str(req))
    if not reqs:
        return []
    python = python or sys.executable
    with tempfile.TemporaryDirectory(prefix="make-deb-pin-") as tmp:
        report = Path(tmp, "report.json")
        index = index or buildenv.IndexSettings.from_options()
        cmd = [python, "-I", "-m", "pip", "install", "--dry-run", "--ignore-installed",
               "--quiet", "--report", str(report), *buildenv.cert_args(index)]
        target = target_version(python_source)
        if target and python == sys.executable:
            # resolve for the interpreter dh_pyrpath will build, not the one running us
            cmd += ["--python-version", target, "--only-binary", ":all:",
                    "--target", str(Path(tmp, "target"))]
        cmd += reqs
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT,
                                  stdin=subprocess.DEVNULL, env=buildenv.pip_env(index), cwd=tmp)
        except subprocess.TimeoutExpired:
            raise RequirementsError(f"pip did not resolve the dependencies within "
                                    f"{PIP_TIMEOUT} s; check the index") from None
        except OSError as exc:
            raise RequirementsError(f"cannot run {python} -m pip: {exc.strerror}; install "
                                    f"python3-pip") from None
        if proc.returncode != 0 or not report.is_file():
            lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines()
                     if ln.strip() and not ln.startswith("WARNING")]
            last = next((ln for ln in reversed(lines) if ln.startswith("ERROR")),
                        lines[-1] if lines else f"exit code {proc.returncode}")
            if "No module named pip" in last:
                last += " (install python3-pip)"
            raise RequirementsError(f"pip could not resolve the dependencies: {last}; fix the "
                                    f"requirements or pass --index-url")
        data = json.loads(report.read_text(encoding="utf-8"))
    pins = {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
            for item in data.get("install", [])}
    return [f"{name}=={version}" for name, version in sorted(pins.items())]
