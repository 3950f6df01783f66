"""The kernels that apply a fused group, on every qubit layout, against a tensor reference."""

import numpy as np
import pytest

from qnoise.noise import amplitude_damping
from qnoise.sim import kernels, reverse
from qnoise.sim.records import AdjointVectors, Program, StepKernel


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
        kernels.adjoint_group(AdjointVectors(lam, lam_out, x), k, qa, qb, n, corr, off, kt)
        np.testing.assert_allclose(lam_out, _reference(lam, k.T, qa, qb, n), rtol=0, atol=1e-12)
        expected = start + _local_rows(lam, qa, qb, n) @ _local_rows(x, qa, qb, n).T
        np.testing.assert_allclose(corr, expected, rtol=0, atol=1e-11)


@pytest.mark.parametrize(("qa", "qb"), [(0, 1), (1, 0)])
def test_reverse_step_of_the_lowest_pair_in_row_chunks(qa, qb):
    """Qubits 0 and 1 at n = 8: 4096 rows of 16, taken in several chunks (both products
    of a chunk while it is in cache)."""
    n = 8
    rng = np.random.default_rng(20 + qa)
    lam, x = rng.normal(size=(2, 4**n))
    k = rng.normal(size=(16, 16))
    start = rng.normal(size=(16, 16))
    corr = start.copy()
    lam_out = np.empty_like(lam)
    kt = np.empty((16, 16))
    off = np.empty(16, dtype=np.int64)
    kernels.adjoint_group(AdjointVectors(lam, lam_out, x), k, qa, qb, n, corr, off, kt)
    np.testing.assert_allclose(lam_out, _reference(lam, k.T, qa, qb, n), rtol=0, atol=1e-11)
    expected = start + _local_rows(lam, qa, qb, n) @ _local_rows(x, qa, qb, n).T
    np.testing.assert_allclose(corr, expected, rtol=0, atol=1e-9)


def _triples(n, low):
    return [
        (a, s, b)
        for a in range(low, n)
        for s in range(low, n)
        for b in range(low, n)
        if len({a, s, b}) == 3
    ]


@pytest.mark.parametrize(("n", "low"), [(4, 1), (5, 1), (8, 5)])
def test_two_groups_in_one_pass(n, low):
    """Two groups sharing a qubit, in one pass: runs of 4 entries (4-wide chunks), of 16 and
    more (8-wide), and runs longer than one segment (n = 8, lowest qubit 5); in place too."""
    from qnoise.sim.simd import apply_two_groups

    rng = np.random.default_rng(20 + n)
    for a, s, b in _triples(n, low):
        x = rng.normal(size=4**n)
        k1 = rng.normal(size=(16, 16))  # indexed d_a + 4·d_s
        k2 = rng.normal(size=(16, 16))  # indexed d_s + 4·d_b
        expected = _reference(_reference(x, k1, a, s, n), k2, s, b, n)
        out = np.empty_like(x)
        apply_two_groups(x, out, k1, k2, (a, s, b), n)
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-11)
        apply_two_groups(x, x, k1, k2, (a, s, b), n)
        np.testing.assert_allclose(x, expected, rtol=0, atol=1e-11)


@pytest.mark.parametrize(("n", "low"), [(4, 1), (8, 5)])
def test_two_groups_keeping_the_middle_state(n, low):
    """The gradient's forward sweep: one pass writes both the state between the groups and
    the state after them."""
    from qnoise.sim.simd import apply_two_groups_keeping

    rng = np.random.default_rng(30 + n)
    for a, s, b in _triples(n, low):
        x = rng.normal(size=4**n)
        k1, k2 = rng.normal(size=(2, 16, 16))
        middle = _reference(x, k1, a, s, n)
        mid, out = np.empty((2, 4**n))
        apply_two_groups_keeping(x, mid, out, k1, k2, (a, s, b), n)
        np.testing.assert_allclose(mid, middle, rtol=0, atol=1e-11)
        np.testing.assert_allclose(out, _reference(middle, k2, s, b, n), rtol=0, atol=1e-11)


def _embedded(head, kind):
    """A 4×4 PTM on local qubit 0 (``KIND_LOCAL0``) or 1 of a pair, indexed d_0 + 4·d_1."""
    return np.kron(np.eye(4), head) if kind == kernels.KIND_LOCAL0 else np.kron(head, np.eye(4))


