"""Reverse-step kernels compiled at run time for the sparsity of a group's constant tail.

The reverse step of a group ``K = T (H ⊗ I)`` (a 1-qubit rotation head H on a constant
tail T, see :mod:`qnoise.sim.reverse`) takes, in one pass over the chunks of the state,
``λ_out = Kᵀ λ = (Hᵀ ⊗ I) Tᵀ λ`` and the head's 4×4 correlation ``Σ_o (Tᵀ λ)[h + 4o]
x[h' + 4o]`` with the state x before the group. Two forms:

* on a kept state x (read only), λ_out going to another array;
* uncomputing: x is read as the state after the group ``y`` and becomes the state before
  it, ``x = K⁻¹ y = (H⁻¹ ⊗ I) T⁻¹ y``, in place, and λ is updated in place.

A group on qubits 0 and 1 with rotations on both, ``K = T (H0 ⊗ H1)`` (two heads), takes
the same two forms with both heads' correlations (:func:`two_head_kernel`); its blocks are
contiguous, so a chunk of 8 blocks is transposed in registers instead of going through a
dense BLAS step.

T is the same at every angle, and so are the zeros of ``Tᵀ`` and ``T⁻¹`` (a CX with
per-qubit noise has 25 non-zeros of 256 in each). A kernel emitted for those zeros is
straight-line code: the 16 entries of a chunk of each state held in vector registers, one
multiply-add per non-zero, no index tables and no loops over them. A kernel that reads
the non-zeros from tables at run time (and, uncomputing, K⁻¹ as a dense 16×16) spends
most of its time on indices and zeros. Kernels are emitted
as LLVM IR (the helpers of :mod:`qnoise.sim.simd`), compiled for the host CPU by llvmlite
(numba's LLVM binding), kept for the life of the process (one per distinct pattern) and
called from numba code through their address (:func:`head_runs`).

Index conventions: a group's 16 local indices are ordered ``d_head + 4·d_other`` (the
head's Pauli digit fastest), as :func:`qnoise.sim.reverse._head_operands` orders them.
"""

from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from qnoise.sim.simd import (
    TRACE_PRESERVING,
    UNITAL,
    chunk_positions,
    chunk_width,
    contiguous_arrays,
    ir_combination,
    ir_fmuladd,
    ir_load,
    ir_store,
    tuple_data_pointers,
    vector_pointer,
)

_CACHE = True
_NAME = "head_chunks"

# (module builder, its parameters, masks) -> (execution engine, address); an engine owns
# its machine code
_compiled: dict[tuple, tuple[object, int]] = {}


def head_kernel(mode: int, width: int, tt_mask: np.ndarray, tinv_mask=None) -> int:
    """Address of the reverse-step kernel for a head of ``mode`` (``TRACE_PRESERVING``:
    H's row 0 is e0; ``UNITAL``: H is ``1 ⊕ R``), chunks of ``width`` (4 or 8) entries and
    the non-zeros ``tt_mask`` of Tᵀ (16×16 booleans in the head-first order), compiled at
    the first request. With ``tinv_mask``, the non-zeros of T⁻¹, the kernel uncomputes the
    state; without, it reads a kept state.

    The kernel, ``void f(double* lam, double* lam_out, double* x, double* tt, double* tinv,
    double* ht, double* hinv, double* acc, int64* off, int64* positions, int64 count)``,
    takes the chunks starting at ``positions[:count]`` (entry i of a chunk at ``off[i]``
    from its start): ``tt`` = Tᵀ and ``tinv`` = T⁻¹ (16×16, only the masked entries read),
    ``ht`` = Hᵀ and ``hinv`` = H⁻¹ (4×4), all C-contiguous; ``acc`` (16, width) gets the
    correlation lane-wise, entry ``4h + h'`` (rows ``h`` 1-3 only, and for a unital head
    columns ``h'`` 1-3 only: no rotation's derivative reads the others). Uncomputing, ``x``
    holds the state after the group and becomes the state before it, and λ becomes
    ``Kᵀ λ``, both in place (``lam_out`` is not used); reading a kept state ``x``,
    ``Kᵀ λ`` goes to ``lam_out``, another array (``tinv`` and ``hinv`` are not read)."""
    if mode not in (TRACE_PRESERVING, UNITAL) or width not in (4, 8):
        raise ValueError(f"no tailored kernel for mode {mode} and width {width}")
    return _cached_kernel(_head_module, (mode, width), tt_mask, tinv_mask)


