"""Zero-noise extrapolation: measure at several noise scales, extrapolate to zero."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from qnoise.mitigation.extrapolation import Extrapolator, extrapolator
from qnoise.mitigation.neural import NeuralExtrapolator
from qnoise.mitigation.scaling import scale_noise
from qnoise.mitigation.training_data import circuit_features

__all__ = ["ZNE", "ZNEResult", "zne"]


@dataclass
class ZNEResult:
    """Outcome of :func:`zne`.

    Attributes
    ----------
    value, stderr : float
        Zero-noise estimate and its standard error (see the extrapolator).
    noisy : float
        The value at the smallest scale factor (usually λ = 1: the unmitigated value).
    scale_factors, values, sigmas : ndarray
        The data the extrapolator was fed (``sigmas`` is None when the estimates had none).
    method : str
        The extrapolator's name.
    """

    value: float
    stderr: float
    noisy: float
    scale_factors: np.ndarray
    values: np.ndarray
    sigmas: np.ndarray | None
    method: str
    details: dict = field(default_factory=dict)


def zne(
    estimate: Callable[[float], float | tuple[float, float]],
    scale_factors: Sequence[float] = (1.0, 2.0, 3.0),
    extrapolation: str | Extrapolator = "richardson",
    features: Sequence[float] | None = None,
) -> ZNEResult:
    """Call ``estimate(λ)`` at each scale factor and extrapolate to λ = 0.

    Parameters
    ----------
    estimate : callable
        ``estimate(λ) -> value`` or ``-> (value, sigma)``: the expectation value with the
        noise scaled by λ (e.g. a simulator under :func:`~qnoise.mitigation.scale_noise`, or
        a folded circuit on hardware).
    scale_factors : sequence of float
        Increasing λ ≥ 1.
    extrapolation : str or Extrapolator
        See :func:`qnoise.mitigation.extrapolator`.
    features : sequence of float, optional
        Circuit features for a pre-trained :class:`~qnoise.mitigation.NeuralExtrapolator`
        that takes them (:func:`qnoise.mitigation.circuit_features`).

    Examples
    --------
    >>> from qiskit import QuantumCircuit
    >>> from qnoise import PTMSimulator
    >>> from qnoise.mitigation import scale_noise, zne
    >>> qc = QuantumCircuit(2); _ = qc.h(0); _ = qc.cx(0, 1)
    >>> noise = "depolarizing:p1=1e-3,p2=1e-2"
    >>> result = zne(lambda lam: PTMSimulator(scale_noise(noise, lam)).expectation(qc, "ZZ"),
    ...              [1, 2, 3, 4], "exponential")
    >>> round(result.noisy, 4), round(result.value, 4)  # noiseless: 1
    (0.99, 1.0)
    """
    method = extrapolator(extrapolation)
    scales = np.asarray(scale_factors, dtype=float)
    values, sigmas = [], []
    for lam in scales:
        out = estimate(float(lam))
        if isinstance(out, tuple):
            values.append(float(out[0]))
            sigmas.append(float(out[1]))
        else:
            values.append(float(out))
    values_array = np.array(values)
    sigma_array = np.array(sigmas) if sigmas else None
    if sigma_array is not None and sigma_array.size != values_array.size:
        raise ValueError("estimate must return sigmas at every scale factor or at none")
    if isinstance(method, NeuralExtrapolator):
        value, stderr = method.extrapolate(scales, values_array, sigma_array, features=features)
    else:
        value, stderr = method.extrapolate(scales, values_array, sigma_array)
    return ZNEResult(
        value=value,
        stderr=stderr,
        noisy=float(values_array[np.argmin(scales)]),
        scale_factors=scales,
        values=values_array,
        sigmas=sigma_array,
        method=method.name,
    )


class ZNE:
    """Zero-noise extrapolation of simulated energies: the simulator's noise model scaled by
    each λ (:func:`~qnoise.mitigation.scale_noise`), then extrapolated.

    The scaled simulators are kept per noise model (and its revision), so repeated calls on
    the same circuit structures reuse their compiled programs.

    Parameters
    ----------
    scale_factors : sequence of float
        Increasing λ ≥ 1 (default 1, 2, 3).
    extrapolation : str or Extrapolator
        See :func:`qnoise.mitigation.extrapolator`; a pre-trained
        :class:`~qnoise.mitigation.NeuralExtrapolator` receives the circuit's features.
    """

    def __init__(
        self,
        scale_factors: Sequence[float] = (1.0, 2.0, 3.0),
        extrapolation: str | Extrapolator = "richardson",
    ) -> None:
        self.scale_factors = [float(lam) for lam in scale_factors]
        if len(self.scale_factors) < 2 or any(lam < 1 for lam in self.scale_factors):
            raise ValueError(f"need at least 2 scale factors >= 1, got {self.scale_factors}")
        if any(np.diff(self.scale_factors) <= 0):
            raise ValueError(f"scale factors must increase, got {self.scale_factors}")
        self.extrapolator = extrapolator(extrapolation)
        self._simulators: dict[tuple, list] = {}

    def __repr__(self) -> str:
        return f"ZNE(scale_factors={self.scale_factors}, extrapolation={self.extrapolator!r})"

    def simulators(self, simulator) -> list:
        """PTM simulators with the noise of ``simulator`` scaled by each λ."""
        from qnoise.sim.simulator import PTMSimulator

        noise = simulator.noise
        if noise is None:
            raise ValueError("zero-noise extrapolation needs a noisy simulator")
        key = (id(noise), noise.revision)
        if key not in self._simulators:
            self._simulators = {key: [PTMSimulator(scale_noise(noise, lam))
                                      for lam in self.scale_factors]}  # fmt: skip
        return self._simulators[key]

    def objective(
        self,
        simulator,
        ansatz,
        observable,
        constant: float = 0.0,
        *,
        shots: int | None = None,
        shot_model: str = "sample",
        seed=None,
    ):
        """The mitigated energy of ``ansatz`` (a circuit with Parameters) as an objective an
        optimizer minimizes directly (:class:`~qnoise.mitigation.objective.
        MitigatedEnergyObjective`): the energies under the noise of ``simulator`` scaled by
        each λ, combined with the extrapolator's fixed weights. Exact energies, or with
        ``shots`` (per measurement group and scale factor; ``shot_model`` as in
        :class:`~qnoise.vqe.objective.EnergyObjective`) finite-shot estimates whose noise
        is independent between scale factors, all drawn from ``seed``. Needs a linear
        extrapolator (``"richardson"``, ``"linear"``, ``"polynomial"``)."""
        from qnoise.mitigation.objective import MitigatedEnergyObjective
        from qnoise.vqe.objective import EnergyObjective

        weights = self.extrapolator.linear_weights(self.scale_factors)
        if weights is None:
            raise ValueError(
                f"{self.extrapolator.name} extrapolation is not a fixed linear combination of "
                "the values: a mitigated objective needs richardson, linear or polynomial"
            )
        streams = np.random.default_rng(seed).spawn(len(self.scale_factors))
        sampling = {"shots": shots, "shot_model": shot_model}
        scaled = zip(self.simulators(simulator), streams, strict=True)
        objectives = [
            EnergyObjective(ansatz, observable, 0.0, sim, seed=stream, **sampling)
            for sim, stream in scaled
        ]
        return MitigatedEnergyObjective(objectives, weights, constant)

    def energy(
        self,
        simulator,
        circuit,
        observable,
        parameters=None,
        constant: float = 0.0,
        shots: int | None = None,
        seed=None,
    ) -> ZNEResult:
        """Mitigated ``<observable> + constant`` of ``circuit`` at ``parameters`` under the
        noise of ``simulator``; exact values, or finite-shot estimates with ``shots`` (then
        each value's exact shot-noise standard error is the extrapolator's sigma, so the
        result's ``stderr`` is the propagated shot noise)."""
        rng = np.random.default_rng(seed)
        programs = [s.compile(circuit) for s in self.simulators(simulator)]
        by_scale = dict(zip(self.scale_factors, programs, strict=True))

        def estimate(lam: float):
            program = by_scale[lam]
            value = program.expectation(observable, parameters, shots=shots, seed=rng)
            if shots is None:
                return value
            return value, program.shot_standard_error(observable, parameters, shots)

        features = circuit_features(circuit, shots)
        result = zne(estimate, self.scale_factors, self.extrapolator, features=features)
        # the constant is added after extrapolating: shape-based extrapolators (exponential,
        # neural) see the observable's own values
        result.value += constant
        result.noisy += constant
        result.values = result.values + constant
        return result
