"""Run directories: a previous run's files are never replaced by accident, and one run at a time.

`run_directory(out, resume, overwrite)` is entered by every trainer's entry point before it
writes anything: a directory holding a previous run (its checkpoint, log, summary or model) is
refused unless the caller resumes that run or asks to start over, and an exclusive lock on
OUT/.lock refuses a second run into the same directory while the first one lives. In a
distributed run (torchrun) rank 0 alone checks and locks: the other ranks are the same run.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TextIO, TypeVar

from hybrid.errors import RunDirectoryError
from hybrid.train.world import launched

# what a run leaves (hybrid.train.loop); their presence means a previous run
RUN_FILES = ("checkpoint.pt", "summary.json", "train_log.jsonl", "steps.jsonl", "model")
LOCK = ".lock"
P = ParamSpec("P")
R = TypeVar("R")


def previous_run(out: Path) -> list[str]:
    """The names of a previous run's files in `out` (empty: none)."""
    return [name for name in RUN_FILES if (out / name).exists()]


@contextlib.contextmanager
def run_directory(out_dir: str | Path, resume: bool = False, overwrite: bool = False) -> Iterator[Path]:
    """`out_dir`, created if needed and locked for the block. A previous run there is continued
    with `resume`, started over with `overwrite` (its files are replaced as the new run writes
    them), and otherwise refused with RunDirectoryError, as is a directory another run holds."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"{out}: exists and is not a directory")
    if not launched().main:  # a further rank of rank 0's run: rank 0 checks and holds the lock
        yield out
        return
    found = previous_run(out) if out.is_dir() else []
    if found and not (resume or overwrite):
        raise RunDirectoryError(f"{out} holds a previous run ({', '.join(found)}): resume it (--resume), start "
                                "over (--overwrite), or choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = open(out / LOCK, "a+")  # noqa: SIM115 - held for the whole block
    except OSError as exc:
        raise RunDirectoryError(f"{out}: cannot write the run directory ({exc.strerror or exc})") from None
    try:
        _lock(handle, out)
        yield out
    finally:
        handle.close()  # releases the lock


def _lock(handle: TextIO, out: Path) -> None:
    """Take the directory's lock (non-blocking) and record this process in it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        raise RunDirectoryError(f"{out} is in use by another run (process {holder}); wait for it to end or "
                                "choose another --out") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()


def claims_run_directory(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator of a trainer's entry point whose parameters include `out_dir`, `resume` and
    `overwrite`: the whole call runs inside `run_directory(out_dir, resume, overwrite)`."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def claimed(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments
        with run_directory(given["out_dir"], given["resume"], given["overwrite"]):
            return function(*args, **kwargs)

    return claimed
