"""The one place qnoise connects to Ray (sweeps and experience workers)."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def ray_session(address: str | None, num_cpus: int):
    """Yield the ``ray`` module, connected: to the cluster at ``address``, else to the running
    instance, else to a new local instance with ``num_cpus`` CPUs (shut down on exit; an
    instance this function did not start is left running)."""
    try:
        import ray
    except ImportError:
        raise ValueError("the Ray engine needs Ray: pip install 'qnoise[ray]'") from None
    started = not ray.is_initialized()
    if started:
        options = {"include_dashboard": False, "log_to_driver": False}
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=max(1, num_cpus), **options)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()
