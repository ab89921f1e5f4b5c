"""My Cool App."""
__version__ = "0.3.0.post2"
