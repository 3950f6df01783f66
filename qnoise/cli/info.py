"""``qnoise`` information commands: demo, molecules, configs."""

from __future__ import annotations

import argparse
import sys


def _configs(args: argparse.Namespace) -> int:
    from qnoise.agents.run_config import available_presets, presets_folder

    presets = available_presets()
    width = max(map(len, presets))
    for name, description in presets.items():
        print(f"{name:<{width}}  {description}")
    print(f"\n{len(presets)} presets in {presets_folder()}; use one with "
          "`qnoise train --config NAME` (a file path works too)")  # fmt: skip
    return 0


def _demo(args: argparse.Namespace) -> int:
    from qnoise.demo import run_demo

    run_demo(args.backend, seed=args.seed)
    return 0


def _molecules(args: argparse.Namespace) -> int:
    from qnoise import chem

    if args.name:
        try:
            problem = chem.load(args.name)
        except KeyError as exc:
            print(f"qnoise molecules: {exc.args[0]}", file=sys.stderr)
            return 2
        print(repr(problem))
        print(f"  constant   {problem.constant:.10f} Ha (nuclear repulsion + frozen core)")
        for key, value in problem.energies.items():
            print(f"  {key + ' energy':<18} {value:.10f} Ha")
        print(f"  HF state   |{problem.hf_bitstring}>")
        for key, value in problem.metadata.items():
            print(f"  {key:<20} {value}")
        return 0
    header = (
        f"{'name':<12}{'qubits':>7}{'terms':>7}  {'mapping':<15}"
        f"{'HF (Ha)':>15}{'exact (Ha)':>15}{'FCI (Ha)':>15}"
    )
    print(header)
    print("-" * len(header))
    for name in chem.available():
        p = chem.load(name)
        mapping = p.metadata["mapping"] + ("+2q" if p.metadata["two_qubit_reduction"] else "")
        print(
            f"{name:<12}{p.num_qubits:>7}{p.num_terms:>7}  {mapping:<15}"
            f"{p.hf_energy:>15.8f}{p.exact_energy:>15.8f}{p.fci_energy:>15.8f}"
        )
    print("\nexact: lowest eigenvalue of the qubit Hamiltonian + constant; FCI: whole molecule.")
    return 0


def add_parsers(commands) -> None:
    """Register this module's commands on the ``qnoise`` subparsers."""
    demo = commands.add_parser(
        "demo", help="noisy VQE of H2 on the PTM simulator, checked with Aer"
    )
    demo.add_argument("--backend", default="fake_manila", help="fake backend (default fake_manila)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the initial angles")
    demo.set_defaults(handler=_demo)

    molecules = commands.add_parser(
        "molecules", help="list the shipped molecular Hamiltonians (or describe one)"
    )
    molecules.add_argument("name", nargs="?", help="show the details of this problem")
    molecules.set_defaults(handler=_molecules)

    configs = commands.add_parser("configs", help="list the shipped run-config presets")
    configs.set_defaults(handler=_configs)