def _rotation_ptm(rng) -> np.ndarray:
    """The PTM ``1 ⊕ R`` of a random 1-qubit unitary (R a random rotation of the Bloch
    sphere)."""
    r, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    out = np.eye(4)
    out[1:, 1:] = r * np.sign(np.linalg.det(r))
    return out


def _head_correlation(lam, x, tail, kind, qa, qb, n):
    """The head's 4×4 correlation ``Σ_o w[h, o] x[h', o]`` with ``w = tailᵀ λ``, h the head
    qubit's digit (of qa for ``KIND_LOCAL0``, else of qb) and o the other's."""
    w = _local_rows(_reference(lam, tail.T, qa, qb, n), qa, qb, n).reshape(4, 4, -1)
    xs = _local_rows(x, qa, qb, n).reshape(4, 4, -1)  # [d_qb, d_qa, rest]
    if kind == kernels.KIND_LOCAL0:  # head digit d_qa: sum over d_qb and the rest
        return np.einsum("ohr,ocr->hc", w, xs)
    return np.einsum("hor,cor->hc", w, xs)


@pytest.mark.parametrize("n", [3, 5, 6, 8])
@pytest.mark.parametrize("kind", [kernels.KIND_LOCAL0, kernels.KIND_LOCAL1])
@pytest.mark.parametrize("tail_nonzeros", [256, 65, 64, 25, 1])
@pytest.mark.parametrize("head_form", ["general", "trace-preserving", "rotation"])
def test_reverse_step_of_a_rotation_head(n, kind, tail_nonzeros, head_form):
    """``K = T (H ⊗ I)``: ``λ_out = Kᵀ λ`` and the head's 4×4 correlation
    ``Σ_o (Tᵀλ)[h, o] x[h', o]`` added to what ``q`` held, on every pair of qubits >= 1
    (runs of 4 entries and of 16 and more), for dense tails and for sparse ones (up to
    64 non-zeros, the sparse kernel's limit; rows of T without any included), and for a
    unital rotation head ``1 ⊕ R``, a rotation after amplitude damping (trace-preserving,
    not unital) and a general 4×4 head. With a sparse tail,
    the correlation's row and column 0 of a unital head, and row 0 of a trace-preserving
    one (which no rotation's derivative reads), may be left as they were. At n = 8 (a
    few pairs) the chunk positions fill several of the kernel's tiles."""
    forms = ["general", "trace-preserving", "rotation"]  # in the order of the modes
    rng = np.random.default_rng(40 + n + kind + tail_nonzeros + 7 * forms.index(head_form))
    off = np.empty(16, dtype=np.int64)
    tt = np.empty((16, 16))
    for qa, qb in _pairs(n) if n < 8 else [(1, 2), (2, 1), (4, 7)]:
        if min(qa, qb) < 1:
            continue
        lam, x = rng.normal(size=(2, 4**n))
        tail = np.zeros((16, 16))
        tail.flat[rng.choice(256, tail_nonzeros, replace=False)] = rng.normal(size=tail_nonzeros)
        head = rng.normal(size=(4, 4))
        if head_form == "rotation":
            head = _rotation_ptm(rng)
        elif head_form == "trace-preserving":
            head = amplitude_damping(0.3).ptm @ _rotation_ptm(rng)
        start = rng.normal(size=(4, 4))
        q = start.copy()
        lam_out = np.empty_like(lam)
        mode = forms.index(head_form)  # the caller's word on the head's factors
        vectors = AdjointVectors(lam, lam_out, x)
        reverse.adjoint_head_group(vectors, (tail, head, kind), (qa, qb, n), q, off, tt, mode)
        k = tail @ _embedded(head, kind)
        np.testing.assert_allclose(lam_out, _reference(lam, k.T, qa, qb, n), rtol=0, atol=1e-11)
        expected = start + _head_correlation(lam, x, tail, kind, qa, qb, n)
        skipped_row = mode > 0 and tail_nonzeros <= 64
        first = 1 if skipped_row else 0
        np.testing.assert_allclose(q[first:, 1:], expected[first:, 1:], rtol=0, atol=1e-11)
        if not (mode == 2 and skipped_row):
            np.testing.assert_allclose(q[first:, 0], expected[first:, 0], rtol=0, atol=1e-11)
        if skipped_row:
            np.testing.assert_array_equal(q[0], start[0])


def _tailored_operands(tail, kind):
    """Tᵀ and T⁻¹ in the head-first order the tailored kernels take."""
    tt, ht = np.empty((16, 16)), np.empty((4, 4))
    off, ordered = np.arange(16), np.empty(16, dtype=np.int64)
    reverse._head_operands(tail, np.eye(4), kind, off, tt, ht, ordered)
    return tt, np.linalg.inv(tt.T)


