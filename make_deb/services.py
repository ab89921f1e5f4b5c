"""Services: what `--service`, `--supervisor`, `--user`, `--env` and `--config` turn into.

A service is a long-running command of the project, started by systemd (one unit per service,
the default) or by supervisord (`--supervisor`), as a dedicated system user, with its settings in
`/etc/default/<package>` and optional config files in `/etc/<package>/` (conffiles: dpkg keeps
local edits on upgrades). This module parses and validates the flags and decides every name and
path; the templates only format them (see docs/services.md for the reasons behind each choice).
"""
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

# adduser's default NAME_REGEX for system users (adduser.conf(5)), and useradd's length limit.
USER_RE = re.compile(r"^[a-z_][a-z0-9_-]*$")
MAX_USER_LEN = 32
# A service name: a systemd unit name stem and a supervisord program name (no ':' there).
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Values written without quotes in /etc/default/<package>: read the same by sh and by systemd.
PLAIN_VALUE_RE = re.compile(r"^[A-Za-z0-9_./:,@%+=-]*$")
# ExecStart words written without quotes ('$' and braces stay: systemd expands ${VAR}).
PLAIN_WORD_RE = re.compile(r"^[A-Za-z0-9_@%+=:,./${}-]+$")
PYTHONS = re.compile(r"^python(3(\.\d+)?)?$")
RESERVED_USERS = {"root", "daemon", "bin", "sys", "nobody", "nogroup"}


@dataclass
class Service:
    """One long-running command."""
    name: str            # the unit name without .service, and the supervisord program name
    argv: list           # absolute program path, then its arguments (may hold ${VAR})
    description: str = ""

    @property
    def unit(self):
        return f"{self.name}.service"

    @property
    def exec_start(self):
        """argv as a systemd command line (systemd.service(5) "Command lines")."""
        return " ".join(systemd_word(w) for w in self.argv)

    @property
    def shell_command(self):
        """argv as a POSIX sh command line; ${VAR} references stay expandable."""
        return " ".join(sh_word(w) for w in self.argv)

    def supervisor_command(self, env_file):
        """supervisord's command=: sh reads the environment file (as systemd's
        EnvironmentFile=- would: optional), then becomes the program. supervisord splits the
        line with shlex and expands %(...)s, hence the quoting and the doubled '%'."""
        script = (f"set -a; [ ! -r {env_file} ] || . {env_file}; set +a; "
                  f"exec {self.shell_command}")
        return ("/bin/sh -c " + shlex.quote(script)).replace("%", "%%")


@dataclass
class ServiceSet:
    """Everything about the services of one package."""
    package: str
    manager: str                       # "systemd" or "supervisor"
    services: list
    user: str
    environment: list = field(default_factory=list)   # [(name, value)] for /etc/default
    config_files: list = field(default_factory=list)  # [(project-relative source, file name)]

    @property
    def state_dir(self):
        return f"/var/lib/{self.package}"

    @property
    def env_file(self):
        return f"/etc/default/{self.package}"

    @property
    def config_dir(self):
        return f"/etc/{self.package}"

    @property
    def supervisor_conf(self):
        return f"/etc/supervisor/conf.d/{self.package}.conf"

    @property
    def depends(self):
        """Packages the maintainer scripts (and the service manager) need."""
        if not self.services:
            return []
        return ["adduser", "supervisor"] if self.manager == "supervisor" else ["adduser"]


# ------------------------------------------------------------------ quoting

