"""The shipped problems: sizes, exact energies by diagonalization, published references."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp, Statevector

from qnoise import chem
from qnoise.chem.problem import Problem, ground_energy

# name: (qubits, Pauli terms, published exact energy (Ha) or None, digits' tolerance).
# Published values: reference doc §1.10 and §2 (8-10 decimals).
SHIPPED = {
    "H2-2q": (2, 5, -1.1372701747, 1e-9),
    "H2-4q": (4, 15, -1.1372701747, 1e-9),
    "H2-4q-0.70": (4, 15, -1.13618945, 1e-8),
    "LiH-4q": (4, 100, -7.78908890, 1e-8),
    "LiH-4q-1.6": (4, 100, -7.88114647, 1e-8),
    "LiH-6q": (6, 118, -7.84487909, 1e-8),
    # CRLQAS's -73.29410676 came from OpenFermion/psi4; PySCF's integrals give 1.3e-8 Ha less.
    "H2O-8q": (8, 193, -73.29410676, 2e-8),
    "BeH2-6q": (6, 165, None, None),
}
# Whole-molecule FCI energies (reference §2) reproduced by the problems' "fci" entries.
FCI = {
    "H2-2q": -1.1372701747,
    "LiH-4q-1.6": -7.8824034103,
    "BeH2-6q": -15.5951768689,
}


def test_available_lists_every_shipped_problem():
    names = chem.available()
    assert sorted(names) == sorted(SHIPPED)
    qubits = [chem.load(n).num_qubits for n in names]
    assert qubits == sorted(qubits)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_sizes_and_exact_energy_by_diagonalization(name):
    qubits, terms, published, tol = SHIPPED[name]
    problem = chem.load(name)
    assert problem.num_qubits == qubits
    assert problem.num_terms == terms
    assert isinstance(problem.hamiltonian, SparsePauliOp)
    assert np.all(problem.hamiltonian.coeffs.imag == 0)
    lowest = np.linalg.eigvalsh(problem.hamiltonian.to_matrix())[0] + problem.constant
    assert lowest == pytest.approx(problem.exact_energy, abs=1e-8)
    if published is not None:
        assert problem.exact_energy == pytest.approx(published, abs=tol)
    assert problem.exact_energy <= problem.energies["active_fci"] + 1e-9
    assert problem.fci_energy <= problem.exact_energy + 1e-9


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_hartree_fock_state_gives_hartree_fock_energy(name):
    problem = chem.load(name)
    state = Statevector(problem.hf_circuit())
    energy = state.expectation_value(problem.hamiltonian).real + problem.constant
    assert energy == pytest.approx(problem.hf_energy, abs=1e-8)
    assert problem.hf_energy > problem.exact_energy


@pytest.mark.parametrize("name", sorted(FCI))
def test_whole_molecule_fci_matches_reference(name):
    assert chem.load(name).fci_energy == pytest.approx(FCI[name], abs=1e-9)


def test_metadata_describes_the_construction():
    lih = chem.load("LiH-4q")
    meta = lih.metadata
    assert meta["mapping"] == "parity" and meta["two_qubit_reduction"]
    assert meta["freeze_core"] and meta["remove_orbitals"] == [3, 4]
    assert meta["num_particles"] == [1, 1]
    assert meta["basis"] == "sto3g" and "3.4" in meta["geometry"]
    assert lih.constant == pytest.approx(meta["nuclear_repulsion"] + meta["core_energy"])
    water = chem.load("H2O-8q")
    assert water.metadata["unit"] == "bohr" and water.metadata["active_space"] == [4, 4]


def test_load_is_case_insensitive_and_unknown_names_list_the_registry():
    assert chem.load("lih-4q").hamiltonian.equiv(chem.load("LiH-4q").hamiltonian)
    assert chem.load("lih-4q").name == "LiH-4q"
    with pytest.raises(KeyError, match="H2-2q"):
        chem.load("LiH-5q")


def test_total_hamiltonian_and_lower_bound():
    problem = chem.load("H2-2q")
    total = problem.total_hamiltonian
    assert ground_energy(total) == pytest.approx(problem.exact_energy, abs=1e-12)
    expected = problem.constant - np.abs(problem.hamiltonian.coeffs).sum()
    assert problem.lower_bound == pytest.approx(expected)
    assert problem.lower_bound < problem.exact_energy


def test_round_trip_through_dict():
    problem = chem.load("BeH2-6q")
    again = Problem.from_dict(problem.to_dict())
    assert again.hamiltonian.equiv(problem.hamiltonian)
    assert again.energies == problem.energies and again.constant == problem.constant


def test_problem_rejects_inconsistent_data():
    op = SparsePauliOp(["ZI"], coeffs=[1.0])
    with pytest.raises(ValueError, match="bits"):
        Problem("x", op, 0.0, {"exact": 0.0, "hf": 0.0, "fci": 0.0}, "1")
    with pytest.raises(ValueError, match="real"):
        Problem("x", SparsePauliOp(["ZI"], coeffs=[1j]), 0.0, {}, "01")


def test_loads_without_any_chemistry_package():
    code = (
        "import sys; sys.modules['pyscf'] = None; sys.modules['qiskit_nature'] = None\n"
        "from qnoise import chem\n"
        "print(len(chem.available()), chem.load('H2O-8q').num_terms)\n"
        "try:\n"
        "    chem.molecule('H 0 0 0; H 0 0 0.74')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    lines = out.splitlines()
    assert lines[0] == "8 193"
    assert "pip install 'qnoise[chem]'" in lines[1]


def test_formula_from_the_geometry():
    from qnoise import chem
    from qnoise.chem.problem import formula_of

    assert chem.load("LiH-4q-1.6").formula == "LiH" and chem.load("H2O-8q").formula == "H2O"
    assert formula_of("H 0 0 0; Be 0 0 1.3; H 0 0 2.6") == "H2Be"