@pytest.mark.parametrize("n", [3, 5, 8])
@pytest.mark.parametrize("kind", [kernels.KIND_LOCAL0, kernels.KIND_LOCAL1])
@pytest.mark.parametrize("head_form", ["trace-preserving", "rotation"])
@pytest.mark.parametrize("tail_form", ["sparse", "dense"])
@pytest.mark.parametrize("uncompute", [True, False])
def test_tailored_reverse_step(n, kind, head_form, tail_form, uncompute):
    """The reverse step of ``K = T (H ⊗ I)`` by a kernel compiled for the zeros of T
    (sparse: 25 random non-zeros and a diagonal; dense). Uncomputing: the state after the
    group becomes the state before it, ``K⁻¹ y``, in place, and λ becomes ``Kᵀ λ`` in
    place; on a kept state: ``Kᵀ λ`` goes to λ_out and the state is left as it was. The
    head's correlation is taken with the state before the group (rows 1-3; a unital
    head's columns 1-3). On every pair of qubits >= 1 (4-wide and 8-wide chunks; at n = 8
    a few pairs, among them pairs of high qubits whose rows share cache sets)."""
    from qnoise.sim import tailored

    rng = np.random.default_rng(60 + n + kind + len(head_form) + len(tail_form) + uncompute)
    off = np.empty(16, dtype=np.int64)
    mode = 1 if head_form == "trace-preserving" else 2
    for qa, qb in _pairs(n) if n < 8 else [(1, 2), (2, 1), (4, 7), (7, 6)]:
        if min(qa, qb) < 1:
            continue
        if tail_form == "dense":
            tail = rng.normal(size=(16, 16)) + 4 * np.eye(16)
        else:
            tail = np.zeros((16, 16))
            tail.flat[rng.choice(256, 25, replace=False)] = rng.normal(size=25)
            tail += np.diag(3.0 + rng.random(16))  # invertible; at most 41 non-zeros
        head = _rotation_ptm(rng)
        if head_form == "trace-preserving":
            head = amplitude_damping(0.3).ptm @ head
        k = tail @ _embedded(head, kind)
        x_before, lam = rng.normal(size=(2, 4**n))
        lam_after = lam.copy()
        y = _reference(x_before, k, qa, qb, n)
        start = rng.normal(size=(4, 4))
        q = start.copy()
        expected_lam = _reference(lam, k.T, qa, qb, n)
        tt, tail_inverse = _tailored_operands(tail, kind)
        width = 8 if min(qa, qb) > 1 else 4
        operands, site = (tail, head, kind), (qa, qb, n)
        if uncompute:
            kernel = tailored.head_kernel(mode, width, tt != 0, tail_inverse != 0)
            step = StepKernel(kernel, True, np.empty((0, 0)), tail_inverse)
            vectors = AdjointVectors(lam, lam, y)
            reverse.tailored_head_group(vectors, operands, site, q, off, step)
            np.testing.assert_allclose(y, x_before, rtol=0, atol=1e-11)
            np.testing.assert_allclose(lam, expected_lam, rtol=0, atol=1e-11)
        else:
            kept = x_before.copy()
            lam_out = np.empty_like(lam)
            kernel = tailored.head_kernel(mode, width, tt != 0)
            step = StepKernel(kernel, False, np.empty((0, 0)), tail_inverse)
            vectors = AdjointVectors(lam, lam_out, kept)
            reverse.tailored_head_group(vectors, operands, site, q, off, step)
            np.testing.assert_array_equal(kept, x_before)
            np.testing.assert_array_equal(lam, lam_after)
            np.testing.assert_allclose(lam_out, expected_lam, rtol=0, atol=1e-11)
        expected = start + _head_correlation(lam_after, x_before, tail, kind, qa, qb, n)
        first = 1 if mode == 2 else 0  # a unital head's column 0 is not accumulated
        np.testing.assert_allclose(q[1:, first:], expected[1:, first:], rtol=0, atol=1e-10)
        np.testing.assert_array_equal(q[0], start[0])  # row 0: no derivative reads it
        if mode == 2:
            np.testing.assert_array_equal(q[:, 0], start[:, 0])