def _cached_kernel(build, parameters, tt_mask, tinv_mask) -> int:
    """The address of ``build(*parameters, tt_mask, tinv_mask)``'s kernel (masks as
    boolean arrays, ``tinv_mask`` possibly None), compiled at the first request."""
    tt_mask = np.asarray(tt_mask, bool)
    tinv_mask = None if tinv_mask is None else np.asarray(tinv_mask, bool)
    masks = (tt_mask.tobytes(), None if tinv_mask is None else tinv_mask.tobytes())
    key = (build.__name__, *parameters, *masks)
    if key not in _compiled:
        _compiled[key] = _compile(build(*parameters, tt_mask, tinv_mask))
    return _compiled[key][1]


def _compile(module: ir.Module) -> tuple[object, int]:
    """Machine code for ``module`` (LLVM's O3 pipeline, for the host CPU): its
    execution engine and the address of its function ``_NAME``."""
    target = llvm.Target.from_triple(llvm.get_process_triple())
    machine = target.create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3
    )
    parsed = llvm.parse_assembly(str(module))
    parsed.verify()
    tuning = llvm.create_pipeline_tuning_options(speed_level=3)
    passes = llvm.create_pass_builder(machine, tuning)
    passes.getModulePassManager().run(parsed, passes)
    engine = llvm.create_mcjit_compiler(parsed, machine)
    engine.finalize_object()
    return engine, engine.get_function_address(_NAME)


def _sparse_row(builder, vector, matrix_ptr, row, inputs, mask_row):
    """``Σ_c m[row, c] · inputs[c]`` over the columns ``c`` that ``mask_row`` marks (``m``
    16×16 at ``matrix_ptr``); a zero vector where it marks none."""
    masked = [value if kept else None for value, kept in zip(inputs, mask_row, strict=True)]
    total = ir_combination(builder, vector, matrix_ptr, row, 16, masked)
    return total if total is not None else ir.Constant(vector, [0.0] * vector.count)


def _head_row(builder, vector, matrix_ptr, row, inputs, columns):
    """``Σ_c m[row, c] · inputs[c]`` over ``columns`` (``m`` 4×4 at ``matrix_ptr``)."""
    chosen = [value if c in columns else None for c, value in enumerate(inputs)]
    return ir_combination(builder, vector, matrix_ptr, row, 4, chosen)


def _kernel_function(doubles, integers, uncompute):
    """A module holding the kernel function ``_NAME``: ``doubles`` double pointers,
    ``integers`` int64 pointers, then an int64 count; every pointer ``noalias`` but
    argument 1 (λ_out) when ``uncompute`` (λ_out is λ then). Returns the module, the
    function and a builder at its entry."""
    double, i64 = ir.DoubleType(), ir.IntType(64)
    module = ir.Module(name=_NAME)
    arguments = [double.as_pointer()] * doubles + [i64.as_pointer()] * integers + [i64]
    function = ir.Function(module, ir.FunctionType(ir.VoidType(), arguments), name=_NAME)
    for i, pointer in enumerate(function.args[:-1]):
        if i != 1 or not uncompute:
            pointer.add_attribute("noalias")
    return module, function, ir.IRBuilder(function.append_basic_block("entry"))


