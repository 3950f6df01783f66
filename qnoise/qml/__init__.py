"""Quantum machine learning on the PTM simulator: a variational quantum classifier as a
scikit-learn estimator (:class:`VQC`), the circuits it is built from, and the compiled
classifier circuit it trains (:class:`ClassifierCircuit`). Needs scikit-learn
(``pip install qnoise[qml]``)."""

from qnoise.qml.circuits import (
    angle_encoding,
    build_ansatz,
    build_feature_map,
    class_observables,
    class_of_outcome,
)
from qnoise.qml.model import ClassifierCircuit
from qnoise.qml.vqc import VQC

__all__ = [
    "VQC",
    "ClassifierCircuit",
    "angle_encoding",
    "build_ansatz",
    "build_feature_map",
    "class_observables",
    "class_of_outcome",
]
