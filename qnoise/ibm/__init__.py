"""IBM Quantum backends: fake ones offline (local mode), real ones through Qiskit Runtime.

:func:`get_backend` resolves names; :func:`energy_on_backend` transpiles to ISA, runs the
runtime Estimator and reports the energy beside the PTM simulator's prediction for that
backend's calibration; job records are durable (:class:`JobStore`) and :func:`resume_job`
fetches results later. Credentials come from a saved account or ``QISKIT_IBM_TOKEN`` /
``QISKIT_IBM_INSTANCE`` and are never printed.
"""

from qnoise.ibm.backends import IBMAccountError, get_backend, is_fake
from qnoise.ibm.jobs import IBMJobError, JobStore, with_retries
from qnoise.ibm.run import (
    counts_batch_on_backend,
    counts_on_backend,
    energy_on_backend,
    folded_zne_on_backend,
    resume_job,
    to_isa,
)

__all__ = [
    "IBMAccountError",
    "IBMJobError",
    "JobStore",
    "counts_batch_on_backend",
    "counts_on_backend",
    "energy_on_backend",
    "folded_zne_on_backend",
    "get_backend",
    "is_fake",
    "resume_job",
    "to_isa",
    "with_retries",
]
