"""Error mitigation: zero-noise extrapolation.

Noise scaling (:func:`scale_noise` in the simulator; :func:`fold_global`, :func:`fold_gates`,
:func:`fold_two_qubit_gates` for hardware), extrapolators with one static signature
``extrapolate(scale_factors, values, sigmas=None) -> (value, stderr)`` usable on data you
already have, and :func:`zne` to run both.
"""

from qnoise.mitigation.extrapolation import (
    DoubleExponentialExtrapolator,
    ExponentialExtrapolator,
    ExtrapolationError,
    ExtrapolationWarning,
    Extrapolator,
    IBMExponentialExtrapolator,
    LinearExtrapolator,
    PolynomialExtrapolator,
    RichardsonExtrapolator,
    extrapolator,
)
from qnoise.mitigation.scaling import (
    FoldedCircuit,
    fold_all,
    fold_gates,
    fold_global,
    fold_two_qubit_gates,
    scale_noise,
)
from qnoise.mitigation.zne import ZNEResult, zne

__all__ = [
    "DoubleExponentialExtrapolator",
    "ExponentialExtrapolator",
    "ExtrapolationError",
    "ExtrapolationWarning",
    "Extrapolator",
    "FoldedCircuit",
    "IBMExponentialExtrapolator",
    "LinearExtrapolator",
    "PolynomialExtrapolator",
    "RichardsonExtrapolator",
    "ZNEResult",
    "extrapolator",
    "fold_all",
    "fold_gates",
    "fold_global",
    "fold_two_qubit_gates",
    "scale_noise",
    "zne",
]