def _accumulators(builder, acc_ptr, vector):
    """Stack slots holding the 16 lane-wise accumulators of ``acc`` ((16, lanes) at
    ``acc_ptr``), loaded; with their addresses in ``acc``."""
    i64 = ir.IntType(64)
    pointers, slots = [], []
    for i in range(16):
        pointer = vector_pointer(builder, acc_ptr, ir.Constant(i64, vector.count * i), vector)
        slot = cgutils.alloca_once(builder, vector)
        builder.store(ir_load(builder, pointer), slot)
        pointers.append(pointer)
        slots.append(slot)
    return pointers, slots


def _store_accumulators(builder, pointers, slots):
    """Store :func:`_accumulators`' slots back to their addresses."""
    for slot, pointer in zip(slots, pointers, strict=True):
        ir_store(builder, builder.load(slot), pointer)


def _add_products(builder, vector, slot, left, right):
    """``slot += left · right`` (lane-wise)."""
    fma = ir_fmuladd(builder, vector)
    builder.store(builder.call(fma, [left, right, builder.load(slot)]), slot)


def _head_module(mode, width, tt_mask, tinv_mask) -> ir.Module:
    """The LLVM module of :func:`head_kernel`'s kernel (uncomputing when ``tinv_mask`` is
    given)."""
    uncompute = tinv_mask is not None
    i64 = ir.IntType(64)
    vector = ir.VectorType(ir.DoubleType(), width)
    module, function, builder = _kernel_function(8, 2, uncompute)
    (lam_ptr, out_ptr, x_ptr, tt_ptr, tinv_ptr, ht_ptr, hinv_ptr, acc_ptr, off_ptr, pos_ptr) = (
        function.args[:10]
    )
    count = function.args[10]
    if uncompute:  # λ_out is λ: stores go through λ
        out_ptr = lam_ptr
    offsets = [builder.load(builder.gep(off_ptr, [ir.Constant(i64, r)])) for r in range(16)]
    acc_pointers, slots = _accumulators(builder, acc_ptr, vector)
    columns = range(1, 4) if mode == UNITAL else range(4)  # of the correlation
    with cgutils.for_range(builder, count) as loop:
        position = builder.load(builder.gep(pos_ptr, [loop.index]))
        addresses = [builder.add(offset, position) for offset in offsets]
        x_pointers = [vector_pointer(builder, x_ptr, a, vector) for a in addresses]
        if uncompute:  # x = (H⁻¹ ⊗ I) T⁻¹ y
            ys = [ir_load(builder, pointer) for pointer in x_pointers]
            z = [_sparse_row(builder, vector, tinv_ptr, j, ys, tinv_mask[j]) for j in range(16)]
            xs = _on_digit(builder, vector, hinv_ptr, z, 0, False, mode)
            for r in range(16):
                ir_store(builder, xs[r], x_pointers[r])
        else:  # the entries the correlation reads
            xs = [ir_load(builder, x_pointers[r]) if r % 4 in columns else None for r in range(16)]
        lams = [ir_load(builder, vector_pointer(builder, lam_ptr, a, vector)) for a in addresses]
        w = [_sparse_row(builder, vector, tt_ptr, j, lams, tt_mask[j]) for j in range(16)]
        for h in range(1, 4):
            for hp in columns:
                for o in range(4):
                    _add_products(builder, vector, slots[4 * h + hp], w[h + 4 * o], xs[hp + 4 * o])
        lam_out = _on_digit(builder, vector, ht_ptr, w, 0, True, mode)  # (Hᵀ ⊗ I) w
        for r in range(16):
            ir_store(builder, lam_out[r], vector_pointer(builder, out_ptr, addresses[r], vector))
    _store_accumulators(builder, acc_pointers, slots)
    builder.ret_void()
    return module


