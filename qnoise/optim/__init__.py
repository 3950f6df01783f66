"""Optimizers for variational algorithms: SPSA, Adam-SPSA (CRLQAS), AQGD, Adam, Rotosolve,
COBYLA and scipy's.

All share one protocol (:mod:`qnoise.optim.base`): ``opt.minimize(fun, x0, jac=None,
bounds=None)`` (or ``opt(fun, x0, jac, bounds)``, a qiskit-algorithms ``Minimizer``) returns
an :class:`OptimizerResult` with ``x``, ``fun``, ``nfev`` (every evaluated point), ``njev``,
``nit`` and ``history``. Every constructor takes ``maxiter``, ``maxfev`` (never exceeded) and
``seed``. Functions that set ``accepts_batch`` (see :func:`batched`) get whole batches of
points in one call; those that set ``accepts_shots`` get shot counts from schedules.
"""

from qnoise.optim.adam import Adam
from qnoise.optim.adam_spsa import PRESETS, AdamSPSA
from qnoise.optim.aqgd import AQGD
from qnoise.optim.base import Optimizer, OptimizerResult, batched
from qnoise.optim.cobyla import COBYLA
from qnoise.optim.rotosolve import Rotosolve
from qnoise.optim.scipy_optimizers import LBFGSB, NelderMead, ScipyOptimizer
from qnoise.optim.spsa import SPSA

__all__ = [
    "AQGD",
    "COBYLA",
    "LBFGSB",
    "PRESETS",
    "SPSA",
    "Adam",
    "AdamSPSA",
    "NelderMead",
    "Optimizer",
    "OptimizerResult",
    "Rotosolve",
    "ScipyOptimizer",
    "batched",
]
