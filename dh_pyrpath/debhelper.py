"""What Dh_Lib gives Perl helpers, for a helper written in Python.

debian/control through python-debian, package selection (-p -N -a -i, Build-Profiles,
Architecture), per-package config files, DEB_BUILD_OPTIONS, the release debian/changelog names
and its SOURCE_DATE_EPOCH.
"""
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from debian.deb822 import Deb822

from .errors import PyrpathError, UsageError


@dataclass
class BinaryPackage:
    name: str
    architecture: str
    profiles: str = ""
    depends: str = ""

    @property
    def arch_all(self):
        return self.architecture.split() == ["all"]


@dataclass
class Control:
    source: str
    packages: list = field(default_factory=list)
    build_depends: str = ""

    def names(self):
        return [p.name for p in self.packages]


def read_control(path="debian/control"):
    """Parse debian/control; raise a clear error when it is missing or malformed."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            paras = list(Deb822.iter_paragraphs(fh))
    except FileNotFoundError:
        raise PyrpathError(f"{path} not found: run dh_pyrpath from the source package's top "
                           "directory (the one holding debian/)") from None
    if not paras or "Source" not in paras[0]:
        raise PyrpathError(f"{path}: first paragraph has no Source field: fix debian/control")
    packages = []
    for para in paras[1:]:
        if "Package" not in para:
            raise PyrpathError(f"{path}: a binary paragraph has no Package field: fix debian/control")
        packages.append(BinaryPackage(para["Package"], para.get("Architecture", "any"),
                                      para.get("Build-Profiles", ""), para.get("Depends", "")))
    return Control(paras[0]["Source"], packages, paras[0].get("Build-Depends", ""))


def compat_level(control, debian_dir="debian"):
    """debhelper's compat level: debhelper-compat (= N) in Build-Depends, or debian/compat."""
    match = re.search(r"debhelper-compat\s*\(\s*=\s*(\d+)\s*\)", control.build_depends)
    if match:
        return int(match.group(1))
    try:
        return int((Path(debian_dir) / "compat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def host_arch():
    arch = os.environ.get("DEB_HOST_ARCH")
    if arch:
        return arch
    return subprocess.run(["dpkg-architecture", "-qDEB_HOST_ARCH"], check=True, text=True,
                          stdout=subprocess.PIPE).stdout.strip()


def arch_matches(arch_field, arch):
    """True if a package with Architecture `arch_field` is built on `arch` (or is arch:all)."""
    for wildcard in arch_field.split():
        if wildcard in ("all", "any", arch):
            return True
        if "-" in wildcard or wildcard.startswith("any"):
            # linux-any, any-amd64, ...: dpkg knows the tuples, so ask it.
            proc = subprocess.run(["dpkg-architecture", "-a", arch, "-i", wildcard],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if proc.returncode == 0:
                return True
    return False


def profiles_match(formula, active):
    """Build-Profiles: '<!nocheck> <pkg.foo bar>' -> built if any group has all terms true."""
    groups = re.findall(r"<([^>]*)>", formula)
    if not groups:
        return True
    for group in groups:
        terms = group.split()
        if all((t[1:] not in active) if t.startswith("!") else (t in active) for t in terms):
            return True
    return False


def select_packages(control, opts, arch=None):
    """The packages this invocation acts on, as Dh_Lib does it.

    opts: packages (-p), no_packages (-N), arch (-a), indep (-i).
    """
    arch = arch or host_arch()
    active_profiles = set(os.environ.get("DEB_BUILD_PROFILES", "").split())
    buildable = [p for p in control.packages
                 if arch_matches(p.architecture, arch) and profiles_match(p.profiles, active_profiles)]
    known = set(control.names())
    for name in list(opts.packages) + list(opts.no_packages):
        if name not in known:
            raise UsageError(f"package {name} is not in debian/control: fix the -p/-N option")
    if opts.packages:
        chosen = [p for p in buildable if p.name in opts.packages]
    else:
        chosen = list(buildable)
    if opts.arch or opts.indep:
        chosen = [p for p in chosen if (opts.indep and p.arch_all) or (opts.arch and not p.arch_all)]
    return [p for p in chosen if p.name not in opts.no_packages]


def pkgfile(package, name, main_package, debian_dir="debian"):
    """debian/<package>.<name>, or debian/<name> for the first package (Dh_Lib's pkgfile)."""
    candidate = Path(debian_dir) / f"{package}.{name}"
    if candidate.is_file():
        return candidate
    if package == main_package:
        candidate = Path(debian_dir) / name
        if candidate.is_file():
            return candidate
    return None


def tmpdir(package, debian_dir="debian"):
    """The directory debhelper packages for `package`."""
    return Path(debian_dir) / package


@dataclass
class BuildOptions:
    parallel: int = 0
    nocheck: bool = False
    noopt: bool = False
    nostrip: bool = False


def build_options(value=None):
    """Parse DEB_BUILD_OPTIONS (the keys this command honours)."""
    value = os.environ.get("DEB_BUILD_OPTIONS", "") if value is None else value
    opts = BuildOptions()
    for word in value.replace(",", " ").split():
        key, _, arg = word.partition("=")
        if key == "parallel" and arg.isdigit() and int(arg) > 0:
            opts.parallel = int(arg)
        elif key in ("nocheck", "noopt", "nostrip"):
            setattr(opts, key, True)
    return opts


@dataclass
class Release:
    version: str
    epoch: int  # SOURCE_DATE_EPOCH, else the changelog entry's date


def release(debian_dir, log, path_env, environ=None):
    """The newest debian/changelog entry's version, and the build's time: SOURCE_DATE_EPOCH
    (dpkg-buildpackage exports it), else that entry's date, so that dh_pyrpath run on its own
    builds the same bytes as well."""
    out = log.capture(["dpkg-parsechangelog", "-l", Path(debian_dir) / "changelog"],
                      "read debian/changelog", env={"PATH": path_env, "LC_ALL": "C"})
    fields = Deb822(out)
    return Release(fields["Version"], source_date_epoch(
        os.environ if environ is None else environ, int(fields["Timestamp"])))


def source_date_epoch(environ, fallback):
    value = environ.get("SOURCE_DATE_EPOCH")
    if value is None:
        return fallback
    if not value.strip().isdigit():
        raise PyrpathError(f"SOURCE_DATE_EPOCH={value!r} is not a number of seconds: fix it "
                           "or unset it (the changelog's date is used then)")
    return int(value)
