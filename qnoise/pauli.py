"""Pauli–Liouville basis: Pauli operators, PTMs of unitaries and channels, state conversions.

Conventions (see ``docs/conventions.md``)
-----------------------------------------
* Single-qubit Pauli order is (I, X, Y, Z) with digits 0, 1, 2, 3.
* An n-qubit Pauli index is ``k = sum_q d_q * 4**q`` (little-endian, like Qiskit: qubit 0 is
  the least significant digit), and ``P_k = P_{d_{n-1}} ⊗ ... ⊗ P_{d_0}``.
* The simulator state is the vector of Pauli expectation values ``x_k = Tr(P_k ρ)``; ``x_0 = 1``
  for a normalized state. The orthonormal Pauli–Liouville vector is ``x / sqrt(2**n)``.
* A Pauli transfer matrix (PTM) is ``R_ij = Tr(P_i Λ(P_j)) / 2**k`` for a k-qubit channel Λ.
  It maps ``x`` to ``R @ x`` in either normalization.
"""

from __future__ import annotations

import numpy as np

_I = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.array([[1, 0], [0, -1]], dtype=complex)
SINGLE_QUBIT_PAULIS = np.stack([_I, _X, _Y, _Z])
PAULI_DIGIT = {"I": 0, "X": 1, "Y": 2, "Z": 3}

_PAULI_CACHE: dict[int, np.ndarray] = {}


def pauli_matrices(num_qubits: int) -> np.ndarray:
    """All ``4**num_qubits`` Pauli matrices, shape ``(4**k, 2**k, 2**k)``, in basis order."""
    if num_qubits not in _PAULI_CACHE:
        mats = np.ones((1, 1, 1), dtype=complex)
        for _ in range(num_qubits):
            # the new (more significant) qubit becomes the left tensor factor
            mats = np.einsum("aij,bkl->bakilj", mats, SINGLE_QUBIT_PAULIS).reshape(
                4 * mats.shape[0], 2 * mats.shape[1], 2 * mats.shape[2]
            )
        _PAULI_CACHE[num_qubits] = mats
    return _PAULI_CACHE[num_qubits]


def pauli_index(label: str) -> int:
    """Index of a Qiskit Pauli label (rightmost character = qubit 0), e.g. ``"XZ" -> 3 + 4*1``."""
    index = 0
    for position, char in enumerate(reversed(label)):
        index += PAULI_DIGIT[char] * 4**position
    return index


def _num_qubits_of_dim(dim: int) -> int:
    num_qubits = round(np.log2(dim))
    if 2**num_qubits != dim:
        raise ValueError(f"matrix dimension {dim} is not a power of two")
    return num_qubits


def channel_to_ptm(apply_channel, num_qubits: int) -> np.ndarray:
    """PTM of a linear map given as a function ``apply_channel(stack of matrices) -> stack``."""
    paulis = pauli_matrices(num_qubits)
    images = apply_channel(paulis)
    ptm = np.einsum("iab,jba->ij", paulis, images) / 2**num_qubits
    if np.max(np.abs(ptm.imag)) > 1e-9:
        raise ValueError("the map is not Hermiticity preserving; its PTM is not real")
    return np.ascontiguousarray(ptm.real)


def unitary_to_ptm(unitary: np.ndarray) -> np.ndarray:
    """PTM of the conjugation ``ρ -> U ρ U†`` (global phase drops out)."""
    unitary = np.asarray(unitary, dtype=complex)
    num_qubits = _num_qubits_of_dim(unitary.shape[0])
    return channel_to_ptm(lambda p: unitary @ p @ unitary.conj().T, num_qubits)


def kraus_to_ptm(kraus_ops) -> np.ndarray:
    """PTM of the channel ``ρ -> Σ_k K_k ρ K_k†``."""
    ops = np.asarray(kraus_ops, dtype=complex)
    num_qubits = _num_qubits_of_dim(ops.shape[-1])
    return channel_to_ptm(lambda p: np.einsum("kab,jbc,kdc->jad", ops, p, ops.conj()), num_qubits)


def pauli_rotation_parts(label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PTM parts of ``exp(-i θ/2 P)``: ``R(θ) = A + cos(θ) B + sin(θ) C``.

    ``label`` is a Qiskit Pauli label on the gate's own qubits (rightmost = first qarg).
    Paulis commuting with P are fixed (``A``); anticommuting Q map to
    ``cos θ Q - i sin θ P Q``'s Pauli components (``B``, ``C``).
    """
    num_qubits = len(label)
    dim = 4**num_qubits
    paulis = pauli_matrices(num_qubits)
    rotation_pauli = paulis[pauli_index(label)]
    a_part = np.zeros((dim, dim))
    b_part = np.zeros((dim, dim))
    c_part = np.zeros((dim, dim))
    for j in range(dim):
        q = paulis[j]
        if np.allclose(rotation_pauli @ q, q @ rotation_pauli):
            a_part[j, j] = 1.0
            continue
        b_part[j, j] = 1.0
        # -i P Q is Hermitian and equal to ± another Pauli
        image = -1j * rotation_pauli @ q
        coeffs = np.einsum("iab,ba->i", paulis, image).real / 2**num_qubits
        c_part[:, j] = np.round(coeffs, 12)
    return a_part, b_part, c_part


_SINGLE_QUBIT_TO_MATRIX = np.stack([_I, _X, _Y, _Z]) / 2.0  # ρ = Σ x_d σ_d / 2


def pauli_vector_to_density_matrix(x: np.ndarray) -> np.ndarray:
    """Density matrix ``ρ = Σ_k x_k P_k / 2**n`` (Qiskit ordering) from Pauli expectations."""
    num_qubits = _num_qubits_of_dim(round(np.sqrt(x.shape[0])))
    tensor = np.asarray(x, dtype=complex).reshape((4,) * num_qubits)
    for _ in range(num_qubits):
        # contract the leading Pauli axis, append a (row, col) pair at the end
        tensor = np.tensordot(tensor, _SINGLE_QUBIT_TO_MATRIX, axes=([0], [0]))
    # axes are now (r_{n-1}, c_{n-1}, ..., r_0, c_0)
    rows = list(range(0, 2 * num_qubits, 2))
    cols = list(range(1, 2 * num_qubits, 2))
    dim = 2**num_qubits
    return tensor.transpose(rows + cols).reshape(dim, dim)


def density_matrix_to_pauli_vector(rho: np.ndarray) -> np.ndarray:
    """Pauli expectations ``x_k = Tr(P_k ρ)`` of a density matrix in Qiskit ordering."""
    rho = np.asarray(rho, dtype=complex)
    num_qubits = _num_qubits_of_dim(rho.shape[0])
    tensor = rho.reshape((2,) * (2 * num_qubits))
    # interleave to (r_{n-1}, c_{n-1}, ..., r_0, c_0)
    order = [axis for q in range(num_qubits) for axis in (q, num_qubits + q)]
    tensor = tensor.transpose(order)
    for _ in range(num_qubits):
        # Tr(σ_d M) = Σ_ab σ_d[b, a] M[a, b]
        tensor = np.tensordot(tensor, SINGLE_QUBIT_PAULIS, axes=([0, 1], [2, 1]))
    return np.ascontiguousarray(tensor.real.reshape(-1))


def zero_state(num_qubits: int) -> np.ndarray:
    """Pauli vector of ``|0…0⟩``: 1 on every index whose digits are all I or Z."""
    single = np.array([1.0, 0.0, 0.0, 1.0])
    x = np.ones(1)
    for _ in range(num_qubits):
        x = np.kron(single, x)
    return x
