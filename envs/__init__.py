"""Gymnasium environments of qnoise: quantum architecture search (CRLQAS).

``import envs`` registers ``"qnoise/ArchSearch-v0"``;
``gymnasium.make("envs:qnoise/ArchSearch-v0")`` imports and registers in one go.
"""

import gymnasium

from envs.actions import Action, action_set
from envs.arch_search import ArchSearchEnv
from envs.config import ArchSearchConfig
from envs.curriculum import Curriculum
from envs.halting import RandomHalting

ENV_ID = "qnoise/ArchSearch-v0"


def register_envs() -> None:
    """Register qnoise's environments with Gymnasium (idempotent)."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="envs.arch_search:ArchSearchEnv")


register_envs()

__all__ = [
    "ENV_ID",
    "Action",
    "ArchSearchConfig",
    "ArchSearchEnv",
    "Curriculum",
    "RandomHalting",
    "action_set",
    "register_envs",
]
