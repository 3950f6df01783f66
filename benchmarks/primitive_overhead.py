"""Per-call overhead of qnoise's front doors against its compiled evaluation, with Qiskit's
``StatevectorEstimator`` in the same run.

Rows:
* ``Estimator.run([(circuit, H, x)]).result()`` for one point of a 2-qubit
  ``real_amplitudes(2, reps=2)`` ansatz and the 5-term H2 Hamiltonian (the call
  qiskit-algorithms' VQE makes once per point), against ``compile(circuit).expectation``;
* ``PTMSimulator.expectation(circuit, H)`` of a bound 4-qubit ``efficient_su2`` circuit with
  about 110 instructions (the README's first example), against the same compiled call: with
  the same circuit object every call (found by identity, checked against a snapshot), and
  with a new but equal object every call (found by its structure key).

Overhead = front door minus compiled evaluation (median of 7 repeats of ``--calls`` calls).

Usage: python benchmarks/primitive_overhead.py [--calls 2000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import platform
import time

import numpy as np
from qiskit.circuit.library import efficient_su2, real_amplitudes
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp

from qnoise import Estimator, PTMSimulator

H2 = SparsePauliOp.from_list(
    [("II", -1.0523732), ("IZ", 0.3979374), ("ZI", -0.3979374), ("ZZ", -0.0112801),
     ("XX", 0.1809312)]
)  # fmt: skip


def per_call_us(call, calls: int, repeats: int = 7) -> float:
    """Median over ``repeats`` of the mean time of one ``call()`` in microseconds."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        times.append((time.perf_counter() - start) / calls)
    return float(np.median(times) * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(7)

    ansatz = real_amplitudes(2, reps=2)
    x = rng.uniform(-np.pi, np.pi, ansatz.num_parameters)
    estimator = Estimator(noise="ideal")
    compiled = estimator.simulator.compile(ansatz)
    reference = StatevectorEstimator()
    ours = float(estimator.run([(ansatz, H2, x)]).result()[0].data.evs)
    theirs = float(reference.run([(ansatz, H2, x)]).result()[0].data.evs)
    assert abs(ours - theirs) < 1e-10, (ours, theirs)
    est = per_call_us(lambda: estimator.run([(ansatz, H2, x)]).result(), args.calls)
    core = per_call_us(lambda: compiled.expectation(H2, x), args.calls)
    qiskit = per_call_us(lambda: reference.run([(ansatz, H2, x)]).result(), args.calls // 10)

    big = efficient_su2(4, reps=9, entanglement="linear")
    big = big.assign_parameters(rng.uniform(-np.pi, np.pi, big.num_parameters))
    observable = SparsePauliOp.from_list([("ZZII", 1.0), ("IXXI", 0.5), ("IIYY", 0.25)])
    simulator = PTMSimulator()
    compiled_big = simulator.compile(big)
    front = per_call_us(lambda: simulator.expectation(big, observable), args.calls)
    inner = per_call_us(lambda: compiled_big.expectation(observable), args.calls)
    fresh_calls = max(1, args.calls // 10)
    copies = iter([big.copy() for _ in range(7 * fresh_calls + 1)])
    fresh = per_call_us(lambda: simulator.expectation(next(copies), observable), fresh_calls)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{args.calls} calls per repeat, median of 7")  # fmt: skip
    print()
    print("| call | front door (µs) | compiled evaluation (µs) | overhead (µs) | "
          "Qiskit StatevectorEstimator (µs) |")  # fmt: skip
    print("|---|---|---|---|---|")
    print(f"| Estimator, 2q real_amplitudes reps 2, 1 point, 5-term H | {est:.1f} | {core:.1f} | "
          f"{est - core:.1f} | {qiskit:.0f} |")  # fmt: skip
    print(f"| PTMSimulator.expectation, 4q efficient_su2, {len(big.data)} instructions, "
          f"same object | {front:.1f} | {inner:.1f} | {front - inner:.1f} | — |")  # fmt: skip
    print(f"| the same, a new equal object every call | {fresh:.1f} | {inner:.1f} | "
          f"{fresh - inner:.1f} | — |")  # fmt: skip


if __name__ == "__main__":
    main()
