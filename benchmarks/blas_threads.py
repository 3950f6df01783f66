"""What BLAS threads cost the architecture-search inner loop: L-BFGS-B steps, one BLAS
thread against the default thread count, side by side.

Usage::

    python benchmarks/blas_threads.py [--circuits 20] [--busy]

The workload is what ``qnoise train`` does at every step of an exact-energy preset: an
L-BFGS-B optimisation with reverse-mode gradients of a searched circuit's angles (here LiH-4q
circuits of 20-40 random gates, fake_mumbai:median noise, fixed seeds). scipy's L-BFGS-B
calls BLAS on vectors of a few dozen entries; with OpenBLAS's default thread pool every call
wakes threads that spin against whatever else runs on the cores (a second training run, the
agent). ``qnoise train`` therefore limits BLAS to one thread while it trains
(:func:`qnoise.agents.stopping.checkpointed`). ``--busy`` adds one busy process per core, as when
two runs share two cores.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import time

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from threadpoolctl import threadpool_info, threadpool_limits

from qnoise import PTMSimulator, chem
from qnoise.optim import LBFGSB
from qnoise.vqe import EnergyObjective


def circuits(count: int, num_qubits: int = 4) -> list[QuantumCircuit]:
    rng = np.random.default_rng(7)
    result = []
    for index in range(count):
        circuit = QuantumCircuit(num_qubits)
        for k in range(int(rng.integers(20, 41))):
            if rng.random() < 0.35:
                control, target = rng.choice(num_qubits, 2, replace=False)
                circuit.cx(int(control), int(target))
            else:
                gate = ("rx", "ry", "rz")[int(rng.integers(3))]
                getattr(circuit, gate)(
                    Parameter(f"c{index}_{k:02d}"), int(rng.integers(num_qubits))
                )
        result.append(circuit)
    return result


def optimise_all(objectives: list[EnergyObjective]) -> float:
    start = time.perf_counter()
    for index, objective in enumerate(objectives):
        x0 = np.random.default_rng(index).uniform(0, 0.1, objective.num_parameters)
        LBFGSB(maxiter=1000).minimize(objective, x0, jac=objective.gradient)
    return time.perf_counter() - start


def busy_loop() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuits", type=int, default=20)
    parser.add_argument("--busy", action="store_true", help="one busy process per core")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    problem = chem.load("LiH-4q")
    simulator = PTMSimulator("fake_mumbai:median")
    objectives = [
        EnergyObjective(c, problem.hamiltonian, problem.constant, simulator)
        for c in circuits(args.circuits)
    ]
    optimise_all(objectives[:2])  # compile the kernels
    workers = []
    if args.busy:
        workers = [multiprocessing.Process(target=busy_loop, daemon=True)
                   for _ in range(os.cpu_count() or 1)]  # fmt: skip
        for worker in workers:
            worker.start()
    try:
        default = max(
            info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
        )
        times = {"default": [], "one": []}
        for _ in range(args.repeats):
            times["default"].append(optimise_all(objectives))
            with threadpool_limits(limits=1, user_api="blas"):
                times["one"].append(optimise_all(objectives))
    finally:
        for worker in workers:
            worker.terminate()
    per = {key: 1e3 * min(values) / len(objectives) for key, values in times.items()}
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{'one busy process added per core' if args.busy else 'no load added'}; "
          f"{len(objectives)} L-BFGS-B optimisations (LiH-4q, fake_mumbai:median), best of "
          f"{args.repeats}")  # fmt: skip
    print("| BLAS threads | ms per optimisation | ratio |")
    print("|---|---|---|")
    print(f"| {default} (default) | {per['default']:.1f} | {per['default'] / per['one']:.1f}× |")
    print(f"| 1 (qnoise train) | {per['one']:.1f} | 1.0× |")


if __name__ == "__main__":
    main()
