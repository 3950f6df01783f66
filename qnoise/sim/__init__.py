"""The PTM engine: Pauli basis, circuit lowering and fusion, numba kernels, simulator.

The public classes are loaded on first access so that :mod:`qnoise.noise` can use the Pauli
basis (:mod:`qnoise.pauli`) without importing the simulator.
"""

from importlib import import_module

__all__ = ["CompiledCircuit", "Estimator", "PTMSimulator"]

_HOMES = {
    "CompiledCircuit": "qnoise.sim.program",
    "Estimator": "qnoise.sim.estimator",
    "PTMSimulator": "qnoise.sim.simulator",
}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'qnoise.sim' has no attribute {name!r}")
