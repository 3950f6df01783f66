"""Finite-shot estimation from an exact Pauli vector.

Two models (``shot_model``):

* ``"sample"`` — what hardware does: the observable's terms are split into qubit-wise commuting
  groups; each group is measured in its product basis with ``shots`` shots (readout error
  included), and every term is estimated from the sampled bitstrings. Unbiased, with the true
  multinomial correlations between terms of a group.
* ``"gaussian"`` — the fast approximation used by CRLQAS: each non-identity term's exact
  expectation gets independent Gaussian noise of standard deviation ``1/sqrt(shots)``. It
  ignores correlations and the state dependence of the variance (``1 - ⟨P⟩²``).
"""

from __future__ import annotations

import numpy as np
from qiskit.quantum_info import SparsePauliOp

from qnoise.noise.channels import ReadoutError
from qnoise.sim.observable import observable_terms, with_readout

__all__ = ["SHOT_MODELS", "basis_probabilities", "estimate_with_shots"]

SHOT_MODELS = ("sample", "gaussian")


def basis_probabilities(
    x: np.ndarray, basis_digits: np.ndarray, readout: list[ReadoutError | None]
) -> np.ndarray:
    """Outcome probabilities when measuring qubit q in the eigenbasis of Pauli
    ``basis_digits[q]`` (1=X, 2=Y, 3=Z), with readout error; index ``Σ b_q 2**q`` (Qiskit order).
    """
    num_qubits = basis_digits.size
    # y[s] = <Π_{q: s_q = 1} σ_q>, tensor axes ordered qubit n-1 .. 0
    index = np.zeros(1, dtype=np.int64)
    for q in range(num_qubits - 1, -1, -1):
        index = (index[:, None] * 4 + np.array([0, basis_digits[q]])[None, :]).reshape(-1)
    y = x[index].reshape((2,) * num_qubits) if num_qubits else x[:1]
    for q in range(num_qubits):
        ro = readout[q]
        if ro is None or ro.is_identity():
            continue
        axis = num_qubits - 1 - q
        y = np.moveaxis(y, axis, 0)
        y = np.stack([y[0], ro.offset * y[0] + ro.contraction * y[1]])
        y = np.moveaxis(y, 0, axis)
    hadamard = np.array([[1.0, 1.0], [1.0, -1.0]])
    for axis in range(num_qubits):
        y = np.moveaxis(np.tensordot(hadamard, y, axes=([1], [axis])), 0, axis)
    probs = np.clip(y.reshape(-1) / 2**num_qubits, 0.0, None)
    return probs / probs.sum()


def _parities(outcomes: np.ndarray, support_mask: int) -> np.ndarray:
    bits = np.bitwise_and(outcomes, support_mask)
    parity = np.zeros(outcomes.shape, dtype=np.int64)
    while np.any(bits):
        parity ^= bits & 1
        bits >>= 1
    return 1.0 - 2.0 * parity


def estimate_with_shots(
    x: np.ndarray,
    observable: SparsePauliOp,
    readout: list[ReadoutError | None],
    shots: int,
    rng: np.random.Generator,
    shot_model: str = "sample",
) -> float:
    """Finite-shot estimate of ``⟨observable⟩`` from the exact Pauli vector ``x``."""
    if shot_model not in SHOT_MODELS:
        raise ValueError(f"shot_model must be one of {SHOT_MODELS}, got {shot_model!r}")
    if int(shots) != shots or shots < 1:
        raise ValueError(f"shots must be a positive integer, got {shots}")
    shots = int(shots)
    num_qubits = observable.num_qubits
    if shot_model == "gaussian":
        indices, coeffs = observable_terms(observable)
        exact = 0.0
        for index, coeff in zip(indices, coeffs, strict=True):
            if index == 0:
                exact += coeff
                continue
            term_idx, term_coeff = with_readout(np.array([index]), np.array([coeff]), readout)
            value = float(term_coeff @ x[term_idx])
            exact += value + coeff * rng.normal(0.0, 1.0 / np.sqrt(shots))
        return float(exact)
    total = 0.0
    for group in observable.group_commuting(qubit_wise=True):
        indices, coeffs = observable_terms(group)
        digits = np.full(num_qubits, 3, dtype=np.int64)
        for index in indices.tolist():
            for q in range(num_qubits):
                digit = (index // 4**q) % 4
                if digit:
                    digits[q] = digit
        probs = basis_probabilities(x, digits, readout)
        counts = rng.multinomial(shots, probs)
        outcomes = np.nonzero(counts)[0]
        weights = counts[outcomes] / shots
        for index, coeff in zip(indices.tolist(), coeffs.tolist(), strict=True):
            mask = sum(1 << q for q in range(num_qubits) if (index // 4**q) % 4)
            total += coeff * float(weights @ _parities(outcomes, mask))
    return float(total)
