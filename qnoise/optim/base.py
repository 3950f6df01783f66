"""What every qnoise optimizer shares: the result type, evaluation counting and budgets,
batching, callbacks and termination.

Protocol
--------
``optimizer.minimize(fun, x0, jac=None, bounds=None) -> OptimizerResult``, and calling the
optimizer object itself does the same, so it is a qiskit-algorithms ``Minimizer``.

* ``fun(x) -> float`` for ``x`` of shape ``(p,)``. If ``fun.accepts_batch`` is true (see
  :func:`batched`), optimizers pass a batch ``(B, p)`` in one call and expect ``(B,)``.
* If ``fun.accepts_shots`` is true, ``fun(x, shots=N)`` evaluates with ``N`` shots (used by
  shot schedules).
* ``nfev`` counts points: one call with a batch of ``B`` points counts ``B``. With ``maxfev``
  set, no optimizer ever evaluates more points than that.
* If ``fun.native_program`` is not ``None`` (a tuple for
  :func:`qnoise.sim.batched.evaluate_points`, as :class:`qnoise.vqe.EnergyObjective` offers
  for exact energies), optimizers with a compiled loop (:class:`~qnoise.optim.AdamSPSA`) may
  run whole stages in compiled code, then report every evaluated point through
  ``fun.record(points, values)``. Results are bit-identical to the Python loop; the
  compiled loop is skipped when a callback or termination checker is set.
* ``callback(nit, x, fun, nfev)`` after every iteration, with the iterate, the optimizer's
  estimate of its value and the evaluations so far; ``termination_checker(nit, x, fun, nfev)``
  returning ``True`` stops the run.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

IterationCallback = Callable[[int, np.ndarray, float, int], object]


@dataclass
class OptimizerResult:
    """Outcome of a minimization.

    Attributes
    ----------
    x : ndarray
        Returned parameters.
    fun : float
        Objective value at ``x`` as measured by the run (a finite-shot estimate for noisy
        objectives; see each optimizer for which evaluation it is).
    nfev : int
        Points evaluated, every calibration and final evaluation included.
    njev : int
        Gradient (``jac``) evaluations.
    nit : int
        Iterations completed.
    history : dict
        Per iteration: ``"nfev"`` (evaluations so far), ``"fun"`` (estimate), ``"x"``.
    message : str
        Why the run stopped.
    success : bool
        ``False`` when it stopped on an error condition rather than a budget or criterion.
    """

    x: np.ndarray
    fun: float
    nfev: int
    njev: int
    nit: int
    history: dict[str, list] = field(repr=False)
    message: str = ""
    success: bool = True
    jac: np.ndarray | None = field(default=None, repr=False)


class BudgetExhausted(Exception):
    """Raised inside a run when the next evaluation would exceed ``maxfev``."""


def batched(fun: Callable) -> Callable:
    """Mark ``fun`` as accepting a batch of points ``(B, p)`` and returning ``(B,)``."""
    fun.accepts_batch = True
    return fun


class Evaluator:
    """Calls the user's function: counts points, enforces the budget, batches, tracks the best.

    Parameters
    ----------
    fun : callable
    maxfev : int, optional
        Budget of points; a call that would exceed it raises :class:`BudgetExhausted`.
    jac : callable, optional
        Gradient; calls counted in ``njev``.
    """

    def __init__(self, fun: Callable, maxfev: int | None = None, jac: Callable | None = None):
        self.fun = fun
        self.jac = jac
        self.maxfev = maxfev
        self.accepts_batch = bool(getattr(fun, "accepts_batch", False))
        self.accepts_shots = bool(getattr(fun, "accepts_shots", False))
        self.nfev = 0
        self.njev = 0
        self.best_x: np.ndarray | None = None
        self.best_fun = np.inf
        self._warned_shots = False

    @property
    def remaining(self) -> float:
        """Points left in the budget (infinity without ``maxfev``)."""
        return np.inf if self.maxfev is None else self.maxfev - self.nfev

    def can(self, points: int) -> bool:
        """Whether ``points`` more evaluations fit in the budget."""
        return points <= self.remaining

    def _call(self, x: np.ndarray, shots: int | None):
        if shots is None:
            return self.fun(x)
        if self.accepts_shots:
            return self.fun(x, shots=shots)
        if not self._warned_shots:
            warnings.warn(
                "the optimizer asked for a shot count but fun does not declare "
                "accepts_shots; evaluating without changing the shots",
                RuntimeWarning,
                stacklevel=4,
            )
            self._warned_shots = True
        return self.fun(x)

    def __call__(self, points: np.ndarray, shots: int | None = None) -> np.ndarray:
        """Values at ``points`` (shape ``(B, p)``) as an array ``(B,)``."""
        if not (isinstance(points, np.ndarray) and points.ndim == 2 and points.dtype == float):
            points = np.atleast_2d(np.asarray(points, dtype=float))
        count = points.shape[0]
        if not self.can(count):
            raise BudgetExhausted
        if self.accepts_batch:
            values = np.asarray(self._call(points.copy(), shots), dtype=float).reshape(-1)
            if values.shape != (count,):
                raise ValueError(f"fun returned shape {values.shape} for a batch of {count}")
        else:
            values = np.array([float(self._call(p.copy(), shots)) for p in points])
        self.nfev += count
        finite = np.isfinite(values)
        if not finite.all():
            raise ValueError(
                f"the objective returned a non-finite value at x = {points[~finite][0]}"
            )
        best = int(values.argmin())
        if values[best] < self.best_fun:
            self.best_fun = float(values[best])
            self.best_x = points[best].copy()
        return values

    def native_program(self, shots: int | None = None):
        """``fun.native_program`` for exact evaluations (``shots=None``), else ``None``."""
        if shots is not None:
            return None
        return getattr(self.fun, "native_program", None)

    def account(self, points: np.ndarray, values: np.ndarray) -> None:
        """Count ``points`` (B, p) that compiled code evaluated to ``values`` (B,) as if
        they had been evaluated through :meth:`__call__` (budget, best point, checks), and
        report them to ``fun.record``."""
        count = points.shape[0]
        if not self.can(count):
            raise BudgetExhausted
        self.nfev += count
        record = getattr(self.fun, "record", None)
        if record is not None:
            record(points, values)
        finite = np.isfinite(values)
        if not finite.all():
            raise ValueError(
                f"the objective returned a non-finite value at x = {points[~finite][0]}"
            )
        if count:
            best = int(values.argmin())
            if values[best] < self.best_fun:
                self.best_fun = float(values[best])
                self.best_x = points[best].copy()

    def one(self, x: np.ndarray, shots: int | None = None) -> float:
        """Value at one point."""
        return float(self(x[None, :], shots)[0])

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """``jac(x)``, counted in ``njev``."""
        gradient = np.asarray(self.jac(x.copy()), dtype=float).reshape(x.shape)
        self.njev += 1
        if not np.all(np.isfinite(gradient)):
            raise ValueError(f"the gradient is not finite at x = {x}")
        return gradient


class Recorder:
    """Per-iteration history, the user's callback and termination checker."""

    def __init__(self, callback: IterationCallback | None, checker: IterationCallback | None):
        self.callback = callback
        self.checker = checker
        self.history: dict[str, list] = {"nfev": [], "fun": [], "x": []}
        self.nit = 0

    def iteration(self, x: np.ndarray, fun: float, nfev: int) -> bool:
        """Record one finished iteration; returns ``True`` if the run should stop."""
        self.nit += 1
        self.history["nfev"].append(nfev)
        self.history["fun"].append(float(fun))
        self.history["x"].append(x.copy())
        if self.callback is not None:
            self.callback(self.nit, x.copy(), float(fun), nfev)
        return bool(self.checker is not None and self.checker(self.nit, x.copy(), float(fun), nfev))

    @property
    def observed(self) -> bool:
        """Whether a callback or termination checker must see every iteration."""
        return self.callback is not None or self.checker is not None

    def extend(self, xs: np.ndarray, funs: np.ndarray, nfevs: np.ndarray) -> None:
        """Record iterations a compiled loop ran (rows of ``xs``; only when not
        :attr:`observed`)."""
        self.nit += len(funs)
        self.history["nfev"].extend(nfevs.tolist())
        self.history["fun"].extend(funs.tolist())
        self.history["x"].extend(xs.copy())


