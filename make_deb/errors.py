"""One exception hierarchy: the library raises, only ``__main__`` prints and picks exit codes.

Every message names what was wrong *and* what to do about it, on one line, because that line is
all a user sees (``make-deb: error: <message>``).
"""


class MakeDebError(Exception):
    """Base class; ``exit_code`` is what ``make-deb`` exits with."""

    exit_code = 1


class UsageError(MakeDebError):
    """A flag or environment value is malformed (same code argparse uses)."""

    exit_code = 2


class MetadataError(MakeDebError):
    """The project's metadata is missing, unreadable or invalid."""


class NamingError(MakeDebError):
    """A name cannot become a Debian package name."""


class VersionError(MakeDebError):
    """A version is not PEP 440 or cannot become a Debian version."""


class MissingFieldsError(MakeDebError):
    """Required fields are missing and nobody can be asked (non-interactive run)."""

    exit_code = 3


class TemplateError(MakeDebError):
    """A template (built-in or from --templates) is missing, broken or renders invalid output."""


class OutputError(MakeDebError):
    """The debian/ files cannot be written (existing files, permissions, validation)."""


class RequirementsError(MakeDebError):
    """Pinning the dependencies with pip failed."""


class PythonSourceError(MakeDebError):
    """The CPython source cannot be resolved (no deb-src entries, unknown source, ...)."""


class RefreshError(MakeDebError):
    """make-deb --refresh cannot move the pin (no debian/, no pin, nothing the archive
    serves, no apt indexes, ...): nothing was changed."""
