"""Zero-noise extrapolators: fit values measured at noise scale factors, read off λ = 0.

Every extrapolator has the static signature ``extrapolate(scale_factors, values, sigmas=None)
-> (value, stderr)`` and works on data you already have (no circuits involved):

* ``scale_factors``: λ_i ≥ 1 (λ = 1 is the device's own noise), strictly increasing;
* ``values``: the measured expectation values at those λ_i (any unit; energies in Ha);
* ``sigmas``: optional standard errors of the values (e.g. shot noise). With them the fits
  are weighted by 1/σ² and ``stderr`` propagates them; without them ``stderr`` comes from the
  fit's residuals, and is NaN with an :class:`ExtrapolationWarning` when there are no
  residual degrees of freedom (as many points as fit parameters).

Bad input (NaN, fewer points than the model needs, non-increasing or non-positive scale
factors) raises :class:`ExtrapolationError`; a fit that fails or has no finite zero-noise
value also raises it, naming the extrapolator to try instead. No extrapolator returns a NaN
value silently.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod

import numpy as np
import scipy.optimize

__all__ = [
    "DoubleExponentialExtrapolator",
    "ExponentialExtrapolator",
    "ExtrapolationError",
    "ExtrapolationWarning",
    "Extrapolator",
    "IBMExponentialExtrapolator",
    "LinearExtrapolator",
    "PolynomialExtrapolator",
    "RichardsonExtrapolator",
    "extrapolator",
]


class ExtrapolationError(ValueError):
    """The data cannot be extrapolated by this method (bad input or a failed fit)."""


class ExtrapolationWarning(UserWarning):
    """The extrapolation ran but its result deserves caution (e.g. unknown uncertainty)."""


def check_points(scale_factors, values, sigmas, minimum: int, name: str):
    x = np.asarray(scale_factors, dtype=float).reshape(-1)
    y = np.asarray(values, dtype=float).reshape(-1)
    if x.size != y.size:
        raise ExtrapolationError(f"{x.size} scale factors but {y.size} values")
    if x.size < minimum:
        raise ExtrapolationError(f"{name} needs at least {minimum} points, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ExtrapolationError("scale factors and values must be finite (no NaN or inf)")
    if np.any(x <= 0) or np.any(np.diff(x) <= 0):
        raise ExtrapolationError(f"scale factors must be positive and increasing, got {x}")
    s = None
    if sigmas is not None:
        s = np.asarray(sigmas, dtype=float).reshape(-1)
        if s.size != x.size or not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise ExtrapolationError("sigmas must be finite, positive, one per value")
    return x, y, s


def _no_uncertainty(name: str) -> float:
    warnings.warn(
        f"{name}: as many points as fit parameters and no sigmas, so the standard error is "
        "unknown (NaN); pass sigmas or measure more scale factors",
        ExtrapolationWarning,
        stacklevel=4,
    )
    return math.nan


class Extrapolator(ABC):
    """Base class: ``extrapolate(scale_factors, values, sigmas=None) -> (value, stderr)``."""

    #: fewest points the model needs
    minimum_points: int = 2

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Extrapolator").lower()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __call__(self, scale_factors, values, sigmas=None) -> tuple[float, float]:
        return self.extrapolate(scale_factors, values, sigmas)

    @abstractmethod
    def extrapolate(self, scale_factors, values, sigmas=None) -> tuple[float, float]:
        """Zero-noise value and its standard error."""

    def linear_weights(self, scale_factors) -> np.ndarray | None:
        """The weights γ_i with zero-noise value ``Σ γ_i y_i`` for every set of values at
        these scale factors, when the extrapolation is such a fixed linear combination
        (unweighted); ``None`` for non-linear models."""
        return None


class PolynomialExtrapolator(Extrapolator):
    """Least-squares polynomial of degree ``order`` in λ, evaluated at λ = 0 (weighted by
    1/σ² when sigmas are given). With ``order + 1`` points it is Richardson extrapolation.

    The zero-noise value is a fixed linear combination ``Σ γ_i y_i`` of the values, so
    ``stderr = sqrt(Σ γ_i² σ_i²)`` with sigmas, or ``s · sqrt(Σ γ_i²)`` with ``s`` the
    residual standard deviation without them.
    """

    def __init__(self, order: int = 2) -> None:
        if int(order) != order or order < 1:
            raise ValueError(f"order must be a positive integer, got {order}")
        self.order = int(order)
        self.minimum_points = self.order + 1

    def __repr__(self) -> str:
        return f"{type(self).__name__}(order={self.order})"

    @property
    def name(self) -> str:
        return f"polynomial({self.order})"

    def coefficients(self, scale_factors, sigmas=None) -> np.ndarray:
        """The weights γ_i with ``value = Σ γ_i y_i``."""
        x = np.asarray(scale_factors, dtype=float)
        design = np.vander(x, self.order + 1, increasing=True)
        weights = np.ones_like(x) if sigmas is None else 1.0 / np.asarray(sigmas) ** 2
        normal = design.T @ (weights[:, None] * design)
        try:
            solution = np.linalg.solve(normal, design.T * weights)
        except np.linalg.LinAlgError as exc:
            raise ExtrapolationError(f"{self.name}: the scale factors do not fix the fit") from exc
        return solution[0]

    def linear_weights(self, scale_factors) -> np.ndarray:
        x = np.asarray(scale_factors, dtype=float)
        if x.size < self.minimum_points:
            raise ExtrapolationError(f"{self.name} needs {self.minimum_points} scale factors")
        return self.coefficients(x)

    def _slope(self, x: np.ndarray, y: np.ndarray, sigmas=None) -> float:
        """The fitted coefficient of λ (for the residuals of a line fit)."""
        design = np.vander(x, self.order + 1, increasing=True)
        weights = np.ones_like(x) if sigmas is None else 1.0 / np.asarray(sigmas) ** 2
        normal = design.T @ (weights[:, None] * design)
        return float(np.linalg.solve(normal, design.T @ (weights * y))[1])

    def extrapolate(self, scale_factors, values, sigmas=None) -> tuple[float, float]:
        x, y, s = check_points(scale_factors, values, sigmas, self.minimum_points, self.name)
        gamma = self.coefficients(x, s)
        value = float(gamma @ y)
        if s is not None:
            return value, float(np.sqrt(np.sum(gamma**2 * s**2)))
        dof = x.size - (self.order + 1)
        if dof == 0:
            return value, _no_uncertainty(self.name)
        design = np.vander(x, self.order + 1, increasing=True)
        residuals = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
        spread = float(np.sqrt(residuals @ residuals / dof))
        return value, spread * float(np.sqrt(gamma @ gamma))


class LinearExtrapolator(PolynomialExtrapolator):
    """Least-squares straight line in λ, at λ = 0 (see :class:`PolynomialExtrapolator`)."""

    def __init__(self) -> None:
        super().__init__(order=1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @property
    def name(self) -> str:
        return "linear"


class RichardsonExtrapolator(Extrapolator):
    """The polynomial of degree ``n − 1`` through all ``n`` points, at λ = 0:
    ``γ_i = Π_{j≠i} λ_j / (λ_j − λ_i)``. Exact for polynomials of degree < n; amplifies
    the values' noise by ``sqrt(Σ γ_i²)``, which grows fast with n."""

    minimum_points = 2

    @property
    def name(self) -> str:
        return "richardson"

    def linear_weights(self, scale_factors) -> np.ndarray:
        x = np.asarray(scale_factors, dtype=float)
        return PolynomialExtrapolator(order=max(x.size - 1, 1)).linear_weights(x)

    def extrapolate(self, scale_factors, values, sigmas=None) -> tuple[float, float]:
        x, _, _ = check_points(scale_factors, values, sigmas, 2, self.name)
        exact_fit = PolynomialExtrapolator(order=x.size - 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            value, stderr = exact_fit.extrapolate(scale_factors, values, sigmas)
        if sigmas is None:
            stderr = _no_uncertainty(self.name)
        return value, stderr


def _curve_fit(name: str, model, x, y, s, guess, bounds=(-np.inf, np.inf)):
    """Parameters and covariance of a nonlinear least-squares fit, or ExtrapolationError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.optimize.OptimizeWarning)
            params, covariance = scipy.optimize.curve_fit(
                model,
                x,
                y,
                p0=guess,
                sigma=s,
                absolute_sigma=s is not None,
                bounds=bounds,
                maxfev=20_000,
            )
    except (RuntimeError, ValueError) as exc:
        raise ExtrapolationError(
            f"{name}: the fit did not converge ({exc}); try 'linear' or 'richardson'"
        ) from exc
    if not np.all(np.isfinite(params)):
        raise ExtrapolationError(f"{name}: the fit has no finite parameters")
    return params, covariance


def _propagated(name: str, gradient: np.ndarray, covariance: np.ndarray, dof: int, s) -> float:
    if s is None and dof == 0:
        return _no_uncertainty(name)
    variance = float(gradient @ covariance @ gradient)
    if not np.isfinite(variance) or variance < 0:
        warnings.warn(
            f"{name}: the fit's covariance is not usable (degenerate fit); stderr is NaN",
            ExtrapolationWarning,
            stacklevel=3,
        )
        return math.nan
    return math.sqrt(variance)


class ExponentialExtrapolator(Extrapolator):
    """``y(λ) = a + b·e^{−cλ}`` with ``c > 0``; the zero-noise value is ``a + b``.

    Decaying expectation values under depolarizing-like noise follow this form, with ``a``
    the fully mixed value (``Tr(O)/2ⁿ``). Pass ``asymptote=a`` when it is known: then
    ``log|y − a|`` is fitted by a line and two points suffice; otherwise three are needed.
    """

    def __init__(self, asymptote: float | None = None) -> None:
        self.asymptote = None if asymptote is None else float(asymptote)
        self.minimum_points = 2 if asymptote is not None else 3

    def __repr__(self) -> str:
        return f"{type(self).__name__}(asymptote={self.asymptote})"

    @property
    def name(self) -> str:
        return "exponential"

    def extrapolate(self, scale_factors, values, sigmas=None) -> tuple[float, float]:
        x, y, s = check_points(scale_factors, values, sigmas, self.minimum_points, self.name)
        if self.asymptote is not None:
            return self._known_asymptote(x, y, s)
        span = max(float(np.ptp(y)), 1e-12)
        sign = 1.0 if y[0] >= y[-1] else -1.0
        guess = (float(y[-1]) - sign * 0.1 * span, sign * span, 1.0 / float(np.ptp(x)))
        bounds = ([-np.inf, -np.inf, 0.0], [np.inf, np.inf, np.inf])

        def model(lam, a, b, c):
            return a + b * np.exp(-c * lam)

        (a, b, _), covariance = _curve_fit(self.name, model, x, y, s, guess, bounds)
        value = a + b
        gradient = np.array([1.0, 1.0, 0.0])
        return float(value), _propagated(self.name, gradient, covariance, x.size - 3, s)

    def _known_asymptote(self, x, y, s) -> tuple[float, float]:
        shifted = y - self.asymptote
        if np.any(shifted == 0) or not (np.all(shifted > 0) or np.all(shifted < 0)):
            raise ExtrapolationError(
                f"{self.name}: the values cross the asymptote {self.asymptote}, so they do "
                "not decay towards it; try 'linear' or 'richardson'"
            )
        sign = float(np.sign(shifted[0]))
        logs = np.log(np.abs(shifted))
        log_sigmas = None if s is None else s / np.abs(shifted)
        line = LinearExtrapolator()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            log_value, log_error = line.extrapolate(x, logs, log_sigmas)
        magnitude = math.exp(log_value)
        value = self.asymptote + sign * magnitude
        if s is None and x.size == 2:
            return value, _no_uncertainty(self.name)
        return value, magnitude * log_error


class IBMExponentialExtrapolator(Extrapolator):
    """``y(λ) = a·e^{bλ}`` (the form of IBM's runtime "exponential" extrapolator); the
    zero-noise value is ``a``. All values must have one sign (fit of ``log|y|`` by a line)."""

    minimum_points = 2

    @property
    def name(self) -> str:
        return "ibm_exponential"

    def extrapolate(self, scale_factors, values, sigmas=None) -> tuple[float, float]:
        return ExponentialExtrapolator(asymptote=0.0).extrapolate(scale_factors, values, sigmas)


class DoubleExponentialExtrapolator(Extrapolator):
    """``y(λ) = a·e^{−bλ} + c·e^{−dλ}`` with ``0 ≤ b ≤ d``; zero-noise value ``a + c``.
    Four parameters: needs at least four points (more are advisable)."""

    minimum_points = 4

    @property
    def name(self) -> str:
        return "double_exponential"

    def extrapolate(self, scale_factors, values, sigmas=None) -> tuple[float, float]:
        x, y, s = check_points(scale_factors, values, sigmas, self.minimum_points, self.name)
        rate = 1.0 / float(np.ptp(x))
        guess = (float(y[-1]), 0.1 * rate, float(y[0] - y[-1]), 3.0 * rate)
        bounds = ([-np.inf, 0.0, -np.inf, 0.0], [np.inf, np.inf, np.inf, np.inf])

        def model(lam, a, b, c, d):
            return a * np.exp(-b * lam) + c * np.exp(-d * lam)

        (a, _, c, _), covariance = _curve_fit(self.name, model, x, y, s, guess, bounds)
        gradient = np.array([1.0, 0.0, 1.0, 0.0])
        return float(a + c), _propagated(self.name, gradient, covariance, x.size - 4, s)


_BY_NAME = {
    "linear": LinearExtrapolator,
    "richardson": RichardsonExtrapolator,
    "polynomial": PolynomialExtrapolator,
    "exponential": ExponentialExtrapolator,
    "ibm_exponential": IBMExponentialExtrapolator,
    "double_exponential": DoubleExponentialExtrapolator,
}


def extrapolator(spec: str | Extrapolator) -> Extrapolator:
    """An extrapolator from a name: ``"linear"``, ``"richardson"``, ``"polynomial"`` (order
    2) or ``"polynomial:3"``, ``"exponential"``, ``"ibm_exponential"``,
    ``"double_exponential"``; an :class:`Extrapolator` is returned as is."""
    if isinstance(spec, Extrapolator):
        return spec
    name, _, argument = str(spec).partition(":")
    if name not in _BY_NAME:
        raise ValueError(f"unknown extrapolator {spec!r}; choose from {sorted(_BY_NAME)}")
    if name == "polynomial":
        return PolynomialExtrapolator(int(argument) if argument else 2)
    if argument:
        raise ValueError(f"{name} takes no argument, got {spec!r}")
    return _BY_NAME[name]()
