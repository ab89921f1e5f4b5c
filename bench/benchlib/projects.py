"""The bench projects and, per variant, their package names, prefixes and interpreters."""
from pathlib import Path

from . import host

PROJECTS = {
    "hello-service": {
        "src": host.REPO / "examples" / "hello-service",
        "requirements": host.REPO / "examples" / "hello-service" / "debian" / "deb-requirements.txt",
        "script": "hello-service", "base": "bench-hello",
        "startup": ["--help"], "smoke": ["greet", "--name", "bench"], "smoke_out": "Hello, bench!",
        "smoke2": ["ping"], "smoke2_out": "ping via libzmq",
    },
    "web-service": {
        "src": host.BENCH / "projects" / "web-service",
        "requirements": host.BENCH / "projects" / "web-service" / "pinned-requirements.txt",
        "script": "web-service", "base": "bench-web",
        "startup": ["--help"], "smoke": ["selftest"], "smoke_out": "ok",
    },
}
VARIANTS = ("pyrpath", "venv")  # and "pyrpath-opt": cold for the first project, then cached
LABEL = {"pyrpath": "dh-pyrpath", "venv": "dh-virtualenv", "pyrpath-opt": "dh-pyrpath --optimize"}


def package_name(project, variant):
    return f"{PROJECTS[project]['base']}-{variant}"


def all_package_names():
    return [package_name(p, v) for p in PROJECTS for v in (*VARIANTS, "pyrpath-opt")]


def prefix_of(project, variant):
    pkg = package_name(project, variant)
    return Path("/opt/venvs" if variant == "venv" else "/opt") / pkg


def python_of(project, variant):
    return prefix_of(project, variant) / "bin" / ("python" if variant == "venv" else host.python())


def script_of(project, variant):
    """The console script of an installed variant, with the arguments its start-up is timed
    with."""
    proj = PROJECTS[project]
    return [str(prefix_of(project, variant) / "bin" / proj["script"]), *proj["startup"]]


def pins(project):
    """How many requirements the project's pinned file lists."""
    return len([line for line in PROJECTS[project]["requirements"].read_text().splitlines()
                if line.strip() and not line.startswith("#")])
