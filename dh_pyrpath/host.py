"""Facts about the host this runs on, read from the system: its Debian release, its default
python3, its CA bundle, and the PATH of its own tools. Every layer may use this module; it uses
none of them."""
import configparser
import re
from pathlib import Path

from .errors import PyrpathError

# python3-minimal's record of the release's default python3 (what dh-python reads too).
DEBIAN_DEFAULTS = Path("/usr/share/python3/debian_defaults")
OS_RELEASE = Path("/etc/os-release")
# The CA bundle pip and downloads verify TLS with unless ca-bundle says otherwise: the host's
# (ca-certificates), which holds a site's own CAs (a TLS proxy's) where the admin added them.
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# The system's own tools (Debian's python3, dpkg, apt, gcc), never what a developer put first
# on PATH.
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def host_default_package(defaults=DEBIAN_DEFAULTS):
    """The source package of the host release's default python3 ("python3.11" on bookworm,
    "python3.13" on trixie), read from python3-minimal's debian_defaults."""
    parser = configparser.ConfigParser()
    try:
        parser.read_string(Path(defaults).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, configparser.Error):
        pass
    value = parser.get("DEFAULT", "default-version", fallback="").strip()
    if not re.fullmatch(r"python3\.\d+", value):
        raise PyrpathError(f"cannot tell this host's default python3 ({defaults} names none): "
                           "set python-source (debian:python3.X, or a tarball and its sha256)")
    return value


def host_default_source(defaults=DEBIAN_DEFAULTS):
    """`debian:python3.X` for the host's default python3."""
    return f"debian:{host_default_package(defaults)}"


def host_codename(os_release=OS_RELEASE):
    """VERSION_CODENAME of the host ("bookworm"), or None."""
    try:
        text = Path(os_release).read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^VERSION_CODENAME=\"?([A-Za-z0-9.-]+)\"?$", text, re.M)
    return match.group(1) if match else None
