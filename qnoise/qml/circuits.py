"""Circuits of a variational quantum classifier: feature maps, ansätze and the rule that
turns a measured bitstring into a class.

Conventions
-----------
* Qubit order is Qiskit's (little-endian): the measured outcome ``b`` is the integer
  ``Σ_q b_q 2**q``.
* A feature map's *input parameters* are all of its parameters, in ``circuit.parameters``
  order: feature ``j`` of a sample is bound to the ``j``-th of them (for a ``ParameterVector``
  named ``x``, to ``x[j]``). Features enter as angles (radians), so scale them first (e.g.
  ``MinMaxScaler(feature_range=(0, np.pi))``).
* An ansatz's parameters are the trainable weights, in ``circuit.parameters`` order.
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.circuit.library import (
    efficient_su2,
    pauli_feature_map,
    real_amplitudes,
    z_feature_map,
    zz_feature_map,
)
from qiskit.quantum_info import SparsePauliOp

FEATURE_MAPS = ("zz", "pauli", "z", "angle")
ANSATZE = ("efficient_su2", "real_amplitudes")


def angle_encoding(num_features: int) -> QuantumCircuit:
    """One ``RY(x_j)`` on qubit ``j`` per feature (product-state angle encoding)."""
    x = ParameterVector("x", num_features)
    circuit = QuantumCircuit(num_features, name="AngleEncoding")
    for j in range(num_features):
        circuit.ry(x[j], j)
    return circuit


def build_feature_map(feature_map, num_features: int, reps: int = 2) -> QuantumCircuit:
    """The feature map circuit on ``num_features`` qubits.

    Parameters
    ----------
    feature_map : {"zz", "pauli", "z", "angle"} or QuantumCircuit
        ``"zz"``: Qiskit's ``zz_feature_map`` (Havlíček et al.; full entanglement);
        ``"pauli"``: ``pauli_feature_map`` with ``paulis=["Z", "ZZ"]`` and linear
        entanglement; ``"z"``: ``z_feature_map`` (no entanglement); ``"angle"``:
        :func:`angle_encoding`. A circuit is used as given: it must have exactly
        ``num_features`` parameters.
    num_features : int
    reps : int
        Repetitions of the named maps (``"angle"`` has one layer).
    """
    if isinstance(feature_map, QuantumCircuit):
        if feature_map.num_parameters != num_features:
            raise ValueError(
                f"the feature map has {feature_map.num_parameters} input parameters for "
                f"{num_features} features"
            )
        return feature_map
    if feature_map == "zz":
        return zz_feature_map(num_features, reps=reps)
    if feature_map == "pauli":
        return pauli_feature_map(num_features, reps=reps, paulis=["Z", "ZZ"], entanglement="linear")
    if feature_map == "z":
        return z_feature_map(num_features, reps=reps)
    if feature_map == "angle":
        return angle_encoding(num_features)
    raise ValueError(
        f"feature_map: give one of {FEATURE_MAPS} or a QuantumCircuit, got {feature_map!r}"
    )


def build_ansatz(ansatz, num_qubits: int, reps: int = 2) -> QuantumCircuit:
    """The trainable circuit: ``"efficient_su2"`` (RY and RZ layers, reverse-linear CNOTs)
    or ``"real_amplitudes"`` (RY layers) from Qiskit's circuit library, or a circuit."""
    if isinstance(ansatz, QuantumCircuit):
        if ansatz.num_qubits != num_qubits:
            raise ValueError(f"the ansatz has {ansatz.num_qubits} qubits, expected {num_qubits}")
        if ansatz.num_parameters == 0:
            raise ValueError("the ansatz has no parameters to train")
        return ansatz
    if ansatz == "efficient_su2":
        return efficient_su2(num_qubits, reps=reps)
    if ansatz == "real_amplitudes":
        return real_amplitudes(num_qubits, reps=reps)
    raise ValueError(f"ansatz: give one of {ANSATZE} or a QuantumCircuit, got {ansatz!r}")


def _popcount(values: np.ndarray) -> np.ndarray:
    """Number of set bits of non-negative integers below 2**32."""
    values = np.asarray(values, dtype=np.int64)
    return sum((values >> bit) & 1 for bit in range(32))


def class_of_outcome(outcome: int | np.ndarray, num_classes: int):
    """The class of a measured outcome: its parity (number of 1s mod 2) for two classes,
    the outcome modulo ``num_classes`` for more."""
    outcome = np.asarray(outcome)
    if num_classes == 2:
        return _popcount(outcome) % 2
    return outcome % num_classes


def class_observables(num_qubits: int, num_classes: int) -> list[SparsePauliOp]:
    """Observables whose expectations are the class probabilities.

    Class ``c`` is measured with the projector ``Π_c = Σ_{b: class(b) = c} |b⟩⟨b|``; each
    ``|b⟩⟨b| = 2**-n Σ_z (-1)**popcount(z & b) Z^z`` is diagonal, so ``Π_c`` is a sum of
    Z-strings. For two classes (parity) ``Π_1 = (I - Z^{⊗n}) / 2``.
    """
    if num_classes < 2:
        raise ValueError("a classifier needs at least two classes")
    if num_classes > 2**num_qubits:
        raise ValueError(f"{num_classes} classes need more than {num_qubits} measured qubits")
    if num_classes == 2:
        parity = SparsePauliOp("Z" * num_qubits)
        identity = SparsePauliOp("I" * num_qubits)
        return [0.5 * (identity + parity), 0.5 * (identity - parity)]
    outcomes = np.arange(2**num_qubits)
    signs = (-1.0) ** _popcount(outcomes[:, None] & outcomes[None, :])  # signs[z, b]
    labels = [
        "".join("Z" if (z >> q) & 1 else "I" for q in reversed(range(num_qubits))) for z in outcomes
    ]
    observables = []
    for c in range(num_classes):
        members = class_of_outcome(outcomes, num_classes) == c
        coeffs = signs[:, members].sum(axis=1) / 2**num_qubits
        keep = np.abs(coeffs) > 1e-15
        observables.append(SparsePauliOp(np.array(labels)[keep].tolist(), coeffs[keep]))
    return observables
