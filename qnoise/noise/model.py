"""Noise model: which channel follows which gate, and which readout error each qubit has.

Semantics follow qiskit-aer's ``NoiseModel`` so that :func:`qnoise.noise.from_aer` is a faithful
translation: an error attached to ``(gate name, qubits)`` is applied after that gate on exactly
those qubits; an error attached to a gate name for all qubits applies where no qubit-specific
error exists (local errors override all-qubit ones); several errors added for the same key are
composed in the order added. The gate name ``"*"`` additionally matches every unitary gate of
the channel's arity that has no error of its own (used by the built-in depolarizing models).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

import numpy as np

from qnoise.noise.channels import Channel, ReadoutError, thermal_relaxation

__all__ = ["ANY_GATE", "NoiseModel"]

ANY_GATE = "*"
#: Version of the :meth:`NoiseModel.to_dict` layout.
SERIAL_FORMAT = 1


def _channel(entry: dict) -> Channel:
    return Channel(np.array(entry["channel"]["ptm"], dtype=float), name=entry["channel"]["name"])


def _as_names(gates: str | Iterable[str]) -> list[str]:
    return [gates] if isinstance(gates, str) else list(gates)


class NoiseModel:
    """Gate errors (after each gate), readout errors, and idle relaxation during delays.

    Examples
    --------
    >>> from qnoise import noise
    >>> model = noise.NoiseModel()
    >>> model.add_gate_error(noise.depolarizing(1e-3), ["rx", "ry", "rz"])
    >>> model.add_gate_error(noise.depolarizing(5e-3, 2), "cx")
    >>> model.add_readout_error(noise.readout_error(0.02))
    """

    def __init__(self, name: str = "custom") -> None:
        self.name = name
        # gate name -> qubit tuple (None = all qubits) -> channel
        self._gate_errors: dict[str, dict[tuple[int, ...] | None, Channel]] = {}
        # wildcard errors by arity -> qubit tuple (None = all qubits) -> channel
        self._any_gate: dict[int, dict[tuple[int, ...] | None, Channel]] = {}
        self._readout: dict[int | None, ReadoutError] = {}
        # qubit (None = all) -> (t1, t2, excited population), times in seconds
        self._idle: dict[int | None, tuple[float, float, float]] = {}
        #: backend time step in seconds (for delays given in ``dt``), when known
        self.dt: float | None = None
        #: calibration figures a model was built from (see ``from_backend``)
        self.calibration: dict = {}
        #: incremented by every change, so that caches built from the model can tell
        self.revision = 0
        self._ptm_cache: dict[tuple, np.ndarray | None] = {}
        self._is_ideal: bool | None = True

    def _changed(self) -> None:
        self.revision += 1
        self._ptm_cache.clear()
        self._is_ideal = None

    def __repr__(self) -> str:
        gates = sorted(self._gate_errors)
        return (
            f"NoiseModel({self.name!r}, noisy gates={gates}, "
            f"readout errors on {len(self._readout)} key(s), "
            f"idle relaxation={'yes' if self._idle else 'no'})"
        )

    @property
    def is_ideal(self) -> bool:
        """True when the model adds no error at all (memoized until the model changes)."""
        if self._is_ideal is None:
            tables = [*self._gate_errors.values(), *self._any_gate.values()]
            self._is_ideal = (
                all(ch.is_identity() for errs in tables for ch in errs.values())
                and all(ro.is_identity() for ro in self._readout.values())
                and not self._idle
            )
        return self._is_ideal

    @property
    def noisy_gates(self) -> list[str]:
        """Names of the gates that carry an error (``"*"`` for the wildcard)."""
        return sorted(self._gate_errors) + ([ANY_GATE] if self._any_gate else [])

    def add_gate_error(
        self,
        channel: Channel,
        gates: str | Iterable[str],
        qubits: Sequence[int] | None = None,
    ) -> None:
        """Apply ``channel`` after every gate named in ``gates``.

        Parameters
        ----------
        channel : Channel
            The error; its arity must equal ``len(qubits)`` when qubits are given.
        gates : str or iterable of str
            Gate names (Qiskit's ``Instruction.name``), or ``"*"`` for every unitary gate of the
            channel's arity without an error of its own.
        qubits : sequence of int, optional
            Apply only on these qubits, in the gate's qarg order; ``None`` means all qubits.

        Raises
        ------
        ValueError
            If the channel's arity does not match ``qubits``.
        """
        if not isinstance(channel, Channel):
            raise TypeError(f"expected a qnoise Channel, got {type(channel).__name__}")
        key = None if qubits is None else tuple(int(q) for q in qubits)
        if key is not None and len(key) != channel.num_qubits:
            raise ValueError(
                f"a {channel.num_qubits}-qubit channel cannot be attached to qubits {key}"
            )
        for name in _as_names(gates):
            if name == ANY_GATE:
                per_gate = self._any_gate.setdefault(channel.num_qubits, {})
            else:
                per_gate = self._gate_errors.setdefault(name, {})
            per_gate[key] = per_gate[key].compose(channel) if key in per_gate else channel
        self._changed()

    def add_readout_error(
        self, error: ReadoutError, qubits: int | Sequence[int] | None = None
    ) -> None:
        """Attach a readout error to the given qubit(s), or to every qubit when ``None``."""
        if not isinstance(error, ReadoutError):
            raise TypeError(f"expected a qnoise ReadoutError, got {type(error).__name__}")
        if qubits is None or isinstance(qubits, (int, np.integer)):
            self._readout[None if qubits is None else int(qubits)] = error
        else:
            for q in qubits:
                self._readout[int(q)] = error
        self._changed()

    def set_idle_relaxation(
        self,
        t1: float,
        t2: float,
        qubits: int | Sequence[int] | None = None,
        excited_state_population: float = 0.0,
    ) -> None:
        """Thermal relaxation applied during ``delay`` instructions (t1, t2 in seconds)."""
        thermal_relaxation(t1, t2, 0.0, excited_state_population)  # validate now
        keys = [None] if qubits is None else [qubits] if isinstance(qubits, int) else qubits
        for q in keys:
            self._idle[None if q is None else int(q)] = (
                float(t1),
                float(t2),
                float(excited_state_population),
            )
        self._changed()

    def gate_error(self, name: str, qubits: Sequence[int], wildcard: bool = True) -> Channel | None:
        """The channel applied after gate ``name`` on ``qubits``, or ``None``.

        Precedence: the gate's qubit-specific error, its all-qubit error, then the wildcard
        (``"*"``) error of that arity, qubit-specific before all-qubit. ``wildcard=False``
        skips the wildcard (used for non-gate instructions such as reset and delay).

        Raises
        ------
        ValueError
            If an all-qubit error for ``name`` has a different arity than the gate.
        """
        key = tuple(int(q) for q in qubits)
        per_gate = self._gate_errors.get(name)
        if per_gate:
            channel = per_gate.get(key, per_gate.get(None))
            if channel is not None:
                if channel.num_qubits != len(key):
                    raise ValueError(
                        f"noise model attaches a {channel.num_qubits}-qubit error to all "
                        f"'{name}' gates, but '{name}' acts on {len(key)} qubit(s)"
                    )
                return channel
        matches = self._any_gate.get(len(key)) if wildcard else None
        if matches:
            return matches.get(key, matches.get(None))
        return None

    def gate_error_ptm(
        self, name: str, qubits: Sequence[int], wildcard: bool = True
    ) -> np.ndarray | None:
        """PTM of :meth:`gate_error` as a float array, ``None`` when there is no error or it
        is the identity; memoized until the model changes (the simulator's compile path)."""
        key = (name, tuple(int(q) for q in qubits), wildcard)
        if key not in self._ptm_cache:
            channel = self.gate_error(name, qubits, wildcard=wildcard)
            identity = channel is None or channel.is_identity()
            self._ptm_cache[key] = None if identity else np.asarray(channel)
        return self._ptm_cache[key]

    def readout_error(self, qubit: int) -> ReadoutError | None:
        """Readout error of ``qubit`` (qubit-specific first, then the all-qubit one)."""
        return self._readout.get(int(qubit), self._readout.get(None))

    def idle_error(self, qubit: int, duration: float) -> Channel | None:
        """Relaxation channel for idling ``duration`` seconds on ``qubit``, or ``None``."""
        params = self._idle.get(int(qubit), self._idle.get(None))
        if params is None or duration <= 0:
            return None
        t1, t2, pop = params
        return thermal_relaxation(t1, t2, duration, pop)

    def scaled(self, factor: float) -> NoiseModel:
        """A copy with every error rate multiplied by ``factor`` (λ of zero-noise extrapolation).

        Gate channels scale by their own rule (:meth:`Channel.scaled`), readout flip
        probabilities linearly, idle relaxation through time (T1, T2 divided by ``factor``).
        ``factor = 0`` gives an ideal model. Error probabilities cannot pass 1, so a model
        with depolarizing, Pauli or readout errors has a largest reachable factor
        (:meth:`max_scale_factor`); beyond it this raises ``ValueError`` naming that maximum.
        """
        factor = float(factor)
        if not np.isfinite(factor) or factor < 0:
            raise ValueError(f"noise scale factor must be a finite number >= 0, got {factor}")
        try:
            return self._scaled(factor)
        except ValueError as exc:
            limit = self.max_scale_factor()
            raise ValueError(
                f"noise scale factor {factor:g} is beyond what {self.name} can reach: its "
                f"largest physical factor is {limit:.6g} ({exc})"
            ) from None

    def max_scale_factor(self, upper: float = 1e6, rtol: float = 1e-9) -> float:
        """The largest λ for which :meth:`scaled` gives a physical model (error probabilities
        within [0, 1]), to relative tolerance ``rtol``; ``inf`` if it passes ``upper`` (for
        instance, models with only damping or relaxation, which saturate instead)."""

        def physical(factor: float) -> bool:
            try:
                self._scaled(factor)
            except ValueError:
                return False
            return True

        low, high = 1.0, 2.0
        if not physical(low):
            low = 0.0
        while physical(high):
            low, high = high, 2 * high
            if high > upper:
                return float("inf")
        while high - low > rtol * high:
            middle = 0.5 * (low + high)
            low, high = (middle, high) if physical(middle) else (low, middle)
        return low

    def _scaled(self, factor: float) -> NoiseModel:
        scaled = NoiseModel(name=f"{self.name} x{factor:g}")
        scaled.dt = self.dt
        scaled.calibration = dict(self.calibration, scale_factor=factor)
        scaled._gate_errors = {
            name: {key: ch.scaled(factor) for key, ch in errs.items()}
            for name, errs in self._gate_errors.items()
        }
        scaled._any_gate = {
            arity: {key: ch.scaled(factor) for key, ch in errs.items()}
            for arity, errs in self._any_gate.items()
        }
        scaled._readout = {q: ro.scaled(factor) for q, ro in self._readout.items()}
        if factor > 0:
            scaled._idle = {
                q: (t1 / factor, t2 / factor, pop) for q, (t1, t2, pop) in self._idle.items()
            }
        scaled._changed()
        return scaled

    def without_readout(self) -> NoiseModel:
        """A copy with perfect readout (gate and idle errors kept)."""
        model = self.copy()
        model._readout = {}
        model._changed()
        return model

    def copy(self) -> NoiseModel:
        """A deep copy."""
        return copy.deepcopy(self)

    # ------------------------------------------------------------ records
    def to_dict(self) -> dict:
        """The model as plain JSON-able data (as qiskit-aer's ``NoiseModel.to_dict``):
        every channel as its PTM (nested lists, basis order of :mod:`qnoise.pauli`),
        readout errors, idle relaxation, ``dt`` and the calibration figures. A run
        directory stores it so that a later run uses the model it trained with, whatever
        a name such as ``"fake_mumbai:median"`` resolves to by then.

        Channels are stored by value: :meth:`from_dict` gives them the default noise
        scaling of :meth:`Channel.scaled` (the fractional matrix power), which can differ
        from a named constructor's own scaling (e.g. depolarizing ``p → factor·p``) when
        the model is scaled for zero-noise extrapolation.
        """

        def channel(ch: Channel) -> dict:
            return {"name": ch.name, "ptm": ch.ptm.tolist()}

        def qubits(key) -> list[int] | None:
            return None if key is None else list(key)

        return {
            "format": SERIAL_FORMAT,
            "name": self.name,
            "dt": self.dt,
            "calibration": dict(self.calibration),
            "gate_errors": [
                {"gate": gate, "qubits": qubits(key), "channel": channel(ch)}
                for gate, table in self._gate_errors.items()
                for key, ch in table.items()
            ],
            "any_gate_errors": [
                {"arity": arity, "qubits": qubits(key), "channel": channel(ch)}
                for arity, table in self._any_gate.items()
                for key, ch in table.items()
            ],
            "readout_errors": [
                {"qubit": q, "p_meas1_prep0": ro.p_meas1_prep0, "p_meas0_prep1": ro.p_meas0_prep1}
                for q, ro in self._readout.items()
            ],
            "idle_relaxation": [
                {"qubit": q, "t1": t1, "t2": t2, "excited_population": excited}
                for q, (t1, t2, excited) in self._idle.items()
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> NoiseModel:
        """The model :meth:`to_dict` wrote (equal to the original: ``==`` holds).

        Raises
        ------
        ValueError
            For data of another format or with missing or malformed entries.
        """
        if not isinstance(data, dict) or data.get("format") != SERIAL_FORMAT:
            raise ValueError(f"not a qnoise noise-model record of format {SERIAL_FORMAT}")
        try:
            model = cls(str(data["name"]))
            model.dt = None if data["dt"] is None else float(data["dt"])
            model.calibration = dict(data["calibration"])
            for entry in data["gate_errors"]:
                key = None if entry["qubits"] is None else tuple(int(q) for q in entry["qubits"])
                model._gate_errors.setdefault(str(entry["gate"]), {})[key] = _channel(entry)
            for entry in data["any_gate_errors"]:
                key = None if entry["qubits"] is None else tuple(int(q) for q in entry["qubits"])
                model._any_gate.setdefault(int(entry["arity"]), {})[key] = _channel(entry)
            for entry in data["readout_errors"]:
                q = None if entry["qubit"] is None else int(entry["qubit"])
                model._readout[q] = ReadoutError(entry["p_meas1_prep0"], entry["p_meas0_prep1"])
            for entry in data["idle_relaxation"]:
                q = None if entry["qubit"] is None else int(entry["qubit"])
                model._idle[q] = (float(entry["t1"]), float(entry["t2"]),
                                  float(entry["excited_population"]))  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed noise-model record: {exc!r}") from None
        model._changed()
        return model

    def __eq__(self, other: object) -> bool:
        """Same errors on the same gates and qubits (PTMs compared exactly), same readout
        errors, idle relaxation and ``dt``; names and calibration notes are not compared."""
        if not isinstance(other, NoiseModel):
            return NotImplemented

        def same_tables(a: dict, b: dict) -> bool:
            return a.keys() == b.keys() and all(
                a[k].keys() == b[k].keys()
                and all(np.array_equal(a[k][q].ptm, b[k][q].ptm) for q in a[k])
                for k in a
            )

        return (
            same_tables(self._gate_errors, other._gate_errors)
            and same_tables(self._any_gate, other._any_gate)
            and self._readout == other._readout
            and self._idle == other._idle
            and self.dt == other.dt
        )

    __hash__ = None  # mutable: not a dictionary key
