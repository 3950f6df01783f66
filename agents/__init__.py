"""RL agents for quantum architecture search: double DQN with n-step returns (CRLQAS)."""

from qnoise.agents.ddqn import DDQN, DDQNConfig
from qnoise.agents.records import CheckpointError
from qnoise.agents.replay import NStepBuffer, ReplayBuffer, ReplaySamples, Transition
from qnoise.agents.run_config import load_config
from qnoise.agents.trainer import Trainer

__all__ = [
    "DDQN",
    "CheckpointError",
    "DDQNConfig",
    "NStepBuffer",
    "ReplayBuffer",
    "ReplaySamples",
    "Trainer",
    "Transition",
    "load_config",
]
