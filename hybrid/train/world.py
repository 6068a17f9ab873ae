"""This process's place in a distributed job, as the launcher (torchrun) describes it in the
environment. Torch-free, so run directories and the CLI can ask before torch is imported."""

from __future__ import annotations

import os
from dataclasses import dataclass

from hybrid.errors import ConfigError


@dataclass(frozen=True)
class World:
    """This process's place in the job: rank (0 writes files), size (processes), local_rank
    (its index on this machine: the CUDA device it uses)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def launched() -> World:
    """The World a launcher (torchrun) described in the environment; one process if none did.
    Read before the process group exists, e.g. to let only rank 0 lock the run directory."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ConfigError("RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers (as torchrun sets them)") from None
    if size < 1 or not 0 <= rank < size:
        raise ConfigError(f"RANK {rank} does not fit WORLD_SIZE {size}")
    return World(rank, size, local)
