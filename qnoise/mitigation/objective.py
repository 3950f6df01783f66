"""The zero-noise-extrapolated energy as an objective that optimizers minimize directly."""

from __future__ import annotations

import numpy as np

from qnoise.vqe.objective import EnergyObjective


class MitigatedEnergyObjective:
    """``Σ_i γ_i E_{λ_i}(θ) + constant``: the energy extrapolated to zero noise by a linear
    extrapolator (Richardson, linear, polynomial), from the energies under the noise
    scaled by each λ_i (:class:`qnoise.mitigation.ZNE`): exact, or finite-shot estimates
    when the objectives have ``shots`` (each scale its own independent shot noise, so an
    estimate's variance is ``Σ γ_i² σ_i²``).

    Every ``E_λ`` is ``a + b cos θ + c sin θ`` in each rotation angle, and so is a fixed
    linear combination of them: sinusoidal optimizers (Rotosolve), gradient optimizers
    (the gradient is ``Σ γ_i ∇E_{λ_i}``, by reverse mode) and batches work as on one
    energy. Minimizing it fits the angles to the noise-free optimum as far as the
    extrapolation is exact, where minimizing the noisy energy fits them to the noise.

    Parameters
    ----------
    objectives : list of EnergyObjective
        The energies under the scaled noise models, one per scale factor (same ansatz,
        same parameter order, all exact or all with the same ``shots``).
    weights : array_like
        γ_i, one per objective.
    constant : float
        Added to every value (Ha); the objectives' own constants are ignored.

    Attributes
    ----------
    nfev : int
        Mitigated points evaluated (each costs one energy per scale factor).
    shots : int or None
        Shots per measurement group of each scaled energy (``None``: exact energies).
    """

    accepts_batch = True
    accepts_shots = True
    native_program = None  # evaluated in Python: the compiled loops take one energy

    def __init__(self, objectives: list[EnergyObjective], weights, constant: float = 0.0):
        weights = np.asarray(weights, dtype=float)
        if len(objectives) != weights.size or weights.size < 2:
            raise ValueError("give one weight per objective, at least two")
        if len({objective.shots for objective in objectives}) > 1:
            raise ValueError("give the scaled energies the same shots (or all exact)")
        self.objectives = list(objectives)
        self.weights = weights
        self.constant = float(constant)
        self.num_parameters = objectives[0].num_parameters
        self.nfev = 0
        self.njev = 0

    @property
    def shots(self) -> int | None:
        return self.objectives[0].shots

    @property
    def shift_rule_exact(self) -> bool:
        return self.objectives[0].shift_rule_exact

    def _combined(self, parts) -> np.ndarray:
        return self.constant + sum(
            w * (np.asarray(part) - o.constant)
            for w, part, o in zip(self.weights, parts, self.objectives, strict=True)
        )

    def __call__(self, parameters, shots: int | None = None):
        """Mitigated energy at one point ``(p,)`` (float) or a batch ``(B, p)`` (array);
        ``shots`` overrides the shots of every scaled energy for this call."""
        values = self._combined([objective(parameters, shots) for objective in self.objectives])
        self.nfev += 1 if np.ndim(values) == 0 else np.size(values)
        return float(values) if np.ndim(values) == 0 else values

    def value_and_gradient(self, parameters) -> tuple[float, np.ndarray]:
        """Mitigated energy and its gradient (Ha per radian) at one point (exact energies
        only: a finite-shot estimate has no analytic gradient)."""
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