@pytest.mark.parametrize("n", [4, 5])
@pytest.mark.parametrize("kind_a", [kernels.KIND_LOCAL0, kernels.KIND_LOCAL1])
@pytest.mark.parametrize("head_form", ["trace-preserving", "rotation"])
@pytest.mark.parametrize("uncompute", [True, False])
def test_tailored_two_head_step(n, kind_a, head_form, uncompute):
    """The reverse step of ``K = T (H_a ⊗ H_b)`` on qubits 0 and 1 (both orders, either
    head first) by a kernel compiled for the zeros of T, the state's blocks transposed in
    registers: uncomputing (``K⁻¹ y`` and ``Kᵀ λ`` in place) or on a kept state (``Kᵀ λ``
    to λ_out); each head's correlation taken with the other head's transpose applied to
    ``Tᵀ λ`` (rows 1-3; a unital head's columns 1-3)."""
    from qnoise.sim import tailored

    rng = np.random.default_rng(80 + n + kind_a + len(head_form) + uncompute)
    kind_b = kernels.KIND_LOCAL1 if kind_a == kernels.KIND_LOCAL0 else kernels.KIND_LOCAL0
    mode = 1 if head_form == "trace-preserving" else 2
    for qa, qb in ((0, 1), (1, 0)):
        tail = np.zeros((16, 16))
        tail.flat[rng.choice(256, 25, replace=False)] = rng.normal(size=25)
        tail += np.diag(3.0 + rng.random(16))
        head_a, head_b = _rotation_ptm(rng), _rotation_ptm(rng)
        if head_form == "trace-preserving":
            head_a = amplitude_damping(0.3).ptm @ head_a
            head_b = amplitude_damping(0.2).ptm @ head_b
        embedded_a, embedded_b = _embedded(head_a, kind_a), _embedded(head_b, kind_b)
        k = tail @ embedded_a @ embedded_b
        x_before, lam = rng.normal(size=(2, 4**n))
        lam_after = lam.copy()
        y = _reference(x_before, k, qa, qb, n)
        expected_lam = _reference(lam, k.T, qa, qb, n)
        tt, h0, h1 = np.empty((16, 16)), np.empty((4, 4)), np.empty((4, 4))
        reverse._two_head_operands(tail, head_a, head_b, kind_a, qa, tt, h0, h1)
        tail_inverse = np.linalg.inv(tt.T)
        starts = rng.normal(size=(2, 4, 4))
        q_a, q_b = starts.copy()
        heads, correlations = (head_a, head_b, kind_a), (q_a, q_b)
        if uncompute:
            kernel = tailored.two_head_kernel(mode, tt != 0, tail_inverse != 0)
            step = StepKernel(kernel, True, np.empty((0, 0)), tail_inverse)
            vectors = AdjointVectors(lam, lam, y)
            reverse.tailored_two_head_group(vectors, tail, heads, qa, correlations, step)
            np.testing.assert_allclose(y, x_before, rtol=0, atol=1e-11)
            np.testing.assert_allclose(lam, expected_lam, rtol=0, atol=1e-11)
        else:
            kept, lam_out = x_before.copy(), np.empty_like(lam)
            kernel = tailored.two_head_kernel(mode, tt != 0)
            step = StepKernel(kernel, False, np.empty((0, 0)), tail_inverse)
            vectors = AdjointVectors(lam, lam_out, kept)
            reverse.tailored_two_head_group(vectors, tail, heads, qa, correlations, step)
            np.testing.assert_array_equal(kept, x_before)
            np.testing.assert_array_equal(lam, lam_after)
            np.testing.assert_allclose(lam_out, expected_lam, rtol=0, atol=1e-11)
        expected = (
            starts[0]
            + _head_correlation(lam_after, x_before, tail @ embedded_b, kind_a, qa, qb, n),
            starts[1]
            + _head_correlation(lam_after, x_before, tail @ embedded_a, kind_b, qa, qb, n),
        )
        first = 1 if mode == 2 else 0  # a unital head's column 0 is not accumulated
        for q, start, full in zip((q_a, q_b), starts, expected, strict=True):
            np.testing.assert_allclose(q[1:, first:], full[1:, first:], rtol=0, atol=1e-10)
            np.testing.assert_array_equal(q[0], start[0])


