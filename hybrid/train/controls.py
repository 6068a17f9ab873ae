"""Controls for the sequence-level trainers: the same run with the reward's link to the outputs
cut, so that what a trainer gains can be told from what any update of its kind would bring
(e.g. sharpening the output distribution).

- constant: every output gets the batch's mean reward (greedy outputs too): with a baseline the
  policy-gradient term vanishes; without one it pushes up whatever was sampled.
- shuffled: the batch's rewards are permuted among its outputs: the reward's scale and spread
  stay, its information about each output goes.
- zero-advantage: the advantage R - b is 0, so only the other terms (MLE, entropy) train.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hybrid.config import CONTROLS


def controlled_rewards(control: str, rewards: Tensor, generator: torch.Generator,
                       greedy: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
    """Rewards (N,) and greedy rewards (B,) or None, as the control has them."""
    if control == "constant":
        # rounded to a multiple of 2^-12, so that baselines made of it (means, greedy rewards) cancel it
        # exactly: Adam turns even a rounding error's gradient into a full step
        mean = round(float(rewards.mean()) * 4096) / 4096
        return torch.full_like(rewards, mean), None if greedy is None else torch.full_like(greedy, mean)
    if control == "shuffled":
        order = torch.randperm(len(rewards), generator=generator, device=generator.device).to(rewards.device)
        if greedy is not None:
            greedy = greedy[torch.randperm(len(greedy), generator=generator, device=generator.device).to(greedy.device)]
        return rewards[order], greedy
    if control in ("none", "zero-advantage"):  # zero-advantage acts on the baseline (`controlled_baseline`)
        return rewards, greedy
    raise ValueError(f"unknown control {control!r}; expected one of {', '.join(CONTROLS)}")


def controlled_baseline(control: str, rewards: Tensor, baseline: Tensor) -> Tensor:
    """The baseline, or the rewards themselves under zero-advantage (R - b = 0)."""
    return rewards if control == "zero-advantage" else baseline
