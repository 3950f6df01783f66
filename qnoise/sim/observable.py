"""Observables as Pauli index/coefficient arrays, and readout error folded into them."""

from __future__ import annotations

from itertools import combinations

import numpy as np
from qiskit.quantum_info import Pauli, SparsePauliOp

from qnoise.noise.channels import ReadoutError

__all__ = ["as_sparse_pauli_op", "observable_terms", "with_readout"]


def as_sparse_pauli_op(observable, num_qubits: int) -> SparsePauliOp:
    """Coerce a ``SparsePauliOp``, ``Pauli`` or Pauli label into a Hermitian ``SparsePauliOp``.

    Raises
    ------
    ValueError
        If the qubit count differs from the circuit's, or a coefficient is not real.
    """
    if isinstance(observable, str):
        observable = SparsePauliOp(observable)
    elif isinstance(observable, Pauli):
        observable = SparsePauliOp(observable)
    elif not isinstance(observable, SparsePauliOp):
        raise TypeError(
            "observable must be a SparsePauliOp, Pauli or Pauli label, "
            f"got {type(observable).__name__}"
        )
    if observable.num_qubits != num_qubits:
        raise ValueError(
            f"observable acts on {observable.num_qubits} qubits but the circuit has {num_qubits}"
        )
    return observable


def observable_terms(observable: SparsePauliOp) -> tuple[np.ndarray, np.ndarray]:
    """Pauli indices (little-endian base-4, digits I=0, X=1, Y=2, Z=3) and real coefficients.

    Raises
    ------
    ValueError
        If the operator is not Hermitian (a coefficient has an imaginary part).
    """
    paulis = observable.paulis
    x_bits = paulis.x.astype(np.int64)
    z_bits = paulis.z.astype(np.int64)
    # X -> 1, Y -> 2, Z -> 3
    digits = x_bits * (1 - z_bits) + 2 * x_bits * z_bits + 3 * (1 - x_bits) * z_bits
    weights = 4 ** np.arange(observable.num_qubits, dtype=np.int64)
    indices = digits @ weights
    coeffs = np.asarray(observable.coeffs, dtype=complex) * (-1j) ** paulis.phase
    scale = max(1.0, float(np.max(np.abs(coeffs)))) if coeffs.size else 1.0
    if np.any(np.abs(coeffs.imag) > 1e-10 * scale):
        raise ValueError("observable is not Hermitian: its Pauli coefficients must be real")
    unique, inverse = np.unique(indices, return_inverse=True)
    summed = np.zeros(unique.size)
    np.add.at(summed, inverse, coeffs.real)
    return unique.astype(np.int64), summed


def with_readout(
    indices: np.ndarray, coeffs: np.ndarray, readout: list[ReadoutError | None]
) -> tuple[np.ndarray, np.ndarray]:
    """Fold per-qubit readout errors into the observable.

    Each measured factor σ of a term is read as ``α_q I + β_q σ`` (see
    :class:`qnoise.noise.ReadoutError`), so a term on support S expands into the terms on the
    subsets T of S with weight ``Π_{S∖T} α Π_T β``.
    """
    if all(ro is None or ro.is_identity() for ro in readout):
        return indices, coeffs
    terms: dict[int, float] = {}
    for index, coeff in zip(indices.tolist(), coeffs.tolist(), strict=True):
        support = []
        digit_of = {}
        rest = index
        q = 0
        while rest:
            digit = rest % 4
            if digit:
                support.append(q)
                digit_of[q] = digit
            rest //= 4
            q += 1
        exact = [q for q in support if readout[q] is None or readout[q].offset == 0.0]
        optional = [q for q in support if q not in exact]
        base_weight = coeff
        for q in exact:
            if readout[q] is not None:
                base_weight *= readout[q].contraction
        for size in range(len(optional) + 1):
            for kept in combinations(optional, size):
                weight = base_weight
                new_index = sum(digit_of[q] * 4**q for q in exact)
                for q in optional:
                    if q in kept:
                        weight *= readout[q].contraction
                        new_index += digit_of[q] * 4**q
                    else:
                        weight *= readout[q].offset
                terms[new_index] = terms.get(new_index, 0.0) + weight
    keys = np.array(sorted(terms), dtype=np.int64)
    return keys, np.array([terms[k] for k in keys.tolist()])
