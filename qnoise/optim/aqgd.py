"""Analytic quantum gradient descent: parameter-shift (or exact) gradients with momentum."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from qnoise.optim.base import Evaluator, Optimizer, Recorder, clip


def _per_epoch(value, count: int, name: str) -> list:
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != count:
            raise ValueError(f"{name} has {len(value)} entries for {count} epochs")
        return list(value)
    return [value] * count


class AQGD(Optimizer):
    r"""Gradient descent with momentum on analytic gradients.

    Each iteration evaluates :math:`f(x_k)` and a gradient :math:`g_k`, then

    .. math::
        m_k = (1 - \mu)\, g_k + \mu\, m_{k-1}, \qquad x_{k+1} = x_k - \eta\, m_k .

    **Gradient.** With ``jac`` given (e.g. qnoise's reverse-mode gradient) it is used: one
    evaluation plus one gradient per iteration. Without it, the parameter-shift rule
    :math:`g_i = [f(x + s e_i) - f(x - s e_i)] / (2 \sin s)` with ``s = π/2`` gives
    ``2p + 1`` points per iteration (the centre included), evaluated as one batch. The rule is
    exact, with or without noise, when every parameter enters the circuit once, through a
    Pauli rotation ``exp(-i θ P / 2)``; qnoise objectives that know their circuit expose
    ``shift_rule_exact`` and a warning is given when it is false.

    **Epochs.** ``maxiter``, ``eta`` and ``momentum`` may be lists: one entry per epoch, run
    one after the other (the momentum carries over), as in qiskit-algorithms.

    **Convergence.** Stop when the mean of the last ``averaging`` objective values differs by
    less than ``tol`` from the mean of the ``averaging`` before them, or when consecutive
    iterates differ by less than ``param_tol`` in every component.

    **Returned value.** ``fun`` is always the value of the returned ``x``: the final iterate
    is evaluated once more (counted); if the budget has no room, the last evaluated iterate
    and its value are returned instead.

    Differences from qiskit-algorithms' AQGD (each has a regression test): ``x0`` is never
    modified; integer ``x0`` works; the returned value belongs to the returned point; the
    parameter tolerance compares consecutive iterates, not the initial point; ``maxfev`` is
    honoured.

    Parameters
    ----------
    maxiter : int or list of int
        Iterations (per epoch).
    maxfev, seed, callback, termination_checker :
        See :class:`qnoise.optim.base.Optimizer`.
    eta : float or list of float
        Learning rate (per epoch).
    momentum : float or list of float
        μ in [0, 1) (per epoch).
    tol, param_tol : float
    averaging : int
    shift : float
        Parameter shift ``s`` in radians.
    """

    def __init__(
        self,
        maxiter: int | Sequence[int] = 1000,
        maxfev: int | None = None,
        seed=None,
        *,
        eta: float | Sequence[float] = 1.0,
        momentum: float | Sequence[float] = 0.25,
        tol: float = 1e-6,
        param_tol: float = 1e-6,
        averaging: int = 10,
        shift: float = np.pi / 2,
        callback=None,
        termination_checker=None,
    ) -> None:
        epochs = list(maxiter) if isinstance(maxiter, Sequence) else [maxiter]
        self.epochs = list(
            zip(
                [int(n) for n in epochs],
                [float(e) for e in _per_epoch(eta, len(epochs), "eta")],
                [float(mu) for mu in _per_epoch(momentum, len(epochs), "momentum")],
                strict=True,
            )
        )
        super().__init__(
            sum(n for n, _, _ in self.epochs),
            maxfev,
            seed,
            callback=callback,
            termination_checker=termination_checker,
        )
        if any(not 0 <= mu < 1 for _, _, mu in self.epochs):
            raise ValueError("momentum must be in [0, 1)")
        if averaging < 1 or not 0 < abs(np.sin(shift)):
            raise ValueError("averaging must be >= 1 and sin(shift) non-zero")
        self.tol = float(tol)
        self.param_tol = float(param_tol)
        self.averaging = int(averaging)
        self.shift = float(shift)

    def _value_and_gradient(self, evaluator: Evaluator, x: np.ndarray) -> tuple[float, np.ndarray]:
        if evaluator.jac is not None:
            return evaluator.one(x), evaluator.gradient(x)
        shifts = self.shift * np.eye(x.size)
        values = evaluator(np.concatenate([x[None, :], x + shifts, x - shifts]))
        p = x.size
        gradient = (values[1 : p + 1] - values[p + 1 :]) / (2 * np.sin(self.shift))
        return float(values[0]), gradient

    def _objective_converged(self, values: list[float]) -> bool:
        w = self.averaging
        if len(values) < 2 * w:
            return False
        return abs(np.mean(values[-w:]) - np.mean(values[-2 * w : -w])) < self.tol

    def _run(self, evaluator: Evaluator, recorder: Recorder, x, bounds, rng):
        if evaluator.jac is None and getattr(evaluator.fun, "shift_rule_exact", True) is False:
            warnings.warn(
                "the parameter-shift rule is not exact for this circuit (a parameter enters "
                "more than once or not as a Pauli rotation angle); AQGD's gradients will be "
                "biased. Pass jac= for exact gradients.",
                RuntimeWarning,
                stacklevel=3,
            )
        per_iteration = 1 if evaluator.jac is not None else 2 * x.size + 1
        momentum_vector = np.zeros_like(x)
        values: list[float] = []
        last_x, last_value = None, np.nan
        message = "maxiter reached"
        stopped = False
        for iterations, eta, mu in self.epochs:
            for _ in range(iterations):
                if not evaluator.can(per_iteration + 1):
                    message, stopped = "maxfev reached", True
                    break
                value, gradient = self._value_and_gradient(evaluator, x)
                last_x, last_value = x.copy(), value
                values.append(value)
                momentum_vector = (1 - mu) * gradient + mu * momentum_vector
                candidate = clip(x - eta * momentum_vector, bounds)
                if recorder.iteration(x, value, evaluator.nfev):
                    message, stopped = "termination checker", True
                elif self._objective_converged(values):
                    message, stopped = "objective converged (window average)", True
                elif np.max(np.abs(candidate - x)) < self.param_tol:
                    message, stopped = "parameters converged", True
                x = candidate
                if stopped:
                    break
            if stopped:
                break
        if evaluator.can(1):
            return x, evaluator.one(x), message
        if last_x is None:
            raise ValueError(f"maxfev={evaluator.maxfev} is too small for one AQGD iteration")
        return last_x, last_value, message + " (returned the last evaluated iterate)"
