"""Turn whatever a user passes as ``noise=`` into a qnoise ``NoiseModel`` (or ``None``)."""

from __future__ import annotations

from qnoise.noise.importers import from_aer, from_backend
from qnoise.noise.model import NoiseModel
from qnoise.noise.named import named_model

__all__ = ["resolve_noise"]


def resolve_noise(noise) -> NoiseModel | None:
    """Accept ``None``, a qnoise ``NoiseModel``, a built-in name (``"fake_mumbai:median"``), a
    record of :meth:`NoiseModel.to_dict`, a ``qiskit_aer.noise.NoiseModel`` or a
    ``BackendV2`` (per-qubit calibration).

    Raises
    ------
    TypeError
        For anything else.
    """
    if noise is None or isinstance(noise, NoiseModel):
        return noise
    if isinstance(noise, str):
        return named_model(noise)
    if isinstance(noise, dict):
        return NoiseModel.from_dict(noise)
    module = type(noise).__module__
    if module.startswith("qiskit_aer.noise"):
        return from_aer(noise)
    if getattr(noise, "version", None) == 2 and hasattr(noise, "target"):
        return from_backend(noise, level=None)
    raise TypeError(
        "noise must be None, a qnoise NoiseModel, a model name, a NoiseModel.to_dict record, "
        f"a qiskit_aer NoiseModel or a BackendV2; got {type(noise).__name__}"
    )
