"""Finite shots from an exact Pauli vector: estimates of observables and sampled counts.

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
import scipy.sparse
from qiskit.quantum_info import SparsePauliOp

from qnoise.noise.channels import ReadoutError
from qnoise.sim.observable import observable_terms, with_readout

__all__ = [
    "SHOT_MODELS",
    "MeasurementPlan",
    "basis_probabilities",
    "check_shots",
    "counts_key",
    "draw_counts",
]

SHOT_MODELS = ("sample", "gaussian")


def _readout_pairs(readout: list[ReadoutError | None]) -> list[tuple[float, float] | None]:
    return [
        None if ro is None or ro.is_identity() else (ro.offset, ro.contraction) for ro in readout
    ]


def _basis_gather(basis: list[int]) -> np.ndarray:
    """Pauli indices of the ``2**n`` products of I and ``basis[q]`` on each qubit ``q``; bit
    ``q`` of the position selects the basis Pauli on qubit ``q``."""
    gather = np.zeros(1, dtype=np.int64)
    for q in range(len(basis) - 1, -1, -1):
        gather = (gather[:, None] * 4 + np.array([0, basis[q]])[None, :]).reshape(-1)
    return gather


def _outcome_distribution(y: np.ndarray, readout: list[tuple[float, float] | None]) -> np.ndarray:
    """Probabilities ``(..., 2**n)`` from the Pauli expectations ``y`` ``(..., 2**n)`` of one
    product basis: per-qubit readout (``⟨σ⟩ -> offset + contraction ⟨σ⟩``), then the
    Walsh-Hadamard transform divided by ``2**n``."""
    n = len(readout)
    lead = y.shape[:-1]
    for q in range(n):
        view = y.reshape(*lead, -1, 2, 2**q)
        low, high = view[..., 0, :], view[..., 1, :]
        if readout[q] is not None:
            offset, contraction = readout[q]
            high = offset * low + contraction * high
        y = np.stack([low + high, low - high], axis=-2).reshape(*lead, 2**n)
    probs = np.clip(y / 2**n, 0.0, None)
    return probs / probs.sum(axis=-1, keepdims=True)


def basis_probabilities(
    x: np.ndarray, basis_digits: np.ndarray, readout: list[ReadoutError | None]
) -> np.ndarray:
    """Outcome probabilities when measuring qubit q in the eigenbasis of Pauli
    ``basis_digits[q]`` (1=X, 2=Y, 3=Z), with readout error; index ``Σ b_q 2**q`` (Qiskit order).
    """
    gather = _basis_gather([int(d) for d in basis_digits])
    return _outcome_distribution(x[gather], _readout_pairs(readout))


def _parity_signs(num_qubits: int, mask: int) -> np.ndarray:
    """``(-1)^{popcount(b & mask)}`` for every outcome ``b`` in ``0 .. 2**n - 1``."""
    outcomes = np.arange(2**num_qubits, dtype=np.int64) & mask
    parity = np.zeros(outcomes.shape, dtype=np.int64)
    while np.any(outcomes):
        parity ^= outcomes & 1
        outcomes >>= 1
    return 1.0 - 2.0 * parity


def _digits(index: int, num_qubits: int) -> list[int]:
    return [(index >> (2 * q)) & 3 for q in range(num_qubits)]


class MeasurementPlan:
    """Everything about estimating one observable from shots that does not depend on the
    state: built once per observable, then each estimate is a few array operations.

    ``"sample"``: the terms are split into qubit-wise commuting groups; group ``g`` measures
    qubit ``q`` in the eigenbasis of Pauli ``digit[g, q]``. Its outcome distribution is the
    Walsh-Hadamard transform of the ``2**n`` Pauli expectations built from those bases
    (gathered from the state vector, readout error applied per qubit), and the group's
    estimate is ``weights[g] · frequencies`` with ``weights[g, b] = Σ_terms c_t (-1)^{b·t}``.

    ``"gaussian"``: the exact (readout-folded) term values plus independent
    ``N(0, 1/sqrt(shots))`` noise per non-identity term, times its coefficient.
    """

    def __init__(self, observable: SparsePauliOp, readout: list[ReadoutError | None]):
        n = observable.num_qubits
        self.num_qubits = n
        self._readout = _readout_pairs(readout)
        indices, coeffs = observable_terms(observable)
        identity = indices == 0
        self.constant = float(coeffs[identity].sum())
        self.term_coeffs = coeffs[~identity]
        rows, cols, vals = [], [], []
        for row, index in enumerate(indices[~identity].tolist()):
            term_idx, term_val = with_readout(np.array([index]), np.array([1.0]), readout)
            rows += [row] * term_idx.size
            cols += term_idx.tolist()
            vals += term_val.tolist()
        self.term_matrix = scipy.sparse.csr_matrix(
            (vals, (rows, cols)), shape=(self.term_coeffs.size, 4**n)
        )
        gathers, weights = [], []
        for group in observable.group_commuting(qubit_wise=True):
            group_indices, group_coeffs = observable_terms(group)
            basis = [3] * n
            for index in group_indices.tolist():
                for q, digit in enumerate(_digits(index, n)):
                    if digit:
                        basis[q] = digit
            gather = _basis_gather(basis)
            weight = np.zeros(2**n)
            for index, coeff in zip(group_indices.tolist(), group_coeffs.tolist(), strict=True):
                mask = sum(1 << q for q, digit in enumerate(_digits(index, n)) if digit)
                weight += coeff * _parity_signs(n, mask)
            gathers.append(gather)
            weights.append(weight)
        self.gather = np.array(gathers, dtype=np.int64).reshape(len(gathers), 2**n)
        self.weights = np.array(weights).reshape(len(weights), 2**n)

    def probabilities(self, states: np.ndarray) -> np.ndarray:
        """Outcome probabilities ``(B, G, 2**n)`` of every group (index ``Σ b_q 2**q``) for
        Pauli vectors ``states`` of shape ``(B, 4**n)``, readout error included."""
        return _outcome_distribution(states[:, self.gather], self._readout)

    def estimate(
        self, states: np.ndarray, shots: int, rng: np.random.Generator, shot_model: str
    ) -> np.ndarray:
        """Finite-shot estimates ``(B,)`` for Pauli vectors ``states`` ``(B, 4**n)``."""
        if shot_model == "gaussian":
            exact = np.asarray(self.term_matrix @ states.T).T  # (B, T)
            noise = rng.normal(0.0, 1.0 / np.sqrt(shots), exact.shape)
            return self.constant + (exact + noise) @ self.term_coeffs
        counts = rng.multinomial(shots, self.probabilities(states))
        return np.einsum("bgk,gk->b", counts, self.weights) / shots

    def standard_error(self, states: np.ndarray, shots: int, shot_model: str) -> np.ndarray:
        """Standard deviation ``(B,)`` of :meth:`estimate` at these states: for sampling
        ``sqrt(Σ_g Var_g / shots)`` with ``Var_g`` the variance of group g's single-shot
        outcome value; for the Gaussian model ``sqrt(Σ_t c_t²) / sqrt(shots)``."""
        if shot_model == "gaussian":
            spread = np.sqrt(np.sum(self.term_coeffs**2) / shots)
            return np.full(states.shape[0], spread)
        p = self.probabilities(states)  # (B, G, K)
        mean = np.einsum("bgk,gk->bg", p, self.weights)
        second = np.einsum("bgk,gk->bg", p, self.weights**2)
        variance = np.clip(second - mean**2, 0.0, None).sum(axis=1)
        return np.sqrt(variance / shots)


def check_shots(shots, shot_model: str) -> None:
    """Validate a shot count and a shot model name."""
    if shot_model not in SHOT_MODELS:
        raise ValueError(f"shot_model must be one of {SHOT_MODELS}, got {shot_model!r}")
    if int(shots) != shots or shots < 1:
        raise ValueError(f"shots must be a positive integer, got {shots}")


def draw_counts(probabilities: np.ndarray, shots: int, seed=None) -> dict[int, int]:
    """``shots`` outcomes drawn from ``probabilities`` (indexed by outcome, summing to 1):
    ``{outcome: count}`` for the outcomes drawn, in increasing order."""
    if int(shots) != shots or shots < 1:
        raise ValueError(f"shots must be a positive integer, got {shots}")
    counts = np.random.default_rng(seed).multinomial(int(shots), probabilities)
    return {int(outcome): int(counts[outcome]) for outcome in np.nonzero(counts)[0]}


def counts_key(outcome: int, clbits: list[int], registers, num_qubits: int) -> str:
    """Qiskit's counts key of an outcome index.

    With ``clbits`` (the measured classical bits, bit ``i`` of ``outcome`` going to
    ``clbits[i]``), one group of bits per register of ``registers`` (lists of clbit
    indices), space-separated, last register leftmost and each register's bit 0
    rightmost; clbits not measured read 0. Without, the ``num_qubits`` bits of the
    outcome, qubit 0 rightmost."""
    if not clbits:
        return format(outcome, f"0{num_qubits}b")
    bit = {clbit: (outcome >> position) & 1 for position, clbit in enumerate(clbits)}
    return " ".join(
        "".join(str(bit.get(c, 0)) for c in reversed(register)) for register in reversed(registers)
    )
