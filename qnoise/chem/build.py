"""Build qubit Hamiltonians from molecules, and rebuild the shipped registry files.

Needs the ``chem`` extra (PySCF for integrals, qiskit-nature 0.8 for the fermion-to-qubit
mappings). Rebuild every shipped file with::

    python -m qnoise.chem.build            # writes qnoise/chem/data/*.json
    python -m qnoise.chem.build --check    # compares a fresh build with the shipped files
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
from qiskit.quantum_info import SparsePauliOp

from qnoise.chem._extra import require_chem_extra
from qnoise.chem.integrals import active_space_integrals
from qnoise.chem.problem import Problem, formula_of, ground_energy
from qnoise.files import atomic_write

MAPPINGS = ("jordan_wigner", "parity", "bravyi_kitaev")
DATA_DIR = Path(__file__).with_name("data")


def mapper_for(mapping: str, two_qubit_reduction: bool, num_particles: tuple[int, int]):
    """qiskit-nature ``QubitMapper`` for a mapping name (parity: optional two-qubit reduction)."""
    from qiskit_nature.second_q.mappers import (
        BravyiKitaevMapper,
        JordanWignerMapper,
        ParityMapper,
    )

    if mapping == "jordan_wigner":
        return JordanWignerMapper()
    if mapping == "bravyi_kitaev":
        return BravyiKitaevMapper()
    return ParityMapper(num_particles=num_particles if two_qubit_reduction else None)


def _hf_bitstring(num_orbitals: int, num_particles: tuple[int, int], mapper) -> str:
    from qiskit_nature.second_q.circuit.library.initial_states.hartree_fock import (
        hartree_fock_bitstring_mapped,
    )

    bits = hartree_fock_bitstring_mapped(num_orbitals, num_particles, mapper)
    return "".join("1" if bit else "0" for bit in reversed(bits))


def _versions() -> dict[str, str]:
    return {pkg: importlib_metadata.version(pkg) for pkg in ("pyscf", "qiskit-nature", "qiskit")}


def molecule(
    atom: str,
    *,
    basis: str = "sto3g",
    charge: int = 0,
    spin: int = 0,
    unit: str = "angstrom",
    mapping: str = "jordan_wigner",
    two_qubit_reduction: bool = True,
    freeze_core: bool = False,
    remove_orbitals: tuple[int, ...] | list[int] = (),
    active_space: tuple[int, int] | None = None,
    name: str | None = None,
    atol: float = 1e-12,
) -> Problem:
    """Build a :class:`Problem` for a molecule (needs ``pip install 'qnoise[chem]'``).

    Parameters
    ----------
    atom : str
        Geometry as ``"El x y z; El x y z"`` in ``unit``.
    basis : str
        Gaussian basis set known to PySCF (default STO-3G).
    charge, spin : int
        Total charge and number of unpaired electrons ``2S`` (ROHF when non-zero).
    unit : {"angstrom", "bohr"}
    mapping : {"jordan_wigner", "parity", "bravyi_kitaev"}
        Fermion-to-qubit mapping; spin orbitals ordered all-alpha then all-beta.
    two_qubit_reduction : bool
        With ``mapping="parity"``, remove the two qubits fixed by the alpha and beta particle
        parities (two qubits fewer).
    freeze_core : bool
        Freeze the chemical core (e.g. Li 1s, O 1s).
    remove_orbitals : sequence of int
        Unoccupied molecular orbitals to drop (indices among all orbitals, from 0).
    active_space : (num_electrons, num_orbitals), optional
        Active window at the Fermi level (exclusive with the two options above).
    name : str, optional
        Label of the problem (defaults to the formula and qubit count).
    atol : float
        Pauli coefficients below this magnitude (Ha) are dropped.

    Returns
    -------
    Problem
        Hamiltonian without the constant; energies (HF, exact, FCI, active-space FCI) in Ha.
    """
    require_chem_extra("qnoise.chem.molecule")
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")
    from qiskit_nature.second_q.hamiltonians import ElectronicEnergy
    from qiskit_nature.second_q.operators.tensor_ordering import (
        IndexType,
        to_physicist_ordering,
    )

    remove = tuple(int(i) for i in remove_orbitals)
    integrals = active_space_integrals(
        atom,
        basis=basis,
        charge=charge,
        spin=spin,
        unit=unit,
        freeze_core=freeze_core,
        remove_orbitals=remove,
        active_space=active_space,
    )
    two_body = to_physicist_ordering(integrals.two_body, index_order=IndexType.CHEMIST)
    fermionic = ElectronicEnergy.from_raw_integrals(
        integrals.one_body, two_body, auto_index_order=False
    ).second_q_op()
    mapper = mapper_for(mapping, two_qubit_reduction, integrals.num_particles)
    qubit_op = mapper.map(fermionic).simplify(atol=atol)
    if np.abs(qubit_op.coeffs.imag).max() > 1e-10:
        raise RuntimeError("the mapped Hamiltonian has complex coefficients")
    hamiltonian = SparsePauliOp(qubit_op.paulis, coeffs=qubit_op.coeffs.real)
    constant = integrals.nuclear_repulsion + integrals.core_energy
    num_orbitals = len(integrals.active_orbitals)
    reduced = mapping == "parity" and two_qubit_reduction
    metadata = {
        "geometry": atom,
        "unit": unit.lower(),
        "basis": basis,
        "charge": charge,
        "spin": spin,
        "mapping": mapping,
        "two_qubit_reduction": reduced,
        "freeze_core": bool(freeze_core),
        "remove_orbitals": list(remove),
        "active_space": list(active_space) if active_space is not None else None,
        "core_orbitals": list(integrals.core_orbitals),
        "active_orbitals": list(integrals.active_orbitals),
        "num_spatial_orbitals": num_orbitals,
        "num_particles": list(integrals.num_particles),
        "nuclear_repulsion": integrals.nuclear_repulsion,
        "core_energy": integrals.core_energy,
        "source": "PySCF SCF/FCI, qiskit-nature mapping, built by qnoise.chem.build",
        "versions": _versions(),
    }
    energies = {
        "hf": integrals.hf_energy,
        "exact": ground_energy(hamiltonian) + constant,
        "fci": integrals.fci_energy,
        "active_fci": integrals.active_fci_energy,
    }
    qubits = hamiltonian.num_qubits
    label = name or f"{formula_of(atom)}-{qubits}q"
    return Problem(
        name=label,
        hamiltonian=hamiltonian,
        constant=constant,
        energies=energies,
        hf_bitstring=_hf_bitstring(num_orbitals, integrals.num_particles, mapper),
        metadata=metadata,
    )


@dataclass(frozen=True)
class Recipe:
    """How a shipped problem is built (arguments of :func:`molecule`) and why."""

    name: str
    atom: str
    notes: str
    options: dict = field(default_factory=dict)

    def build(self) -> Problem:
        problem = molecule(self.atom, name=self.name, **self.options)
        problem.metadata["notes"] = self.notes
        return problem


def _h2(distance: float) -> str:
    return f"H 0 0 0; H 0 0 {distance}"


def _lih(distance: float) -> str:
    return f"Li 0 0 0; H 0 0 {distance}"


_LIH_REDUCED = {"freeze_core": True, "remove_orbitals": (3, 4)}

RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "H2-2q",
        _h2(0.7414),
        "H2 at 0.7414 Å; parity mapping with two-qubit reduction.",
        {"mapping": "parity"},
    ),
    Recipe("H2-4q", _h2(0.7414), "H2 at 0.7414 Å; Jordan-Wigner.", {}),
    Recipe(
        "H2-4q-0.70",
        _h2(0.70),
        "H2 at 0.70 Å; Jordan-Wigner (the QCAS comparison of CRLQAS).",
        {},
    ),
    Recipe(
        "LiH-4q",
        _lih(3.4),
        "LiH at 3.4 Å (CRLQAS); frozen Li 1s, the two pi orbitals 3 and 4 removed, parity "
        "mapping with two-qubit reduction.",
        {**_LIH_REDUCED, "mapping": "parity"},
    ),
    Recipe(
        "LiH-4q-1.6",
        _lih(1.5949),
        "LiH at 1.5949 Å (equilibrium); same reductions as LiH-4q.",
        {**_LIH_REDUCED, "mapping": "parity"},
    ),
    Recipe(
        "LiH-6q",
        _lih(2.2),
        "LiH at 2.2 Å (CRLQAS); frozen Li 1s, pi orbitals 3 and 4 removed, Jordan-Wigner.",
        _LIH_REDUCED,
    ),
    Recipe(
        "H2O-8q",
        "H -0.021 -0.002 0; O 0.835 0.452 0; H 1.477 -0.273 0",
        "CRLQAS's H2O coordinates, read in bohr (their published exact energy -73.29410676 Ha "
        "is reproduced only with bohr; in Å the same numbers are near equilibrium, E0 = "
        "-74.9723 Ha); active space of 4 electrons in 4 orbitals, Jordan-Wigner.",
        {"unit": "bohr", "active_space": (4, 4)},
    ),
    Recipe(
        "BeH2-6q",
        "H 0 0 -1.3264; Be 0 0 0; H 0 0 1.3264",
        "Linear BeH2, Be-H 1.3264 Å; frozen Be 1s, the two non-bonding pi orbitals (3, 4) "
        "removed, parity mapping with two-qubit reduction: 4 electrons in 4 sigma orbitals.",
        {**_LIH_REDUCED, "mapping": "parity"},
    ),
)


def recipe(name: str) -> Recipe:
    """The recipe of a shipped problem."""
    for item in RECIPES:
        if item.name == name:
            return item
    raise KeyError(f"no recipe named {name!r}; known: {[r.name for r in RECIPES]}")


def write_problem(problem: Problem, directory: Path = DATA_DIR) -> Path:
    """Write ``problem`` as ``<name>.json`` atomically (temporary file, then rename)."""
    text = json.dumps(problem.to_dict(), indent=1) + "\n"
    return atomic_write(directory / f"{problem.name}.json", text.encode())


def compare_problems(built: Problem, shipped: Problem, atol: float = 1e-8) -> list[str]:
    """Differences between two problems beyond ``atol`` (Ha), as readable lines."""
    problems = []
    a = dict(zip(built.hamiltonian.paulis.to_labels(), built.hamiltonian.coeffs.real, strict=True))
    b = dict(
        zip(shipped.hamiltonian.paulis.to_labels(), shipped.hamiltonian.coeffs.real, strict=True)
    )
    if set(a) != set(b):
        problems.append(f"{built.name}: Pauli labels differ ({len(a)} vs {len(b)} terms)")
    else:
        worst = max(abs(a[k] - b[k]) for k in a)
        if worst > atol:
            problems.append(f"{built.name}: coefficients differ by up to {worst:.2e} Ha")
    if abs(built.constant - shipped.constant) > atol:
        problems.append(f"{built.name}: constant differs by {built.constant - shipped.constant}")
    for key, value in built.energies.items():
        if abs(value - shipped.energies[key]) > atol:
            difference = value - shipped.energies[key]
            problems.append(f"{built.name}: {key} energy differs by {difference}")
    if built.hf_bitstring != shipped.hf_bitstring:
        problems.append(
            f"{built.name}: HF bitstring {built.hf_bitstring} vs {shipped.hf_bitstring}"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    """Rebuild (or ``--check``) the shipped registry files."""
    parser = argparse.ArgumentParser(prog="python -m qnoise.chem.build", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("names", nargs="*", help="problems to build (default: all)")
    args = parser.parse_args(argv)
    from qnoise.chem.registry import load

    failures: list[str] = []
    for item in RECIPES:
        if args.names and item.name not in args.names:
            continue
        problem = item.build()
        if args.check:
            failures += compare_problems(problem, load(item.name))
            status = "checked"
        else:
            write_problem(problem)
            status = "written"
        print(
            f"{problem.name:<12} {problem.num_qubits:>2} q {problem.num_terms:>4} terms "
            f"exact {problem.exact_energy:.10f} Ha  {status}"
        )
    for line in failures:
        print("MISMATCH", line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
