"""The zero-noise-extrapolated energy as an objective that optimizers minimize directly."""

from __future__ import annotations

import numpy as np

from qnoise.vqe.objective import EnergyObjective


class MitigatedEnergyObjective:
    """``Σ_i γ_i E_{λ_i}(θ) + constant``: the energy extrapolated to zero noise by a linear
    extrapolator (Richardson, linear, polynomial), from exact energies under the noise
    scaled by each λ_i (:class:`qnoise.mitigation.ZNE`).

    Every ``E_λ`` is ``a + b cos θ + c sin θ`` in each rotation angle, and so is a fixed
    linear combination of them: sinusoidal optimizers (Rotosolve), gradient optimizers
    (the gradient is ``Σ γ_i ∇E_{λ_i}``, by reverse mode) and batches work as on one
    energy. Minimizing it fits the angles to the noise-free optimum as far as the
    extrapolation is exact, where minimizing the noisy energy fits them to the noise.

    Parameters
    ----------
    objectives : list of EnergyObjective
        The energies under the scaled noise models, one per scale factor (same ansatz,
        same parameter order, exact energies).
    weights : array_like
        γ_i, one per objective.
    constant : float
        Added to every value (Ha); the objectives' own constants are ignored.

    Attributes
    ----------
    nfev : int
        Mitigated points evaluated (each costs one energy per scale factor).
    """

    accepts_batch = True
    accepts_shots = False
    native_program = None  # evaluated in Python: the compiled loops take one energy

    def __init__(self, objectives: list[EnergyObjective], weights, constant: float = 0.0):
        weights = np.asarray(weights, dtype=float)
        if len(objectives) != weights.size or weights.size < 2:
            raise ValueError("give one weight per objective, at least two")
        if any(objective.shots is not None for objective in objectives):
            raise ValueError("a mitigated objective needs exact energies (shots=None)")
        self.objectives = list(objectives)
        self.weights = weights
        self.constant = float(constant)
        self.num_parameters = objectives[0].num_parameters
        self.nfev = 0
        self.njev = 0

    @property
    def shift_rule_exact(self) -> bool:
        return self.objectives[0].shift_rule_exact

    def _combined(self, parts) -> np.ndarray:
        return self.constant + sum(
            w * (np.asarray(part) - o.constant)
            for w, part, o in zip(self.weights, parts, self.objectives, strict=True)
        )

    def __call__(self, parameters):
        """Mitigated energy at one point ``(p,)`` (float) or a batch ``(B, p)`` (array)."""
        values = self._combined([objective(parameters) for objective in self.objectives])
        self.nfev += 1 if np.ndim(values) == 0 else np.size(values)
        return float(values) if np.ndim(values) == 0 else values

    def value_and_gradient(self, parameters) -> tuple[float, np.ndarray]:
        """Mitigated energy and its gradient (Ha per radian) at one point."""
        parts = [objective.value_and_gradient(parameters) for objective in self.objectives]
        value = float(self._combined([v for v, _ in parts]))
        gradient = sum(w * g for w, (_, g) in zip(self.weights, parts, strict=True))
        self.nfev += 1
        self.njev += 1
        return value, gradient

    def gradient(self, parameters) -> np.ndarray:
        """Gradient of the mitigated energy at one point (counted in ``njev`` only)."""
        self.njev += 1
        return sum(
            w * objective.gradient(parameters)
            for w, objective in zip(self.weights, self.objectives, strict=True)
        )
