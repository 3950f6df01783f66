"""Read circuits that ``qnoise export`` (or Qiskit) wrote: OpenQASM 3, OpenQASM 2 or QPY."""

from __future__ import annotations

from pathlib import Path

from qiskit import QuantumCircuit

__all__ = ["load_circuit", "problem_of"]


def load_circuit(path: str | Path) -> QuantumCircuit:
    """The circuit in ``path``: QPY (``.qpy``, the first circuit of the file), OpenQASM 3 or
    OpenQASM 2 (any text file starting with ``OPENQASM 3`` / ``OPENQASM 2``; version 2 is
    read by Qiskit's ``qasm2`` with the legacy ``qelib1.inc`` gates), or a saved
    :class:`qnoise.vqe.VQEResult` (JSON; its bound circuit).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is neither QPY nor OpenQASM, or does not parse (the message names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such circuit file")
    data = path.read_bytes()
    if data[:5] == b"QISKI" or path.suffix == ".qpy":
        from qiskit import qpy

        try:
            with path.open("rb") as handle:
                circuits = qpy.load(handle)
        except Exception as exc:
            raise ValueError(f"{path}: not a readable QPY file ({exc})") from exc
        if not circuits or not isinstance(circuits[0], QuantumCircuit):
            raise ValueError(f"{path}: the QPY file holds no circuit")
        return circuits[0]
    text = data.decode("utf-8", errors="replace")
    if text.lstrip().startswith("{"):
        text = _vqe_result_qasm(path, text)
    header = text.lstrip()
    if not header.startswith("OPENQASM"):
        raise ValueError(f"{path}: neither QPY nor OpenQASM")
    if header.removeprefix("OPENQASM").lstrip().startswith("2"):
        return _load_qasm2(path, text)
    return _load_qasm3(path, text)


def _load_qasm2(path: Path, text: str) -> QuantumCircuit:
    """OpenQASM 2 with Qiskit's ``qasm2`` reader (``qelib1.inc`` gates as Qiskit's own)."""
    from qiskit import qasm2

    try:
        return qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    except qasm2.QASM2ParseError as exc:
        raise ValueError(f"{path}: OpenQASM 2 does not parse: {exc}") from None


def _load_qasm3(path: Path, text: str) -> QuantumCircuit:
    """OpenQASM 3; the parser reports where it failed on stderr, which goes into the error."""
    import contextlib
    import io

    from qiskit import qasm3

    report = io.StringIO()
    try:
        with contextlib.redirect_stderr(report):
            return qasm3.loads(text)
    except Exception as exc:
        lines = [line for line in report.getvalue().splitlines() if line.strip()]
        detail = lines[0] if lines else (str(exc) or type(exc).__name__)
        raise ValueError(f"{path}: OpenQASM 3 does not parse: {detail}") from None


def _vqe_result_qasm(path: Path, text: str) -> str:
    import json

    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(record, dict) or record.get("kind") != "qnoise.vqe.VQEResult":
        raise ValueError(f"{path}: JSON that is not a saved qnoise VQE result")
    qasm = record.get("circuit_qasm3")
    if not isinstance(qasm, str):
        raise ValueError(
            f"{path}: its 'circuit_qasm3' must be OpenQASM 3 text, got "
            f"{type(qasm).__name__ if qasm is not None else 'nothing'}"
        )
    return qasm


def problem_of(path: str | Path) -> str | None:
    """The problem name a saved VQE result carries (``None`` for other files)."""
    import json

    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, OSError):
        return None
    return record.get("problem") if isinstance(record, dict) else None
