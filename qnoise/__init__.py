"""qnoise: noisy quantum simulation in the Pauli–Liouville picture, for variational algorithms
and quantum architecture search."""

from qnoise import noise
from qnoise.gym_registration import ENV_ID, register_envs
from qnoise.sim.estimator import Estimator
from qnoise.sim.program import CompiledCircuit
from qnoise.sim.sampler import Sampler
from qnoise.sim.simulator import PTMSimulator

__version__ = "0.1.0"

register_envs()  # gymnasium.make("qnoise/ArchSearch-v0") works after `import qnoise`

__all__ = [
    "ENV_ID",
    "CompiledCircuit",
    "Estimator",
    "PTMSimulator",
    "Sampler",
    "__version__",
    "noise",
]
