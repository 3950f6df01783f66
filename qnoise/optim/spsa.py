"""Simultaneous perturbation stochastic approximation (Spall), first and second order."""

from __future__ import annotations

import warnings

import numpy as np

from qnoise.optim.base import Evaluator, Optimizer, Recorder, clip, final_value

RETURNS = ("last", "best", "average")


def rademacher(rng: np.random.Generator, shape) -> np.ndarray:
    """Random ±1 perturbation directions (each entry ±1 with probability 1/2)."""
    return 2.0 * rng.integers(0, 2, size=shape) - 1.0


class RademacherStream:
    """±1 vectors of length ``size``, drawn ``chunk`` rows at a time (one generator call per
    chunk instead of one per iteration); deterministic for a given generator state."""

    def __init__(self, rng: np.random.Generator, size: int, chunk: int = 256) -> None:
        self.rng, self.size, self.chunk = rng, size, chunk
        self._rows = np.empty((0, size))
        self._next = 0

    def take(self, count: int = 1) -> np.ndarray:
        """The next ``count`` vectors, shape ``(count, size)``."""
        if self._next + count > self._rows.shape[0]:
            # refill in whole chunks, so that one take(N) gives the rows of N take(1) calls
            missing = self._next + count - self._rows.shape[0]
            chunks = [self._rows[self._next :]]
            chunks += [
                rademacher(self.rng, (self.chunk, self.size))
                for _ in range(-(-missing // self.chunk))
            ]
            self._rows, self._next = np.concatenate(chunks), 0
        rows = self._rows[self._next : self._next + count]
        self._next += count
        return rows


class SPSA(Optimizer):
    r"""SPSA with Spall's gain sequences, calibration, resampling, blocking and 2-SPSA.

    Iteration ``k = 0, 1, …`` with ``R`` resamplings:

    .. math::
        a_k = \frac{a}{(A + k + 1)^\alpha}, \qquad c_k = \frac{c}{(k + 1)^\gamma},\qquad
        \hat g_k = \frac1R \sum_{r} \frac{f(x_k + c_k\Delta_r) - f(x_k - c_k\Delta_r)}{2 c_k}
        \Delta_r,\qquad x_{k+1} = x_k - a_k \hat g_k

    with :math:`\Delta_r \in \{\pm 1\}^p` (so :math:`\Delta^{-1} = \Delta`). All ``2R`` points
    of an iteration are one batch.

    **Second order (2-SPSA).** Two more points per resampling,
    :math:`f(x \pm c_k\Delta + c_k\Delta')`, give
    :math:`\hat H = \frac{\delta f}{2c_k^2}\,\frac{\Delta'\Delta^T + \Delta\Delta'^T}{2}` with
    :math:`\delta f = f(x + c\Delta + c\Delta') - f(x + c\Delta) - f(x - c\Delta + c\Delta')
    + f(x - c\Delta)`. The running mean :math:`\bar H_k` (``initial_hessian``, default the
    identity, counts as the first sample) is made positive definite as
    :math:`\sqrt{\bar H_k^2} + \text{regularization}\cdot I` and the step becomes
    :math:`x_{k+1} = x_k - a_k \bar H^{-1} \hat g_k` (the first ``hessian_delay`` iterations use
    the identity). Then ``a`` defaults to 1 (a Newton step) instead of being calibrated.

    **Calibration** (``a=None``, first order): ``calibration_steps`` random directions at
    ``x0`` estimate the mean gradient magnitude
    :math:`\bar g = \text{mean}|f(x_0 + c\Delta) - f(x_0 - c\Delta)| / (2c)`, and
    :math:`a = \text{target\_magnitude}\,(A + 1)^\alpha / \bar g`, so the first step moves each
    parameter by about ``target_magnitude``. These ``2·calibration_steps`` evaluations count
    in ``nfev``.

    **Blocking**: after each step evaluate :math:`f(x_{k+1})` (one more point) and reject the
    step if it is larger than the current value plus ``allowed_increase`` (default: twice the
    standard deviation of ``blocking_samples`` evaluations at ``x0``, counted).

    Parameters
    ----------
    maxiter, maxfev, seed, callback, termination_checker :
        See :class:`qnoise.optim.base.Optimizer`.
    a : float, optional
        Learning-rate numerator; ``None`` calibrates it.
    c : float
        Perturbation size at ``k = 0`` (radians for circuit parameters).
    A : float or None
        Stability constant; default 0 (as qiskit-algorithms' SPSA: with the calibrated ``a``
        the steps shrink as :math:`(k + 1)^{-\alpha}` from the first one). ``None`` takes
        Spall's rule, 10 % of ``maxiter`` (0 without ``maxiter``), whose steps shrink far
        more slowly: over long runs they stay too large to settle
        (``benchmarks/optimizers.py``).
    alpha, gamma : float
        Gain exponents (Spall's asymptotically optimal 0.602 and 0.101).
    target_magnitude : float
        First-step size that calibration aims for (default 2π/10, as qiskit-algorithms).
    calibration_steps : int
    resamplings : int
        Gradient samples averaged per iteration.
    blocking : bool
    allowed_increase : float, optional
    blocking_samples : int
    second_order : bool
    regularization : float
    hessian_delay : int
    initial_hessian : ndarray, optional
        Prior of the running Hessian mean (default identity), weighted as one sample.
    returns : {"last", "best", "average"}
        The last iterate; the iterate with the lowest estimate (the mean of its ``2R``
        perturbed values, or with blocking its measured value; no extra evaluation, but biased
        low under noise); or the mean of the last ``average_window`` iterates. For "last" and
        "average" ``x`` is evaluated once more at the end (counted) when the budget allows.

    Notes
    -----
    The callback receives the new iterate :math:`x_{k+1}` and the estimate made around
    :math:`x_k` in that iteration.
    average_window : int
    """

    def __init__(
        self,
        maxiter: int | None = 100,
        maxfev: int | None = None,
        seed=None,
        *,
        a: float | None = None,
        c: float = 0.2,
        A: float | None = 0.0,
        alpha: float = 0.602,
        gamma: float = 0.101,
        target_magnitude: float = 2 * np.pi / 10,
        calibration_steps: int = 25,
        resamplings: int = 1,
        blocking: bool = False,
        allowed_increase: float | None = None,
        blocking_samples: int = 10,
        second_order: bool = False,
        regularization: float = 0.01,
        hessian_delay: int = 0,
        initial_hessian: np.ndarray | None = None,
        returns: str = "last",
        average_window: int = 10,
        callback=None,
        termination_checker=None,
    ) -> None:
        super().__init__(
            maxiter, maxfev, seed, callback=callback, termination_checker=termination_checker
        )
        if returns not in RETURNS:
            raise ValueError(f"returns must be one of {RETURNS}, got {returns!r}")
        if c <= 0 or (a is not None and a <= 0):
            raise ValueError("a and c must be positive")
        if resamplings < 1 or calibration_steps < 1 or average_window < 1:
            raise ValueError("resamplings, calibration_steps and average_window must be >= 1")
        self.a = a
        self.c = float(c)
        self.A = A
        self.alpha = float(alpha)
        self.gamma = float(gamma)
        self.target_magnitude = float(target_magnitude)
        self.calibration_steps = int(calibration_steps)
        self.resamplings = int(resamplings)
        self.blocking = bool(blocking)
        self.allowed_increase = allowed_increase
        self.blocking_samples = int(blocking_samples)
        self.second_order = bool(second_order)
        self.regularization = float(regularization)
        self.hessian_delay = int(hessian_delay)
        self.initial_hessian = initial_hessian
        self.returns = returns
        self.average_window = int(average_window)

    # -------------------------------------------------------------- set-up
    def _stability(self) -> float:
        if self.A is not None:
            return float(self.A)
        return 0.1 * self.maxiter if self.maxiter is not None else 0.0

    def _calibrate(self, evaluator: Evaluator, x: np.ndarray, rng, stability: float) -> float:
        if self.a is not None:
            return float(self.a)
        if self.second_order:
            return 1.0
        deltas = rademacher(rng, (self.calibration_steps, x.size))
        points = np.concatenate([x + self.c * deltas, x - self.c * deltas])
        values = evaluator(points)
        half = self.calibration_steps
        magnitude = np.mean(np.abs(values[:half] - values[half:])) / (2 * self.c)
        if magnitude == 0:
            warnings.warn(
                "SPSA calibration found a flat objective around x0 (all differences zero); "
                "using a unit gradient magnitude. Give the learning rate a to silence this.",
                RuntimeWarning,
                stacklevel=4,
            )
            magnitude = 1.0
        return self.target_magnitude * (stability + 1) ** self.alpha / magnitude

    def _tolerance(self, evaluator: Evaluator, x: np.ndarray) -> tuple[float, float]:
        """Current value at x0 and the allowed increase for blocking."""
        samples = evaluator(np.repeat(x[None, :], self.blocking_samples, axis=0))
        tolerance = self.allowed_increase
        if tolerance is None:
            tolerance = 2 * float(np.std(samples))
        return float(np.mean(samples)), float(tolerance)

    def _points_per_iteration(self) -> int:
        return self.resamplings * (4 if self.second_order else 2) + int(self.blocking)

    # -------------------------------------------------------------- loop
    def _gradient_and_hessian(self, evaluator, x, ck, directions: RademacherStream):
        deltas = directions.take(self.resamplings)
        blocks = [x + ck * deltas, x - ck * deltas]
        if self.second_order:
            extra = directions.take(self.resamplings)
            blocks += [x + ck * deltas + ck * extra, x - ck * deltas + ck * extra]
        points = np.concatenate(blocks)
        values = evaluator(points).reshape(len(blocks), self.resamplings)
        differences = (values[0] - values[1]) / (2 * ck)
        gradient = (differences[:, None] * deltas).mean(axis=0)
        estimate = float(values[:2].mean())
        hessian = None
        if self.second_order:
            second = values[2] - values[0] - values[3] + values[1]
            outer = np.einsum("ri,rj->rij", extra, deltas)
            hessian = (
                (second / (2 * ck**2))[:, None, None] * (outer + outer.transpose(0, 2, 1)) / 2
            ).mean(axis=0)
        return gradient, hessian, estimate, points, values

    def _preconditioned(self, gradient, mean_hessian, k):
        if mean_hessian is None or k < self.hessian_delay:
            return gradient
        eigenvalues, vectors = np.linalg.eigh(mean_hessian)
        inverse = 1.0 / (np.abs(eigenvalues) + self.regularization)
        return vectors @ (inverse * (vectors.T @ gradient))

    def _run(self, evaluator: Evaluator, recorder: Recorder, x, bounds, rng):
        reserve = self.returns != "best"
        needed = self._points_per_iteration() + int(reserve)
        calibrating = self.a is None and not self.second_order
        setup = 2 * self.calibration_steps * calibrating + self.blocking_samples * self.blocking
        if not evaluator.can(setup + needed):
            raise ValueError(
                f"maxfev={evaluator.maxfev} leaves no SPSA iteration: calibration/blocking take "
                f"{setup} evaluations and one iteration {needed}"
            )
        stability = self._stability()
        a = self._calibrate(evaluator, x, rng, stability)
        current, tolerance = self._tolerance(evaluator, x) if self.blocking else (np.nan, np.inf)
        directions = RademacherStream(rng, x.size)
        mean_hessian = None
        if self.second_order:
            prior = self.initial_hessian
            mean_hessian = np.eye(x.size) if prior is None else np.array(prior, dtype=float)
            if mean_hessian.shape != (x.size, x.size):
                raise ValueError(f"initial_hessian must have shape ({x.size}, {x.size})")
        iterates: list[np.ndarray] = []
        best_x, best_value = x.copy(), np.inf
        estimate, message = np.nan, "maxiter reached"
        for k in self._iterations():
            if not evaluator.can(needed):
                message = "maxfev reached"
                break
            ak = a / (stability + k + 1) ** self.alpha
            ck = self.c / (k + 1) ** self.gamma
            gradient, hessian, estimate, _, _ = self._gradient_and_hessian(
                evaluator, x, ck, directions
            )
            if not self.blocking and estimate < best_value:
                best_x, best_value = x.copy(), estimate
            if hessian is not None:
                mean_hessian = ((k + 1) * mean_hessian + hessian) / (k + 2)
            step = ak * self._preconditioned(gradient, mean_hessian, k)
            candidate = clip(x - step, bounds)
            if self.blocking:
                value = evaluator.one(candidate)
                if value <= current + tolerance:
                    x, current = candidate, value
                estimate = current
                if value < best_value:
                    best_x, best_value = candidate.copy(), value
            else:
                x = candidate
            iterates.append(x.copy())
            if recorder.iteration(x, estimate, evaluator.nfev):
                message = "termination checker"
                break
        if self.returns == "best" and np.isfinite(best_value):
            return best_x, best_value, message + "; best iterate"
        if self.returns == "average" and iterates:
            x = np.mean(iterates[-self.average_window :], axis=0)
        value, note = final_value(evaluator, x, estimate, reserve)
        return x, value, message + note
