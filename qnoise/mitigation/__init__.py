"""Error mitigation: zero-noise extrapolation.

Noise scaling (:func:`scale_noise` in the simulator; :func:`fold_global`, :func:`fold_gates`,
:func:`fold_two_qubit_gates` for hardware), extrapolators with one static signature
``extrapolate(scale_factors, values, sigmas=None) -> (value, stderr)`` usable on data you
already have, neural extrapolators (per-problem curve fits and models pre-trained on a
circuit family, with :func:`training_set` to generate their data), and :func:`zne` to run
scaling and extrapolation together.
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
from qnoise.mitigation.neural import (
    CurveNeuralExtrapolator,
    NeuralExtrapolator,
    NeuralMetadata,
    pretrained,
)
from qnoise.mitigation.scaling import (
    FoldedCircuit,
    fold_all,
    fold_gates,
    fold_global,
    fold_two_qubit_gates,
    scale_noise,
)
from qnoise.mitigation.training_data import circuit_features, ry_rz_ladder, training_set
from qnoise.mitigation.zne import ZNE, ZNEResult, zne

__all__ = [
    "ZNE",
    "CurveNeuralExtrapolator",
    "DoubleExponentialExtrapolator",
    "ExponentialExtrapolator",
    "ExtrapolationError",
    "ExtrapolationWarning",
    "Extrapolator",
    "FoldedCircuit",
    "IBMExponentialExtrapolator",
    "LinearExtrapolator",
    "NeuralExtrapolator",
    "NeuralMetadata",
    "PolynomialExtrapolator",
    "RichardsonExtrapolator",
    "ZNEResult",
    "circuit_features",
    "extrapolator",
    "fold_all",
    "fold_gates",
    "fold_global",
    "fold_two_qubit_gates",
    "pretrained",
    "ry_rz_ladder",
    "scale_noise",
    "training_set",
    "zne",
]
