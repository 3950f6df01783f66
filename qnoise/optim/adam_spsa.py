"""Adam-SPSA as used by CRLQAS (Patel et al., ICLR 2024), with its presets and shot stages."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from qnoise.optim.base import Evaluator, Optimizer, Recorder, final_value
from qnoise.optim.spsa import RademacherStream
from qnoise.sim.batched import evaluate_points

#: CRLQAS's hyperparameters: the defaults, and the values tuned for noisy H2 and LiH
PRESETS: dict[str, dict] = {
    "crlqas": {
        "a": 1.0, "alpha": 0.602, "c": 1.0, "gamma": 0.101, "lam": 0.4,
        "beta1": 0.999, "beta2": 0.999,
    },
    "crlqas_h2_2q": {
        "a": 1.2104, "alpha": 0.9531, "c": 0.1039, "gamma": 0.0984, "lam": 0.9277,
        "beta1": 0.9414, "beta2": 0.9983, "maxfev": 500,
    },
    "crlqas_lih_4q": {
        "a": 1.8658, "alpha": 0.9451, "c": 0.046, "gamma": 0.1397, "lam": 0.0138,
        "beta1": 0.9658, "beta2": 0.8594, "stages": (1191, 357, 119),
    },
}  # fmt: skip


def _stage_plan(stages, shots, maxfev) -> list[tuple[int, int | None]]:
    """``[(budget, shots), ...]``; a single stage without shots when ``stages`` is None."""
    if stages is None:
        return [(maxfev, shots)]
    stages = list(stages)
    if all(isinstance(s, (tuple, list)) for s in stages):
        plan = [(int(b), None if n is None else int(n)) for b, n in stages]
    else:
        if shots is None:
            plan = [(int(b), None) for b in stages]
        else:
            count = len(stages)
            plan = [
                (int(b), max(1, round(shots / 10 ** (count - 1 - i)))) for i, b in enumerate(stages)
            ]
    if any(b < 2 for b, _ in plan):
        raise ValueError(f"every stage needs a budget of at least 2 evaluations, got {plan}")
    return plan


class AdamSPSA(Optimizer):
    r"""SPSA gradients fed to Adam with a decaying first-moment rate (CRLQAS's optimizer).

    For ``k = 0, 1, …`` (two evaluations per iteration, one batch):

    .. math::
        a_k = \frac{a}{(k+1)^\alpha},\quad c_k = \frac{c}{(k+1)^\gamma},\quad
        g_k = \frac{f(\theta + c_k\Delta_k) - f(\theta - c_k\Delta_k)}{2 c_k}\,\Delta_k,
        \quad \beta_{1,k} = \frac{\beta_1}{(k+1)^\lambda}

    .. math::
        m \leftarrow \beta_{1,k} m + (1-\beta_{1,k}) g_k,\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g_k^2,\quad
        \hat m = \frac{m}{1-\beta_{1,k}^{k+1}},\quad \hat v = \frac{v}{1-\beta_2^{k+1}},\quad
        \theta \leftarrow \theta - a_k \frac{\hat m}{\sqrt{\hat v} + \epsilon}

    except at ``k = 0``, a plain step :math:`\theta \leftarrow \theta - a_0 g_0` (the moments
    are still updated). The number of iterations is ``⌊budget/2⌋`` per stage (CRLQAS's code
    used ``⌈maxfev/2⌉``, one evaluation over an odd budget).

    **Shot stages.** ``stages=(1191, 357, 119), shots=N`` spends those budgets with
    ``N/100``, ``N/10`` and ``N`` shots (in general ``N/10^{S-1-i}``), or give explicit
    ``[(budget, shots), ...]``. The iteration counter ``k`` runs on across stages. The shot
    count reaches ``fun`` as ``fun(x, shots=n)`` when ``fun.accepts_shots`` is true.

    **Returned point.** ``returns="best"`` (CRLQAS's best θ seen): the iterate :math:`\theta_k`
    of the last stage with the lowest estimate
    :math:`[f(\theta_k + c_k\Delta_k) + f(\theta_k - c_k\Delta_k)]/2` (no extra evaluation;
    estimates from earlier stages, made with fewer shots, are not compared), and that
    estimate. ``returns="last"``: the last iterate, evaluated once more (counted) with the last
    stage's shots.

    Parameters
    ----------
    maxiter, maxfev, seed, callback, termination_checker :
        See :class:`qnoise.optim.base.Optimizer`; by default the budget is ``maxfev=500`` or
        the sum of the stage budgets.
    a, alpha, c, gamma, lam, beta1, beta2, eps : float
        Hyperparameters of the update above (defaults: CRLQAS's defaults).
    stages : sequence, optional
    shots : int, optional
    returns : {"best", "last"}

    See Also
    --------
    AdamSPSA.preset : CRLQAS's default and tuned settings.
    """

    def __init__(
        self,
        maxiter: int | None = None,
        maxfev: int | None = None,
        seed=None,
        *,
        a: float = 1.0,
        alpha: float = 0.602,
        c: float = 1.0,
        gamma: float = 0.101,
        lam: float = 0.4,
        beta1: float = 0.999,
        beta2: float = 0.999,
        eps: float = 1e-8,
        stages: Sequence | None = None,
        shots: int | None = None,
        returns: str = "best",
        callback=None,
        termination_checker=None,
    ) -> None:
        if maxfev is None and stages is None and maxiter is None:
            maxfev = 500
        plan = _stage_plan(stages, shots, maxfev if maxfev is not None else 2 * (maxiter or 0))
        if maxfev is None:
            maxfev = sum(b for b, _ in plan)
        super().__init__(
            maxiter, maxfev, seed, callback=callback, termination_checker=termination_checker
        )
        if returns not in ("best", "last"):
            raise ValueError(f"returns must be 'best' or 'last', got {returns!r}")
        if a <= 0 or c <= 0 or not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError("need a > 0, c > 0 and 0 <= beta1, beta2 < 1")
        self.a, self.alpha, self.c, self.gamma, self.lam = a, alpha, c, gamma, lam
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.plan = plan
        self.returns = returns

    @classmethod
    def preset(cls, name: str, **overrides) -> AdamSPSA:
        """CRLQAS's settings: ``"crlqas"`` (defaults), ``"crlqas_h2_2q"`` (tuned for noisy
        H2, 500 evaluations), ``"crlqas_lih_4q"`` (tuned for noisy LiH, stages
        1191/357/119; pass ``shots=N`` for the N/100 → N/10 → N schedule)."""
        if name not in PRESETS:
            raise KeyError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    def _run(self, evaluator: Evaluator, recorder: Recorder, x, bounds, rng):
        m = np.zeros_like(x)
        v = np.zeros_like(x)
        directions = RademacherStream(rng, x.size)
        k = 0
        best_x, best_value = None, np.inf
        message = "budget used"
        shots = None
        for budget, shots in self.plan:
            iterations = budget // 2
            if self.maxiter is not None:
                iterations = min(iterations, max(self.maxiter - k, 0))
            # gain schedules of this stage, computed once (k runs on across stages)
            ks = np.arange(k + 1, k + iterations + 1, dtype=float)
            beta1_k = self.beta1 / ks**self.lam
            gains = (
                self.a / ks**self.alpha,
                self.c / ks**self.gamma,
                beta1_k,
                1 / (1 - beta1_k**ks),
                1 / (1 - self.beta2**ks),
            )
            program = None if recorder.observed else evaluator.native_program(shots)
            if program is None:
                x, best_x, best_value, done, stopped = self._python_stage(
                    evaluator, recorder, x, m, v, bounds, directions, gains, k == 0, shots
                )
            else:
                x, best_x, best_value, done, stopped = self._native_stage(
                    evaluator, recorder, x, m, v, bounds, directions, gains, k == 0, program
                )
            k += done
            if stopped:
                message = stopped
                break
            if self.maxiter is not None and k >= self.maxiter:
                message = "maxiter reached"
                break
        if self.returns == "best" and best_x is not None:
            return best_x, best_value, message + "; best iterate of the last stage"
        estimate = recorder.history["fun"][-1] if recorder.nit else np.nan
        value, note = final_value(evaluator, x, estimate, reserve=True, shots=shots)
        return x, value, message + note

    @property
    def _needed(self) -> int:
        """Evaluations left in the budget for an iteration to start (its pair, and the final
        evaluation that ``returns="last"`` reserves)."""
        return 2 + (self.returns == "last")

    def _python_stage(self, evaluator, recorder, x, m, v, bounds, directions, gains, first, shots):
        """One stage, evaluated point pair by point pair through the evaluator (any
        objective, callbacks, shots), updated by :func:`adam_spsa_update`. Returns ``(x,
        best_x, best_value, iterations done, stop message or "")``."""
        a_k, c_k, beta1_k, m_scale, v_scale = (g.tolist() for g in gains)
        bounded, lo, hi = _limits(bounds, x.size)
        best_x, best_value = None, np.inf
        points = np.empty((2, x.size))
        for i in range(len(a_k)):
            if not evaluator.can(self._needed):
                return x, best_x, best_value, i, "maxfev reached"
            ck = c_k[i]
            delta = directions.take()[0]
            np.multiply(delta, ck, out=points[1])
            np.add(x, points[1], out=points[0])
            np.subtract(x, points[1], out=points[1])
            values = evaluator(points, shots)
            estimate = 0.5 * float(values[0] + values[1])  # f(θ_k) + O(c_k²)
            if estimate < best_value:
                best_x, best_value = x.copy(), estimate
            adam_spsa_update(x, m, v, delta, values[0], values[1], ck, a_k[i], beta1_k[i],
                             m_scale[i], v_scale[i], self.beta2, self.eps, first and i == 0,
                             bounded, lo, hi)  # fmt: skip
            if recorder.iteration(x, estimate, evaluator.nfev):
                return x, best_x, best_value, i + 1, "termination checker"
        return x, best_x, best_value, len(a_k), ""

    def _native_stage(
        self, evaluator, recorder, x, m, v, bounds, directions, gains, first, program
    ):
        """The same stage as :meth:`_python_stage`, run in compiled code (exact energies, no
        callbacks): bit-identical numbers, without per-iteration Python overhead."""
        iterations = gains[0].size
        count = iterations
        if evaluator.maxfev is not None:  # iterations that pass the Python loop's budget check
            fits = (evaluator.remaining - self._needed) // 2 + 1
            count = min(iterations, max(int(fits), 0))
        bounded, lo, hi = _limits(bounds, x.size)
        deltas = directions.take(count)
        points = np.empty((2 * count, x.size))
        values = np.empty(2 * count)
        xs = np.empty((count, x.size))
        estimates = np.empty(count)
        best_x = np.empty(x.size)
        done, best = _adam_spsa_iterations(
            program, x.copy(), m, v, deltas, *gains,
            self.beta2, self.eps, first, bounded, lo, hi,
            points, values, xs, estimates, best_x,
        )  # fmt: skip
        if done < count:  # a non-finite energy: account raises, naming the point
            evaluator.account(points[: 2 * done + 2], values[: 2 * done + 2])
        nfev0 = evaluator.nfev
        evaluator.account(points, values)
        recorder.extend(xs, estimates, nfev0 + 2 * np.arange(1, count + 1))
        x_out = xs[-1].copy() if count else x
        stopped = "maxfev reached" if count < iterations else ""
        if best < 0:
            return x_out, None, np.inf, count, stopped
        return x_out, best_x, float(estimates[best]), count, stopped


def _limits(bounds, size: int) -> tuple[bool, np.ndarray, np.ndarray]:
    """``(bounded, lower, upper)`` as contiguous arrays (infinite without bounds)."""
    limits = bounds if bounds is not None else np.full((size, 2), [-np.inf, np.inf])
    return (
        bounds is not None,
        np.ascontiguousarray(limits[:, 0]),
        np.ascontiguousarray(limits[:, 1]),
    )


@njit(cache=True, nogil=True)
def adam_spsa_update(
    x, m, v, delta, f_plus, f_minus, ck, a, b1, m_scale, v_scale, beta2, eps, plain_step,
    bounded, lo, hi,
):  # fmt: skip
    """One Adam-SPSA update, in place, from ``f(x ± ck·delta)``: the gradient estimate
    ``g = delta (f₊ − f₋) / (2 ck)``; ``m ← b1 m + (1 − b1) g``, ``v ← β2 v + (1 − β2) g²``;
    ``x ← x − a · m_scale · m / (sqrt(v · v_scale) + eps)`` (bias corrections in
    ``m_scale``, ``v_scale``), or ``x ← x − a g`` for the ``plain_step`` (the first of a
    run); clipped to ``[lo, hi]`` when ``bounded``. The only implementation of the update:
    both the Python and the compiled stage loop call it."""
    scale = (f_plus - f_minus) / (2 * ck)
    for j in range(x.size):
        gradient = delta[j] * scale
        m[j] = m[j] * b1 + (1 - b1) * gradient
        v[j] = v[j] * beta2 + (1 - beta2) * gradient * gradient
        if plain_step:
            step = a * gradient
        else:
            step = (a * m_scale) * m[j] / (np.sqrt(v[j] * v_scale) + eps)
        value = x[j] - step
        if bounded:
            value = min(max(value, lo[j]), hi[j])
        x[j] = value


@njit(cache=True, nogil=True)
def _adam_spsa_iterations(
    program, x, m, v, deltas, a_k, c_k, beta1_k, m_scale, v_scale, beta2, eps, first,
    bounded, lo, hi, points, values, xs, estimates, best_x,
):  # fmt: skip
    """The iterations of :meth:`AdamSPSA._python_stage` for a native program, in compiled
    code (the same :func:`adam_spsa_update`, so the same bits). Fills ``points`` and
    ``values`` (two rows per iteration), ``xs`` (iterate after each update), ``estimates``
    and ``best_x``; updates ``m`` and ``v`` in place. Returns ``(iterations done, index of
    the best estimate or -1)``; fewer iterations than rows only when an energy was not
    finite."""
    p = x.size
    pair = np.empty((2, p))
    out = np.empty(2)
    best, best_value = -1, np.inf
    for i in range(deltas.shape[0]):
        ck = c_k[i]
        for j in range(p):
            shift = deltas[i, j] * ck
            pair[0, j] = x[j] + shift
            pair[1, j] = x[j] - shift
        evaluate_points(program, pair, out)
        points[2 * i] = pair[0]
        points[2 * i + 1] = pair[1]
        values[2 * i] = out[0]
        values[2 * i + 1] = out[1]
        if not (np.isfinite(out[0]) and np.isfinite(out[1])):
            return i, best
        estimate = 0.5 * (out[0] + out[1])
        estimates[i] = estimate
        if estimate < best_value:
            best, best_value = i, estimate
            best_x[:] = x
        adam_spsa_update(
            x,
            m,
            v,
            deltas[i],
            out[0],
            out[1],
            ck,
            a_k[i],
            beta1_k[i],
            m_scale[i],
            v_scale[i],
            beta2,
            eps,
            first and i == 0,
            bounded,
            lo,
            hi,
        )
        xs[i] = x
    return deltas.shape[0], best
