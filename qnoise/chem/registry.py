"""The shipped problems: JSON files in ``qnoise/chem/data``, readable without any chemistry
package."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from qnoise.chem.problem import Problem

_PACKAGE = "qnoise.chem.data"


def _files() -> dict[str, resources.abc.Traversable]:
    root = resources.files(_PACKAGE)
    return {
        entry.name.removesuffix(".json"): entry
        for entry in root.iterdir()
        if entry.name.endswith(".json")
    }


def available() -> list[str]:
    """Names of the shipped problems, in the order of qubit count then name."""
    problems = [load(name) for name in _files()]
    return [p.name for p in sorted(problems, key=lambda p: (p.num_qubits, p.name))]


@cache
def _read(name: str) -> str:
    files = _files()
    if name not in files:
        lowered = {key.lower(): key for key in files}
        if name.lower() not in lowered:
            raise KeyError(
                f"unknown problem {name!r}; shipped problems: {', '.join(sorted(files))}. "
                "Build others with qnoise.chem.molecule(...)."
            )
        name = lowered[name.lower()]
    return files[name].read_text(encoding="utf-8")


def load(name: str) -> Problem:
    """Load a shipped problem by name (case-insensitive), e.g. ``load("LiH-4q")``.

    Returns
    -------
    Problem
        ``.hamiltonian`` (``SparsePauliOp`` without the constant), ``.constant`` (Ha),
        ``.exact_energy`` and ``.hf_energy`` (totals, Ha), ``.metadata``. Each call returns
        a new object, so changing one does not affect later loads.
    """
    return Problem.from_dict(json.loads(_read(str(name))))
