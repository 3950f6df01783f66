"""Read circuits that ``qnoise export`` (or Qiskit) wrote: OpenQASM 3 or QPY."""

from __future__ import annotations

from pathlib import Path

from qiskit import QuantumCircuit

__all__ = ["load_circuit", "problem_of"]


def load_circuit(path: str | Path) -> QuantumCircuit:
    """The circuit in ``path``: QPY (``.qpy``, the first circuit of the file), OpenQASM 3
    (``.qasm``, ``.qasm3`` or any text file starting with ``OPENQASM``), or a saved
    :class:`qnoise.vqe.VQEResult` (JSON; its bound circuit).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is neither QPY nor OpenQASM 3, or does not parse.
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
    if not text.lstrip().startswith("OPENQASM"):
        raise ValueError(f"{path}: neither QPY nor OpenQASM 3")
    from qiskit import qasm3

    try:
        return qasm3.loads(text)
    except Exception as exc:
        raise ValueError(f"{path}: OpenQASM 3 does not parse ({exc})") from exc


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
