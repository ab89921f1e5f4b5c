"""Environment markers (PEP 508) evaluated for the package's target, not the build host.

A lock file holds entries for every Python and machine it was made for; which of them go into
the package depends on the *private* interpreter (its version, known from the CPython source
before it is built) and the Debian architecture the package is built for. The build host's own
python3 (another version, perhaps) must not decide it, so the marker environment is written out
in full here and nothing is taken from the running interpreter.
"""
import os
import re
import subprocess

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

from ..errors import PyrpathError

# Debian architecture -> what `uname -m` (platform.machine()) says on it. On 32-bit ARM the
# kernel decides (an arm64 kernel running armhf says armv8l); these are the usual answers.
MACHINE = {
    "amd64": "x86_64", "arm64": "aarch64", "armhf": "armv7l", "armel": "armv5tel",
    "i386": "i686", "ppc64el": "ppc64le", "ppc64": "ppc64", "s390x": "s390x",
    "riscv64": "riscv64", "mips64el": "mips64", "mipsel": "mips", "loong64": "loongarch64",
    "alpha": "alpha", "hppa": "parisc", "m68k": "m68k", "sh4": "sh4", "sparc64": "sparc64",
    "x32": "x86_64", "powerpc": "ppc",
}

# "3.11.2" in "python3.11_3.11.2.orig.tar.gz", "Python-3.12.4.tar.xz", "3.11.2-6+deb12u8",
# "3.15.0~a1-1" (Debian's spelling of 3.15.0a1), "3.14.0rc2".
_VERSION = re.compile(r"(?<![\d.])(3\.\d+\.\d+)(?:[~]?((?:a|b|rc)\d+))?")

# PEP 751 markers test sets: `'dev' in dependency_groups`, `'cli' not in extras`. packaging
# before 25 knows neither name, so such a test is decided here and replaced by a comparison
# of the same truth value that any packaging parses.
_SET_TEST = re.compile(r"""(?P<q>['"])(?P<value>[^'"]*)(?P=q)\s+(?P<neg>not\s+)?in\s+"""
                       r"""(?P<var>extras|dependency_groups)\b""")


def python_version(text):
    """The full CPython version (X.Y.Z, or X.Y.ZrcN for a pre-release) named in a tarball name,
    a Debian version or an interpreter's version string; None if there is none."""
    match = _VERSION.search(str(text))
    if not match:
        return None
    return match.group(1) + (match.group(2) or "")


def deb_host_arch(env=None):
    """The Debian architecture packages are built for (dpkg-buildpackage exports it)."""
    env = os.environ if env is None else env
    if env.get("DEB_HOST_ARCH"):
        return env["DEB_HOST_ARCH"]
    try:
        out = subprocess.run(["dpkg-architecture", "-qDEB_HOST_ARCH"], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    except (OSError, subprocess.CalledProcessError):
        raise PyrpathError("cannot tell the Debian host architecture (dpkg-architecture "
                           "failed): install dpkg-dev or set DEB_HOST_ARCH") from None
    return out.stdout.strip()


def environment(python_full_version, deb_arch):
    """The complete marker environment of a Linux CPython `python_full_version` on `deb_arch`.

    platform_release and platform_version describe the running kernel, which a package does
    not know: they are empty, so markers on them are decided the same on every build host."""
    if deb_arch not in MACHINE:
        raise PyrpathError(f"Debian architecture {deb_arch} has no known platform_machine for "
                           "environment markers: build on one of " + ", ".join(sorted(MACHINE)))
    xyz = python_version(python_full_version)
    if not xyz:
        raise PyrpathError(f"'{python_full_version}' is not a CPython version (X.Y.Z)")
    return {
        "implementation_name": "cpython",
        "implementation_version": xyz,
        "os_name": "posix",
        "platform_machine": MACHINE[deb_arch],
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": xyz,
        "python_version": ".".join(xyz.split(".")[:2]),
        "sys_platform": "linux",
        "extra": "",
    }


def evaluate(marker, env, extras=(), groups=(), where="a marker"):
    """Whether `marker` (a string; empty or None is true) holds in `env` with these extras and
    dependency groups requested. A marker that does not parse is an error naming `where`."""
    if not marker or not str(marker).strip():
        return True

    def decide(match):
        chosen = extras if match.group("var") == "extras" else groups
        holds = (match.group("value") in chosen) != bool(match.group("neg"))
        # os_name is always in env: "==" of its own value is true, "!=" false
        return f"os_name {'==' if holds else '!='} {env['os_name']!r}"

    text = _SET_TEST.sub(decide, str(marker))
    try:
        parsed = Marker(text)
    except InvalidMarker as exc:
        raise PyrpathError(f"{where}: marker '{marker}' does not parse ({exc}): fix or "
                           "regenerate the file") from None
    results = []
    for extra in (sorted(extras) or [""]):  # `extra == 'x'` holds if x is one of the extras
        try:
            results.append(parsed.evaluate({**env, "extra": extra}))
        except (UndefinedComparison, UndefinedEnvironmentName) as exc:
            raise PyrpathError(f"{where}: marker '{marker}' cannot be evaluated ({exc}): fix "
                               "or regenerate the file") from None
    return any(results)
