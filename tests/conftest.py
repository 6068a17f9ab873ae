"""One torch thread for the whole suite: the tiny models and DPs here gain nothing from more,
and CI machines have two cores shared with pytest itself."""

import torch

torch.set_num_threads(1)
