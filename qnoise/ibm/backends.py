"""IBM backends by name: fake ones (offline, local mode) and real ones (Qiskit Runtime)."""

from __future__ import annotations

import os

__all__ = ["IBMAccountError", "get_backend", "is_fake"]

SAVE_ACCOUNT_HINT = (
    "no IBM Quantum account found: save one once with QiskitRuntimeService.save_account("
    "channel='ibm_quantum_platform', token=..., instance=...), or set QISKIT_IBM_TOKEN "
    "(and QISKIT_IBM_INSTANCE); fake backends (fake_manila, fake_mumbai, ...) need none"
)


class IBMAccountError(RuntimeError):
    """A real backend was asked for without usable IBM Quantum credentials."""


def is_fake(name: str) -> bool:
    """Whether ``name`` names a fake backend of ``qiskit_ibm_runtime.fake_provider``."""
    return str(name).startswith("fake_")


def service():
    """A ``QiskitRuntimeService`` from ``QISKIT_IBM_TOKEN`` / ``QISKIT_IBM_INSTANCE`` or
    the saved account. The token is passed through, never printed or logged."""
    from qiskit_ibm_runtime import QiskitRuntimeService
    from qiskit_ibm_runtime.accounts import AccountNotFoundError

    token = os.environ.get("QISKIT_IBM_TOKEN")
    try:
        if token:
            return QiskitRuntimeService(
                channel="ibm_quantum_platform",
                token=token,
                instance=os.environ.get("QISKIT_IBM_INSTANCE"),
            )
        return QiskitRuntimeService()
    except AccountNotFoundError:
        raise IBMAccountError(SAVE_ACCOUNT_HINT) from None
    except Exception as exc:
        raise IBMAccountError(
            f"cannot open IBM Quantum with the configured account ({type(exc).__name__}); "
            "check the token and instance, or use a fake backend"
        ) from None


def get_backend(name: str):
    """A ``BackendV2`` by name: ``"fake_manila"``, ``"fake_mumbai"``, … (offline), or a real
    device name such as ``"ibm_brisbane"`` (needs an account, see :func:`service`).

    Raises
    ------
    ValueError
        For an unknown fake backend.
    IBMAccountError
        For a real backend without credentials (the message says how to save an account).
    """
    if is_fake(name):
        from qnoise.noise.named import fake_backend

        return fake_backend(name)
    return service().backend(name)
