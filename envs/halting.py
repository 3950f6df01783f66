"""Random halting: the step at which an episode is cut short (CRLQAS)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RandomHalting:
    """Halting step ``clip(NegBin(n, p), low, high)``, or the mode of ``mode_of`` such draws.

    ``NegBin(n, p)`` counts failures before ``n`` successes (numpy's convention), mean
    ``n (1 - p) / p``. CRLQAS's settings are :meth:`crlqas_noiseless` (``n=70, p=0.573``,
    clipped to [25, 70]) and :meth:`crlqas_noisy` (the mode of 100 draws of
    ``clip(NegBin(40, 0.6), 0, 40)``, about 26 and nearly deterministic).
    """

    n: float
    p: float
    low: int = 0
    high: int | None = None
    mode_of: int | None = None

    def __post_init__(self) -> None:
        if self.n <= 0 or not 0 < self.p <= 1:
            raise ValueError(f"random halting needs n > 0 and 0 < p <= 1, got {self.n}, {self.p}")
        if self.high is not None and self.high < self.low:
            raise ValueError("random halting: high < low")
        if self.mode_of is not None and self.mode_of < 1:
            raise ValueError("random halting: mode_of must be >= 1")

    @classmethod
    def crlqas_noiseless(cls) -> RandomHalting:
        return cls(70, 0.573, 25, 70)

    @classmethod
    def crlqas_noisy(cls) -> RandomHalting:
        return cls(40, 0.6, 0, 40, mode_of=100)

    def draw(self, rng: np.random.Generator) -> int:
        """A halting step (≥ 1: an episode always takes at least one action)."""
        count = 1 if self.mode_of is None else self.mode_of
        draws = rng.negative_binomial(self.n, self.p, size=count)
        draws = np.clip(draws, self.low, self.high if self.high is not None else draws.max())
        values, counts = np.unique(draws, return_counts=True)
        step = int(values[np.argmax(counts)]) if self.mode_of else int(draws[0])
        return max(step, 1)
