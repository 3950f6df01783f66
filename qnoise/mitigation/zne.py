"""Zero-noise extrapolation: measure at several noise scales, extrapolate to zero."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from qnoise.mitigation.extrapolation import Extrapolator, extrapolator

__all__ = ["ZNEResult", "zne"]


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
