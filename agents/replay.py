"""Replay memory and n-step returns for value-based agents."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass
class Transition:
    """One n-step transition: ``reward`` is the discounted sum of up to n rewards and
    ``discount`` the factor on the bootstrap value (``γ^k`` for k rewards, 0 at the end)."""

    obs: np.ndarray
    action: int
    reward: float
    next_obs: np.ndarray
    next_mask: np.ndarray
    discount: float


class NStepBuffer:
    """Turns one-step experience into n-step transitions.

    ``R = r_t + γ r_{t+1} + … + γ^{k-1} r_{t+k-1}`` with ``k = n``, or fewer at the episode
    end; the target bootstraps with ``γ^k · max Q(s_{t+k})`` (``legacy_gamma=True`` uses
    ``γ`` instead of ``γ^k``, the public CRLQAS code's behaviour) and not at all after a
    terminal state.
    """

    def __init__(self, n: int, gamma: float, legacy_gamma: bool = False) -> None:
        if n < 1 or not 0 <= gamma <= 1:
            raise ValueError(f"need n >= 1 and 0 <= gamma <= 1, got {n}, {gamma}")
        self.n, self.gamma, self.legacy_gamma = n, gamma, legacy_gamma
        self._steps: deque = deque()

    def _emit(self, next_obs, next_mask, terminal: bool) -> Transition:
        obs, action, _ = self._steps[0]
        reward = sum(self.gamma**i * step[2] for i, step in enumerate(self._steps))
        k = len(self._steps)
        discount = 0.0 if terminal else (self.gamma if self.legacy_gamma else self.gamma**k)
        self._steps.popleft()
        return Transition(obs, action, reward, next_obs, next_mask, discount)

    def push(self, obs, action, reward, next_obs, next_mask, terminal: bool) -> list[Transition]:
        """Add a step; returns the n-step transitions that became complete."""
        self._steps.append((obs, int(action), float(reward)))
        out = []
        if terminal:
            while self._steps:
                out.append(self._emit(next_obs, next_mask, True))
        elif len(self._steps) == self.n:
            out.append(self._emit(next_obs, next_mask, False))
        return out

    def clear(self) -> None:
        self._steps.clear()


class ReplayBuffer:
    """Fixed-capacity ring buffer of transitions, sampled uniformly (numpy arrays, float32)."""

    def __init__(self, capacity: int, obs_size: int, num_actions: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_size), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_size), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.discounts = np.zeros(capacity, dtype=np.float32)
        self.next_masks = np.zeros((capacity, num_actions), dtype=bool)
        self.size = 0
        self.position = 0

    def add(self, t: Transition) -> None:
        i = self.position
        self.obs[i], self.next_obs[i] = t.obs, t.next_obs
        self.actions[i], self.rewards[i], self.discounts[i] = t.action, t.reward, t.discount
        self.next_masks[i] = t.next_mask
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``batch_size`` transitions drawn uniformly with replacement."""
        if self.size == 0:
            raise ValueError("the replay buffer is empty")
        idx = rng.integers(0, self.size, size=batch_size)
        return {
            "obs": self.obs[idx],
            "actions": self.actions[idx],
            "rewards": self.rewards[idx],
            "next_obs": self.next_obs[idx],
            "next_masks": self.next_masks[idx],
            "discounts": self.discounts[idx],
        }

    _ARRAYS = ("obs", "next_obs", "actions", "rewards", "discounts", "next_masks")

    def state_dict(self) -> dict:
        """The stored transitions and the ring position (for checkpoints)."""
        state = {key: getattr(self, key)[: self.size].copy() for key in self._ARRAYS}
        state.update(size=self.size, position=self.position)
        return state

    def load_state_dict(self, state: dict) -> None:
        n = state["obs"].shape[0]
        for key in self._ARRAYS:
            getattr(self, key)[:n] = state[key]
        self.size, self.position = int(state["size"]), int(state["position"])
