"""Gymnasium environments of qnoise: quantum architecture search (CRLQAS).

``import qnoise`` (or ``import qnoise.envs``) registers ``"qnoise/ArchSearch-v0"``, so
``gymnasium.make("qnoise/ArchSearch-v0", problem="H2-2q", render_mode="ansi")`` works after
either; the keyword arguments are :class:`qnoise.envs.ArchSearchConfig`'s. Installed as
``qnoise.envs`` from the repository's ``envs/`` folder.
"""

from qnoise.envs.actions import Action, action_set
from qnoise.envs.arch_search import ArchSearchEnv
from qnoise.envs.config import ArchSearchConfig
from qnoise.envs.curriculum import Curriculum
from qnoise.envs.halting import RandomHalting
from qnoise.gym_registration import ENV_ID, register_envs

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
