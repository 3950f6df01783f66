"""Durable job records: what was submitted, written before waiting, results added after."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from qnoise.files import atomic_write

__all__ = ["IBMJobError", "JobRecordWarning", "JobStore", "with_retries"]


class JobRecordWarning(UserWarning):
    """A file in a job-record folder that cannot be read as a record."""


class IBMJobError(RuntimeError):
    """A job failed on the backend (the message carries the backend's own error)."""


def _transient() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        from qiskit_ibm_runtime.api.exceptions import RequestsApiError

        errors.append(RequestsApiError)
    except ImportError:  # pragma: no cover - older layouts of the package
        pass
    return tuple(errors)


def with_retries(call: Callable, attempts: int = 4, delay: float = 2.0, sleep=time.sleep):
    """``call()``, retried with exponential backoff (``delay``, 2·delay, …) on transient
    network errors; other errors propagate at once."""
    transient = _transient()
    for attempt in range(attempts):
        try:
            return call()
        except transient:
            if attempt == attempts - 1:
                raise
            sleep(delay * 2**attempt)
    raise AssertionError("unreachable")


class JobStore:
    """``<run_dir>/jobs/<job_id>.json`` records, written atomically."""

    def __init__(self, run_dir: str | Path) -> None:
        self.directory = Path(run_dir) / "jobs"

    def path(self, job_id: str) -> Path:
        return self.directory / f"{job_id}.json"

    def write(self, record: dict) -> Path:
        return atomic_write(self.path(record["job_id"]), json.dumps(record, indent=2).encode())

    def read(self, job_id: str) -> dict:
        path = self.path(job_id)
        if not path.exists():
            raise FileNotFoundError(f"no record of job {job_id} in {self.directory}")
        return json.loads(path.read_text(encoding="utf-8"))

    def records(self) -> list[dict]:
        """All readable records, oldest first; each unreadable one (not JSON, not a job
        record) is skipped with a :class:`JobRecordWarning` naming its file. Never writes."""
        if not self.directory.is_dir():
            return []
        records = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(record, dict) or not isinstance(record.get("job_id"), str):
                    raise ValueError("not a job record (no job_id)")
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                warnings.warn(f"{path}: unreadable job record, skipped ({exc})",
                              JobRecordWarning, stacklevel=2)  # fmt: skip
                continue
            records.append(record)
        return sorted(records, key=lambda r: str(r.get("submitted_at", "")))
