"""Helpers shared by the ``qnoise`` commands."""

from __future__ import annotations

SHORTEST_HELP = (
    "a run's shortest circuit below chemical accuracy without noise (default: the lowest-error one)"
)


def scale_factors(text: str, option: str) -> list[float]:
    """Comma-separated noise scale factors: finite, >= 1, distinct, at least two."""
    import math

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, got {text!r}") from None
    if len(values) < 2:
        raise ValueError(f"{option} needs at least two scale factors, got {text!r}")
    if any(not math.isfinite(v) or v < 1 for v in values):
        raise ValueError(f"{option} must be finite numbers >= 1, got {text!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{option} repeats a scale factor: {text!r}")
    return values


def progress_bar(total: int | None, description: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="it", leave=False)
