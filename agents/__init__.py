"""Reinforcement-learning agents of qnoise; built on ``envs`` and ``qnoise``."""

__all__: list[str] = []
