"""Explicit-SIMD kernels for 2-qubit groups on contiguous runs of the state.

For a group on qubits ``qa, qb`` whose lower qubit is ``lo >= 1``, every block of the state
(one assignment of Pauli digits to the other qubits) is 16 contiguous runs of ``4**lo``
entries at offsets ``off[c]``. The kernels walk the runs in chunks of 8 (or 4) entries:

* :func:`apply_runs` (``dst <- K src``): the 16 input vectors of a chunk are loaded into
  registers and the 16 outputs formed by multiply-adds of broadcast matrix entries. No
  gather, no temporary; neighbouring and distant pairs alike.
* :func:`correlate_runs` (the reverse sweep's ``Σ λ_loc x_locᵀ``): blocks of accumulator
  vectors stay in registers while the kernel streams over cache-sized tiles of chunks.
* :func:`apply_two_groups`: two groups that share a qubit in one pass over the state, the
  first product going to a cached buffer and the second from there, which halves the memory
  traffic of states that do not fit in cache.
* :func:`reverse_head_runs`: the reverse step of a group ``K = T (H ⊗ I)`` whose
  rotations form a 1-qubit head H, in one pass. A sparse constant tail T (a CX with
  per-qubit noise has 25 non-zeros of 256) is applied by its non-zeros, a unital head by
  its 3×3 rotation block, and a trace-preserving one without its known row. (The
  uncomputing form of this step is compiled per tail: :mod:`qnoise.sim.tailored`.)

The chunk kernels are LLVM vector IR (``<8 x double>``, ``llvm.fmuladd``) emitted through
numba intrinsics. numba compiles them for the host CPU, so they become AVX-512, AVX2 or
NEON code as available (``fmuladd`` fuses where the CPU has FMA), and they are cached like
any numba function. A chunk's inputs are all loaded before any output is stored, so the
products may be computed in place.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_CACHE = True


# 64-byte cache lines hold 8 doubles
_LINE_ENTRIES = 8


@njit(cache=_CACHE, nogil=True)
def aligned_empty(size):
    """Uninitialised float64 array of ``size`` entries whose first entry starts a 64-byte
    cache line. The kernels load and store 8 (or 4) doubles from multiples of 8 (or 4)
    entries, so in such an array no vector straddles two lines. numpy and numba align
    only to 16 or 32 bytes; on misaligned states the head reverse step took up to 1.4× as
    long on pairs of high qubits (n = 7, 8)."""
    raw = np.empty(size + _LINE_ENTRIES - 1)
    start = (_LINE_ENTRIES - (raw.ctypes.data // 8) % _LINE_ENTRIES) % _LINE_ENTRIES
    return raw[start : start + size]


@njit(cache=_CACHE, nogil=True)
def aligned_rows(rows, size):
    """Uninitialised C-ordered ``(rows, size)`` float64 array from :func:`aligned_empty`:
    every row starts on a cache line when ``size`` is a multiple of 8."""
    return aligned_empty(rows * size).reshape(rows, size)


@njit(cache=_CACHE, nogil=True)
def aligned_zeros(size):
    """:func:`aligned_empty`, filled with zeros."""
    out = aligned_empty(size)
    out[:] = 0.0
    return out


def contiguous_arrays(*specs) -> bool:
    """Whether every ``(numba type, ndim, dtype)`` is a C-contiguous array of that shape."""
    return all(
        isinstance(array, types.Array)
        and array.ndim == ndim
        and array.layout == "C"
        and array.dtype == dtype
        for array, ndim, dtype in specs
    )


def _data_pointers(context, builder, sig, args, count):
    """Data pointers of the first ``count`` (array) arguments of an intrinsic."""
    return [context.make_array(sig.args[i])(context, builder, args[i]).data for i in range(count)]


def tuple_data_pointers(context, builder, tuple_type, value):
    """Data pointers of the arrays in a tuple argument of an intrinsic (its numba type
    ``tuple_type`` and LLVM value ``value``)."""
    members = cgutils.unpack_tuple(builder, value, len(tuple_type))
    return [
        context.make_array(member_type)(context, builder, member).data
        for member_type, member in zip(tuple_type, members, strict=True)
    ]


def array_length(context, builder, array_type, value):
    """The length (first dimension) of an array argument of an intrinsic."""
    array = context.make_array(array_type)(context, builder, value)
    return cgutils.unpack_tuple(builder, array.shape, array_type.ndim)[0]


def vector_pointer(builder, pointer, index, vector):
    """Pointer to the ``vector`` of doubles that starts at ``pointer[index]``."""
    return builder.bitcast(builder.gep(pointer, [index]), vector.as_pointer())


def ir_load(builder, address):
    """Load through ``address``, assuming only double alignment."""
    value = builder.load(address)
    value.align = 8
    return value


def ir_store(builder, value, address):
    """Store through ``address``, assuming only double alignment."""
    builder.store(value, address).align = 8


def _broadcast(builder, value, vector):
    """``value`` (a double) in every lane of ``vector``."""
    i32 = ir.IntType(32)
    undefined = ir.Constant(vector, ir.Undefined)
    lane0 = builder.insert_element(undefined, value, ir.Constant(i32, 0))
    return builder.shuffle_vector(
        lane0, undefined, ir.Constant(ir.VectorType(i32, vector.count), [0] * vector.count)
    )


def ir_combination(builder, vector, matrix_ptr, row, width, inputs):
    """``Σ_c m[row, c] · inputs[c]`` (``m`` a C-contiguous ``(·, width)`` matrix of doubles
    at ``matrix_ptr``, each entry broadcast to ``vector``) as one multiply and a chain of
    multiply-adds; ``None`` inputs are zeros."""
    fma = ir_fmuladd(builder, vector)
    i64 = ir.IntType(64)
    total = None
    for c, value in enumerate(inputs):
        if value is None:  # a structural zero
            continue
        entry = builder.load(builder.gep(matrix_ptr, [ir.Constant(i64, width * row + c)]))
        splat = _broadcast(builder, entry, vector)
        total = (
            builder.fmul(splat, value)
            if total is None
            else builder.call(fma, [splat, value, total])
        )
    return total


def ir_fmuladd(builder, vector):
    """The ``llvm.fmuladd`` intrinsic on ``vector`` (declared once per module)."""
    name = f"llvm.fmuladd.v{vector.count}f64"
    return builder.module.globals.get(name) or ir.Function(
        builder.module, ir.FunctionType(vector, [vector] * 3), name
    )


def _chunk_kernel(width: int):
    """A numba intrinsic ``chunk(src, dst, k, off_src, off_dst, base_src, base_dst)``: for
    r in 0..15, ``dst[off_dst[r] + base_dst + i] = Σ_c k[r, c] · src[off_src[c] + base_src
    + i]``, i < ``width``. All 16 inputs are loaded before the first store."""

    @intrinsic
    def chunk(typingctx, src, dst, k, off_src, off_dst, base_src, base_dst):
        f64, i64 = types.float64, types.int64
        arrays = ((src, 1, f64), (dst, 1, f64), (k, 2, f64), (off_src, 1, i64), (off_dst, 1, i64))
        if not contiguous_arrays(*arrays):
            return None
        if not isinstance(base_src, types.Integer) or not isinstance(base_dst, types.Integer):
            return None
        signature = types.void(src, dst, k, off_src, off_dst, types.int64, types.int64)

        def codegen(context, builder, sig, args):
            src_ptr, dst_ptr, k_ptr, src_off_ptr, dst_off_ptr = _data_pointers(
                context, builder, sig, args, 5
            )
            base_src_value, base_dst_value = args[5], args[6]
            i64 = ir.IntType(64)
            vector = ir.VectorType(ir.DoubleType(), width)

            def vector_address(pointer, offsets, row, base_value):
                offset = builder.load(builder.gep(offsets, [ir.Constant(i64, row)]))
                return vector_pointer(builder, pointer, builder.add(offset, base_value), vector)

            inputs = [
                ir_load(builder, vector_address(src_ptr, src_off_ptr, c, base_src_value))
                for c in range(16)
            ]
            for r in range(16):
                acc = ir_combination(builder, vector, k_ptr, r, 16, inputs)
                ir_store(builder, acc, vector_address(dst_ptr, dst_off_ptr, r, base_dst_value))
            return context.get_dummy_value()

        return signature, codegen

    return chunk


_chunk8 = _chunk_kernel(8)
_chunk4 = _chunk_kernel(4)


@njit(cache=_CACHE, nogil=True)
def chunk_width(n_low):
    """Lanes per chunk for runs of ``n_low`` entries (4, or a multiple of 8 above)."""
    return 8 if n_low % 8 == 0 else 4


# inlined into its callers: a call per chunk would cost as much as the chunk
@njit(cache=_CACHE, nogil=True, inline="always")
def _chunks(src, dst, k, off_src, off_dst, base_src, base_dst, length):
    """The chunk kernel over ``length`` consecutive entries (4, or a multiple of 8), in
    chunks of :func:`chunk_width` entries."""
    width = chunk_width(length)
    for j in range(0, length, width):
        if width == 8:
            _chunk8(src, dst, k, off_src, off_dst, base_src + j, base_dst + j)
        else:
            _chunk4(src, dst, k, off_src, off_dst, base_src + j, base_dst + j)


@njit(cache=_CACHE, nogil=True)
def apply_runs(src, dst, k, off, layout):
    """``dst <- K src`` for a 16×16 ``k`` (C-contiguous, indexed like ``off``) over the
    ``n_high · n_mid`` blocks of a :class:`~qnoise.sim.records.PairLayout` whose runs
    ``n_low`` are 4 or multiples of 8."""
    for h in range(layout.n_high):
        for m in range(layout.n_mid):
            base = h * layout.s_high + m * layout.s_mid
            _chunks(src, dst, k, off, off, base, base, layout.n_low)


# the correlation kernel keeps a _CORR_ROWS × _CORR_COLS block of accumulator vectors in
# registers while it streams over chunk positions
_CORR_ROWS = 4
_CORR_COLS = 4


def _correlation_kernel(width: int):
    """A numba intrinsic ``correlate(lam, x, acc, off, positions, r0, c0)``: for the
    rows ``r0 ..`` and columns ``c0 ..`` of one register block,
    ``acc[16 r + c, :] += Σ_i lam[off[r] + p_i + :] · x[off[c] + p_i + :]`` over the chunk
    positions ``p_i`` in ``positions`` (lane-wise; ``acc`` is ``(256, width)``)."""

    @intrinsic
    def correlate(typingctx, lam, x, acc, off, positions, r0, c0):
        f64, i64 = types.float64, types.int64
        arrays = ((lam, 1, f64), (x, 1, f64), (acc, 2, f64), (off, 1, i64), (positions, 1, i64))
        if not contiguous_arrays(*arrays):
            return None
        signature = types.void(lam, x, acc, off, positions, types.int64, types.int64)

        def codegen(context, builder, sig, args):
            lam_ptr, x_ptr, acc_ptr, off_ptr, pos_ptr = _data_pointers(
                context, builder, sig, args, 5
            )
            r0, c0 = args[5:]
            count = array_length(context, builder, sig.args[4], args[4])
            i64 = ir.IntType(64)
            vector = ir.VectorType(ir.DoubleType(), width)
            fma = ir_fmuladd(builder, vector)

            def vector_at(pointer, index):
                return vector_pointer(builder, pointer, index, vector)

            def at(pointer, index):
                return builder.load(builder.gep(pointer, [index]))

            rows = [builder.add(r0, ir.Constant(i64, a)) for a in range(_CORR_ROWS)]
            cols = [builder.add(c0, ir.Constant(i64, b)) for b in range(_CORR_COLS)]
            acc_addresses = [
                [
                    vector_at(
                        acc_ptr,
                        builder.mul(
                            builder.add(builder.mul(row, ir.Constant(i64, 16)), col),
                            ir.Constant(i64, width),
                        ),
                    )
                    for col in cols
                ]
                for row in rows
            ]
            slots = []
            for a in range(_CORR_ROWS):
                slots.append([])
                for b in range(_CORR_COLS):
                    slot = cgutils.alloca_once(builder, vector)
                    builder.store(ir_load(builder, acc_addresses[a][b]), slot)
                    slots[a].append(slot)
            row_offsets = [at(off_ptr, row) for row in rows]
            col_offsets = [at(off_ptr, col) for col in cols]
            with cgutils.for_range(builder, count) as loop:
                position = at(pos_ptr, loop.index)
                lams = [
                    ir_load(builder, vector_at(lam_ptr, builder.add(o, position)))
                    for o in row_offsets
                ]
                for b in range(_CORR_COLS):
                    xv = ir_load(builder, vector_at(x_ptr, builder.add(col_offsets[b], position)))
                    for a in range(_CORR_ROWS):
                        total = builder.call(fma, [lams[a], xv, builder.load(slots[a][b])])
                        builder.store(total, slots[a][b])
            for a in range(_CORR_ROWS):
                for b in range(_CORR_COLS):
                    ir_store(builder, builder.load(slots[a][b]), acc_addresses[a][b])
            return context.get_dummy_value()

        return signature, codegen

    return correlate


_correlate8 = _correlation_kernel(8)
_correlate4 = _correlation_kernel(4)
# entries per tile of the correlation: a tile's rows of both vectors (2 · 16 · 256 entries,
# 64 KiB) stay in cache (256 measured fastest among 128, 256 and 512)
_TILE_ENTRIES = 256


@njit(cache=_CACHE, nogil=True)
def _flush_correlation(lam, x, acc, off, positions, width):
    for r0 in range(0, 16, _CORR_ROWS):
        for c0 in range(0, 16, _CORR_COLS):
            if width == 8:
                _correlate8(lam, x, acc, off, positions, r0, c0)
            else:
                _correlate4(lam, x, acc, off, positions, r0, c0)


@njit(cache=_CACHE, nogil=True)
def correlate_runs(lam, x, corr, off, layout):
    """``corr[r, c] += Σ lam[off[r] + i] · x[off[c] + i]`` over every entry ``i`` of the
    ``n_high · n_mid`` blocks of a :class:`~qnoise.sim.records.PairLayout` (runs
    ``n_low``, 4 or multiples of 8): the correlation of the reverse sweep, in tiles of
    chunk positions that stay in cache."""
    width = chunk_width(layout.n_low)
    acc = np.zeros((256, width))
    per_tile = _TILE_ENTRIES // width
    positions = np.empty(per_tile, dtype=np.int64)
    count = 0
    for h in range(layout.n_high):
        for m in range(layout.n_mid):
            base = h * layout.s_high + m * layout.s_mid
            for start in range(base, base + layout.n_low, width):
                positions[count] = start
                count += 1
                if count == per_tile:
                    _flush_correlation(lam, x, acc, off, positions, width)
                    count = 0
    if count:
        _flush_correlation(lam, x, acc, off, positions[:count], width)
    for r in range(16):
        for c in range(16):
            total = 0.0
            for lane in range(width):
                total += acc[16 * r + c, lane]
            corr[r, c] += total


def _head_part(builder, vector, w, o, pointers, addresses, slots, mode):
    """The head part of one chunk of a head reverse step for the other digit ``o``, given
    ``w[h] = (Tᵀ λ)[h + 4o]`` (4 vectors): ``λ_out[c + 4o] = Σ_h Hᵀ[c, h] w[h]`` stored and
    ``w[h] · x[h' + 4o]`` added to the 16 accumulator ``slots[4h + h']`` (the chunk's entry
    i at ``addresses[i]``; ``pointers`` are those of x, λ_out and Hᵀ).

    ``mode`` says what H and its derivatives are known to be:

    * ``_GENERAL``: anything;
    * ``TRACE_PRESERVING``: H's row 0 is e0 (``Hᵀ[c, 0] = δ_c0``) and so is that of every
      factor of it at every angle, so no derivative reads the correlation's row 0, which
      is skipped;
    * ``UNITAL``: H is ``1 ⊕ R`` (a rotation's PTM, or one after unital noise), so
      ``λ_out[4o] = w[0]`` and the correlation's row and column 0 are skipped.
    """
    x_ptr, out_ptr, ht_ptr = pointers
    fma = ir_fmuladd(builder, vector)
    rows = range(4) if mode == _GENERAL else range(1, 4)
    columns = range(1, 4) if mode == UNITAL else range(4)
    xs = {
        h: ir_load(builder, vector_pointer(builder, x_ptr, addresses[h + 4 * o], vector))
        for h in columns
    }
    for h in rows:
        for hp in columns:
            slot = slots[4 * h + hp]
            builder.store(builder.call(fma, [w[h], xs[hp], builder.load(slot)]), slot)
    for c in range(4):
        if mode == _GENERAL:
            total = ir_combination(builder, vector, ht_ptr, c, 4, w)
        elif c > 0:
            total = ir_combination(builder, vector, ht_ptr, c, 4, [None, *w[1:]])
        elif mode == UNITAL:
            total = w[0]
        else:
            total = builder.fadd(
                ir_combination(builder, vector, ht_ptr, 0, 4, [None, *w[1:]]), w[0]
            )
        ir_store(builder, total, vector_pointer(builder, out_ptr, addresses[c + 4 * o], vector))


def _sparse_rows(builder, vector, lam_ptr, vals_ptr, nz_off_ptr, starts, rows, position):
    """Rows ``rows`` of ``w = Tᵀ λ`` for one chunk from the non-zeros of Tᵀ: row j's are
    ``starts[j] .. starts[j+1]-1`` (loaded values), each a value ``vals[t]`` and the offset
    ``nz_off[t]`` of the λ entry it multiplies."""
    fma = ir_fmuladd(builder, vector)
    w = []
    for j in rows:
        slot = cgutils.alloca_once_value(builder, ir.Constant(vector, [0.0] * vector.count))
        with cgutils.for_range(builder, builder.sub(starts[j + 1], starts[j])) as loop:
            t = builder.add(starts[j], loop.index)
            value = _broadcast(builder, builder.load(builder.gep(vals_ptr, [t])), vector)
            offset = builder.add(builder.load(builder.gep(nz_off_ptr, [t])), position)
            lam = ir_load(builder, vector_pointer(builder, lam_ptr, offset, vector))
            builder.store(builder.call(fma, [value, lam, builder.load(slot)]), slot)
        w.append(builder.load(slot))
    return w


# what a head H and its derivatives are known to be (see _head_part)
_GENERAL = 0
TRACE_PRESERVING = 1
UNITAL = 2


def _head_reverse_kernel(width: int, sparse: bool, mode: int):
    """A numba intrinsic ``head_reverse(vectors, tail, ht, acc, off, positions)`` for the
    reverse step of a group ``K = T (H ⊗ I)`` whose rotations all sit in ``H``, a 4×4 PTM on
    the local digit ``i % 4`` (``off`` ordered so), over the chunks that start at the
    entries in ``positions``. ``vectors`` is ``(λ, λ_out, x)``
    (:class:`~qnoise.sim.records.AdjointVectors`). Per chunk: ``w = Tᵀ λ``, ``λ_out = (Hᵀ ⊗
    I) w`` (``ht`` is Hᵀ) and ``acc[4h + h', :] += Σ_o w[h + 4o] · x[h' + 4o]`` (lane-wise;
    ``acc`` is ``(16, width)``), the 4×4 correlation the head's derivatives need.

    Dense (``sparse`` False): ``tail = (tt,)`` with ``tt`` = Tᵀ (16×16, C-contiguous); all
    of a chunk's λ entries are read before any output is stored, so ``lam_out`` may be
    ``lam``. Sparse: ``tail = (vals, nz_off, starts)``, Tᵀ's non-zeros as
    :func:`_sparse_rows` reads them (a constant tail of a CX and per-qubit noise has 25),
    taken four rows at a time, so ``lam_out`` must not be ``lam``. ``mode`` (sparse only;
    ``_GENERAL`` for dense) as :func:`_head_part` takes it.
    """
    f64, i64 = types.float64, types.int64
    tail_specs = ((1, f64), (1, i64), (1, i64)) if sparse else ((2, f64),)

    def head_reverse(typingctx, vectors, tail, ht, acc, off, positions):
        if not isinstance(vectors, types.BaseTuple) or not isinstance(tail, types.BaseTuple):
            return None
        if len(vectors) != 3 or len(tail) != len(tail_specs):
            return None
        arrays = (
            *((v, 1, f64) for v in vectors),
            *((t, *spec) for t, spec in zip(tail, tail_specs, strict=True)),
            (ht, 2, f64),
            (acc, 2, f64),
            (off, 1, i64),
            (positions, 1, i64),
        )
        if not contiguous_arrays(*arrays):
            return None
        return types.void(vectors, tail, ht, acc, off, positions), codegen

    def codegen(context, builder, sig, args):
        lam_ptr, out_ptr, x_ptr = tuple_data_pointers(context, builder, sig.args[0], args[0])
        tail_ptrs = tuple_data_pointers(context, builder, sig.args[1], args[1])
        ht_ptr, acc_ptr, off_ptr, positions_ptr = (
            context.make_array(sig.args[i])(context, builder, args[i]).data for i in range(2, 6)
        )
        count = array_length(context, builder, sig.args[5], args[5])
        i64 = ir.IntType(64)
        vector = ir.VectorType(ir.DoubleType(), width)

        offsets = [builder.load(builder.gep(off_ptr, [ir.Constant(i64, r)])) for r in range(16)]
        acc_addresses = [
            vector_pointer(builder, acc_ptr, ir.Constant(i64, width * i), vector) for i in range(16)
        ]
        slots = []
        for address in acc_addresses:
            slot = cgutils.alloca_once(builder, vector)
            builder.store(ir_load(builder, address), slot)
            slots.append(slot)
        if sparse:
            starts_ptr = tail_ptrs[2]
            starts = [
                builder.load(builder.gep(starts_ptr, [ir.Constant(i64, j)])) for j in range(17)
            ]
        head_pointers = (x_ptr, out_ptr, ht_ptr)
        with cgutils.for_range(builder, count) as loop:
            position = builder.load(builder.gep(positions_ptr, [loop.index]))
            addresses = [builder.add(offset, position) for offset in offsets]
            if sparse:
                # each o's rows of w, then its head part: a store for o cannot overwrite
                # the λ entries later rows read, as lam_out is not lam
                for o in range(4):
                    rows = range(4 * o, 4 * o + 4)
                    w = _sparse_rows(
                        builder, vector, lam_ptr, *tail_ptrs[:2], starts, rows, position
                    )
                    _head_part(builder, vector, w, o, head_pointers, addresses, slots, mode)
            else:
                lams = [
                    ir_load(builder, vector_pointer(builder, lam_ptr, a, vector)) for a in addresses
                ]
                w = [ir_combination(builder, vector, tail_ptrs[0], r, 16, lams) for r in range(16)]
                for o in range(4):
                    w_o = w[4 * o : 4 * o + 4]
                    _head_part(builder, vector, w_o, o, head_pointers, addresses, slots, _GENERAL)
        for slot, address in zip(slots, acc_addresses, strict=True):
            ir_store(builder, builder.load(slot), address)
        return context.get_dummy_value()

    return intrinsic(head_reverse)


_head_reverse8 = _head_reverse_kernel(8, False, _GENERAL)
_head_reverse4 = _head_reverse_kernel(4, False, _GENERAL)
_sparse_head_reverse8 = _head_reverse_kernel(8, True, _GENERAL)
_sparse_head_reverse4 = _head_reverse_kernel(4, True, _GENERAL)
_sparse_tp_head_reverse8 = _head_reverse_kernel(8, True, TRACE_PRESERVING)
_sparse_tp_head_reverse4 = _head_reverse_kernel(4, True, TRACE_PRESERVING)
_sparse_unital_head_reverse8 = _head_reverse_kernel(8, True, UNITAL)
_sparse_unital_head_reverse4 = _head_reverse_kernel(4, True, UNITAL)


# a tail with at most this many non-zeros takes the sparse kernel (a dense chunk costs 256
# multiply-adds held in registers, a sparse one a loop over memory operands per non-zero;
# measured break-even near 64 at n = 7)
_SPARSE_TAIL_MAX = 64


# the forms of a head reverse kernel
_DENSE = 0
_SPARSE = 1
_SPARSE_UNITAL = 2
_SPARSE_TRACE_PRESERVING = 3


@njit(cache=_CACHE, nogil=True, inline="always")
def _head_chunks(vectors, tails, ht, acc, off, positions, width, form):
    """The head reverse kernel of the right width and form on the chunk ``positions``;
    ``tails = (tt, vals, nz_off, starts)``, Tᵀ dense and its non-zeros."""
    dense = (tails[0],)
    sparse = (tails[1], tails[2], tails[3])
    if form == _SPARSE_UNITAL and width == 8:
        _sparse_unital_head_reverse8(vectors, sparse, ht, acc, off, positions)
    elif form == _SPARSE_UNITAL:
        _sparse_unital_head_reverse4(vectors, sparse, ht, acc, off, positions)
    elif form == _SPARSE_TRACE_PRESERVING and width == 8:
        _sparse_tp_head_reverse8(vectors, sparse, ht, acc, off, positions)
    elif form == _SPARSE_TRACE_PRESERVING:
        _sparse_tp_head_reverse4(vectors, sparse, ht, acc, off, positions)
    elif form == _SPARSE and width == 8:
        _sparse_head_reverse8(vectors, sparse, ht, acc, off, positions)
    elif form == _SPARSE:
        _sparse_head_reverse4(vectors, sparse, ht, acc, off, positions)
    elif width == 8:
        _head_reverse8(vectors, dense, ht, acc, off, positions)
    else:
        _head_reverse4(vectors, dense, ht, acc, off, positions)


@njit(cache=_CACHE, nogil=True)
def _sparse_tables(m, off, vals, nz_off, starts):
    """The non-zeros of the 16×16 ``m`` as :func:`_sparse_rows` reads them: row j's are
    ``vals[starts[j]:starts[j+1]]``, multiplying the entries at offsets ``nz_off`` (from
    ``off``, by column). Returns their number."""
    nnz = 0
    for j in range(16):
        starts[j] = nnz
        for i in range(16):
            if m[j, i] != 0.0:
                vals[nnz] = m[j, i]
                nz_off[nnz] = off[i]
                nnz += 1
    starts[16] = nnz
    return nnz


@njit(cache=_CACHE, nogil=True)
def _sparse_form(ht, factors_mode):
    """The sparse kernel form for a head with ``ht`` = Hᵀ, given the caller's word
    ``factors_mode`` on its factors (see :func:`reverse_head_runs`)."""
    row_e0 = ht[0, 0] == 1.0  # H's row 0 (Hᵀ's column 0) is e0
    column_e0 = ht[0, 0] == 1.0
    for i in range(1, 4):
        row_e0 = row_e0 and ht[i, 0] == 0.0
        column_e0 = column_e0 and ht[0, i] == 0.0
    if factors_mode == UNITAL and row_e0 and column_e0:
        return _SPARSE_UNITAL
    if factors_mode >= TRACE_PRESERVING and row_e0:
        return _SPARSE_TRACE_PRESERVING
    return _SPARSE


@njit(cache=_CACHE, nogil=True)
def reverse_head_runs(vectors, tt, ht, q, off, layout, factors_mode):
    """Reverse step of a group ``K = T (H ⊗ I)`` with ``vectors = (λ, λ_out, x)`` over the
    blocks of a :class:`~qnoise.sim.records.PairLayout` (runs ``n_low``, 4 or multiples
    of 8; ``off`` ordered so that the head's digit is ``i % 4``):
    ``λ_out = Kᵀ λ`` and ``q[h, h'] += Σ w[h + 4o] x[h' + 4o]`` with ``w = Tᵀ λ`` summed over
    every block and ``o``. ``tt`` = Tᵀ (16×16) and ``ht`` = Hᵀ (4×4), C-contiguous. When Tᵀ
    is sparse (at most ``_SPARSE_TAIL_MAX`` non-zeros), a kernel that takes only its
    non-zeros runs, and it skips what the head's form lets it skip. ``factors_mode`` is the
    caller's word on every factor of H at every angle:

    * ``UNITAL`` (2): ``1 ⊕ R`` (rotations with unital noise such as depolarizing, or
      none). No rotation's derivative then reads ``q``'s row and column 0, and when H is
      ``1 ⊕ R`` too, only its rotation block is applied and ``q``'s row and column 0 are
      left as they were;
    * ``TRACE_PRESERVING`` (1): row 0 is e0 (any channel after a rotation). No
      derivative then reads ``q``'s row 0, and when H's row 0 is e0, that row is left as
      it was;
    * ``_GENERAL`` (0): anything; all of ``q`` is accumulated.

    ``lam_out`` must be a different array from ``lam``."""
    width = chunk_width(layout.n_low)
    vals = np.empty(256)
    nz_off = np.empty(256, dtype=np.int64)
    starts = np.empty(17, dtype=np.int64)
    nnz = _sparse_tables(tt, off, vals, nz_off, starts)
    form = _DENSE if nnz > _SPARSE_TAIL_MAX else _sparse_form(ht, factors_mode)
    acc = np.zeros((16, width))
    positions = chunk_positions(layout, width)
    _head_chunks(vectors, (tt, vals, nz_off, starts), ht, acc, off, positions, width, form)
    for i in range(16):
        total = 0.0
        for lane in range(width):
            total += acc[i, lane]
        q[i // 4, i % 4] += total


@njit(cache=_CACHE, nogil=True)
def chunk_positions(layout, width):
    """The first entries of the chunks of ``width`` entries over the blocks of a
    :class:`~qnoise.sim.records.PairLayout`, in memory order within each run of ``n_low``
    entries."""
    n_low = layout.n_low
    positions = np.empty(layout.n_high * layout.n_mid * (n_low // width), dtype=np.int64)
    count = 0
    for h in range(layout.n_high):
        for m in range(layout.n_mid):
            base = h * layout.s_high + m * layout.s_mid
            for start in range(base, base + n_low, width):
                positions[count] = start
                count += 1
    return positions


# entries of a run processed per step of a two-group pass: the step's 64 intermediate rows
# (64 · 256 entries, 128 KiB) stay in L2, and each of the 64 source rows is read in 2 KiB
# stretches (short stretches of rows 4**q apart thrash the caches' sets)
_TWO_GROUP_SEGMENT = 256


@njit(cache=_CACHE, nogil=True)
def apply_two_groups(src, dst, k1, k2, qubits, n):
    """``dst <- K2 K1 src`` in one pass over the state, for ``qubits = (a, s, b)``, ``k1``
    on qubits (a, s) indexed ``d_a + 4·d_s`` and ``k2`` on (s, b) indexed ``d_s + 4·d_b``
    (both C-contiguous); the three qubits must be distinct and all >= 1.

    The 64 rows of a 3-qubit block are taken a segment of their run at a time: ``K1`` takes
    them into a buffer that stays in cache, ``K2`` from there into ``dst``. The state is
    read and written once for both groups (half the memory traffic of two passes). A
    segment is fully read before any of it is written, so ``dst`` may be ``src``.
    """
    segment = min(_TWO_GROUP_SEGMENT, 4 ** min(qubits))
    _two_group_pass(src, aligned_empty(64 * segment), dst, (k1, k2), qubits, n, False)


@njit(cache=_CACHE, nogil=True)
def apply_two_groups_keeping(src, mid, dst, k1, k2, qubits, n):
    """:func:`apply_two_groups` that also writes the state between the groups,
    ``mid <- K1 src`` (the reverse sweep's stored states); ``src``, ``mid`` and ``dst``
    are three different arrays. Each segment of ``mid`` is read back while still in cache."""
    _two_group_pass(src, mid, dst, (k1, k2), qubits, n, True)


@njit(cache=_CACHE, nogil=True)
def _two_group_pass(src, middle, dst, matrices, qubits, n, keep):
    """The pass of :func:`apply_two_groups` (``keep`` False: ``middle`` is the segment
    buffer) and :func:`apply_two_groups_keeping` (``keep`` True: ``middle`` is a state),
    with ``matrices = (k1, k2)`` and ``qubits = (a, s, b)``."""
    k1, k2 = matrices
    a, s, b = qubits
    t0 = min(a, s, b)
    t2 = max(a, s, b)
    t1 = a + s + b - t0 - t2
    n_low = 4**t0
    segment = min(_TWO_GROUP_SEGMENT, n_low)
    stride_a = 4**a
    stride_s = 4**s
    stride_b = 4**b
    # first product: rows d_a + 4·d_s of the source, into the middle rows of the same
    # digits (a state: the same offsets; the buffer: rows d_a + 4·d_s + 16·d_b)
    first_src = np.empty(16, dtype=np.int64)
    first_dst = np.empty(16, dtype=np.int64)
    # second product: middle rows of digits (d_s, d_b) for one d_a, into rows d_s + 4·d_b
    second_src = np.empty((4, 16), dtype=np.int64)
    second_dst = np.empty(16, dtype=np.int64)
    for c in range(16):
        first_src[c] = (c % 4) * stride_a + (c // 4) * stride_s
        second_dst[c] = (c % 4) * stride_s + (c // 4) * stride_b
        first_dst[c] = first_src[c] if keep else c * segment
        for da in range(4):
            if keep:
                second_src[da, c] = second_dst[c]
            else:
                second_src[da, c] = (da + 4 * (c % 4) + 16 * (c // 4)) * segment
    for h in range(4 ** (n - 1 - t2)):
        for m2 in range(4 ** (t2 - t1 - 1)):
            for m1 in range(4 ** (t1 - t0 - 1)):
                block = h * 4 ** (t2 + 1) + m2 * 4 ** (t1 + 1) + m1 * 4 ** (t0 + 1)
                for first in range(block, block + n_low, segment):
                    for db in range(4):
                        source = first + db * stride_b
                        target = source if keep else db * 16 * segment
                        _chunks(src, middle, k1, first_src, first_dst, source, target, segment)
                    for da in range(4):
                        target = first + da * stride_a
                        base = target if keep else 0
                        _chunks(middle, dst, k2, second_src[da], second_dst, base, target, segment)
