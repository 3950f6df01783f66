"""Adam-SPSA as used by CRLQAS (Patel et al., ICLR 2024), with its presets and shot stages."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qnoise.optim.base import Evaluator, Optimizer, Recorder, clip, final_value
from qnoise.optim.spsa import RademacherStream

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
            best_x, best_value = None, np.inf
            iterations = budget // 2
            if self.maxiter is not None:
                iterations = min(iterations, max(self.maxiter - k, 0))
            # gain schedules of this stage, computed once (k runs on across stages)
            ks = np.arange(k + 1, k + iterations + 1, dtype=float)
            a_k = (self.a / ks**self.alpha).tolist()
            c_k = (self.c / ks**self.gamma).tolist()
            beta1_k = self.beta1 / ks**self.lam
            m_scale = (1 / (1 - beta1_k**ks)).tolist()
            v_scale = (1 / (1 - self.beta2**ks)).tolist()
            beta1_k = beta1_k.tolist()
            points = np.empty((2, x.size))
            for i in range(iterations):
                if not evaluator.can(2 + (self.returns == "last")):
                    message = "maxfev reached"
                    break
                ck = c_k[i]
                delta = directions.take()[0]
                np.multiply(delta, ck, out=points[1])
                np.add(x, points[1], out=points[0])
                np.subtract(x, points[1], out=points[1])
                values = evaluator(points, shots)
                estimate = 0.5 * float(values[0] + values[1])  # f(θ_k) + O(c_k²)
                if estimate < best_value:
                    best_x, best_value = x.copy(), estimate
                gradient = delta * ((values[0] - values[1]) / (2 * ck))
                b1 = beta1_k[i]
                m *= b1
                m += (1 - b1) * gradient
                v *= self.beta2
                v += (1 - self.beta2) * gradient * gradient
                if k == 0:
                    step = a_k[i] * gradient
                else:
                    step = (a_k[i] * m_scale[i]) * m / (np.sqrt(v * v_scale[i]) + self.eps)
                x = clip(x - step, bounds)
                k += 1
                if recorder.iteration(x, estimate, evaluator.nfev):
                    message = "termination checker"
                    break
            else:
                if self.maxiter is not None and k >= self.maxiter:
                    message = "maxiter reached"
                    break
                continue
            break
        if self.returns == "best" and best_x is not None:
            return best_x, best_value, message + "; best iterate of the last stage"
        estimate = recorder.history["fun"][-1] if recorder.nit else np.nan
        value, note = final_value(evaluator, x, estimate, reserve=True, shots=shots)
        return x, value, message + note
