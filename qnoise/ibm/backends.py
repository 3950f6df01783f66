"""IBM backends by name: fake ones (offline, local mode) and real ones (Qiskit Runtime)."""

from __future__ import annotations

import os
import re
import socket

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
    instance = os.environ.get("QISKIT_IBM_INSTANCE")
    try:
        if token:
            return QiskitRuntimeService(
                channel="ibm_quantum_platform", token=token, instance=instance
            )
        return QiskitRuntimeService()
    except AccountNotFoundError:
        raise IBMAccountError(SAVE_ACCOUNT_HINT) from None
    except Exception as exc:
        raise IBMAccountError(_account_failure(exc, instance)) from None


_CRN = re.compile(r"^crn:v1:[^:]+:[^:]+:quantum-computing:[^:]+:a/[^:]+:[^:]+::$")


def _account_failure(exc: BaseException, instance: str | None) -> str:
    """What went wrong when opening the service, in one line (never the token): no network,
    a malformed instance, or else the account itself."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 20:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    names = {type(e).__name__ for e in chain}
    offline = " (fake backends such as fake_manila work offline)"
    if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolutionError" in names:
        return "cannot reach IBM Quantum: its host name does not resolve (no network?)" + offline
    if names & {"ConnectionError", "NewConnectionError", "MaxRetryError", "ConnectTimeout",
                "ReadTimeout", "TimeoutError", "ConnectionRefusedError"}:  # fmt: skip
        return "cannot reach IBM Quantum: the connection failed (network or proxy?)" + offline
    if instance and instance.startswith("crn:") and not _CRN.match(instance):
        return (
            f"the instance {instance!r} is not a valid CRN (expected crn:v1:bluemix:public:"
            "quantum-computing:REGION:a/ACCOUNT_ID:INSTANCE_ID::); check QISKIT_IBM_INSTANCE "
            "or the saved account"
        )
    return (
        f"cannot open IBM Quantum with the configured account ({type(exc).__name__}); "
        "check the token and instance, or use a fake backend"
    )


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
