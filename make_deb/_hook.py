"""Run PEP 517 hooks in a child interpreter (``python -c <this file> request.json``).

Self-contained on purpose: it runs under whatever interpreter reads the project's metadata and
must not import make_deb. It never raises: the outcome goes to the result file named in the
request, so the parent can turn it into one clear line.

In an isolated environment the child is ``python3 -I -S``: its sys.path is the standard library
only, and the request's ``paths`` (the pip --target layers) are added here with
site.addsitedir, so their .pth files work (setuptools' distutils shim needs one) while Debian's
dist-packages stay invisible.

Modes: ``metadata`` asks get_requires_for_build_wheel first (unless told not to) and returns
early when it names anything, so the parent can install it; then runs
prepare_metadata_for_build_wheel (or build_wheel, when a backend lacks the optional hook).
``wheel`` runs build_wheel (console scripts of backends whose metadata hook omits them).
"""
import importlib
import json
import os
import re
import sys
import traceback
import zipfile


def _missing(requirements):
    """Names of requirements that are not installed at all (for Debian's fallback messages)."""
    from importlib import metadata
    out = []
    for req in requirements:
        name = re.split(r"[\s<>=!~;\[(@]", req.strip(), maxsplit=1)[0]
        if not name:
            continue
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            out.append(name)
    return out


def _backend_distribution(module):
    """(name, version) of the distribution that provides the backend module, or None."""
    from importlib import metadata
    top = module.split(".")[0]
    for name in metadata.packages_distributions().get(top, []):
        try:
            return [name, metadata.version(name)]
        except metadata.PackageNotFoundError:
            continue
    return None


def _wheel_dist_info(wheel_dir, wheel, out):
    with zipfile.ZipFile(os.path.join(wheel_dir, wheel)) as zf:
        members = [m for m in zf.namelist() if m.split("/")[0].endswith(".dist-info")]
        zf.extractall(out, members)
    return os.path.join(out, members[0].split("/")[0])


def main(request_path):
    with open(request_path, encoding="utf-8") as f:
        req = json.load(f)
    result = {"ok": False, "stage": "import", "missing": []}
    try:
        if req["paths"]:
            import site
            for path in req["paths"]:
                site.addsitedir(path)
        result["missing"] = _missing(req["requires"])
        if sys.path and sys.path[0] in ("", os.getcwd()):
            del sys.path[0]  # like pip: the project is not importable unless backend-path says so
        for path in reversed(req["backend_path"]):
            sys.path.insert(0, os.path.abspath(path))
        module, _, attrs = req["backend"].partition(":")
        backend = importlib.import_module(module)
        for attr in filter(None, attrs.split(".")):
            backend = getattr(backend, attr)
        result["backend_dist"] = _backend_distribution(module)
        result["stage"] = "requires"
        if req["ask_requires"] and hasattr(backend, "get_requires_for_build_wheel"):
            extra = [str(r) for r in backend.get_requires_for_build_wheel({})]
            if extra:
                result.update(ok=True, requires=extra)
                return _write(req, result)
        result["stage"] = "hook"
        out = req["metadata_dir"]
        if req["mode"] == "wheel":
            wheel = backend.build_wheel(req["wheel_dir"], {})
            result.update(ok=True, dist_info=_wheel_dist_info(req["wheel_dir"], wheel, out))
        elif hasattr(backend, "prepare_metadata_for_build_wheel"):
            name = backend.prepare_metadata_for_build_wheel(out, {})
            result.update(ok=True, dist_info=os.path.join(out, name), hook="prepare_metadata")
        else:  # optional hook: build the wheel and take its .dist-info
            wheel = backend.build_wheel(req["wheel_dir"], {})
            result.update(ok=True, dist_info=_wheel_dist_info(req["wheel_dir"], wheel, out),
                          hook="build_wheel")
    except BaseException as exc:  # noqa: B902 - SystemExit from setup.py is a failure too
        traceback.print_exc()
        if isinstance(exc, SystemExit):  # setup.py calling sys.exit, a backend giving up
            text = f"exited with status {exc.code}"
        else:
            text = f"{type(exc).__name__}: {exc}"
        result["error"] = text
    _write(req, result)


def _write(req, result):
    with open(req["result"], "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1])