def test_tailored_kernels_are_compiled_once_per_pattern():
    """A pattern (mode, width, zeros of Tᵀ, and of T⁻¹ for an uncomputing kernel) is
    compiled at its first request and reused; requests outside the kernels' forms are
    refused."""
    from qnoise.sim import tailored

    mask = np.eye(16, dtype=bool)
    first = tailored.head_kernel(1, 8, mask, mask)
    assert first != 0
    assert tailored.head_kernel(1, 8, mask.copy(), mask.copy()) == first
    others = [
        tailored.head_kernel(2, 8, mask, mask),
        tailored.head_kernel(1, 4, mask, mask),
        tailored.head_kernel(1, 8, mask),  # on a kept state
        tailored.head_kernel(1, 8, mask, ~mask | mask),
    ]
    assert len({first, *others}) == 5
    with pytest.raises(ValueError, match="mode 0"):
        tailored.head_kernel(0, 8, mask, mask)
    with pytest.raises(ValueError, match="width 2"):
        tailored.head_kernel(1, 2, mask)


def test_tailored_tables_cover_rotation_heads_only():
    """Groups with a trace-preserving rotation head get a tailored kernel for kept states
    and, where their tail has an inverse, an uncomputing one and the inverse (head-first
    order); groups without a head (on qubit 0, rotations on both qubits) get none, and
    their steps take the group matrix (and its inverse) instead."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    from qnoise import PTMSimulator
    from qnoise.noise import NoiseModel, amplitude_damping, depolarizing

    theta = ParameterVector("θ", 6)
    qc = QuantumCircuit(4)
    qc.ry(theta[0], 2)
    qc.cx(1, 2)  # head on qubit 2, invertible noisy CX tail
    qc.ry(theta[1], 0)
    qc.cx(0, 3)  # on qubit 0: no head
    qc.ry(theta[2], 1)
    qc.ry(theta[3], 3)
    qc.cx(1, 3)  # rotations on both qubits: no head
    qc.rx(theta[4], 3)
    qc.cz(2, 3)  # head on qubit 3; its CZ's noise has no inverse
    noise = NoiseModel()
    noise.add_gate_error(depolarizing(1e-2, 2), "cx")
    noise.add_gate_error(amplitude_damping(1.0).tensor(amplitude_damping(1.0)), "cz")
    compiled = PTMSimulator(noise).compile(qc)
    groups, factors, mats = compiled._groups, compiled._factors, compiled._mats
    assert [tuple(row[2:]) for row in groups] == [(1, 2), (0, 3), (1, 3), (2, 3)]
    uncompute, kept, tail_inverses = reverse.tailored_tables(groups, factors, mats, 4, True)
    assert uncompute[0] != 0 and list(uncompute[1:]) == [0, 0, 0]
    assert kept[0] != 0 and kept[3] != 0 and list(kept[1:3]) == [0, 0]
    f0, f_end = groups[0, :2]
    tail, tmp, fm = np.empty((3, 16, 16))
    kernels.factor_product(f0 + 1, f_end, 16, factors, mats, np.zeros(6), tail, (tmp, fm))
    tt, expected_inverse = _tailored_operands(tail, factors[f0, 0])
    np.testing.assert_allclose(tail_inverses[0], expected_inverse, rtol=0, atol=1e-14)
    np.testing.assert_allclose(tail_inverses[0] @ tt.T, np.eye(16), rtol=0, atol=1e-13)
    uncompute, kept, _ = reverse.tailored_tables(groups, factors, mats, 4, False)
    assert not uncompute.any() and kept[0] != 0
    assert not any(table.any() for table in reverse.tailored_tables(groups, factors, mats, 2, True))


def test_head_length_finds_rotation_heads():
    """Groups whose rotations all lead, on one local qubit of a pair of qubits >= 1, have a
    head; rotations after the 2-qubit part, on both qubits, or on qubit 0 do not."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    from qnoise import PTMSimulator

    theta = ParameterVector("θ", 8)
    qc = QuantumCircuit(4)
    qc.ry(theta[0], 2)
    qc.rz(theta[1], 2)
    qc.cx(1, 2)  # head of 2 rotations on qubit 2
    qc.rx(theta[2], 0)
    qc.cx(0, 3)  # on qubit 0: no head
    qc.ry(theta[3], 1)
    qc.ry(theta[4], 3)
    qc.cx(1, 3)  # rotations on both qubits: no head
    qc.ry(theta[5], 2)
    qc.cx(2, 3)
    qc.rz(theta[6], 2)  # waits for the end, then trails the last group on qubit 2
    compiled = PTMSimulator("depolarizing:p1=1e-3,p2=1e-2").compile(qc)
    groups, factors = compiled._groups, compiled._factors
    lengths = [reverse.head_length(g, groups, factors, *groups[g, 2:]) for g in range(len(groups))]
    assert [tuple(row[2:]) for row in groups] == [(1, 2), (0, 3), (1, 3), (2, 3)]
    assert lengths == [2, 0, 0, 0]


