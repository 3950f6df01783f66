"""RL agents for quantum architecture search: double DQN with n-step returns (CRLQAS)."""

from agents.ddqn import DDQN, DDQNConfig
from agents.records import CheckpointError
from agents.replay import NStepBuffer, ReplayBuffer, Transition
from agents.run_config import load_config
from agents.trainer import Trainer

__all__ = [
    "DDQN",
    "CheckpointError",
    "DDQNConfig",
    "NStepBuffer",
    "ReplayBuffer",
    "Trainer",
    "Transition",
    "load_config",
]
