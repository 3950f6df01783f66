"""Registration of qnoise's Gymnasium environments (run on ``import qnoise``).

The entry point is a string, so registering imports nothing from the environment layer; the
environment module loads when ``gymnasium.make`` first builds one.
"""

from __future__ import annotations

__all__ = ["ENV_ID", "register_envs"]

#: Gymnasium id of the architecture-search environment (:class:`qnoise.envs.ArchSearchEnv`)
ENV_ID = "qnoise/ArchSearch-v0"


def register_envs() -> None:
    """Register ``qnoise/ArchSearch-v0`` with Gymnasium (idempotent). Its spec's
    ``max_episode_steps`` is each environment's own step cap (set when it is made)."""
    import gymnasium

    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="qnoise.envs.arch_search:ArchSearchEnv")
