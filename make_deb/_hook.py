"""Run one PEP 517 metadata hook in a child interpreter (``python -c <this file> request.json``).

Self-contained on purpose: it runs under whatever interpreter reads the project's metadata and
must not import make_deb. It never raises: the outcome goes to the result file named in the
request, so the parent can turn it into one clear line.
"""
import importlib
import json
import os
import sys
import traceback
import zipfile


def _missing(requirements):
    """Names of build requirements that are not installed at all (versions are not judged:
    Debian's setuptools may be older than a pin and still build the project fine)."""
    from importlib import metadata
    import re
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


def main(request_path):
    with open(request_path, encoding="utf-8") as f:
        req = json.load(f)
    result = {"ok": False, "stage": "import", "missing": _missing(req["requires"])}
    try:
        if sys.path and sys.path[0] in ("", os.getcwd()):
            del sys.path[0]  # like pip: the project is not importable unless backend-path says so
        for path in reversed(req["backend_path"]):
            sys.path.insert(0, os.path.abspath(path))
        module, _, attrs = req["backend"].partition(":")
        backend = importlib.import_module(module)
        for attr in filter(None, attrs.split(".")):
            backend = getattr(backend, attr)
        result["stage"] = "hook"
        if hasattr(backend, "get_requires_for_build_wheel"):
            extra = backend.get_requires_for_build_wheel({})
            result["missing"] += [m for m in _missing(extra) if m not in result["missing"]]
        out = req["metadata_dir"]
        if hasattr(backend, "prepare_metadata_for_build_wheel"):
            name = backend.prepare_metadata_for_build_wheel(out, {})
        else:  # optional hook: build the wheel and take its .dist-info
            wheel = backend.build_wheel(req["wheel_dir"], {})
            with zipfile.ZipFile(os.path.join(req["wheel_dir"], wheel)) as zf:
                members = [m for m in zf.namelist() if m.split("/")[0].endswith(".dist-info")]
                zf.extractall(out, members)
            name = members[0].split("/")[0]
        result.update(ok=True, dist_info=os.path.join(out, name))
    except BaseException as exc:  # noqa: B902 - SystemExit from setup.py is a failure too
        traceback.print_exc()
        if isinstance(exc, SystemExit):
            text = f"setup script exited ({exc.code})"
        else:
            text = f"{type(exc).__name__}: {exc}"
        result["error"] = text
    with open(req["result"], "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1])
