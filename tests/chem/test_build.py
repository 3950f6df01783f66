"""Rebuilding the registry from PySCF + qiskit-nature (runs when the chem extra is present)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from qnoise import chem
from qnoise.chem._extra import chem_extra_available
from qnoise.chem.integrals import fix_orbital_phases, noble_gas_core

needs_chem = pytest.mark.skipif(not chem_extra_available(), reason="needs qnoise[chem]")


def test_noble_gas_core_counts():
    assert noble_gas_core([1, 1]) == 0
    assert noble_gas_core([3, 1]) == 1  # LiH: Li 1s
    assert noble_gas_core([1, 4, 1]) == 1  # BeH2: Be 1s
    assert noble_gas_core([8, 1, 1]) == 1
    assert noble_gas_core([17, 11]) == 10  # NaCl: two neon cores


def test_orbital_phase_convention():
    coeff = np.array([[0.5, -0.7], [-0.5, -0.7 + 1e-9]])
    fixed = fix_orbital_phases(coeff)
    assert np.allclose(fixed, [[0.5, 0.7], [-0.5, 0.7 - 1e-9]])
    assert np.allclose(fix_orbital_phases(-coeff), fixed)


@needs_chem
@pytest.mark.parametrize("name", ["H2-2q", "H2-4q-0.70", "LiH-4q", "LiH-6q", "H2O-8q", "BeH2-6q"])
def test_fresh_build_matches_shipped_file(name):
    from qnoise.chem.build import compare_problems, recipe

    built = recipe(name).build()
    assert compare_problems(built, chem.load(name)) == []


@needs_chem
@pytest.mark.parametrize(
    ("name", "transformer"),
    [("LiH-4q", "freeze_core"), ("H2O-8q", "active_space"), ("BeH2-6q", "freeze_core")],
)
def test_core_folding_agrees_with_qiskit_nature_transformers(name, transformer):
    """qnoise folds the core itself; qiskit-nature's transformers are an independent check."""
    from qiskit_nature.second_q.drivers import PySCFDriver
    from qiskit_nature.second_q.transformers import ActiveSpaceTransformer, FreezeCoreTransformer
    from qiskit_nature.units import DistanceUnit

    from qnoise.chem.build import mapper_for

    problem = chem.load(name)
    meta = problem.metadata
    unit = DistanceUnit.BOHR if meta["unit"] == "bohr" else DistanceUnit.ANGSTROM
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = PySCFDriver(atom=meta["geometry"], basis=meta["basis"], unit=unit).run()
    if transformer == "freeze_core":
        reference = FreezeCoreTransformer(True, meta["remove_orbitals"]).transform(reference)
    else:
        reference = ActiveSpaceTransformer(*meta["active_space"]).transform(reference)
    mapper = mapper_for(meta["mapping"], meta["two_qubit_reduction"], reference.num_particles)
    operator = mapper.map(reference.hamiltonian.second_q_op())
    constant = sum(reference.hamiltonian.constants.values())
    assert problem.num_terms == len(operator.simplify(atol=1e-12))
    assert constant == pytest.approx(problem.constant, abs=1e-8)
    assert chem.ground_energy(operator) + constant == pytest.approx(problem.exact_energy, abs=1e-8)


@needs_chem
def test_molecule_builds_a_new_problem():
    problem = chem.molecule("H 0 0 0; H 0 0 1.0", mapping="parity")
    assert problem.name == "H2-2q" and problem.num_qubits == 2
    assert problem.exact_energy == pytest.approx(problem.fci_energy, abs=1e-9)
    # H2 STO-3G at 1.0 Å: FCI -1.1011503 Ha (Szabo & Ostlund-style curve, PySCF reproduces it)
    assert problem.exact_energy == pytest.approx(-1.10115, abs=1e-5)
    jw = chem.molecule("H 0 0 0; H 0 0 1.0")
    assert jw.num_qubits == 4 and jw.exact_energy == pytest.approx(problem.exact_energy, abs=1e-9)


@needs_chem
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mapping": "bravyi-kitaev"}, "mapping must be one of"),
        ({"active_space": (2, 2), "freeze_core": True}, "either active_space"),
        ({"remove_orbitals": (0,)}, "occupied"),
        ({"active_space": (3, 2)}, "cannot be taken"),
        ({"unit": "nm"}, "unit must be"),
    ],
)
def test_molecule_rejects_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        chem.molecule("Li 0 0 0; H 0 0 1.6", **options)
