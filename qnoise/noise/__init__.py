"""Noise channels (as PTMs), noise models, and importers from Aer and IBM backends."""

from qnoise.noise.channels import (
    Channel,
    ReadoutError,
    amplitude_damping,
    depolarizing,
    kraus,
    pauli_channel,
    phase_damping,
    readout_error,
    reset,
    thermal_relaxation,
)
from qnoise.noise.importers import LEVELS, from_aer, from_backend
from qnoise.noise.model import ANY_GATE, NoiseModel
from qnoise.noise.named import available_models, named_model
from qnoise.noise.resolve import resolve_noise

__all__ = [
    "ANY_GATE",
    "LEVELS",
    "Channel",
    "NoiseModel",
    "ReadoutError",
    "amplitude_damping",
    "available_models",
    "depolarizing",
    "from_aer",
    "from_backend",
    "kraus",
    "named_model",
    "pauli_channel",
    "phase_damping",
    "readout_error",
    "reset",
    "resolve_noise",
    "thermal_relaxation",
]
