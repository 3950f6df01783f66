"""The frame of a training loop: stopping on a signal without losing its checkpoint, and
the thread counts it runs with."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["GracefulStop", "checkpointed", "torch_threads"]


class GracefulStop:
    """Context manager: SIGINT (Ctrl-C) and SIGTERM (what batch schedulers send before they
    kill) ask the loop to stop at its next boundary.

    The first signal sets :attr:`requested`; a second one raises ``KeyboardInterrupt`` at
    once, except while :attr:`saving` is set, so the final checkpoint is never cut short.
    Handlers are installed only in the main thread (elsewhere the context does nothing) and
    the previous ones are restored on exit.
    """

    def __init__(self) -> None:
        self.requested = False
        self.saving = False
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.saving:
            return
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            self._previous = {
                sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)
            }
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


@contextmanager
def checkpointed(lock, save: Callable[[], None]) -> Iterator[GracefulStop]:
    """The frame of a training loop: hold the run directory's ``lock`` (a
    :class:`qnoise.agents.rundir.RunLock`) and yield a :class:`GracefulStop` for the loop to poll.
    However the loop ends, ``save()`` runs with further signals ignored, then the lock is
    released and the previous signal handlers come back.

    Inside the frame BLAS runs on one thread: the environment's linear algebra (L-BFGS-B's
    updates, small matrix products) works on arrays of a few dozen entries, where BLAS
    threads only spin against the other runs and the agent sharing the cores."""
    from threadpoolctl import threadpool_limits

    lock.acquire()
    with GracefulStop() as signals, threadpool_limits(limits=1, user_api="blas"):
        try:
            yield signals
        finally:
            signals.saving = True
            try:
                save()
            finally:
                lock.release()


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``count`` inside, restored after."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