def as_start(x0, bounds=None) -> tuple[np.ndarray, np.ndarray | None]:
    """A float copy of ``x0`` (never the caller's array) and bounds as ``(p, 2)`` or ``None``."""
    x = np.array(x0, dtype=float, copy=True).reshape(-1)
    if x.size == 0:
        raise ValueError("x0 is empty")
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 contains NaN or infinity")
    if bounds is None:
        return x, None
    limits = np.array(
        [(-np.inf if lo is None else lo, np.inf if hi is None else hi) for lo, hi in bounds],
        dtype=float,
    )
    if limits.shape != (x.size, 2):
        raise ValueError(f"bounds must give (low, high) for each of the {x.size} parameters")
    if np.any(limits[:, 0] > limits[:, 1]):
        raise ValueError("bounds have low > high")
    return np.clip(x, limits[:, 0], limits[:, 1]), limits


class Optimizer(ABC):
    """Base of the qnoise optimizers (see the module docstring for the protocol).

    Parameters
    ----------
    maxiter : int, optional
        Iterations.
    maxfev : int, optional
        Budget of evaluated points, never exceeded.
    seed : int or numpy Generator, optional
        Seeds every random choice; the same seed gives the same run.
    callback, termination_checker : callable, optional
        ``f(nit, x, fun, nfev)`` after each iteration; the checker stops the run on ``True``.
    """

    def __init__(
        self,
        maxiter: int | None = 100,
        maxfev: int | None = None,
        seed=None,
        *,
        callback: IterationCallback | None = None,
        termination_checker: IterationCallback | None = None,
    ) -> None:
        if maxiter is not None and int(maxiter) < 1:
            raise ValueError(f"maxiter must be >= 1 or None, got {maxiter}")
        if maxfev is not None and int(maxfev) < 1:
            raise ValueError(f"maxfev must be >= 1 or None, got {maxfev}")
        if maxiter is None and maxfev is None:
            raise ValueError("give maxiter, maxfev or both")
        self.maxiter = None if maxiter is None else int(maxiter)
        self.maxfev = None if maxfev is None else int(maxfev)
        self.seed = seed
        self.callback = callback
        self.termination_checker = termination_checker

    def __call__(self, fun, x0, jac=None, bounds=None) -> OptimizerResult:
        """Same as :meth:`minimize` (the qiskit-algorithms ``Minimizer`` signature)."""
        return self.minimize(fun, x0, jac=jac, bounds=bounds)

    def minimize(self, fun, x0, jac=None, bounds=None) -> OptimizerResult:
        """Minimize ``fun`` from ``x0`` (not modified); see the module docstring."""
        x, limits = as_start(x0, bounds)
        evaluator = Evaluator(fun, self.maxfev, jac)
        recorder = Recorder(self.callback, self.termination_checker)
        rng = np.random.default_rng(self.seed)
        x_out, fun_out, message = self._run(evaluator, recorder, x, limits, rng)
        return OptimizerResult(
            x=x_out,
            fun=float(fun_out),
            nfev=evaluator.nfev,
            njev=evaluator.njev,
            nit=recorder.nit,
            history=recorder.history,
            message=message,
        )

    def _iterations(self) -> range:
        return range(self.maxiter if self.maxiter is not None else np.iinfo(np.int64).max)

    @abstractmethod
    def _run(
        self,
        evaluator: Evaluator,
        recorder: Recorder,
        x: np.ndarray,
        bounds: np.ndarray | None,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, float, str]:
        """Run the iterations; return ``(x, fun at x, message)``."""


def clip(x: np.ndarray, bounds: np.ndarray | None) -> np.ndarray:
    """Project ``x`` onto the box ``bounds`` (no-op without bounds)."""
    return x if bounds is None else np.clip(x, bounds[:, 0], bounds[:, 1])


def final_value(
    evaluator: Evaluator, x: np.ndarray, estimate: float, reserve: bool, shots: int | None = None
) -> tuple[float, str]:
    """Evaluate ``x`` once more if the budget allows (``reserve``), else keep ``estimate``."""
    if reserve and evaluator.can(1):
        return evaluator.one(x, shots), ""
    return estimate, " (final value is the last estimate: no budget left to evaluate x)"
