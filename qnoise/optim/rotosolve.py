"""Rotosolve: exact minimisation of one rotation angle at a time (sinusoidal coordinate
descent, Ostaszewski, Grant & Benedetti 2021; Nakanishi, Fujii & Todo 2020)."""

from __future__ import annotations

import numpy as np

from qnoise.optim.base import Evaluator, Optimizer, Recorder, clip, final_value

HALF_PI = np.pi / 2
ORDERS = ("forward", "reverse", "random")


def sinusoid_minimum(angle: float, centre: float, plus: float, minus: float) -> tuple[float, float]:
    """Minimum of ``f(θ) = a + b cos θ + c sin θ`` from three values.

    Parameters
    ----------
    angle : float
        φ (rad), where ``centre = f(φ)``; ``plus = f(φ + π/2)``, ``minus = f(φ − π/2)``.

    Returns
    -------
    (θ*, f(θ*)) : the minimizing angle, wrapped to (φ − π, φ + π], and the model's minimum.
    """
    offset = 0.5 * (plus + minus)
    cos_part = centre - offset  # amplitude along cos(θ − φ)
    sin_part = 0.5 * (plus - minus)  # along sin(θ − φ)
    amplitude = float(np.hypot(cos_part, sin_part))
    if amplitude == 0.0:
        return angle, offset
    shift = np.arctan2(-sin_part, -cos_part)  # θ − φ where cos_part·cos + sin_part·sin = −A
    return angle + float(shift), offset - amplitude


class Rotosolve(Optimizer):
    r"""Coordinate descent that sets each angle to the exact minimizer of its sinusoid.

    When every parameter enters the circuit as the angle of one rotation ``exp(-iθP/2)``
    (RX, RY, RZ, each parameter used once), the energy is ``a + b cos θ_k + c sin θ_k`` in
    each ``θ_k`` with the others fixed, with gate noise too (the rotation's PTM is affine in
    ``cos θ``, ``sin θ``; the noise channels do not depend on ``θ``). Each update evaluates
    ``θ_k`` at ``φ``, ``φ + π/2``, ``φ − π/2`` in one batched call and jumps to the minimum
    of the fitted sinusoid. A sweep updates every parameter once, in ``order``; one iteration
    is one sweep.

    With finite shots the three values are noisy and the fitted minimum is an estimate; the
    optimizer needs no learning rate or perturbation size, and its shot cost is
    ``3·p`` evaluations per sweep. A budget that runs out mid-sweep stops after the last
    whole update.

    Parameters
    ----------
    maxiter : int, optional
        Sweeps (default 10).
    maxfev : int, optional
        Budget of evaluated points (a sweep costs ``3·p``, the final evaluation 1).
    tol : float, optional
        Stop when a whole sweep lowers the model's minimum by less than ``tol`` (same units
        as the objective; with shots, keep it above the noise). ``None``: never early.
    shots : int, optional
        Shots per evaluation, passed to objectives that accept them (``None``: theirs).
    order : {"forward", "reverse", "random"}
        Sweep from the first parameter to the last, from the last to the first, or in a
        fresh random permutation per sweep (drawn from ``seed``). With a budget that ends
        mid-sweep, ``"reverse"`` spends it on the newest parameters of a circuit grown by
        appending gates, and ``"random"`` spreads it over all parameters across calls (a
        fixed order would update the same few every time).
    seed, callback, termination_checker :
        See :class:`qnoise.optim.base.Optimizer` (only ``order="random"`` draws from it).

    Notes
    -----
    The returned ``fun`` is a fresh evaluation at the final point (one more point), so with
    shots it is an unbiased estimate rather than the minimum of a fitted model.
    """

    def __init__(
        self,
        maxiter: int | None = 10,
        maxfev: int | None = None,
        seed=None,
        *,
        tol: float | None = None,
        shots: int | None = None,
        order: str = "forward",
        callback=None,
        termination_checker=None,
    ) -> None:
        super().__init__(
            maxiter, maxfev, seed, callback=callback, termination_checker=termination_checker
        )
        if tol is not None and not tol >= 0:
            raise ValueError(f"tol must be >= 0 or None, got {tol}")
        if shots is not None and int(shots) < 1:
            raise ValueError(f"shots must be a positive integer or None, got {shots}")
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        self.tol = None if tol is None else float(tol)
        self.order = order
        self.shots = None if shots is None else int(shots)

    def _sweep_order(self, size: int, rng: np.random.Generator):
        if self.order == "forward":
            return range(size)
        if self.order == "reverse":
            return range(size - 1, -1, -1)
        return rng.permutation(size)

    def _run(self, evaluator: Evaluator, recorder: Recorder, x, bounds, rng):
        steps = np.zeros((3, x.size))
        message = "maxiter reached"
        previous = estimate = np.inf
        for _ in self._iterations():
            for k in self._sweep_order(x.size, rng):
                if not evaluator.can(4):  # this update and the final evaluation
                    message = "maxfev reached"
                    break
                steps[:, k] = (0.0, HALF_PI, -HALF_PI)
                centre, plus, minus = evaluator(x + steps, self.shots)
                steps[:, k] = 0.0
                x[k], estimate = sinusoid_minimum(x[k], centre, plus, minus)
                x = clip(x, bounds)
            if message == "maxfev reached":
                break
            if recorder.iteration(x, estimate, evaluator.nfev):
                message = "termination checker"
                break
            if self.tol is not None and previous - estimate < self.tol:
                message = "converged (sweep gain below tol)"
                break
            previous = estimate
        value, note = final_value(evaluator, x, estimate, reserve=True, shots=self.shots)
        return x, value, message + note
