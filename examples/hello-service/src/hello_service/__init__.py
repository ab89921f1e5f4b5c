"""hello-service: the example service packaged by dh-pyrpath."""

__version__ = "1.0.0"
