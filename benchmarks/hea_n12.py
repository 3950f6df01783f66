"""One exact energy of the 20-layer hardware-efficient workload at n = 12: qnoise vs Aer,
and qnoise against the memory-bandwidth floor (read + write 16·4ⁿ bytes per fused kernel).

Usage: python benchmarks/hea_n12.py [--qubits 12] [--skip-aer]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from sim_vs_aer import AerRunner
from workloads import hardware_efficient, hea_noise, random_observable, to_aer_model

from qnoise import PTMSimulator


def copy_bandwidth() -> float:
    """Bytes per second of a large numpy copy (read + write counted)."""
    a = np.ones(2**25)
    b = np.empty_like(a)
    np.copyto(b, a)
    start = time.perf_counter()
    for _ in range(5):
        np.copyto(b, a)
    return 5 * 2 * a.nbytes / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, default=12)
    parser.add_argument("--skip-aer", action="store_true")
    args = parser.parse_args(argv)
    n = args.qubits
    circuit = hardware_efficient(n, 20)
    obs = random_observable(n, 20, seed=n)
    values = np.random.default_rng(0).uniform(-np.pi, np.pi, circuit.num_parameters)
    compiled = PTMSimulator(hea_noise()).compile(circuit)
    compiled.expectation(obs, values)
    start = time.perf_counter()
    ours = compiled.expectation(obs, values)
    t_ours = time.perf_counter() - start
    bandwidth = copy_bandwidth()
    floor = compiled.num_groups * 16 * 4**n / bandwidth
    print(f"n={n}: {compiled.num_groups} fused kernels, copy bandwidth {bandwidth / 1e9:.1f} GB/s")
    print(
        f"qnoise one energy: {t_ours:.2f} s; bandwidth floor {floor:.2f} s "
        f"({t_ours / floor:.2f}x the floor)"
    )
    if not args.skip_aer:
        aer = AerRunner(circuit, obs, to_aer_model(hea_noise(), ["ry", "rz"], ["cx"], n))
        start = time.perf_counter()
        reference = aer.energies(values[None, :])[0]
        t_aer = time.perf_counter() - start
        print(
            f"Aer one energy: {t_aer:.2f} s ({t_aer / t_ours:.1f}x qnoise); "
            f"|difference| {abs(reference - ours):.1e}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
