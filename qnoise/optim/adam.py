"""Adam (Kingma & Ba, 2015) on given gradients: exact reverse-mode or parameter-shift ones."""

from __future__ import annotations

import numpy as np

from qnoise.optim.base import Evaluator, Optimizer, Recorder, clip, final_value


class Adam(Optimizer):
    r"""Adam on the gradients ``jac`` returns.

    Each iteration evaluates :math:`f(x_k)` and :math:`g_k = \nabla f(x_k)`, then

    .. math::
        m_k = \beta_1 m_{k-1} + (1 - \beta_1) g_k, \quad
        v_k = \beta_2 v_{k-1} + (1 - \beta_2) g_k^2, \quad
        x_{k+1} = x_k - \eta\,
            \frac{m_k / (1 - \beta_1^k)}{\sqrt{v_k / (1 - \beta_2^k)} + \epsilon}.

    ``jac`` is required (qnoise objectives give exact reverse-mode gradients); for
    gradient-free stochastic training use :class:`~qnoise.optim.SPSA` or
    :class:`~qnoise.optim.AdamSPSA`.

    Parameters
    ----------
    maxiter : int
        Iterations (one value and one gradient each).
    maxfev, seed, callback, termination_checker :
        See :class:`qnoise.optim.base.Optimizer`.
    lr : float
        Step size η (radians for circuit angles).
    beta1, beta2 : float
        Decay rates of the first and second moment estimates, in [0, 1).
    eps : float
        Added to the denominator.

    Notes
    -----
    ``fun`` of the result is a fresh evaluation at the returned point when the budget
    allows, else the value of the last evaluated iterate.
    """

    def __init__(
        self,
        maxiter: int | None = 100,
        maxfev: int | None = None,
        seed=None,
        *,
        lr: float = 0.05,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        callback=None,
        termination_checker=None,
    ) -> None:
        super().__init__(
            maxiter, maxfev, seed, callback=callback, termination_checker=termination_checker
        )
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"beta1 and beta2 must be in [0, 1), got {beta1}, {beta2}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), eps

    def _run(self, evaluator: Evaluator, recorder: Recorder, x, bounds, rng):
        if evaluator.jac is None:
            raise ValueError("Adam needs gradients: pass jac= (e.g. objective.gradient)")
        m = np.zeros_like(x)
        v = np.zeros_like(x)
        message = "maxiter reached"
        value = np.nan
        for k in self._iterations():
            if not evaluator.can(2):  # this iteration's value and the final evaluation
                message = "maxfev reached"
                break
            value = evaluator.one(x)
            gradient = evaluator.gradient(x)
            m = self.beta1 * m + (1 - self.beta1) * gradient
            v = self.beta2 * v + (1 - self.beta2) * gradient**2
            m_hat = m / (1 - self.beta1 ** (k + 1))
            v_hat = v / (1 - self.beta2 ** (k + 1))
            stop = recorder.iteration(x, value, evaluator.nfev)
            x = clip(x - self.lr * m_hat / (np.sqrt(v_hat) + self.eps), bounds)
            if stop:
                message = "termination checker"
                break
        final, note = final_value(evaluator, x, value, reserve=True)
        return x, final, message + note
