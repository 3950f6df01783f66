"""The job object of qnoise's local primitives."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from qiskit.primitives import PrimitiveResult
from qiskit.primitives.base.base_primitive_job import BasePrimitiveJob
from qiskit.providers import JobStatus

__all__ = ["CompletedJob"]


class CompletedJob(BasePrimitiveJob):
    """The job of a local primitive that ran when it was submitted: ``result()`` returns at
    once (or raises the error the run met, as Qiskit's ``PrimitiveJob`` does)."""

    def __init__(self, result=None, error: BaseException | None = None) -> None:
        super().__init__(job_id=str(uuid.uuid4()))
        self._result, self._error = result, error

    @classmethod
    def of(cls, run_pub: Callable, pubs: Iterable) -> CompletedJob:
        """Run ``run_pub`` on every PUB now: a job holding the ``PrimitiveResult``, or the
        error the first failing PUB raised (surfaced by :meth:`result`)."""
        try:
            results = [run_pub(pub) for pub in pubs]
        except Exception as exc:
            return cls(error=exc)
        return cls(PrimitiveResult(results, metadata={"version": 2}))

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
