"""Mixed precision for the supervised trainers' steps (`--amp`).

The forward pass runs under torch.autocast in bfloat16 or float16, so matrix products (linear
layers, recurrent cells, attention) take the fast low-precision path of a GPU; the structured
layers get float32 scores (the taggers cast their emissions) and losses stay in float32. float16
needs a gradient scaler, so that small gradients do not underflow: the loss is scaled up before
backward and the gradients scaled down before clipping; a step whose gradients overflowed is
skipped and the scale lowered. bfloat16 has float32's range and needs none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import torch

from hybrid.config import AMP_CHOICES
from hybrid.errors import ConfigError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    """How a trainer's steps run: `autocast()` around the forward pass and loss, `backward(loss)`,
    then `step(optimizer, parameters, clip_norm)` (unscale, clip, step). With "off" these are
    the plain calls."""

    def __init__(self, amp: str, device: str | torch.device):
        if amp not in AMP_CHOICES:
            raise ConfigError(f"amp must be one of {', '.join(AMP_CHOICES)}, got {amp!r}")
        self.amp = amp
        self.device_type = torch.device(device).type
        if amp == "fp16" and self.device_type != "cuda":
            raise ConfigError(f"--amp fp16 needs a CUDA device (training on {self.device_type}); "
                              "on the CPU use --amp bf16 or leave it off")
        self.scaler = torch.amp.GradScaler(self.device_type, enabled=amp == "fp16")

    @property
    def enabled(self) -> bool:
        return self.amp != "off"

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The context of the forward pass and loss."""
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=DTYPES[self.amp])

    def backward(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss).backward()

    def step(self, optimizer: torch.optim.Optimizer, parameters: Iterable[torch.Tensor], clip_norm: float) -> None:
        """Unscale the gradients (float16), clip their norm to `clip_norm` (0: no clipping), step."""
        if self.scaler.is_enabled():
            self.scaler.unscale_(optimizer)
        if clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(list(parameters), clip_norm)
        self.scaler.step(optimizer)  # skipped when float16 gradients overflowed; a plain step otherwise
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        return self.scaler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state and self.scaler.is_enabled():
            self.scaler.load_state_dict(state)

