"""COBYLA (Powell's derivative-free trust-region method), through NLopt or scipy."""

from __future__ import annotations

import nlopt
import numpy as np

from qnoise.optim.base import BudgetExhausted, Evaluator, Optimizer, Recorder
from qnoise.optim.scipy_optimizers import ScipyOptimizer

IMPLEMENTATIONS = ("nlopt", "scipy")


class COBYLA(Optimizer):
    """COBYLA: linear models on a simplex inside a trust region that shrinks from ``rhobeg``
    to ``tol`` (radians for circuit angles). An iteration is one evaluation, as in scipy, so
    the budget is ``min(maxiter, maxfev)`` evaluations.

    ``implementation="nlopt"`` (default) runs NLopt's C translation of Powell's code, about
    25× less overhead per evaluation than scipy ≥ 1.16, whose COBYLA is PRIMA's pure-Python
    port; ``"scipy"`` runs scipy's. Both are deterministic; their iterates differ in detail
    (the two codes differ in their initial simplex and stopping tests), not in quality.

    Parameters
    ----------
    maxiter, maxfev, seed, callback, termination_checker :
        See :class:`qnoise.optim.base.Optimizer` (``seed`` is unused: COBYLA is deterministic).
        With NLopt, the callback sees every evaluation (an iteration) and its value.
    rhobeg : float
        Initial trust-region radius (scipy's default, 1.0).
    tol : float
        Final radius: the run stops when steps fall below it (scipy's default, 1e-4).
    implementation : {"nlopt", "scipy"}

    Notes
    -----
    Returns the best evaluated point and its value.
    """

    def __init__(
        self,
        maxiter: int | None = 1000,
        maxfev: int | None = None,
        seed=None,
        *,
        rhobeg: float = 1.0,
        tol: float = 1e-4,
        implementation: str = "nlopt",
        callback=None,
        termination_checker=None,
    ) -> None:
        super().__init__(
            maxiter, maxfev, seed, callback=callback, termination_checker=termination_checker
        )
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}"
            )
        if not (rhobeg > 0 and tol > 0):
            raise ValueError(f"need rhobeg > 0 and tol > 0, got {rhobeg} and {tol}")
        self.rhobeg, self.tol, self.implementation = float(rhobeg), float(tol), implementation

    @property
    def budget(self) -> int:
        """Evaluations allowed: ``min(maxiter, maxfev)``."""
        return min(b for b in (self.maxiter, self.maxfev) if b is not None)

    def minimize(self, fun, x0, jac=None, bounds=None):
        if self.implementation == "scipy":
            return ScipyOptimizer(
                "COBYLA",
                self.maxiter,
                self.maxfev,
                options={"rhobeg": self.rhobeg, "tol": self.tol},
                callback=self.callback,
                termination_checker=self.termination_checker,
            ).minimize(fun, x0, jac=jac, bounds=bounds)
        return super().minimize(fun, x0, jac=jac, bounds=bounds)

    def _run(self, evaluator: Evaluator, recorder: Recorder, x, bounds, rng):
        opt = nlopt.opt(nlopt.LN_COBYLA, x.size)
        stopped = []

        def objective(point: np.ndarray, gradient: np.ndarray) -> float:
            value = evaluator.one(point)
            if recorder.iteration(point, value, evaluator.nfev):
                stopped.append("termination checker")
                raise nlopt.ForcedStop
            return value

        opt.set_min_objective(objective)
        opt.set_maxeval(int(min(self.budget, evaluator.remaining)))
        step = np.full(x.size, self.rhobeg)
        if bounds is not None:
            opt.set_lower_bounds(bounds[:, 0])
            opt.set_upper_bounds(bounds[:, 1])
            # NLopt's simplex must fit in the box, or the run crawls along the bounds
            width = bounds[:, 1] - bounds[:, 0]
            step = np.minimum(step, np.where(width > 0, width / 2, self.tol))
        opt.set_initial_step(step)
        opt.set_xtol_abs(self.tol)
        try:
            opt.optimize(x)
            message = _MESSAGES.get(opt.last_optimize_result(), "stopped")
        except (nlopt.ForcedStop, BudgetExhausted):
            message = stopped[0] if stopped else "maxfev reached"
        if evaluator.best_x is None:
            raise RuntimeError("COBYLA stopped before evaluating any point")
        return evaluator.best_x.copy(), evaluator.best_fun, message + "; best point"


_MESSAGES = {
    nlopt.MAXEVAL_REACHED: "maxfev reached",
    nlopt.XTOL_REACHED: "trust region below tol",
    nlopt.FTOL_REACHED: "ftol reached",
    nlopt.SUCCESS: "converged",
}