def test_run_groups_pairs_groups_like_one_by_one():
    """``run_groups`` on a chain of groups (pairs sharing a qubit go in one pass) equals
    applying the fused matrices one at a time."""
    from qiskit import QuantumCircuit

    from qnoise import PTMSimulator

    n = 6
    qc = QuantumCircuit(n)
    rng = np.random.default_rng(3)
    for _ in range(3):
        for q in range(n):
            qc.ry(float(rng.uniform(-3, 3)), q)
        for q in range(n - 1):
            qc.cx(q, q + 1)
        qc.cx(2, 5)
        qc.cx(4, 1)
    compiled = PTMSimulator("fake_mumbai:median").compile(qc)
    groups, factors, mats = compiled._groups, compiled._factors, compiled._mats
    program = Program(groups, factors, mats, np.zeros(0))
    x = compiled._x0.copy()
    kernels.run_groups(x, np.empty_like(x), 0, len(groups), program, n)
    expected = compiled._x0.copy()
    k, tmp, fm = np.empty((3, 16, 16))
    for g, (_, _, qa, qb) in enumerate(groups):
        kernels.group_matrix(g, groups, factors, mats, program.angles, k, tmp, fm)
        d = 16 if qb >= 0 else 4
        expected = (
            _reference(expected, k, qa, qb, n)
            if qb >= 0
            else _reference(expected, np.kron(np.eye(4), k[:d, :d]), qa, (qa + 1) % n, n)
        )
    np.testing.assert_allclose(x, expected, rtol=0, atol=1e-12)


def test_growing_state_from_zero_equals_full_state_run():
    """``run_from_zero`` keeps the state on the qubits touched so far; the result equals
    running every group on the full |0…0⟩ vector (qubits first touched in any order, one
    only by a trailing 1-qubit group)."""
    from qiskit import QuantumCircuit

    from qnoise import PTMSimulator

    qc = QuantumCircuit(6)
    rng = np.random.default_rng(5)
    for a, b in ((3, 1), (4, 0), (1, 4), (0, 3), (2, 0), (3, 4)):
        qc.ry(float(rng.uniform(-3, 3)), a)
        qc.rx(float(rng.uniform(-3, 3)), b)
        qc.cx(a, b)
    qc.h(5)
    compiled = PTMSimulator("fake_mumbai:median").compile(qc)
    groups, factors, mats = compiled._groups, compiled._factors, compiled._mats
    n = compiled._num_active
    program = Program(groups, factors, mats, np.zeros(0))
    expected = compiled._x0.copy()
    scratch = np.empty_like(expected)
    kernels.run_groups(expected, scratch, 0, len(groups), program, n)
    x = np.full_like(expected, np.nan)  # every entry must be written
    kernels.run_from_zero(x, scratch, len(groups), program, n)
    np.testing.assert_allclose(x, expected, rtol=0, atol=1e-14)


def test_circuit_without_operations_is_the_zero_state():
    from qiskit import QuantumCircuit

    from qnoise import PTMSimulator

    qc = QuantumCircuit(3)
    qc.barrier()
    np.testing.assert_array_equal(
        PTMSimulator().compile(qc).pauli_vector(),
        np.kron(np.kron([1, 0, 0, 1], [1, 0, 0, 1]), [1, 0, 0, 1]),
    )


@pytest.mark.parametrize("size", [1, 7, 8, 4**5 + 3])
def test_aligned_arrays_start_on_a_cache_line(size):
    """State buffers start on a 64-byte line, so no 8-double vector straddles two lines."""
    from qnoise.sim.simd import aligned_empty, aligned_zeros

    for array in (aligned_empty(size), aligned_zeros(size)):
        assert array.shape == (size,)
        assert array.flags.c_contiguous
        assert array.ctypes.data % 64 == 0
    assert not aligned_zeros(size).any()


def test_aligned_rows_each_start_on_a_cache_line():
    from qnoise.sim.simd import aligned_rows

    rows = aligned_rows(3, 16)
    assert rows.shape == (3, 16) and rows.flags.c_contiguous
    assert all(row.ctypes.data % 64 == 0 for row in rows)
    assert aligned_rows(0, 16).shape == (0, 16)


def test_evaluation_and_gradient_buffers_are_aligned():
    from qnoise.sim.buffers import thread_block

    for size in (16, 4**6, 4**6 + 5):
        assert thread_block(f"aligned_test_{size}", size).ctypes.data % 64 == 0
