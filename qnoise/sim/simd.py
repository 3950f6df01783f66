"""Register-blocked application of a 16×16 PTM to contiguous runs of a state (explicit SIMD).

For a group on qubits ``qa, qb`` whose lower qubit is ``lo >= 1``, every block of the state
(one assignment of Pauli digits to the other qubits, in runs of ``4**lo`` consecutive
entries) is 16 contiguous runs at offsets ``off[c]``. :func:`apply_runs` walks each run in
chunks of 8 (then 4) entries: the kernel loads the 16 input vectors of a chunk into
registers, forms the 16 output vectors with fused multiply-adds of broadcast matrix
entries, and stores them. No gather, no temporary, and the same code serves neighbouring and
distant qubit pairs.

The chunk kernel is written as LLVM vector IR through a numba intrinsic (``<8 x double>``,
``llvm.fma``); numba compiles it for the host CPU, so it becomes AVX-512, AVX2 or NEON code
as available, and it is cached like any numba function. A chunk's inputs are all loaded
before any output is stored, so ``dst`` may be ``src``.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_CACHE = True


def _chunk_kernel(width: int):
    """A numba intrinsic ``chunk(src, dst, k, off, base)``: for r in 0..15,
    ``dst[off[r] + base + i] = Σ_c k[r, c] · src[off[c] + base + i]``, i < ``width``."""

    @intrinsic
    def chunk(typingctx, src, dst, k, off, base):
        for array, ndim in ((src, 1), (dst, 1), (k, 2), (off, 1)):
            if not isinstance(array, types.Array) or array.ndim != ndim or array.layout != "C":
                return None
        if src.dtype != types.float64 or dst.dtype != types.float64 or k.dtype != types.float64:
            return None
        if off.dtype != types.int64 or not isinstance(base, types.Integer):
            return None
        signature = types.void(src, dst, k, off, types.int64)

        def codegen(context, builder, sig, args):
            def data(value, array_type):
                return context.make_array(array_type)(context, builder, value).data

            src_ptr, dst_ptr, k_ptr, off_ptr = (data(args[i], sig.args[i]) for i in range(4))
            base_value = args[4]
            i64 = ir.IntType(64)
            i32 = ir.IntType(32)
            vector = ir.VectorType(ir.DoubleType(), width)
            name = f"llvm.fma.v{width}f64"
            fma = builder.module.globals.get(name) or ir.Function(
                builder.module, ir.FunctionType(vector, [vector] * 3), name
            )
            undefined = ir.Constant(vector, ir.Undefined)
            broadcast_mask = ir.Constant(ir.VectorType(i32, width), [0] * width)
            starts, inputs = [], []
            for c in range(16):
                offset = builder.load(builder.gep(off_ptr, [ir.Constant(i64, c)]))
                start = builder.add(offset, base_value)
                address = builder.bitcast(builder.gep(src_ptr, [start]), vector.as_pointer())
                load = builder.load(address)
                load.align = 8
                starts.append(start)
                inputs.append(load)
            for r in range(16):
                acc = None
                for c in range(16):
                    entry = builder.load(builder.gep(k_ptr, [ir.Constant(i64, 16 * r + c)]))
                    splat = builder.shuffle_vector(
                        builder.insert_element(undefined, entry, ir.Constant(i32, 0)),
                        undefined,
                        broadcast_mask,
                    )
                    if acc is None:
                        acc = builder.fmul(splat, inputs[c])
                    else:
                        acc = builder.call(fma, [splat, inputs[c], acc])
                address = builder.bitcast(builder.gep(dst_ptr, [starts[r]]), vector.as_pointer())
                store = builder.store(acc, address)
                store.align = 8
            return context.get_dummy_value()

        return signature, codegen

    return chunk


_chunk8 = _chunk_kernel(8)
_chunk4 = _chunk_kernel(4)


@njit(cache=_CACHE, nogil=True)
def apply_runs(src, dst, k, off, n_high, s_high, n_mid, s_mid, n_low):
    """``dst <- K src`` for a 16×16 ``k`` (C-contiguous, indexed like ``off``) over the
    ``n_high · n_mid`` blocks of a pair layout (see :func:`qnoise.sim.kernels._layout`) whose
    runs ``n_low`` are multiples of 4."""
    for h in range(n_high):
        for m in range(n_mid):
            base = h * s_high + m * s_mid
            end = base + n_low
            start = base
            while start + 8 <= end:
                _chunk8(src, dst, k, off, start)
                start += 8
            if start < end:
                _chunk4(src, dst, k, off, start)


# the correlation kernel keeps a _CORR_ROWS × _CORR_COLS block of accumulator vectors in
# registers while it streams over chunk positions
_CORR_ROWS = 4
_CORR_COLS = 4


def _correlation_kernel(width: int):
    """A numba intrinsic ``correlate(lam, x, acc, off, positions, count, r0, c0)``: for the
    rows ``r0 ..`` and columns ``c0 ..`` of one register block,
    ``acc[16 r + c, :] += Σ_i lam[off[r] + p_i + :] · x[off[c] + p_i + :]`` over the chunk
    positions ``p_i = positions[i]``, ``i < count`` (lane-wise; ``acc`` is ``(256, width)``)."""

    @intrinsic
    def correlate(typingctx, lam, x, acc, off, positions, count, r0, c0):
        for array, ndim in ((lam, 1), (x, 1), (acc, 2), (off, 1), (positions, 1)):
            if not isinstance(array, types.Array) or array.ndim != ndim or array.layout != "C":
                return None
        if any(a.dtype != types.float64 for a in (lam, x, acc)):
            return None
        if off.dtype != types.int64 or positions.dtype != types.int64:
            return None
        signature = types.void(lam, x, acc, off, positions, types.int64, types.int64, types.int64)

        def codegen(context, builder, sig, args):
            lam_ptr, x_ptr, acc_ptr, off_ptr, pos_ptr = (
                context.make_array(sig.args[i])(context, builder, args[i]).data for i in range(5)
            )
            count, r0, c0 = args[5:]
            i64 = ir.IntType(64)
            vector = ir.VectorType(ir.DoubleType(), width)
            name = f"llvm.fma.v{width}f64"
            fma = builder.module.globals.get(name) or ir.Function(
                builder.module, ir.FunctionType(vector, [vector] * 3), name
            )

            def vector_at(pointer, index):
                address = builder.bitcast(builder.gep(pointer, [index]), vector.as_pointer())
                return address

            def load(address):
                value = builder.load(address)
                value.align = 8
                return value

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
                    builder.store(load(acc_addresses[a][b]), slot)
                    slots[a].append(slot)
            row_offsets = [at(off_ptr, row) for row in rows]
            col_offsets = [at(off_ptr, col) for col in cols]
            with cgutils.for_range(builder, count) as loop:
                position = at(pos_ptr, loop.index)
                lams = [load(vector_at(lam_ptr, builder.add(o, position))) for o in row_offsets]
                for b in range(_CORR_COLS):
                    xv = load(vector_at(x_ptr, builder.add(col_offsets[b], position)))
                    for a in range(_CORR_ROWS):
                        total = builder.call(fma, [lams[a], xv, builder.load(slots[a][b])])
                        builder.store(total, slots[a][b])
            for a in range(_CORR_ROWS):
                for b in range(_CORR_COLS):
                    store = builder.store(builder.load(slots[a][b]), acc_addresses[a][b])
                    store.align = 8
            return context.get_dummy_value()

        return signature, codegen

    return correlate


_correlate8 = _correlation_kernel(8)
_correlate4 = _correlation_kernel(4)
# chunk positions per tile: a tile's rows of both vectors (2 · 16 · 128 entries) fill 32 KiB
_TILE_ENTRIES = 256


@njit(cache=_CACHE, nogil=True)
def _flush_correlation(lam, x, acc, off, positions, count, width):
    for r0 in range(0, 16, _CORR_ROWS):
        for c0 in range(0, 16, _CORR_COLS):
            if width == 8:
                _correlate8(lam, x, acc, off, positions, count, r0, c0)
            else:
                _correlate4(lam, x, acc, off, positions, count, r0, c0)


@njit(cache=_CACHE, nogil=True)
def correlate_runs(lam, x, corr, off, n_high, s_high, n_mid, s_mid, n_low):
    """``corr[r, c] += Σ lam[off[r] + i] · x[off[c] + i]`` over every entry ``i`` of the
    ``n_high · n_mid`` blocks of a pair layout (runs ``n_low``, a multiple of 4): the
    correlation of the reverse sweep, in tiles of chunk positions that stay in L1."""
    width = 8 if n_low % 8 == 0 else 4
    acc = np.zeros((256, width))
    per_tile = _TILE_ENTRIES // width
    positions = np.empty(per_tile, dtype=np.int64)
    count = 0
    for h in range(n_high):
        for m in range(n_mid):
            base = h * s_high + m * s_mid
            for start in range(base, base + n_low, width):
                positions[count] = start
                count += 1
                if count == per_tile:
                    _flush_correlation(lam, x, acc, off, positions, count, width)
                    count = 0
    if count:
        _flush_correlation(lam, x, acc, off, positions, count, width)
    for r in range(16):
        for c in range(16):
            total = 0.0
            for lane in range(width):
                total += acc[16 * r + c, lane]
            corr[r, c] += total
