"""Multi-seed, multi-setting sweeps of training runs on a local process pool.

A sweep is the grid ``seeds × (values of each --set key)``; every point is an ordinary run
directory ``<out>/<key=value,...>/s<seed>`` (resumable like any run), and the sweep writes
``<out>/summary.json`` and ``<out>/summary.md``: mean ± std over seeds of the best error,
gates, depth and the episode of the first success below chemical accuracy.

A run whose worker dies (an exception, or the process killed) is retried from its last
checkpoint, up to ``retries`` times.

The sweep holds ``<out>/.lock`` while it runs and every point holds its run directory's lock,
so a second sweep on the same folder is refused at once. The worker processes end with the
sweep: if the sweep process dies (even by ``kill -9``), each worker gets SIGTERM, saves its
checkpoint at the next episode boundary and exits; rerunning the command resumes them.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from qnoise.agents.ray_session import ray_session
from qnoise.agents.rundir import LOCK, RunLock, RunLockedError, holder, is_locked, read_records
from qnoise.chem.problem import CHEMICAL_ACCURACY
from qnoise.files import atomic_write

__all__ = ["SweepPoint", "aggregate", "grid", "run_point", "sweep"]


@dataclass(frozen=True)
class SweepPoint:
    """One training run of the sweep: its overrides, seed and directory."""

    overrides: tuple[str, ...]
    seed: int
    run_dir: str

    @property
    def setting(self) -> str:
        return ",".join(self.overrides) or "base"


def grid(out: str | Path, seeds: Sequence[int], sets: Sequence[str]) -> list[SweepPoint]:
    """The sweep's points; ``sets`` are ``key=v1,v2`` (values split on commas)."""
    axes = []
    for item in sets:
        key, sep, values = item.partition("=")
        if not sep or not values:
            raise ValueError(f"--set expects key=v1,v2,..., got {item!r}")
        axes.append([f"{key}={value}" for value in values.split(",")])
    if not seeds:
        raise ValueError("a sweep needs at least one seed")
    for label, values in [("seed", [str(s) for s in seeds])] + [
        (axis[0].partition("=")[0], axis) for axis in axes
    ]:
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(
                f"{label} {', '.join(repeated)} given twice: two runs would share one directory"
            )
    points = []
    for combination in itertools.product(*axes):
        name = ",".join(combination) or "base"
        for seed in seeds:
            run_dir = Path(out) / name.replace("/", "_") / f"s{seed}"
            points.append(SweepPoint(tuple(combination), int(seed), str(run_dir)))
    return points


_PARENT: int | None = None  # the sweep process, in a worker


def _parent_gone() -> bool:
    return _PARENT is not None and os.getppid() != _PARENT


def _end_with_parent(parent: int) -> None:
    """Worker initializer: SIGTERM this worker when the sweep process ``parent`` dies.

    Linux delivers it at once (``PR_SET_PDEATHSIG``); elsewhere, and as a backstop, a thread
    notices within a second. SIGTERM makes the trainer checkpoint at the next episode
    boundary; a worker that still lives a minute later exits."""
    global _PARENT
    _PARENT = parent
    armed = False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(1, signal.SIGTERM, 0, 0, 0) == 0  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while not _parent_gone():
            time.sleep(1.0)
        if not armed:
            os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(60.0)
        os._exit(1)

    if _parent_gone():  # died before the signal was armed
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=watch, daemon=True, name="qnoise-parent-watch").start()


def run_point(config_path: str, point: SweepPoint, episodes: int | None) -> str:
    """Train (or resume) one point to ``episodes``; runs in a worker process."""
    import torch

    from qnoise.agents.run_config import load_config
    from qnoise.agents.trainer import Trainer

    torch.set_num_threads(1)
    run_dir = Path(point.run_dir)
    if (run_dir / "checkpoint.pt").exists():
        trainer = Trainer(run_dir)
    else:
        config = load_config(config_path, list(point.overrides))
        trainer = Trainer(run_dir, config, seed=point.seed)
    try:
        trainer.train(episodes or int(trainer.config["train"].get("episodes", 100)), progress=False)
    finally:
        trainer.close()
    if _parent_gone():  # stopped by the sweep's death: nobody waits for the result
        os._exit(0)
    return point.run_dir