def systemd_word(word):
    """One word of a systemd command line: '%' is a specifier, quotes and backslashes escape."""
    word = word.replace("%", "%%")
    if PLAIN_WORD_RE.match(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sh_word(word):
    """One word of a sh command line; words with '$' are double-quoted so ${VAR} expands."""
    if "$" not in word:
        return shlex.quote(word)
    return '"' + re.sub(r'([\\"`])', r"\\\1", word) + '"'


def env_value(value):
    """A value in /etc/default/<package>, read alike by sh (`. file`) and systemd
    (EnvironmentFile=): plain, or in single quotes (literal for both)."""
    return value if PLAIN_VALUE_RE.match(value) else f"'{value}'"


# ------------------------------------------------------------------ flag parsing

def _spec_error(spec, problem):
    raise UsageError(f"--service {spec!r}: {problem}")


def parse_service_spec(spec):
    """'[NAME=]COMMAND [ARG...]' -> (name or None, [word, ...]); syntax only."""
    text = spec.strip()
    if not text:
        _spec_error(spec, "empty; give a console script name or a command line, e.g. "
                          "--service my-app or --service 'web=my-app serve --port ${PORT}'")
    if any(c in text for c in "\n\r\0"):
        _spec_error(spec, "contains a line break or NUL; give one command line")
    name = None
    m = re.match(r"^([^\s=\"']+)=(.*)$", text, re.S)
    if m and not m.group(1).startswith(("/", "-")):
        name, text = m.group(1), m.group(2).strip()
        if not NAME_RE.match(name):
            _spec_error(spec, f"service name {name!r} may only hold letters, digits, '.', '_' "
                              f"and '-' and must start with a letter or digit")
    try:
        words = shlex.split(text)
    except ValueError as exc:
        _spec_error(spec, f"cannot split it into words ({exc}); balance the quotes")
    if not words:
        _spec_error(spec, "no command after the name; e.g. --service 'web=my-app serve'")
    return name, words


def check_user(value):
    if not USER_RE.match(value) or len(value) > MAX_USER_LEN:
        raise UsageError(f"--user {value!r} is not a valid system user name: lowercase "
                         f"letters, digits, '_' and '-', starting with a letter or '_', at "
                         f"most {MAX_USER_LEN} characters")
    if value in RESERVED_USERS:
        raise UsageError(f"--user {value!r}: a service gets a dedicated user, not a shared "
                         f"system account; pick a new name (default: the package name)")
    return value


def parse_env(item):
    name, sep, value = item.partition("=")
    if not sep or not ENV_NAME_RE.match(name):
        raise UsageError(f"--env {item!r} is not NAME=VALUE with NAME made of letters, digits "
                         f"and '_'; e.g. --env PORT=8080")
    if "'" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise UsageError(f"--env {name}: the value may not contain a single quote or control "
                         f"characters (systemd and sh must read /etc/default alike)")
    return name, value


def check_config_file(item, project_dir):
    rel = Path(item)
    if rel.is_absolute() or ".." in rel.parts or not item.strip() \
            or any(c.isspace() for c in item):
        raise UsageError(f"--config {item!r} must be a path inside the project, relative to it, "
                         f"without spaces, e.g. --config conf/app.toml")
    path = Path(project_dir, rel)
    if not path.is_file():
        raise UsageError(f"--config {item!r}: no such file in {project_dir}; give a file of "
                         f"the project to ship in /etc/<package>/")
    if rel.parts[0] == "debian":
        raise UsageError(f"--config {item!r} is under debian/; keep config files in the "
                         f"project itself")
    return rel.as_posix()


def early_checks(opts):
    """Flag syntax, before any slow work (usage errors, exit code 2)."""
    services = getattr(opts, "service", None) or []
    for spec in services:
        parse_service_spec(spec)
    if not services:
        for flag, given in (("--supervisor", opts.supervisor), ("--user", opts.user),
                            ("--env", opts.env)):
            if given:
                raise UsageError(f"{flag} needs at least one --service (the command to run "
                                 f"as a service)")
    if opts.user is not None:
        check_user(opts.user)
    names = set()
    for item in opts.env or []:
        name, _ = parse_env(item)
        if name in names:
            raise UsageError(f"--env {name} is given twice; give each variable once")
        names.add(name)
    seen = {}
    for item in opts.config or []:
        rel = check_config_file(item, opts.directory)
        base = Path(rel).name
        if base in seen:
            raise UsageError(f"--config {item!r} and {seen[base]!r} would both be "
                             f"/etc/<package>/{base}; rename one")
        seen[base] = item


# ------------------------------------------------------------------ resolution

def default_user(package):
    user = re.sub(r"[.+]", "-", package)
    if not USER_RE.match(user) or len(user) > MAX_USER_LEN or user in RESERVED_USERS:
        raise UsageError(f"package name {package!r} cannot be a system user name; pass "
                         f"--user NAME (lowercase letters, digits, '_', '-', at most "
                         f"{MAX_USER_LEN} characters)")
    return user


def _resolve_one(spec, package, prefix, scripts):
    name, words = parse_service_spec(spec)
    first = words[0]
    if first in scripts:
        argv = [f"{prefix}/bin/{first}", *words[1:]]
        default = first
    elif PYTHONS.match(first):
        argv = [f"{prefix}/bin/python3", *words[1:]]
        module = words[2] if len(words) > 2 and words[1] == "-m" else None
        if name is None and module is None:
            _spec_error(spec, "name the service: --service 'NAME=python3 ...'")
        default = re.sub(r"[^A-Za-z0-9-]+", "-", module or "").strip("-")
    elif first.startswith("/"):
        argv = list(words)
        default = Path(first).name
    else:
        known = ", ".join(sorted(scripts)) or "none"
        _spec_error(spec, f"{first!r} is not a console script of the project (it has: "
                          f"{known}); give one of them, 'python3 -m MODULE ...', or an "
                          f"absolute path")
    name = name or default
    if not NAME_RE.match(name or ""):
        _spec_error(spec, f"cannot make a service name from {first!r}; use "
                          f"--service 'NAME=COMMAND'")
    # units and programs are system-wide names: keep them in the package's namespace
    if name != package and not name.startswith(package + "-"):
        name = f"{package}-{name}"
    return Service(name=name, argv=argv)


def resolve(opts, package, prefix, scripts, synopsis, project_dir):
    """The ServiceSet for these options, or None when no --service is given."""
    specs = getattr(opts, "service", None) or []
    configs = [check_config_file(c, project_dir) for c in (opts.config or [])]
    if not specs and not configs:
        return None
    services = []
    for spec in specs:
        service = _resolve_one(spec, package, prefix, scripts)
        if any(s.name == service.name for s in services):
            raise UsageError(f"two --service options give the same service name "
                             f"{service.name!r}; name them: --service 'NAME=COMMAND'")
        service.description = (synopsis if service.name == package
                               else f"{synopsis} ({service.name})")
        services.append(service)
    user = opts.user or (default_user(package) if services else None)
    env = [parse_env(item) for item in opts.env or []]
    return ServiceSet(package=package, manager="supervisor" if opts.supervisor else "systemd",
                      services=services, user=user, environment=env,
                      config_files=[(rel, Path(rel).name) for rel in configs])
