"""qnoise's PTM simulator against qiskit-aer's density-matrix method, side by side.

For each workload and qubit count: wall time (best of three rounds of a median) of one exact
energy, of 64 parameter sets, and of one full gradient (qnoise reverse mode vs. parameter
shift on Aer), with the ratio Aer / qnoise from the same run. Aer is used at its best: a
noise model holding exactly the workload's gate errors (no 27-qubit conversion), a
parametric circuit with ``parameter_binds`` for batches, ``save_expectation_value`` for
energies. Aer measurements predicted to exceed ``--aer-budget`` seconds are extrapolated
from its single-energy time (marked "est.").

Usage: python benchmarks/sim_vs_aer.py [--max-qubits 4|6|8|10|12] [--aer-budget 30]
"""

from __future__ import annotations

import os

# one thread for every library (BLAS, OpenMP in Aer, numba), as the targets are stated
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from qiskit_aer import AerSimulator

sys.path.insert(0, str(Path(__file__).parent))

from workloads import (
    crlqas_circuit,
    hardware_efficient,
    hea_noise,
    random_observable,
    to_aer_model,
)

from qnoise import PTMSimulator
from qnoise.noise import named_model


def best_median(fn, repeats: int) -> float:
    """Best of three rounds of the median of ``repeats`` runs: the median resists outliers
    within a round, the best round resists slow phases of a shared VM (both tools alike)."""
    rounds = []
    for _ in range(3 if repeats > 1 else 1):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        rounds.append(statistics.median(times))
    return min(rounds)


def repeats_for(seconds: float) -> int:
    return max(1, min(50, int(1.0 / max(seconds, 1e-6))))


class AerRunner:
    def __init__(self, circuit, observable, aer_model):
        self.circuit = circuit.copy()
        self.circuit.save_expectation_value(observable, list(range(circuit.num_qubits)))
        self.parameters = list(circuit.parameters)
        self.sim = AerSimulator(
            method="density_matrix", noise_model=aer_model, max_parallel_threads=1
        )

    def energies(self, values: np.ndarray) -> np.ndarray:
        binds = [{p: values[:, j].tolist() for j, p in enumerate(self.parameters)}]
        result = self.sim.run(self.circuit, parameter_binds=binds).result()
        return np.array([result.data(i)["expectation_value"] for i in range(values.shape[0])])


def shift_points(values: np.ndarray) -> np.ndarray:
    """±π/2 shifts of every parameter (each used by exactly one Pauli rotation here)."""
    p = values.size
    shifts = np.concatenate([np.eye(p), -np.eye(p)]) * (np.pi / 2)
    return values[None, :] + shifts


def bench_case(name, circuit, observable, model, aer_model, budget, rng):
    values = rng.uniform(-np.pi, np.pi, circuit.num_parameters)
    batch = rng.uniform(-np.pi, np.pi, (64, circuit.num_parameters))
    start = time.perf_counter()
    compiled = PTMSimulator(model).compile(circuit)
    compile_time = time.perf_counter() - start
    ours_single = compiled.expectation(observable, values)  # warm-up (numba, caches)
    compiled.gradient(observable, values)
    t_single = best_median(lambda: compiled.expectation(observable, values), 3)
    t_single = best_median(lambda: compiled.expectation(observable, values), repeats_for(t_single))
    t_batch = best_median(
        lambda: compiled.expectation(observable, batch), 1 if t_single > 0.05 else 3
    )
    t_grad = best_median(lambda: compiled.gradient(observable, values), 1 if t_single > 0.05 else 5)

    aer = AerRunner(circuit, observable, aer_model)
    aer_value = aer.energies(values[None, :])[0]  # warm-up
    agreement = abs(aer_value - ours_single)
    a_single = best_median(lambda: aer.energies(values[None, :]), 3 if t_single < 0.05 else 1)
    est_batch = a_single * 64 > budget
    a_batch = a_single * 64 if est_batch else best_median(lambda: aer.energies(batch), 1)
    points = shift_points(values)
    est_grad = a_single * len(points) > budget
    a_grad = a_single * len(points) if est_grad else best_median(lambda: aer.energies(points), 1)
    return {
        "workload": name,
        "n": circuit.num_qubits,
        "gates": circuit.size(),
        "params": circuit.num_parameters,
        "compile": compile_time,
        "single": (t_single, a_single, False),
        "batch64": (t_batch, a_batch, est_batch),
        "gradient": (t_grad, a_grad, est_grad),
        "grad/eval": t_grad / t_single,
        "agreement": agreement,
    }


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def print_table(rows) -> None:
    print(
        "| workload | n | gates | P | qnoise 1 energy | Aer 1 energy | ratio | qnoise 64 sets | "
        "Aer 64 sets | ratio | qnoise gradient | Aer param-shift | ratio | grad/eval | "
        "|qnoise−Aer| |"
    )
    print("|" + "---|" * 15)
    for r in rows:
        cells = [r["workload"], str(r["n"]), str(r["gates"]), str(r["params"])]
        for key in ("single", "batch64", "gradient"):
            ours, aer, estimated = r[key]
            mark = " est." if estimated else ""
            cells += [fmt_time(ours), fmt_time(aer) + mark, f"{aer / ours:.0f}×"]
        cells += [f"{r['grad/eval']:.1f}", f"{r['agreement']:.1e}"]
        print("| " + " | ".join(cells) + " |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-qubits", type=int, default=10, choices=[4, 6, 8, 10, 12])
    parser.add_argument("--aer-budget", type=float, default=30.0, help="seconds per Aer cell")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    sizes = [n for n in (2, 4, 6, 8, 10, 12) if n <= args.max_qubits]
    print(
        f"# qnoise vs qiskit-aer — {platform.processor() or platform.machine()}, "
        f"{time.strftime('%Y-%m-%d')}, 1 thread\n"
    )
    rows = []
    # Aer's save_expectation_value has no readout error: compare gate noise only
    mumbai = named_model("fake_mumbai:median").without_readout()
    for n in sizes:
        circuit = crlqas_circuit(n, 40, seed=n)
        aer_model = to_aer_model(mumbai, ["rx", "ry", "rz"], ["cx"], n)
        obs = random_observable(n, 20, seed=n)
        rows.append(
            bench_case(
                "CRLQAS-like 40 gates, fake_mumbai:median",
                circuit,
                obs,
                mumbai,
                aer_model,
                args.aer_budget,
                rng,
            )
        )
        print_progress(rows[-1])
    model = hea_noise()
    for n in sizes:
        circuit = hardware_efficient(n, 20)
        aer_model = to_aer_model(model, ["ry", "rz"], ["cx"], n)
        obs = random_observable(n, 20, seed=n)
        rows.append(
            bench_case(
                "HEA 20 layers, depol+AD", circuit, obs, model, aer_model, args.aer_budget, rng
            )
        )
        print_progress(rows[-1])
    print()
    print_table(rows)
    return 0


def print_progress(row) -> None:
    print(
        f"  done: {row['workload']} n={row['n']} (compile {fmt_time(row['compile'])})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    raise SystemExit(main())
