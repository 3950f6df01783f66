"""Extrapolators recover known curves exactly, propagate errors, and refuse bad data."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from qnoise.mitigation import (
    DoubleExponentialExtrapolator,
    ExponentialExtrapolator,
    ExtrapolationError,
    ExtrapolationWarning,
    IBMExponentialExtrapolator,
    LinearExtrapolator,
    PolynomialExtrapolator,
    RichardsonExtrapolator,
    extrapolator,
)

X = np.array([1.0, 1.5, 2.0, 3.0, 4.0, 5.0])

CURVES = {
    "linear": (LinearExtrapolator(), lambda x: 2.0 - 0.3 * x, 2.0),
    "polynomial(2)": (PolynomialExtrapolator(2), lambda x: 1 + 0.5 * x - 0.2 * x**2, 1.0),
    "polynomial(3)": (PolynomialExtrapolator(3), lambda x: -1 + x - 0.1 * x**3, -1.0),
    "exponential": (ExponentialExtrapolator(), lambda x: 0.2 + 0.7 * np.exp(-0.4 * x), 0.9),
    "exponential, rising": (
        ExponentialExtrapolator(),
        lambda x: -1.0 - 0.6 * np.exp(-0.3 * x),
        -1.6,
    ),
    "exponential, asymptote": (
        ExponentialExtrapolator(asymptote=0.2),
        lambda x: 0.2 + 0.7 * np.exp(-0.4 * x),
        0.9,
    ),
    "ibm_exponential": (IBMExponentialExtrapolator(), lambda x: 0.8 * np.exp(-0.3 * x), 0.8),
    "double_exponential": (
        DoubleExponentialExtrapolator(),
        lambda x: 0.5 * np.exp(-0.1 * x) + 0.3 * np.exp(-1.0 * x),
        0.8,
    ),
}


@pytest.mark.parametrize("case", sorted(CURVES))
def test_recovers_the_zero_noise_value_of_its_own_model(case):
    method, curve, expected = CURVES[case]
    value, stderr = method.extrapolate(X, curve(X))
    assert value == pytest.approx(expected, abs=1e-7)
    assert stderr == pytest.approx(0.0, abs=1e-6)


def test_richardson_is_exact_for_a_polynomial_of_degree_below_the_point_count():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    with pytest.warns(ExtrapolationWarning, match="standard error is unknown"):
        value, stderr = RichardsonExtrapolator().extrapolate(x, 0.3 + 0.2 * x - 0.05 * x**3)
    assert value == pytest.approx(0.3, abs=1e-12) and math.isnan(stderr)


def test_richardson_stderr_propagates_sigmas():
    # two points λ = 1, 3: γ = (3/2, -1/2), so stderr = σ sqrt(9/4 + 1/4)
    value, stderr = RichardsonExtrapolator().extrapolate([1, 3], [0.9, 0.7], sigmas=[0.1, 0.1])
    assert value == pytest.approx(1.0)
    assert stderr == pytest.approx(0.1 * math.sqrt(2.5))


def test_weighted_linear_fit_matches_the_textbook_formula():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([0.95, 0.88, 0.83])
    sigma = np.array([0.01, 0.02, 0.04])
    value, stderr = LinearExtrapolator().extrapolate(x, y, sigma)
    w = 1 / sigma**2
    delta = w.sum() * (w * x**2).sum() - (w * x).sum() ** 2
    intercept = ((w * x**2).sum() * (w * y).sum() - (w * x).sum() * (w * x * y).sum()) / delta
    assert value == pytest.approx(intercept, abs=1e-12)
    assert stderr == pytest.approx(math.sqrt((w * x**2).sum() / delta), rel=1e-10)


def test_residual_stderr_is_the_ordinary_least_squares_one():
    rng = np.random.default_rng(0)
    x = np.linspace(1, 5, 9)
    y = 1.0 - 0.1 * x + rng.normal(0, 0.01, x.size)
    value, stderr = LinearExtrapolator().extrapolate(x, y)
    design = np.vander(x, 2, increasing=True)
    coeffs, rss, *_ = np.linalg.lstsq(design, y, rcond=None)
    covariance = rss[0] / (x.size - 2) * np.linalg.inv(design.T @ design)
    assert value == pytest.approx(coeffs[0], abs=1e-12)
    assert stderr == pytest.approx(math.sqrt(covariance[0, 0]), rel=1e-10)


@pytest.mark.parametrize(
    ("x", "y", "sigmas", "message"),
    [
        ([1, 2], [0.9, np.nan], None, "finite"),
        ([1, 2, 3], [0.9, 0.8], None, "3 scale factors but 2 values"),
        ([1], [0.9], None, "at least 2 points"),
        ([1, 3, 2], [0.9, 0.8, 0.7], None, "increasing"),
        ([0, 1, 2], [0.9, 0.8, 0.7], None, "positive"),
        ([1, 2], [0.9, 0.8], [0.1, -0.1], "sigmas"),
    ],
)
def test_bad_input_raises_clear_errors(x, y, sigmas, message):
    with pytest.raises(ExtrapolationError, match=message):
        LinearExtrapolator().extrapolate(x, y, sigmas)


def test_models_ask_for_enough_points():
    with pytest.raises(ExtrapolationError, match="at least 3 points"):
        ExponentialExtrapolator().extrapolate([1, 2], [0.9, 0.8])
    with pytest.raises(ExtrapolationError, match="at least 4 points"):
        DoubleExponentialExtrapolator().extrapolate([1, 2, 3], [0.9, 0.8, 0.75])
    with pytest.raises(ExtrapolationError, match="at least 3 points"):
        PolynomialExtrapolator(2).extrapolate([1, 2], [0.9, 0.8])


def test_values_that_do_not_decay_to_the_asymptote_are_refused():
    with pytest.raises(ExtrapolationError, match="cross the asymptote"):
        ExponentialExtrapolator(asymptote=0.0).extrapolate([1, 2, 3], [0.1, -0.05, 0.02])
    with pytest.raises(ExtrapolationError, match="cross the asymptote"):
        IBMExponentialExtrapolator().extrapolate([1, 2], [0.5, 0.0])


def test_no_extrapolator_returns_a_nan_value():
    # erratic data: every method either returns a finite value or raises
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([0.5, -0.7, 0.9, -1.1, 1.3])
    for name in ("linear", "richardson", "polynomial:2", "exponential", "double_exponential"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExtrapolationWarning)
                value, _ = extrapolator(name).extrapolate(x, y)
        except ExtrapolationError:
            continue
        assert np.isfinite(value)


def test_extrapolators_by_name():
    assert isinstance(extrapolator("linear"), LinearExtrapolator)
    assert extrapolator("polynomial:3").order == 3
    assert extrapolator("polynomial").order == 2
    method = RichardsonExtrapolator()
    assert extrapolator(method) is method
    with pytest.raises(ValueError, match="unknown extrapolator"):
        extrapolator("cubic-spline")
    with pytest.raises(ValueError, match="takes no argument"):
        extrapolator("linear:2")
