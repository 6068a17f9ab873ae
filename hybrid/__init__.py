"""hybrid: hybrid neural-structured learning of sequences."""

__version__ = "0.1.0"
