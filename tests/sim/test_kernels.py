"""The kernels that apply a fused group, on every qubit layout, against a tensor reference."""

import numpy as np
import pytest

from qnoise.sim import kernels


def _reference(x: np.ndarray, k: np.ndarray, qa: int, qb: int, n: int) -> np.ndarray:
    """``K`` (indexed ``d_qa + 4·d_qb``) on qubits qa, qb of a little-endian Pauli vector."""
    tensor = x.reshape((4,) * n)  # axis i is qubit n-1-i
    ax_a, ax_b = n - 1 - qa, n - 1 - qb
    k4 = k.reshape(4, 4, 4, 4)  # [out_b, out_a, in_b, in_a]
    moved = np.moveaxis(tensor, (ax_b, ax_a), (0, 1))
    out = np.tensordot(k4, moved, axes=([2, 3], [0, 1]))
    return np.moveaxis(out, (0, 1), (ax_b, ax_a)).reshape(-1)


def _pairs(n):
    return [(a, b) for a in range(n) for b in range(n) if a != b]


@pytest.mark.parametrize("n", [2, 3, 5, 6])
def test_pair_kernel_every_layout(n):
    """Every ordered pair: neighbouring and distant qubits, runs of 1, 4, 16, ... entries
    (the SIMD chunks of 8 and 4, the BLAS stacks, the gather and the small-state loops)."""
    rng = np.random.default_rng(n)
    kt = np.empty((16, 16))
    off = np.empty(16, dtype=np.int64)
    for qa, qb in _pairs(n):
        x = rng.normal(size=4**n)
        k = rng.normal(size=(16, 16))
        expected = _reference(x, k, qa, qb, n)
        out = np.empty_like(x)
        kernels.apply_group(x, out, k, qa, qb, n, kt, off)
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)
        kernels.apply_group(x, x, k, qa, qb, n, kt, off)  # in place
        np.testing.assert_allclose(x, expected, rtol=0, atol=1e-12)


def test_pair_kernel_takes_a_strided_matrix():
    """A group matrix may be a view (a factor's block of the kernels' tables)."""
    rng = np.random.default_rng(7)
    n = 4
    x = rng.normal(size=4**n)
    table = rng.normal(size=(2, 3, 16, 16))
    kt = np.empty((16, 16))
    off = np.empty(16, dtype=np.int64)
    out = np.empty_like(x)
    kernels.apply_group(x, out, table[1, 2], 2, 1, n, kt, off)
    np.testing.assert_allclose(out, _reference(x, table[1, 2], 2, 1, n), rtol=0, atol=1e-12)


def _local_rows(x, qa, qb, n):
    """``x`` as a (16, rest) matrix whose row is the local index ``d_qa + 4·d_qb``."""
    tensor = x.reshape((4,) * n)
    moved = np.moveaxis(tensor, (n - 1 - qb, n - 1 - qa), (0, 1))
    return moved.reshape(16, -1)


@pytest.mark.parametrize("n", [2, 3, 5, 6])
def test_reverse_step_every_layout(n):
    """The reverse sweep's step: ``λ_out = Kᵀ λ`` and the correlation ``Σ λ_loc x_locᵀ``
    accumulated onto what ``corr`` held."""
    rng = np.random.default_rng(10 + n)
    kt = np.empty((16, 16))
    off = np.empty(16, dtype=np.int64)
    for qa, qb in _pairs(n):
        lam, x = rng.normal(size=(2, 4**n))
        k = rng.normal(size=(16, 16))
        start = rng.normal(size=(16, 16))
        corr = start.copy()
        lam_out = np.empty_like(lam)
        kernels.adjoint_group(lam, lam_out, x, k, qa, qb, n, corr, off, kt)
        np.testing.assert_allclose(lam_out, _reference(lam, k.T, qa, qb, n), rtol=0, atol=1e-12)
        expected = start + _local_rows(lam, qa, qb, n) @ _local_rows(x, qa, qb, n).T
        np.testing.assert_allclose(corr, expected, rtol=0, atol=1e-11)
