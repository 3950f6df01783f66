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

from llvmlite import ir
from numba import njit, types
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
