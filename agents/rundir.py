"""Run directories on disk: one writer at a time, safe checkpoints, tolerant record files.

A run directory is written by exactly one process. :class:`RunLock` takes an exclusive
``fcntl.flock`` on ``<run>/.lock`` (released by the kernel when the holder exits, however it
exits) and records the holder's PID in it, so a second writer fails at once with a message
that names the holder.

Checkpoints never run code when read: :func:`save_checkpoint` stores tensors and plain data
only (numpy arrays become tensors) and :func:`load_checkpoint` reads with
``torch.load(weights_only=True)``, which refuses any other pickled object.

Record files (``metrics.jsonl``, ``tests.jsonl``) are appended one JSON line per record. A
kill or a full disk during an append can leave a torn last line; readers skip it with a
warning that names the file, and a resumed run drops it.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qnoise.agents.records import CheckpointError
from qnoise.files import atomic_write

__all__ = [
    "LOCK",
    "HoldsRunLock",
    "RunLock",
    "RunLockedError",
    "TornRecordWarning",
    "holder",
    "is_locked",
    "load_checkpoint",
    "open_run_dir",
    "read_records",
    "save_checkpoint",
    "truncate_records",
]

LOCK = ".lock"
_NDARRAY = "__ndarray__"


class RunLockedError(CheckpointError):
    """The run directory is being written by another process."""


class TornRecordWarning(UserWarning):
    """A record file ends in a partial line (a write was cut off); the line is skipped."""


class RunLock:
    """Exclusive lock of a run directory for the life of one writer.

    ``acquire()`` creates the directory if needed and raises :class:`RunLockedError` at once
    (no waiting) when another process holds the lock. The lock is released by ``release()``
    or when the process ends, including by ``kill -9``.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        import fcntl

        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise RunLockedError(
                f"{self.path.parent} is being written by another process{holder(self.path)}; "
                "wait for it to finish or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class HoldsRunLock:
    """Mixin of run writers: :meth:`close` (and garbage collection) release ``self._lock``."""

    _lock: RunLock | None = None

    def close(self) -> None:
        """Release the run directory's lock (the process ending releases it too)."""
        if self._lock is not None:
            self._lock.release()

    def __del__(self) -> None:
        self.close()


def open_run_dir(run_dir: Path, read_only: bool, opener: Callable[[], object]) -> RunLock:
    """Take ``run_dir``'s lock (unless ``read_only``) and call ``opener()``; if it fails, the
    lock is released and a directory this call created is removed (a failed start leaves no
    half-made run). Returns the lock (held by writers)."""
    lock = RunLock(run_dir)
    created = not Path(run_dir).exists()
    if not read_only:
        lock.acquire()
    try:
        opener()
    except BaseException:
        lock.release()
        if created and Path(run_dir).exists():
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return lock


def holder(lock_file: Path) -> str:
    """`` (PID n)`` of the process that wrote ``lock_file``, or ``""`` if unreadable."""
    try:
        pid = int(lock_file.read_text().strip())
    except (OSError, ValueError):
        return ""
    return f" (PID {pid})"


def is_locked(run_dir: str | Path) -> bool:
    """Whether another process holds ``run_dir``'s lock right now."""
    lock = RunLock(run_dir)
    if not lock.path.exists():
        return False
    try:
        lock.acquire()
    except RunLockedError:
        return True
    lock.release()
    return False


# ---------------------------------------------------------------- checkpoints
def _encode(value):
    """``value`` with numpy arrays as tagged tensors and numpy scalars as Python numbers."""
    import torch

    if isinstance(value, np.ndarray):
        return {_NDARRAY: torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_encode(item) for item in value)
    return value


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {_NDARRAY}:
            return value[_NDARRAY].numpy()
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_decode(item) for item in value)
    return value


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write ``state`` (tensors, numpy arrays, numbers, strings, lists, tuples, dicts)
    atomically to ``path`` in a form :func:`load_checkpoint` reads without unpickling code."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(_encode(state), buffer)
    atomic_write(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint of :func:`save_checkpoint` onto the CPU.

    Raises
    ------
    CheckpointError
        The file is missing, unreadable, or holds anything but tensors and plain data (a
        pickled object that could run code is refused before it is built).
    """
    import pickle

    import torch

    path = Path(path)
    try:
        with warnings.catch_warnings():  # torch's note on pickle protocols says nothing useful
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found:
            raise CheckpointError(
                f"refusing to load {path}: it holds a pickled object ({found.group(1)}) "
                "besides tensors and plain data, and loading it could run code"
            ) from None
        raise CheckpointError(f"cannot load {path}: not a qnoise checkpoint (corrupt)") from None
    except Exception as exc:  # truncated, not a checkpoint at all, unreadable
        raise CheckpointError(f"cannot load {path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a qnoise checkpoint (top level is not a dict)")
    return _decode(state)


# ---------------------------------------------------------------- record files
def _parse(path: Path) -> tuple[list[dict], bool]:
    """``(records, torn)``: the file's records and whether its last line was cut off (from
    ``path``, else from its gzipped copy ``path.gz``).

    A last line that is not valid JSON is torn (a cut-off append); a bad line anywhere else
    is corruption and raises :class:`CheckpointError` naming the file and line."""
    packed = path.with_name(path.name + ".gz")
    if path.exists():
        text = path.read_text(encoding="utf-8", errors="replace")
    elif packed.exists():  # the gzipped copy a run keeps in git (docs/results)
        try:
            text = gzip.decompress(packed.read_bytes()).decode("utf-8", errors="replace")
        except (OSError, EOFError) as exc:
            raise CheckpointError(f"{packed}: not a gzip file ({exc})") from None
        path = packed
    else:
        return [], False
    lines = [
        (number, line) for number, line in enumerate(text.split("\n"), start=1) if line.strip()
    ]
    records: list[dict] = []
    for index, (number, line) in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if index == len(lines) - 1:
                return records, True
            raise CheckpointError(f"{path}, line {number}: not a JSON record ({exc})") from None
    return records, False


def _warn_torn(path: Path, action: str) -> None:
    warnings.warn(
        f"{path}: {action} an incomplete last line (a write was cut off)",
        TornRecordWarning,
        stacklevel=3,
    )


def read_records(path: str | Path) -> list[dict]:
    """The JSON records of a ``.jsonl`` file, or of its gzipped copy ``.jsonl.gz`` when the
    file is missing (as in the run folders kept under ``docs/results``); empty if neither
    exists. A torn last line is skipped with a :class:`TornRecordWarning` that names the
    file; a corrupt line elsewhere raises :class:`CheckpointError` naming the file and
    line. Never writes."""
    path = Path(path)
    records, torn = _parse(path)
    if torn:
        _warn_torn(path, "skipped")
    return records


def truncate_records(path: str | Path, last_episode: int | None = None) -> list[dict]:
    """Keep the records of episodes ``<= last_episode`` (resuming from a checkpoint; all of
    them when ``None``) and drop a torn last line, warning with the file's name; rewrites
    ``path`` atomically and returns the records kept."""
    path = Path(path)
    records, torn = _parse(path)
    if torn:
        _warn_torn(path, "dropped")
    kept = [r for r in records if last_episode is None or int(r.get("episode", 0)) <= last_episode]
    atomic_write(path, "".join(json.dumps(r) + "\n" for r in kept).encode())
    return kept
