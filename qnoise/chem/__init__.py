"""Molecular Hamiltonians: shipped benchmark problems and a builder for new molecules.

>>> from qnoise import chem
>>> chem.available()                      # doctest: +SKIP
['H2-2q', 'H2-4q', 'H2-4q-0.70', 'LiH-4q', 'LiH-4q-1.6', 'BeH2-6q', 'LiH-6q', 'H2O-8q']
>>> problem = chem.load("LiH-4q")
>>> problem.num_qubits, problem.num_terms
(4, 100)

``chem.molecule(...)`` builds a new problem and needs the ``chem`` extra (PySCF and
qiskit-nature); loading shipped problems needs neither.
"""

from qnoise.chem.problem import CHEMICAL_ACCURACY, Problem, ground_energy
from qnoise.chem.registry import available, load


def molecule(atom: str, **options) -> Problem:
    """Build a :class:`Problem` from a geometry; see :func:`qnoise.chem.build.molecule`."""
    from qnoise.chem._extra import require_chem_extra

    require_chem_extra("qnoise.chem.molecule")
    from qnoise.chem.build import molecule as build_molecule

    return build_molecule(atom, **options)


__all__ = ["CHEMICAL_ACCURACY", "Problem", "available", "ground_energy", "load", "molecule"]