@intrinsic
def _call_kernel(typingctx, address, arrays, count):
    """Call the kernel at ``address`` (:func:`head_kernel`, :func:`two_head_kernel`) on
    the data pointers of ``arrays`` (a tuple of C-contiguous float64 or int64 arrays, in
    the kernel's order) and ``count``."""
    if not isinstance(arrays, types.BaseTuple) or not isinstance(count, types.Integer):
        return None
    specs = [(a, getattr(a, "ndim", 0), getattr(a, "dtype", None)) for a in arrays]
    if not all(dtype in (types.float64, types.int64) for _, _, dtype in specs):
        return None
    if not contiguous_arrays(*specs):
        return None

    def codegen(context, builder, sig, args):
        pointers = tuple_data_pointers(context, builder, sig.args[1], args[1])
        kernel_type = ir.FunctionType(
            ir.VoidType(), [pointer.type for pointer in pointers] + [ir.IntType(64)]
        )
        kernel = builder.inttoptr(args[0], kernel_type.as_pointer())
        builder.call(kernel, [*pointers, args[2]])
        return context.get_dummy_value()

    return types.void(types.int64, arrays, types.int64), codegen


@njit(cache=_CACHE, nogil=True)
def head_runs(address, vectors, tail, head, q, off, layout):
    """The reverse step of a group over the blocks of a
    :class:`~qnoise.sim.records.PairLayout` (``off`` in head-first order, see
    :func:`qnoise.sim.simd.reverse_head_runs`) by the kernel at ``address``
    (:func:`head_kernel`, for chunks of :func:`chunk_width` entries), with ``vectors = (λ,
    λ_out, x)``, ``tail = (Tᵀ, T⁻¹)`` and ``head = (Hᵀ, H⁻¹)``: ``Kᵀ λ`` and the head's
    correlation with the state before the group, added to ``q`` (rows 1-3; for a unital
    head columns 1-3). An uncomputing kernel takes ``x`` as the state after the group and
    leaves the state before it there, and λ is updated in place (``lam_out`` is ``lam``);
    a kernel that reads a kept ``x`` writes ``lam_out``, another array."""
    width = chunk_width(layout.n_low)
    positions = chunk_positions(layout, width)
    acc = np.zeros((16, width))
    lam, lam_out, x = vectors
    arrays = (lam, lam_out, x, tail[0], tail[1], head[0], head[1], acc, off, positions)
    _call_kernel(address, arrays, positions.shape[0])
    for i in range(16):
        total = 0.0
        for lane in range(width):
            total += acc[i, lane]
        q[i // 4, i % 4] += total


# Two heads: a group on qubits 0 and 1 whose rotations sit on both, ``K = T (H0 ⊗ H1)``
# (H0 on qubit 0's digit, the fastest index). A block's 16 entries are then contiguous, so
# a chunk of 8 blocks is loaded as 16 vectors and transposed in registers to the 16
# vectors (one per local index, the blocks in the lanes) the arithmetic takes.
TWO_HEAD_CHUNK = 128  # entries: 8 blocks of 16


def two_head_kernel(mode: int, tt_mask: np.ndarray, tinv_mask=None) -> int:
    """Address of the reverse-step kernel for two heads of ``mode`` (as
    :func:`head_kernel`'s; both heads are of it) on qubits 0 and 1 and the non-zeros
    ``tt_mask`` of Tᵀ, local index ``d0 + 4·d1`` (qubit 0's digit fastest); with
    ``tinv_mask``, the non-zeros of T⁻¹, the kernel uncomputes the state.

    The kernel, ``void f(double* lam, double* lam_out, double* x, double* tt, double*
    tinv, double* h0t, double* h1t, double* h0inv, double* h1inv, double* acc0, double*
    acc1, int64 count)``, takes the ``count`` chunks of ``TWO_HEAD_CHUNK`` entries from
    the start: ``λ_out = Kᵀ λ`` and the heads' correlations, lane-wise, ``acc0[4h + h'] +=
    Σ_{d1} u[h + 4·d1] x[h' + 4·d1]`` with ``u = (I ⊗ H1ᵀ) Tᵀ λ`` and ``acc1[4h + h'] +=
    Σ_{d0} v[d0 + 4h] x[d0 + 4h']`` with ``v = (H0ᵀ ⊗ I) Tᵀ λ`` (rows h 1-3; for unital
    heads columns h' 1-3), x the state before the group. ``h0t``, ``h1t`` are the heads
    transposed, ``h0inv``, ``h1inv`` their inverses; in place and on kept states as for
    :func:`head_kernel`."""
    if mode not in (TRACE_PRESERVING, UNITAL):
        raise ValueError(f"no tailored kernel for mode {mode}")
    return _cached_kernel(_two_head_module, (mode,), tt_mask, tinv_mask)


def _transpose8(builder, rows):
    """The 8×8 transpose of eight ``<8 x double>`` rows: column j holds entry j of every
    row, in row order."""
    i32 = ir.IntType(32)

    def shuffle(a, b, mask):
        return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(i32, 8), mask))

    low, high = [], []  # pairs of rows interleaved: [a0 b0 a2 b2 ...], [a1 b1 a3 b3 ...]
    for k in range(4):
        a, b = rows[2 * k], rows[2 * k + 1]
        low.append(shuffle(a, b, [0, 8, 2, 10, 4, 12, 6, 14]))
        high.append(shuffle(a, b, [1, 9, 3, 11, 5, 13, 7, 15]))
    quads = {}  # (first row, column parity and pair) -> 4 rows' entries of 2 columns
    for half in range(2):  # rows 0-3, rows 4-7
        for parity, pairs in ((0, low), (1, high)):
            a, b = pairs[2 * half], pairs[2 * half + 1]
            quads[half, parity, 0] = shuffle(a, b, [0, 1, 8, 9, 4, 5, 12, 13])
            quads[half, parity, 1] = shuffle(a, b, [2, 3, 10, 11, 6, 7, 14, 15])
    columns = [None] * 8
    for parity in range(2):
        for pair in range(2):
            a, b = quads[0, parity, pair], quads[1, parity, pair]
            column = parity + 2 * pair
            columns[column] = shuffle(a, b, [0, 1, 2, 3, 8, 9, 10, 11])
            columns[column + 4] = shuffle(a, b, [4, 5, 6, 7, 12, 13, 14, 15])
    return columns


