"""CRLQAS's moving-threshold curriculum (from Ostaszewski et al., NeurIPS 2021)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Curriculum:
    r"""The success threshold ξ of the architecture-search reward, moved as the agent learns.

    * Start: ``threshold = initial_threshold`` (ξ0) and ``lowest_energy = target + ξ0``.
    * Every step: :meth:`observe` keeps the lowest energy seen.
    * Every successful episode: ``successes += 1``; once ``successes >= success_threshold``
      and fewer than ``max_shifts`` reductions have been made, ξ decreases by
      ``delta / max_shifts`` and ``successes`` restarts at 0.
    * Every episode: ``episodes += 1``; when ``episodes > 10`` and ``episodes % greedy_every
      == 0`` ("greedy shift"), ``ξ = |target - lowest_energy| + delta`` and the success and
      shift counters restart.
    * With ``relax_after``: after that many episodes in a row without success, ξ doubles
      (up to ξ0), so that a threshold pinned just above the lowest energy ever seen, which
      the agent's current policy no longer reaches, becomes reachable again and successful
      episodes return to the replay buffer; the greedy shift tightens it again.

    With ``enabled=False`` ξ never moves (a fixed threshold). ξ stays positive: a reduction
    that would reach 0 is skipped.

    Parameters
    ----------
    target : float
        μ, the energy the error is measured against (Ha).
    initial_threshold : float
        ξ0 > 0 (Ha).
    delta : float
        δ (Ha): 5e-4 for 2–4 qubits and 1e-3 for 6–8 qubits in CRLQAS.
    success_threshold : int
        25 (2–4 qubits) or 50 (6–8 qubits) in CRLQAS.
    max_shifts : int
        Reductions before a greedy shift (CRLQAS: 10).
    greedy_every : int
        G, episodes between greedy shifts: 500 (2–4 qubits) or 2000 (6–8 qubits).
    relax_after : int, optional
        Unsuccessful episodes in a row after which ξ doubles (not in CRLQAS: ``None``).
    """

    target: float
    initial_threshold: float
    delta: float = 5e-4
    success_threshold: int = 25
    max_shifts: int = 10
    greedy_every: int = 500
    relax_after: int | None = None
    enabled: bool = True
    threshold: float = 0.0
    lowest_energy: float = 0.0
    successes: int = 0
    shifts: int = 0
    episodes: int = 0
    failures: int = 0

    def __post_init__(self) -> None:
        if not self.initial_threshold > 0:
            raise ValueError(f"threshold must be > 0 Ha, got {self.initial_threshold}")
        if self.delta <= 0 or self.success_threshold < 1 or self.max_shifts < 1:
            raise ValueError("delta must be > 0, success_threshold and max_shifts >= 1")
        if self.greedy_every < 1:
            raise ValueError(f"greedy_every must be >= 1, got {self.greedy_every}")
        if self.relax_after is not None and not (
            int(self.relax_after) == self.relax_after and self.relax_after >= 1
        ):
            raise ValueError(f"relax_after must be None or an int >= 1, got {self.relax_after}")
        if self.threshold == 0.0:
            self.threshold = float(self.initial_threshold)
            self.lowest_energy = float(self.target + self.initial_threshold)

    @classmethod
    def crlqas(cls, target: float, initial_threshold: float, num_qubits: int, **overrides):
        """CRLQAS's values for the qubit count (2–4 or 6–8 qubits)."""
        small = num_qubits <= 4
        values = {
            "delta": 5e-4 if small else 1e-3,
            "success_threshold": 25 if small else 50,
            "greedy_every": 500 if small else 2000,
        }
        return cls(target, initial_threshold, **{**values, **overrides})

    def observe(self, energy: float) -> None:
        """Record an energy seen during training."""
        self.lowest_energy = min(self.lowest_energy, float(energy))

    def end_episode(self, success: bool) -> None:
        """Update ξ at the end of an episode."""
        if not self.enabled:
            return
        if success:
            self.successes += 1
            if self.successes >= self.success_threshold and self.shifts < self.max_shifts:
                reduced = self.threshold - self.delta / self.max_shifts
                if reduced > 0:
                    self.threshold = reduced
                    self.shifts += 1
                self.successes = 0
            self.failures = 0
        else:
            self.failures += 1
            if self.relax_after is not None and self.failures >= self.relax_after:
                ceiling = max(self.initial_threshold, self.threshold)
                self.threshold = min(2 * self.threshold, ceiling)
                self.failures = 0
        self.episodes += 1
        if self.episodes > 10 and self.episodes % self.greedy_every == 0:
            self.threshold = abs(self.target - self.lowest_energy) + self.delta
            self.successes = 0
            self.shifts = 0
            self.failures = 0

    def state_dict(self) -> dict:
        """Everything needed to resume (JSON-serializable)."""
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            if not hasattr(self, key):
                raise KeyError(f"unknown curriculum field {key!r}")
            setattr(self, key, value)
