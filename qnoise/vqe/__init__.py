"""Variational quantum eigensolver on the PTM simulator, with ready-made ansätze.

>>> from qnoise import PTMSimulator, chem
>>> from qnoise.vqe import VQE, hardware_efficient
>>> problem = chem.load("H2-2q")
>>> vqe = VQE(hardware_efficient(2, layers=1), problem)
>>> result = vqe.run(seed=1)
>>> result.error < 1.6e-3
True
"""

from qnoise.vqe.ansatz import hardware_efficient, uccsd
from qnoise.vqe.objective import EnergyObjective
from qnoise.vqe.runner import VQE, VQEResult
from qnoise.vqe.simplify import SimplifiedCircuit, simplify_and_refit, simplify_circuit

__all__ = [
    "VQE",
    "EnergyObjective",
    "SimplifiedCircuit",
    "VQEResult",
    "hardware_efficient",
    "simplify_and_refit",
    "simplify_circuit",
    "uccsd",
]
