"""scipy's local optimizers under the qnoise interface (budget, counting, history)."""

from __future__ import annotations

import numpy as np
import scipy.optimize

from qnoise.optim.base import BudgetExhausted, Evaluator, Optimizer, Recorder

#: how each method names its iteration and evaluation limits in ``options``
_LIMITS = {
    "COBYLA": ("maxiter", None),  # for COBYLA an "iteration" is one evaluation
    "L-BFGS-B": ("maxiter", "maxfun"),
    "Nelder-Mead": ("maxiter", "maxfev"),
}


class ScipyOptimizer(Optimizer):
    """``scipy.optimize.minimize`` with qnoise's result, budget and history.

    ``maxfev`` is enforced by the evaluation counter even where scipy would overshoot; then
    the best point evaluated so far is returned. Gradient methods use ``jac`` when given
    (counted in ``njev``) and scipy's finite differences otherwise (counted in ``nfev``).

    Parameters
    ----------
    method : str
        ``"COBYLA"``, ``"L-BFGS-B"`` or ``"Nelder-Mead"`` (the ones tested here); other scipy
        methods work without budget translation.
    maxiter, maxfev, seed, callback, termination_checker :
        See :class:`qnoise.optim.base.Optimizer` (``seed`` is unused: these are deterministic).
    options : dict, optional
        Further scipy options (e.g. ``{"rhobeg": 0.3}`` for COBYLA).
    """

    def __init__(
        self,
        method: str,
        maxiter: int | None = 1000,
        maxfev: int | None = None,
        seed=None,
        *,
        options: dict | None = None,
        callback=None,
        termination_checker=None,
    ) -> None:
        super().__init__(
            maxiter, maxfev, seed, callback=callback, termination_checker=termination_checker
        )
        self.method = method
        self.options = dict(options or {})

    def _options(self, num_parameters: int) -> dict:
        options = dict(self.options)
        iteration_key, evaluation_key = _LIMITS.get(self.method, ("maxiter", None))
        if self.maxiter is not None:
            options.setdefault(iteration_key, self.maxiter)
        if evaluation_key is not None and self.maxfev is not None:
            options.setdefault(evaluation_key, self.maxfev)
        if self.method == "COBYLA" and self.maxfev is not None:
            options[iteration_key] = min(options.get(iteration_key, self.maxfev), self.maxfev)
        if self.method == "COBYLA":
            # COBYLA needs p + 2 evaluations to start; a smaller maxfev still holds (the
            # evaluation counter stops the run), without scipy's warning
            options[iteration_key] = max(options[iteration_key], num_parameters + 2)
        return options

    def _run(self, evaluator: Evaluator, recorder: Recorder, x, bounds, rng):
        def record(intermediate_result: scipy.optimize.OptimizeResult) -> None:
            point = np.asarray(intermediate_result.x, dtype=float)
            if recorder.iteration(point, float(intermediate_result.fun), evaluator.nfev):
                raise StopIteration

        scipy_bounds = None if bounds is None else [tuple(b) for b in bounds]
        try:
            result = scipy.optimize.minimize(
                evaluator.one,
                x,
                jac=evaluator.gradient if evaluator.jac is not None else None,
                method=self.method,
                bounds=scipy_bounds,
                options=self._options(x.size),
                callback=record,
            )
        except BudgetExhausted:
            return evaluator.best_x.copy(), evaluator.best_fun, "maxfev reached; best point"
        return np.asarray(result.x, dtype=float), float(result.fun), str(result.message)


class LBFGSB(ScipyOptimizer):
    """scipy's L-BFGS-B; see :class:`ScipyOptimizer`."""

    def __init__(self, maxiter: int | None = 1000, maxfev: int | None = None, seed=None, **kw):
        super().__init__("L-BFGS-B", maxiter, maxfev, seed, **kw)


class NelderMead(ScipyOptimizer):
    """scipy's Nelder-Mead; see :class:`ScipyOptimizer`."""

    def __init__(self, maxiter: int | None = 1000, maxfev: int | None = None, seed=None, **kw):
        super().__init__("Nelder-Mead", maxiter, maxfev, seed, **kw)
