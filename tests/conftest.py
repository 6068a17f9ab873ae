"""One torch thread for the whole suite: the tiny models and DPs here gain nothing from more,
and CI machines have two cores shared with pytest itself."""

import torch
from hypothesis import HealthCheck, settings

torch.set_num_threads(1)

# property-based tests: a few dozen examples per property by default (CI); the slow profile,
# `--hypothesis-profile=slow`, tries 1,000
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("slow", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")
