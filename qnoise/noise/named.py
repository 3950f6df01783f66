"""Built-in noise models addressed by name, for configs and the command line.

============================  ==============================================================
name                          model
============================  ==============================================================
``ideal``                     no noise
``depolarizing:p1=..,p2=..``  depolarizing after every 1-qubit (p1) and 2-qubit (p2) gate;
                              optional ``ro=..`` symmetric readout flip probability
``fake_<device>:<level>``     :func:`~qnoise.noise.from_backend` of the fake backend with
                              ``level`` in {median, max, 10max}
``fake_<device>``             per-qubit calibration (``level=None``), as Aer's from_backend
============================  ==============================================================

Fake devices come from ``qiskit_ibm_runtime.fake_provider`` (calibration snapshots shipped in
that package; no network).
"""

from __future__ import annotations

from functools import cache, lru_cache

from qnoise.noise.channels import depolarizing, readout_error
from qnoise.noise.importers import LEVELS, from_backend
from qnoise.noise.model import ANY_GATE, NoiseModel

__all__ = ["available_models", "fake_backend", "named_model"]

FAKE_DEVICES = ("mumbai", "ourense", "lagos", "manila")


def available_models() -> list[str]:
    """Names (and patterns) accepted by :func:`named_model`."""
    names = ["ideal", "depolarizing:p1=1e-3,p2=5e-3"]
    for device in FAKE_DEVICES:
        names.append(f"fake_{device}")
        names.extend(f"fake_{device}:{level}" for level in LEVELS)
    return names


@cache
def fake_backend(name: str):
    """A fake IBM backend by short name, e.g. ``"fake_mumbai"`` -> ``FakeMumbaiV2()``."""
    from qiskit_ibm_runtime import fake_provider

    device = name.removeprefix("fake_")
    class_name = f"Fake{device.capitalize()}V2"
    backend_class = getattr(fake_provider, class_name, None)
    if backend_class is None:
        raise ValueError(
            f"unknown fake backend {name!r}: qiskit_ibm_runtime.fake_provider has no {class_name}"
        )
    return backend_class()


def _parse_options(text: str) -> dict[str, float]:
    options = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"expected key=value in noise spec, got {item!r}")
        try:
            options[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"noise spec option {key!r} needs a number, got {value!r}") from None
    return options


@lru_cache(maxsize=64)
def _cached_model(spec: str) -> NoiseModel | None:
    name, _, args = spec.partition(":")
    if name == "ideal":
        return None
    if name == "depolarizing":
        options = _parse_options(args)
        unknown = set(options) - {"p1", "p2", "ro"}
        if unknown:
            raise ValueError(f"unknown depolarizing options {sorted(unknown)}; use p1, p2, ro")
        model = NoiseModel(name=spec)
        model.add_gate_error(depolarizing(options.get("p1", 1e-3), 1), ANY_GATE)
        model.add_gate_error(depolarizing(options.get("p2", 5e-3), 2), ANY_GATE)
        if options.get("ro"):
            model.add_readout_error(readout_error(options["ro"]))
        return model
    if name.startswith("fake_"):
        level = args or None
        if level is not None and level not in LEVELS:
            raise ValueError(f"unknown level {level!r} in {spec!r}; use one of {LEVELS}")
        return from_backend(fake_backend(name), level=level)
    raise ValueError(f"unknown noise model {spec!r}; available: {', '.join(available_models())}")


def named_model(spec: str) -> NoiseModel | None:
    """The built-in model called ``spec`` (``None`` for ``"ideal"``); a fresh copy each call."""
    model = _cached_model(spec.strip())
    return None if model is None else model.copy()
