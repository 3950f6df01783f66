"""Replay memory and n-step returns for value-based agents."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class ReplaySamples(NamedTuple):
    """A batch of n-step transitions, one row per sample (as Stable-Baselines3's
    ``ReplayBufferSamples``).

    Attributes
    ----------
    obs, next_obs : ndarray, shape (B, obs_size), float32
    actions : ndarray, shape (B,), int64
    rewards : ndarray, shape (B,), float32
        Discounted sums of up to n rewards.
    next_masks : ndarray, shape (B, n_actions), bool
        Legal actions after the transition.
    discounts : ndarray, shape (B,), float32
        Factor on the bootstrap value (``γ^k``; 0 at the end of an episode).
    indices : ndarray of int or None
        Buffer slots of the samples (lets the agent reuse cached target values); ``None``
        for transitions that are not in a buffer.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    next_masks: np.ndarray
    discounts: np.ndarray
    indices: np.ndarray | None = None


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
    """Fixed-capacity ring buffer of transitions, sampled uniformly (numpy arrays, float32).

    ``stamps[i]`` is the running count of adds when slot ``i`` was last written (1 for the
    first add), so derived per-slot data (such as cached target values) can tell whether the
    slot still holds the transition it was computed for.
    """

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
        self.stamps = np.zeros(capacity, dtype=np.int64)
        self.adds = 0
        self.size = 0
        self.position = 0

    def add(self, t: Transition) -> None:
        i = self.position
        self.adds += 1
        self.stamps[i] = self.adds
        self.obs[i], self.next_obs[i] = t.obs, t.next_obs
        self.actions[i], self.rewards[i], self.discounts[i] = t.action, t.reward, t.discount
        self.next_masks[i] = t.next_mask
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplaySamples:
        """``batch_size`` transitions drawn uniformly with replacement; ``indices`` holds
        their slots."""
        if self.size == 0:
            raise ValueError("the replay buffer is empty")
        idx = rng.integers(0, self.size, size=batch_size)
        return ReplaySamples(
            obs=self.obs[idx],
            actions=self.actions[idx],
            rewards=self.rewards[idx],
            next_obs=self.next_obs[idx],
            next_masks=self.next_masks[idx],
            discounts=self.discounts[idx],
            indices=idx,
        )

    _ARRAYS = ("obs", "next_obs", "actions", "rewards", "discounts", "next_masks", "stamps")

    def state_dict(self) -> dict:
        """The stored transitions and the ring position (for checkpoints)."""
        state = {key: getattr(self, key)[: self.size].copy() for key in self._ARRAYS}
        state.update(size=self.size, position=self.position, adds=self.adds)
        return state

    def load_state_dict(self, state: dict) -> None:
        n = state["obs"].shape[0]
        for key in self._ARRAYS:
            if key in state:  # checkpoints from before stamps existed lack them
                getattr(self, key)[:n] = state[key]
        self.size, self.position = int(state["size"]), int(state["position"])
        if "stamps" not in state:
            self.stamps[:n] = np.arange(1, n + 1)
        self.adds = int(state.get("adds", self.stamps[:n].max(initial=0)))


class TargetValueCache:
    """Target-network Q-values of the replay slots' next observations, reused across updates.

    The target network changes only when it is synchronised (every ``target_update`` updates),
    so ``Q_target(s')`` of a stored transition is the same number at every update in between;
    recomputing it for each sampled batch is a full forward pass of the batch that buys
    nothing. A value is valid while its slot's replay stamp is unchanged; :meth:`clear` drops
    everything when the target network changes.
    """

    def __init__(self, capacity: int, num_actions: int) -> None:
        self.values = np.zeros((capacity, num_actions), dtype=np.float32)
        self.stamps = np.zeros(capacity, dtype=np.int64)  # replay stamp of each value; 0: none

    def clear(self) -> None:
        self.stamps[:] = 0

    def lookup(self, indices: np.ndarray, replay: ReplayBuffer, compute) -> np.ndarray:
        """Q_target rows of replay slots ``indices``; ``compute(slots)`` evaluates the target
        network on ``replay.next_obs[slots]`` (float32 ``(len(slots), num_actions)``) for the
        slots not cached, which are computed once each, in increasing slot order."""
        current = replay.stamps[indices]
        missing = np.unique(indices[self.stamps[indices] != current])
        if missing.size:
            self.values[missing] = compute(missing)
            self.stamps[missing] = replay.stamps[missing]
        return self.values[indices]

    def state_dict(self) -> dict:
        return {"values": self.values.copy(), "stamps": self.stamps.copy()}

    def load_state_dict(self, state: dict) -> None:
        self.values[:], self.stamps[:] = state["values"], state["stamps"]
