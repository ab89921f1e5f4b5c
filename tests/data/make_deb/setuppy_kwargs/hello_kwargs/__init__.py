"""Hello Kwargs."""
