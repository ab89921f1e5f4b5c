"""make-deb: scaffold a debian/ directory that builds a Python project with dh_pyrpath."""
try:
    from importlib.metadata import PackageNotFoundError, version as _version
    __version__ = _version("dh-pyrpath")
except (ImportError, PackageNotFoundError):  # running from a source checkout: one version
    from dh_pyrpath import __version__

from .errors import (MakeDebError, MetadataError, MissingFieldsError, NamingError,  # noqa: E402
                     OutputError, PythonSourceError, RefreshError, RequirementsError,
                     TemplateError, UsageError, VersionError)

__all__ = ["MakeDebError", "MetadataError", "MissingFieldsError", "NamingError", "OutputError",
           "PythonSourceError", "RefreshError", "RequirementsError", "TemplateError", "UsageError",
           "VersionError", "__version__"]
