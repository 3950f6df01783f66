"""The one place that builds Qiskit Runtime primitives.

qiskit-ibm-runtime 0.50 deprecated ``EstimatorV2`` in favour of the executor primitives;
qnoise builds its estimator only here, so moving to ``executor_estimator.Estimator`` is a
change of this function alone. Tested with qiskit-ibm-runtime 0.51 (``pyproject.toml`` pins
the range).
"""

from __future__ import annotations

__all__ = ["MODES", "estimator", "execution_mode", "sampler"]

MODES = ("job", "session", "batch")


def execution_mode(backend, mode: str = "job"):
    """What primitives run in: the backend itself (one job, and always for fake backends,
    which run locally), a ``Session`` or a ``Batch``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    from qnoise.ibm.backends import is_fake

    if mode == "job" or is_fake(getattr(backend, "name", "")):
        return backend
    from qiskit_ibm_runtime import Batch, Session

    return Session(backend=backend) if mode == "session" else Batch(backend=backend)


def estimator(mode, *, shots: int | None = None, precision: float | None = None,
              resilience_level: int | None = None, zne: dict | None = None, seed=None):  # fmt: skip
    """A runtime Estimator on ``mode`` (backend, Session or Batch).

    ``shots`` (default_shots) or ``precision`` (default_precision) set the budget;
    ``resilience_level`` and ``zne`` (``{"noise_factors": (1, 3, 5), "extrapolator":
    "exponential"}``) apply on real backends only (local mode ignores them); ``seed`` seeds
    the local simulator.
    """
    import warnings

    from qiskit_ibm_runtime import EstimatorV2

    with warnings.catch_warnings():  # deprecated in 0.50; the executor move happens here
        warnings.filterwarnings("ignore", message=".*EstimatorV2 class is deprecated")
        estimator = EstimatorV2(mode=mode)
    options = estimator.options
    if shots is not None:
        options.default_shots = int(shots)
    if precision is not None:
        options.default_precision = float(precision)
    if resilience_level is not None:
        options.resilience_level = int(resilience_level)
    if zne:
        options.resilience.zne_mitigation = True
        if "noise_factors" in zne:
            options.resilience.zne.noise_factors = tuple(zne["noise_factors"])
        if "extrapolator" in zne:
            options.resilience.zne.extrapolator = zne["extrapolator"]
    if seed is not None:
        options.simulator.seed_simulator = int(seed)
    return estimator


def sampler(mode, *, shots: int | None = None, seed=None):
    """A runtime Sampler on ``mode`` (backend, Session or Batch) with ``shots`` per circuit."""
    import warnings

    from qiskit_ibm_runtime import SamplerV2

    with warnings.catch_warnings():  # deprecated in 0.50 like EstimatorV2; moves here too
        warnings.filterwarnings("ignore", message=".*SamplerV2 class is deprecated")
        primitive = SamplerV2(mode=mode)
    if shots is not None:
        primitive.options.default_shots = int(shots)
    if seed is not None:
        primitive.options.simulator.seed_simulator = int(seed)
    return primitive