def sweep(
    config_path: str | Path,
    out: str | Path,
    seeds: Sequence[int],
    sets: Sequence[str] = (),
    *,
    episodes: int | None = None,
    workers: int = 2,
    retries: int = 2,
    runner: Callable = run_point,
    progress: bool = True,
    engine: str = "local",
    address: str | None = None,
) -> dict:
    """Run the grid, retrying failed runs from their checkpoints, then :func:`aggregate`.

    ``engine="local"``: a pool of ``workers`` processes on this machine. ``engine="ray"``:
    Ray tasks (one CPU each) on a local Ray instance (``ray.init(num_cpus=workers)``) or, with
    ``address``, an existing cluster (whose nodes must have qnoise installed and see ``out``
    on a shared file system); Ray re-runs a task whose worker died, up to ``retries`` times.
    Returns the summary."""
    if engine not in ("local", "ray"):
        raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
    from qnoise.agents.run_config import check_number, load_config

    if episodes is not None:
        check_number(episodes, int, "episodes", low=1)
    check_number(workers, int, "workers", low=1)
    check_number(retries, int, "retries", low=0)
    points = grid(out, seeds, sets)

    for point in points:  # bad overrides fail here, once, instead of in every retry
        load_config(config_path, list(point.overrides))
    with RunLock(out):
        busy = [p.run_dir for p in points if is_locked(p.run_dir)]
        if busy:
            raise RunLockedError(
                f"{busy[0]} is being trained by another process{holder(Path(busy[0]) / LOCK)}"
                f"{f' (and {len(busy) - 1} more points)' if len(busy) > 1 else ''}; "
                "stop it or wait for it to finish"
            )
        return _run_grid(config_path, out, points, episodes, workers, retries, runner,
                         progress, engine, address)  # fmt: skip


def _run_grid(config_path, out, points, episodes, workers, retries, runner, progress, engine,
              address) -> dict:  # fmt: skip
    if engine == "ray":
        _ray_run(config_path, points, episodes, workers, retries, runner, address, progress)
        return aggregate(out, points)
    attempts = {point: 0 for point in points}
    pending = list(points)
    context = get_context("spawn")  # fresh interpreters: no inherited torch or numba state
    while pending:
        failed = []
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_end_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            futures = {pool.submit(runner, str(config_path), p, episodes): p for p in pending}
            for future in as_completed(futures):
                point = futures[future]
                try:
                    future.result()
                    if progress:
                        print(f"done: {point.setting} seed {point.seed}", flush=True)
                except RunLockedError:
                    raise  # another process trains this point: retrying cannot help
                except (Exception, BrokenProcessPool) as exc:
                    attempts[point] += 1
                    if attempts[point] > retries:
                        raise RuntimeError(
                            f"run {point.run_dir} failed {attempts[point]} times; last error: "
                            f"{type(exc).__name__}: {exc}"
                        ) from exc
                    if progress:
                        print(f"retrying from its checkpoint: {point.run_dir} ({exc})", flush=True)
                    failed.append(point)
        pending = failed
    return aggregate(out, points)


def _ray_run(config_path, points, episodes, workers, retries, runner, address, progress):
    with ray_session(address, num_cpus=workers) as ray:
        task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=True)(runner)
        refs = {task.remote(str(config_path), point, episodes): point for point in points}
        for ref, point in refs.items():
            try:
                ray.get(ref)
            except Exception as exc:
                raise RuntimeError(
                    f"run {point.run_dir} failed after {retries} retries: {exc}"
                ) from exc
            if progress:
                print(f"done: {point.setting} seed {point.seed}", flush=True)


def _run_summary(run_dir: Path) -> dict:
    metrics = read_records(run_dir / "metrics.jsonl")
    best = (
        json.loads((run_dir / "best.json").read_text()) if (run_dir / "best.json").exists() else {}
    )
    first = next(
        (m["episode"] for m in metrics if m.get("noiseless_error", math.inf) < CHEMICAL_ACCURACY),
        None,
    )
    return {
        "episodes": len(metrics),
        "best_error": best.get("error"),
        "best_noiseless_error": best.get("noiseless_error"),
        "gates": best.get("num_gates"),
        "depth": best.get("depth"),
        "first_success": first,
    }


def _mean_std(values: list) -> tuple[float | None, float | None]:
    numbers = [v for v in values if v is not None]
    if not numbers:
        return None, None
    return float(np.mean(numbers)), float(np.std(numbers))


