"""One exception hierarchy for hybrid: every error a user can cause derives from HybridError."""

from __future__ import annotations

from pathlib import Path


class HybridError(Exception):
    """Base class of every error hybrid raises on purpose."""


class ConfigError(HybridError, ValueError):
    """A configuration value or file is invalid (unknown key, wrong type, bad range)."""


class DataFormatError(HybridError, ValueError):
    """Input data does not have the expected format; names the file and line when known."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path = None if path is None else str(path)
        self.line = line
        self.reason = message
        where = ""
        if self.path is not None:
            where = self.path if line is None else f"{self.path}:{line}"
        elif line is not None:
            where = f"line {line}"
        super().__init__(f"{where}: {message}" if where else message)


class ModelLoadError(HybridError):
    """A saved model directory is missing, corrupt, or from an incompatible version."""


class ShapeError(HybridError, ValueError):
    """Tensors passed to a layer or dynamic program do not have the documented shapes."""


class CheckpointError(HybridError):
    """A training checkpoint is unreadable, from another program or version, or unsafe to load."""


class DistributedError(HybridError):
    """A process of a distributed run could not join the others, or lost them (one ended or stalled)."""


class RunDirectoryError(HybridError):
    """A run directory holds a previous run (and neither resume nor overwrite was asked), is in use
    by another run, or cannot be written."""
