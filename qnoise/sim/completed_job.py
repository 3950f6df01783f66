"""The job object of qnoise's local primitives."""

from __future__ import annotations

import uuid

from qiskit.primitives.base.base_primitive_job import BasePrimitiveJob
from qiskit.providers import JobStatus

__all__ = ["CompletedJob"]


class CompletedJob(BasePrimitiveJob):
    """The job of a local primitive that ran when it was submitted: ``result()`` returns at
    once (or raises the error the run met, as Qiskit's ``PrimitiveJob`` does)."""

    def __init__(self, result=None, error: BaseException | None = None) -> None:
        super().__init__(job_id=str(uuid.uuid4()))
        self._result, self._error = result, error

    def result(self):
        if self._error is not None:
            raise self._error
        return self._result

    def status(self) -> JobStatus:
        return JobStatus.ERROR if self._error is not None else JobStatus.DONE

    def done(self) -> bool:
        return True

    def running(self) -> bool:
        return False

    def cancelled(self) -> bool:
        return False

    def in_final_state(self) -> bool:
        return True

    def cancel(self) -> bool:
        return False
