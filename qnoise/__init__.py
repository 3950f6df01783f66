"""qnoise: noisy quantum simulation in the Pauli–Liouville picture, for variational algorithms
and quantum architecture search."""

from qnoise import noise
from qnoise.sim.estimator import Estimator
from qnoise.sim.program import CompiledCircuit
from qnoise.sim.simulator import PTMSimulator

__version__ = "0.1.0"

__all__ = ["CompiledCircuit", "Estimator", "PTMSimulator", "__version__", "noise"]
