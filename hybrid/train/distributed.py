"""Training on several processes with torch.distributed: who this process is, and the few
collectives the run loop and the trainers need.

A run becomes distributed when it is started by `torchrun` (or any launcher that sets RANK,
WORLD_SIZE, MASTER_ADDR and MASTER_PORT): the run loop joins the process group (gloo on CPU,
NCCL on CUDA) and every rank runs the same trainer. Each step's global batch is split across
the ranks; after backward, `average_gradients` sums every rank's gradient weighted by its share
of the batch, so the update equals one process's on the whole global batch (DDP averages ranks
uniformly, which is not the global-batch gradient when shards differ in size, and it needs the
loss to come out of `forward`, which our trainers' losses do not). Rank 0 alone writes files
and evaluates; its decisions reach the other ranks by broadcast.

A rank that dies or stalls takes the job down: the others' next collective fails (a closed
connection at once, a stall after HYBRID_DIST_TIMEOUT seconds, default 1800) with a
DistributedError that says so, and torchrun stops the rest.
"""

from __future__ import annotations

import datetime
import functools
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from hybrid.errors import ConfigError, DistributedError
from hybrid.train.world import World, launched

__all__ = ["World", "launched", "current", "join", "leave", "device_of", "broadcast", "broadcast_floats", "gather",
           "broadcast_parameters", "average_gradients", "sum_floats"]

T = TypeVar("T")
TIMEOUT_ENV = "HYBRID_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800.0


def current() -> World:
    """The World of the joined process group (one process when there is none)."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size(), launched().local_rank)
    return World()


def timeout_s() -> float:
    value = os.environ.get(TIMEOUT_ENV, "")
    try:
        seconds = float(value) if value else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ConfigError(f"{TIMEOUT_ENV} must be a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise ConfigError(f"{TIMEOUT_ENV} must be > 0, got {value!r}")
    return seconds


def join(device: str | torch.device = "cpu") -> tuple[World, bool]:
    """Join the process group the launcher described, if any and not joined yet; returns the
    World and whether this call joined it (so the caller leaves it with `leave`)."""
    world = launched()
    if not world.distributed or (dist.is_available() and dist.is_initialized()):
        return current(), False
    if not dist.is_available():
        raise DistributedError("this torch build has no torch.distributed; run one process")
    backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(world.local_rank)  # the object collectives use the current device
    try:
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s()))
    except (RuntimeError, ValueError) as exc:
        raise DistributedError(f"rank {world.rank}: could not join the other {world.size - 1} process(es): "
                               f"{_first_line(exc)}") from None
    return current(), True


def leave() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def device_of(device: str | torch.device, world: World) -> torch.device:
    """`cuda` means this rank's own GPU (cuda:LOCAL_RANK) when several processes share a machine."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None and world.distributed:
        return torch.device("cuda", world.local_rank)
    return device


def _collective_device() -> torch.device:
    """Where tensors of a collective must be: this rank's GPU under NCCL, else the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _collective(call: Callable[[], T]) -> T:
    """Run a collective; a peer that died or stalled becomes a DistributedError naming this rank."""
    try:
        return call()
    except (RuntimeError, ValueError) as exc:
        if not dist.is_initialized():
            raise
        raise DistributedError(
            f"rank {dist.get_rank()} of {dist.get_world_size()}: lost contact with the other processes "
            f"({_first_line(exc)}); one of them ended or stalled past {TIMEOUT_ENV}={timeout_s():g} s: "
            "see its own error above") from None


def broadcast(value: T, world: World) -> T:
    """Rank 0's `value` on every rank (any picklable object of plain values)."""
    if not world.distributed:
        return value
    box = [value]
    _collective(lambda: dist.broadcast_object_list(box, src=0))
    return box[0]


def broadcast_floats(values: list[float], world: World) -> list[float]:
    """Rank 0's numbers on every rank: one small tensor broadcast (cheap enough for every step)."""
    if not world.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=_collective_device())
    _collective(lambda: dist.broadcast(tensor, src=0))
    return tensor.tolist()


def sum_floats(values: list[float], world: World) -> list[float]:
    """Each number summed over the ranks: one small all-reduce (cheap enough for every step)."""
    if not world.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=_collective_device())
    _collective(lambda: dist.all_reduce(tensor))
    return tensor.tolist()


def gather(value: T, world: World) -> list[T]:
    """Every rank's `value`, in rank order, on every rank."""
    if not world.distributed:
        return [value]
    out: list[Any] = [None] * world.size
    _collective(lambda: dist.all_gather_object(out, value))
    return out


def broadcast_parameters(parameters: Iterable[torch.Tensor], world: World) -> None:
    """Copy rank 0's parameter values to every rank (so all start from the same model)."""
    if not world.distributed:
        return
    with torch.no_grad():
        for p in parameters:
            _collective(functools.partial(dist.broadcast, p.data, src=0))


def average_gradients(parameters: Iterable[torch.Tensor], weight: float, world: World) -> float:
    """Replace each rank's gradients by sum_r w_r g_r / sum_r w_r (w_r: rank r's `weight`, e.g. its
    sentences, when its loss is a mean over them): the gradient of the mean over the global batch.
    A gradient missing on some ranks counts as zero there, and one missing on every rank stays
    None (as in one process, the optimiser skips it). Returns sum_r w_r.

    Two all-reduces: a small one of which rows of each matrix any rank touched (with the weights
    and which gradients exist), then one flat buffer of the gradients, where a matrix with at
    most half its rows touched (a word embedding: a batch meets few of its words) sends only
    those rows. Rows no rank touched are zero everywhere, so the sums are the dense sums."""
    params = [p for p in parameters if p.requires_grad]
    if not world.distributed or not params:
        return weight
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    matrices = [i for i, g in enumerate(grads) if g.dim() == 2]
    head = torch.cat([grads[i].ne(0).any(1).double() for i in matrices]
                     + [grads[0].new_tensor([float(p.grad is not None) for p in params] + [weight],
                                            dtype=torch.float64)])
    _collective(lambda: dist.all_reduce(head))
    total = float(head[-1])
    anywhere = (head[-1 - len(params):-1] > 0).tolist()
    rows: dict[int, torch.Tensor] = {}  # parameter index -> the rows it sends
    offset = 0
    for i in matrices:
        n = grads[i].shape[0]
        touched = head[offset:offset + n].nonzero().squeeze(1)
        offset += n
        if 2 * len(touched) <= n:
            rows[i] = touched
    parts = [(g[rows[i]] if i in rows else g).reshape(-1) for i, g in enumerate(grads)]
    flat = torch.cat(parts) * weight
    _collective(lambda: dist.all_reduce(flat))
    if total > 0:
        flat /= total
    offset = 0
    for i, (p, part, some) in enumerate(zip(params, parts, anywhere, strict=True)):
        values = flat[offset:offset + part.numel()]
        offset += part.numel()
        if not some:
            p.grad = None
        elif i in rows:
            p.grad = torch.zeros_like(p).index_copy_(0, rows[i], values.view(-1, p.shape[1]))
        else:
            p.grad = values.view_as(p)
    return total
