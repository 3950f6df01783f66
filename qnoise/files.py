"""Crash-safe file writes: the one home of qnoise's atomic write, and the check that a
folder can be written before work starts."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "check_writable_folder"]


def atomic_write(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, flushed to
    disk and renamed over ``path``: readers see the old file or the new one, never a
    partial one. Creates the folder; the file gets mode 0644."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp")
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return path


def check_writable_folder(folder: str | Path) -> None:
    """Refuse, with one ``ValueError`` line, a folder that cannot be written or created:
    ``folder`` or, if it does not exist yet, its nearest existing ancestor must be a
    writable folder (not a file)."""
    probe = Path(folder)
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"{probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"{probe} is not writable")