def aggregate(out: str | Path, points: Sequence[SweepPoint]) -> dict:
    """Per run and per setting (mean ± std over seeds) results; writes ``summary.json`` and
    ``summary.md`` (table) and ``summary.png`` (learning curves, mean ± std over seeds) in
    ``out``. ``first_success`` is the first training episode whose circuit
    is below chemical accuracy without noise (None if never; such seeds are left out of the
    mean and counted in ``succeeded``)."""
    runs = {p.run_dir: {"setting": p.setting, "seed": p.seed, **_run_summary(Path(p.run_dir))}
            for p in points}  # fmt: skip
    settings: dict[str, dict] = {}
    for setting in dict.fromkeys(p.setting for p in points):
        rows = [r for r in runs.values() if r["setting"] == setting]
        entry = {"seeds": [r["seed"] for r in rows],
                 "succeeded": sum(r["first_success"] is not None for r in rows)}  # fmt: skip
        for key in ("best_error", "best_noiseless_error", "gates", "depth", "first_success"):
            entry[key] = _mean_std([r[key] for r in rows])
        settings[setting] = entry
    summary = {"runs": runs, "settings": settings}
    out = Path(out)
    atomic_write(out / "summary.json", json.dumps(summary, indent=2).encode())
    atomic_write(out / "summary.md", _table(settings).encode())
    atomic_write(out / "summary.png", _learning_curves(points))
    return summary


def _learning_curves(points: Sequence[SweepPoint], window: int = 50) -> bytes:
    """PNG: per setting, the noiseless error at episode end and the success rate as
    ``window``-episode moving averages, mean over seeds with a ±1 std band."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (errors, rates) = plt.subplots(1, 2, figsize=(12, 4.5))
    for setting in dict.fromkeys(p.setting for p in points):
        runs = []
        for point in (p for p in points if p.setting == setting):
            runs.append(read_records(Path(point.run_dir) / "metrics.jsonl"))
        # one window for the setting, so every run's curve starts at the same episode
        size = max(1, min(window, *(len(records) for records in runs)))
        kernel = np.ones(size) / size
        curves = {"error": [], "success": []}
        for records in runs:
            error = np.log10([max(r["noiseless_error"], 1e-12) for r in records])
            success = np.array([r["outcome"] == "success" for r in records], dtype=float)
            curves["error"].append(np.convolve(error, kernel, mode="valid"))
            curves["success"].append(np.convolve(success, kernel, mode="valid"))
        for axis, key in ((errors, "error"), (rates, "success")):
            length = min(len(curve) for curve in curves[key])
            stack = np.array([curve[:length] for curve in curves[key]])
            mean, std = stack.mean(axis=0), stack.std(axis=0)
            x = np.arange(length) + size
            if key == "error":
                mean, low, high = 10**mean, 10 ** (mean - std), 10 ** (mean + std)
            else:
                low, high = mean - std, mean + std
            axis.plot(x, mean, label=f"{setting} ({len(stack)} seeds)")
            axis.fill_between(x, low, high, alpha=0.2)
    errors.set_yscale("log")
    errors.axhline(CHEMICAL_ACCURACY, color="k", ls="--", lw=1, label="chemical accuracy")
    errors.set(xlabel="episode", ylabel="Ha (geometric mean over the window)",
               title=f"noiseless error at episode end ({window}-episode window)")  # fmt: skip
    rates.set(xlabel="episode", ylabel="share of episodes", ylim=(0, 1.05),
              title=f"success rate ({window}-episode window)")  # fmt: skip
    errors.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _table(settings: dict) -> str:
    def fmt(pair, spec):
        mean, std = pair
        return "—" if mean is None else f"{mean:{spec}} ± {std:{spec}}"

    lines = [
        "| setting | seeds | best error (Ha) | best noiseless error (Ha) | gates | depth | "
        "first success (episode) | seeds with success |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in settings.items():
        lines.append(
            f"| {name} | {len(s['seeds'])} | {fmt(s['best_error'], '.2e')} | "
            f"{fmt(s['best_noiseless_error'], '.2e')} | {fmt(s['gates'], '.1f')} | "
            f"{fmt(s['depth'], '.1f')} | {fmt(s['first_success'], '.0f')} | "
            f"{s['succeeded']}/{len(s['seeds'])} |"
        )
    return "\n".join(lines) + "\n"
