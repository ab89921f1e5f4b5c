"""web-service: the larger benchmark project of dh-pyrpath."""
__version__ = "1.0.0"