def _load_blocks(builder, pointer, position, vector):
    """The 8 blocks of 16 entries at ``position``, as 16 vectors: local index j across the
    blocks."""
    i64 = ir.IntType(64)
    rows = [
        ir_load(
            builder,
            vector_pointer(
                builder, pointer, builder.add(position, ir.Constant(i64, 8 * k)), vector
            ),
        )
        for k in range(16)
    ]
    return _transpose8(builder, rows[0::2]) + _transpose8(builder, rows[1::2])


def _store_blocks(builder, values, pointer, position, vector):
    """Store the 16 vectors of :func:`_load_blocks`'s form back to the 8 blocks."""
    i64 = ir.IntType(64)
    first, second = _transpose8(builder, values[:8]), _transpose8(builder, values[8:])
    for k in range(16):
        row = (first if k % 2 == 0 else second)[k // 2]
        address = builder.add(position, ir.Constant(i64, 8 * k))
        ir_store(builder, row, vector_pointer(builder, pointer, address, vector))


def _on_digit(builder, vector, matrix_ptr, values, digit, transposed, mode):
    """A head's 4×4 (``matrix_ptr``) on local digit ``digit`` (0: the fastest) of the 16
    vectors ``values``, using what the head's form makes known: with ``transposed`` (Hᵀ)
    column 0 is e0 (and, unital, row 0 too); otherwise (H⁻¹) row 0 is e0 (and, unital,
    column 0 too)."""
    out = [None] * 16
    columns = range(1, 4) if mode == UNITAL else range(4)
    for other in range(4):
        indices = [k + 4 * other if digit == 0 else other + 4 * k for k in range(4)]
        inputs = [values[i] for i in indices]
        for c in range(4):
            if c == 0 and (mode == UNITAL or not transposed):
                total = inputs[0]
            elif transposed:
                total = _head_row(builder, vector, matrix_ptr, c, inputs, range(1, 4))
                if c == 0:
                    total = builder.fadd(total, inputs[0])
            else:
                total = _head_row(builder, vector, matrix_ptr, c, inputs, columns)
            out[indices[c]] = total
    return out


def _two_head_module(mode, tt_mask, tinv_mask) -> ir.Module:
    """The LLVM module of :func:`two_head_kernel`'s kernel."""
    uncompute = tinv_mask is not None
    i64 = ir.IntType(64)
    vector = ir.VectorType(ir.DoubleType(), 8)
    module, function, builder = _kernel_function(11, 0, uncompute)
    (lam_ptr, out_ptr, x_ptr, tt_ptr, tinv_ptr, h0t_ptr, h1t_ptr, h0inv_ptr, h1inv_ptr) = (
        function.args[:9]
    )
    count = function.args[11]
    if uncompute:  # λ_out is λ: stores go through λ
        out_ptr = lam_ptr
    accumulators = [_accumulators(builder, acc, vector) for acc in function.args[9:11]]
    slots = [acc_slots for _, acc_slots in accumulators]
    columns = range(1, 4) if mode == UNITAL else range(4)
    with cgutils.for_range(builder, count) as loop:
        position = builder.mul(loop.index, ir.Constant(i64, TWO_HEAD_CHUNK))
        if uncompute:
            ys = _load_blocks(builder, x_ptr, position, vector)
            z = [_sparse_row(builder, vector, tinv_ptr, j, ys, tinv_mask[j]) for j in range(16)]
            z = _on_digit(builder, vector, h1inv_ptr, z, 1, False, mode)
            xs = _on_digit(builder, vector, h0inv_ptr, z, 0, False, mode)
            _store_blocks(builder, xs, x_ptr, position, vector)
        else:
            xs = _load_blocks(builder, x_ptr, position, vector)
        lams = _load_blocks(builder, lam_ptr, position, vector)
        w = [_sparse_row(builder, vector, tt_ptr, j, lams, tt_mask[j]) for j in range(16)]
        v = _on_digit(builder, vector, h0t_ptr, w, 0, True, mode)
        u = _on_digit(builder, vector, h1t_ptr, w, 1, True, mode)
        _store_blocks(
            builder,
            _on_digit(builder, vector, h1t_ptr, v, 1, True, mode),
            out_ptr,
            position,
            vector,
        )
        for h in range(1, 4):
            for hp in columns:
                for o in range(4):
                    _add_products(
                        builder, vector, slots[0][4 * h + hp], u[h + 4 * o], xs[hp + 4 * o]
                    )
                    _add_products(
                        builder, vector, slots[1][4 * h + hp], v[o + 4 * h], xs[o + 4 * hp]
                    )
    for pointers, acc_slots in accumulators:
        _store_accumulators(builder, pointers, acc_slots)
    builder.ret_void()
    return module


@njit(cache=_CACHE, nogil=True)
def two_head_runs(address, vectors, tail, heads, q0, q1):
    """The reverse step of a two-head group on qubits 0 and 1 by the kernel at ``address``
    (:func:`two_head_kernel`) over the whole state (at least ``TWO_HEAD_CHUNK`` entries),
    with ``vectors = (λ, λ_out, x)``, ``tail = (Tᵀ, T⁻¹)`` and ``heads = (H0ᵀ, H1ᵀ, H0⁻¹,
    H1⁻¹)``: ``Kᵀ λ``, and the heads' correlations added to ``q0`` (H0's, on qubit 0) and
    ``q1``; in place and on kept states as :func:`head_runs`."""
    acc0 = np.zeros((16, 8))
    acc1 = np.zeros((16, 8))
    lam, lam_out, x = vectors
    h0t, h1t, h0inv, h1inv = heads
    arrays = (lam, lam_out, x, tail[0], tail[1], h0t, h1t, h0inv, h1inv, acc0, acc1)
    _call_kernel(address, arrays, lam.shape[0] // TWO_HEAD_CHUNK)
    for i in range(16):
        for lane in range(8):
            q0[i // 4, i % 4] += acc0[i, lane]
            q1[i // 4, i % 4] += acc1[i, lane]
