from ._speed import answer  # noqa: F401
