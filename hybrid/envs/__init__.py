"""Gymnasium environments: token-by-token generation for agents brought from outside.

Importing this package registers `hybrid/Generation-v0` with gymnasium.
"""

import gymnasium

from hybrid.envs.generation import GenerationEnv, make_vector_env

ENV_ID = "hybrid/Generation-v0"
if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="hybrid.envs.generation:GenerationEnv")

__all__ = ["ENV_ID", "GenerationEnv", "make_vector_env"]
