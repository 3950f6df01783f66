"""The optional chemistry stack (``pip install 'qnoise[chem]'``: PySCF and qiskit-nature)."""

from __future__ import annotations

import importlib.util

CHEM_PACKAGES = {"pyscf": "pyscf", "qiskit_nature": "qiskit-nature"}
INSTALL_HINT = "pip install 'qnoise[chem]'  (installs pyscf and qiskit-nature 0.8)"


def chem_extra_available() -> bool:
    """True when PySCF and qiskit-nature can be imported."""
    return all(importlib.util.find_spec(module) for module in CHEM_PACKAGES)


def require_chem_extra(feature: str) -> None:
    """Raise an ImportError naming the missing packages and how to install them."""
    missing = [pkg for module, pkg in CHEM_PACKAGES.items() if not importlib.util.find_spec(module)]
    if missing:
        raise ImportError(
            f"{feature} needs the chemistry extra (missing: {', '.join(missing)}). "
            f"Install it with: {INSTALL_HINT}. The shipped problems in qnoise.chem.load() "
            "need no extra."
        )
