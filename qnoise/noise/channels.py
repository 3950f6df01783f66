"""Noise channels as Pauli transfer matrices (PTMs), each constructor validating its input.

Every constructor returns a :class:`Channel`: a real PTM (``np.asarray(channel)`` gives it,
convention in :mod:`qnoise.pauli`) plus the rule used to scale its error rates by a factor
λ (zero-noise extrapolation): probabilities scale linearly, relaxation scales through time
(``γ -> 1 - (1 - γ)**λ``), and a general Kraus channel uses the fractional power ``R**λ``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from qnoise.pauli import kraus_to_ptm, pauli_index, pauli_matrices

__all__ = [
    "Channel",
    "ReadoutError",
    "amplitude_damping",
    "depolarizing",
    "kraus",
    "pauli_channel",
    "phase_damping",
    "readout_error",
    "reset",
    "thermal_relaxation",
]

_ATOL = 1e-8


def _check_probability(value: float, name: str) -> float:
    value = float(value)
    if not np.isfinite(value) or value < -_ATOL or value > 1 + _ATOL:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
    return min(max(value, 0.0), 1.0)


def _check_scale(factor: float) -> float:
    factor = float(factor)
    if not np.isfinite(factor) or factor < 0:
        raise ValueError(f"noise scale factor must be a finite number >= 0, got {factor}")
    return factor


class Channel:
    """A completely positive, trace-preserving channel on 1 or more qubits, stored as its PTM.

    Parameters
    ----------
    ptm : ndarray, shape (4**k, 4**k)
        Real Pauli transfer matrix, basis order of :mod:`qnoise.pauli` (little-endian).
    scaler : callable, optional
        ``scaler(factor) -> Channel`` returning the channel with error rates scaled by
        ``factor``. Defaults to the fractional matrix power ``R**factor``.
    name : str
        Short description for ``repr``.
    """

    def __init__(
        self,
        ptm: np.ndarray,
        scaler: Callable[[float], Channel] | None = None,
        name: str = "channel",
    ) -> None:
        ptm = np.array(ptm, dtype=float)
        num_qubits = round(np.log(ptm.shape[0]) / np.log(4))
        if ptm.ndim != 2 or ptm.shape != (4**num_qubits, 4**num_qubits):
            raise ValueError(f"a PTM must be square with side 4**k, got shape {ptm.shape}")
        if not np.all(np.isfinite(ptm)):
            raise ValueError(f"a PTM must hold finite numbers ({name} has NaN or inf)")
        ptm.setflags(write=False)
        self._ptm = ptm
        self.num_qubits = num_qubits
        self.name = name
        self._scaler = scaler

    @property
    def ptm(self) -> np.ndarray:
        """The (read-only) Pauli transfer matrix."""
        return self._ptm

    def __array__(self, dtype=None, copy=None):
        return self._ptm.astype(dtype) if dtype is not None else self._ptm.copy()

    def __repr__(self) -> str:
        return f"Channel({self.name}, num_qubits={self.num_qubits})"

    def is_identity(self, atol: float = 1e-12) -> bool:
        """True when the channel does nothing (to ``atol``)."""
        return bool(np.allclose(self._ptm, np.eye(self._ptm.shape[0]), atol=atol, rtol=0))

    def scaled(self, factor: float) -> Channel:
        """The channel with all error rates multiplied by ``factor`` (``0`` gives identity)."""
        factor = _check_scale(factor)
        if self._scaler is not None:
            return self._scaler(factor)
        if factor == 1.0:
            return self
        return _fractional_power(self._ptm, factor, self.name)

    def compose(self, other: Channel) -> Channel:
        """``self`` followed by ``other`` (Qiskit's ``compose`` order)."""
        if other.num_qubits != self.num_qubits:
            raise ValueError(
                f"cannot compose a {self.num_qubits}-qubit with a {other.num_qubits}-qubit channel"
            )
        return Channel(
            other.ptm @ self.ptm,
            scaler=lambda f: self.scaled(f).compose(other.scaled(f)),
            name=f"{self.name} -> {other.name}",
        )

    def tensor(self, other: Channel) -> Channel:
        """``self ⊗ other``: ``other`` acts on the lower (first) qubits, as in Qiskit."""
        return Channel(
            np.kron(self.ptm, other.ptm),
            scaler=lambda f: self.scaled(f).tensor(other.scaled(f)),
            name=f"{self.name} ⊗ {other.name}",
        )

    def expand(self, other: Channel) -> Channel:
        """``other ⊗ self``: ``self`` keeps the lower qubits."""
        return other.tensor(self)


def _fractional_power(ptm: np.ndarray, factor: float, name: str) -> Channel:
    if factor == 0.0:
        return Channel(np.eye(ptm.shape[0]), name="identity")
    powered = scipy.linalg.fractional_matrix_power(ptm, factor)
    if np.max(np.abs(np.imag(powered))) > 1e-9:
        raise ValueError(
            f"cannot scale {name} by {factor}: its PTM has no real fractional power "
            "(the channel is not the time evolution of a Markovian generator)"
        )
    return Channel(np.real(powered), name=f"{name}^{factor:g}")


def depolarizing(p: float, num_qubits: int = 1) -> Channel:
    """Depolarizing channel ``ρ -> (1 - p) ρ + p Tr(ρ) I / 2**n`` (Qiskit-Aer's convention).

    Parameters
    ----------
    p : float
        Depolarizing parameter, ``0 <= p <= 4**n / (4**n - 1)`` (the upper bound is the
        uniform Pauli channel). ``p`` scales linearly with the noise factor.
    num_qubits : int
        Number of qubits n >= 1.

    Raises
    ------
    ValueError
        If ``num_qubits < 1`` or ``p`` is outside the physical range.
    """
    if int(num_qubits) != num_qubits or num_qubits < 1:
        raise ValueError(f"num_qubits must be a positive integer, got {num_qubits}")
    num_qubits = int(num_qubits)
    p_max = 4**num_qubits / (4**num_qubits - 1)
    p = float(p)
    if not np.isfinite(p) or p < -_ATOL or p > p_max + _ATOL:
        raise ValueError(
            f"depolarizing parameter must be in [0, {p_max:.6g}] for {num_qubits} qubit(s), got {p}"
        )
    p = min(max(p, 0.0), p_max)
    diag = np.full(4**num_qubits, 1.0 - p)
    diag[0] = 1.0
    return Channel(
        np.diag(diag),
        scaler=lambda f: depolarizing(p * _check_scale(f), num_qubits),
        name=f"depolarizing(p={p:.4g})",
    )


def pauli_channel(probabilities: Mapping[str, float] | Sequence[float]) -> Channel:
    """Pauli channel ``ρ -> Σ_k p_k P_k ρ P_k``.

    Parameters
    ----------
    probabilities : mapping or sequence
        Either ``{"X": px, "ZI": p, ...}`` with Qiskit labels of equal length (the identity's
        probability is ``1 - Σ`` unless given), or a sequence of ``4**n`` probabilities in the
        basis order of :mod:`qnoise.pauli`. Non-identity probabilities scale linearly.

    Raises
    ------
    ValueError
        For negative probabilities, a sum other than 1, or inconsistent labels.
    """
    if isinstance(probabilities, Mapping):
        lengths = {len(label) for label in probabilities}
        if len(lengths) != 1:
            raise ValueError(f"Pauli labels must all have the same length, got {sorted(lengths)}")
        num_qubits = lengths.pop()
        probs = np.zeros(4**num_qubits)
        for label, value in probabilities.items():
            if set(label) - set("IXYZ"):
                raise ValueError(f"invalid Pauli label {label!r}")
            probs[pauli_index(label)] = _check_probability(value, f"probability of {label}")
        if "I" * num_qubits not in probabilities:
            probs[0] = 1.0 - probs[1:].sum()
    else:
        probs = np.asarray(probabilities, dtype=float)
        if not np.all(np.isfinite(probs)):
            raise ValueError(f"Pauli probabilities must be finite numbers, got {probs.tolist()}")
        num_qubits = round(np.log(probs.size) / np.log(4))
        if probs.ndim != 1 or probs.size != 4**num_qubits or probs.size < 4:
            raise ValueError(f"expected 4**n probabilities, got shape {probs.shape}")
    if np.any(probs < -_ATOL) or abs(probs.sum() - 1.0) > 1e-8:
        raise ValueError(
            f"Pauli probabilities must be non-negative and sum to 1 (sum = {probs.sum():.10g})"
        )
    probs = np.clip(probs, 0.0, None)
    paulis = pauli_matrices(num_qubits)
    dim = probs.size
    # eigenvalue of Q under the channel: Σ_k p_k (+1 if P_k commutes with Q else -1)
    signs = np.ones((dim, dim))
    for j in range(dim):
        for k in range(dim):
            if not np.allclose(paulis[k] @ paulis[j], paulis[j] @ paulis[k]):
                signs[j, k] = -1.0
    final = probs.copy()

    def scaler(f: float) -> Channel:
        scaled = final * _check_scale(f)
        scaled[0] = 0.0
        if scaled.sum() > 1 + _ATOL:
            raise ValueError(f"scaling this Pauli channel by {f} gives error probability > 1")
        scaled[0] = 1.0 - scaled.sum()
        return pauli_channel(scaled)

    return Channel(np.diag(signs @ probs), scaler=scaler, name="pauli_channel")


def amplitude_damping(gamma: float) -> Channel:
    """Amplitude damping ``|1⟩ -> |0⟩`` with probability ``gamma`` (Kraus K0=diag(1,√(1-γ)),
    K1=√γ|0⟩⟨1|). Scaling by λ treats γ as relaxation over time: ``γ -> 1 - (1 - γ)**λ``.

    Raises
    ------
    ValueError
        If ``gamma`` is not in [0, 1].
    """
    gamma = _check_probability(gamma, "amplitude damping gamma")
    keep = np.sqrt(1.0 - gamma)
    ptm = np.array(
        [[1, 0, 0, 0], [0, keep, 0, 0], [0, 0, keep, 0], [gamma, 0, 0, 1 - gamma]], dtype=float
    )
    return Channel(
        ptm,
        scaler=lambda f: amplitude_damping(1.0 - (1.0 - gamma) ** _check_scale(f)),
        name=f"amplitude_damping(γ={gamma:.4g})",
    )


def phase_damping(lam: float) -> Channel:
    """Phase damping with parameter ``lam`` (Kraus K0=diag(1,√(1-λ)), K1=diag(0,√λ), as Aer):
    off-diagonal elements shrink by ``√(1-λ)``. Scaling: ``λ -> 1 - (1 - λ)**factor``.

    Raises
    ------
    ValueError
        If ``lam`` is not in [0, 1].
    """
    lam = _check_probability(lam, "phase damping lambda")
    keep = np.sqrt(1.0 - lam)
    ptm = np.diag([1.0, keep, keep, 1.0])
    return Channel(
        ptm,
        scaler=lambda f: phase_damping(1.0 - (1.0 - lam) ** _check_scale(f)),
        name=f"phase_damping(λ={lam:.4g})",
    )


def thermal_relaxation(
    t1: float, t2: float, time: float, excited_state_population: float = 0.0
) -> Channel:
    """T1/T2 relaxation for a duration ``time`` (same units as t1, t2).

    Populations relax to the thermal state with ``⟨Z⟩ = 1 - 2·excited_state_population`` at
    rate 1/T1; coherences decay as ``exp(-time/T2)``. Scaling by λ multiplies ``time``.

    Parameters
    ----------
    t1, t2 : float
        Relaxation and dephasing times, ``> 0`` (``inf`` allowed), with ``t2 <= 2·t1``.
    time : float
        Duration ``>= 0``.
    excited_state_population : float
        Equilibrium population of ``|1⟩`` in [0, 1].

    Raises
    ------
    ValueError
        If any argument is out of range, in particular ``T2 > 2·T1`` (unphysical; truncate the
        calibration value first, as ``from_backend`` does).
    """
    t1, t2, time = float(t1), float(t2), float(time)
    if not t1 > 0:
        raise ValueError(f"T1 must be > 0, got {t1}")
    if not t2 > 0:
        raise ValueError(f"T2 must be > 0, got {t2}")
    if t2 > 2 * t1 * (1 + 1e-12):
        raise ValueError(f"T2 ({t2}) greater than 2 * T1 ({2 * t1}) is unphysical")
    if not (time >= 0 and np.isfinite(time)):
        raise ValueError(f"time must be a finite number >= 0, got {time}")
    pop = _check_probability(excited_state_population, "excited_state_population")
    decay_1 = np.exp(-time / t1)
    decay_2 = np.exp(-time / t2)
    ptm = np.array(
        [
            [1, 0, 0, 0],
            [0, decay_2, 0, 0],
            [0, 0, decay_2, 0],
            [(1 - 2 * pop) * (1 - decay_1), 0, 0, decay_1],
        ],
        dtype=float,
    )
    return Channel(
        ptm,
        scaler=lambda f: thermal_relaxation(t1, t2, time * _check_scale(f), pop),
        name=f"thermal_relaxation(T1={t1:.3g}, T2={t2:.3g}, t={time:.3g})",
    )


def kraus(ops: Sequence[np.ndarray], atol: float = 1e-8) -> Channel:
    """Channel from Kraus operators ``ρ -> Σ_k K_k ρ K_k†``.

    Raises
    ------
    ValueError
        If the operators are not square matrices of a common power-of-two size, or if
        ``Σ K†K != I`` (not trace preserving) to ``atol``.
    """
    ops = np.asarray(ops, dtype=complex)
    if ops.ndim == 2:
        ops = ops[None]
    if ops.ndim != 3 or ops.shape[1] != ops.shape[2] or ops.shape[1] < 2:
        raise ValueError(f"Kraus operators must be square matrices, got shape {ops.shape}")
    dim = ops.shape[1]
    if not np.all(np.isfinite(ops)):
        raise ValueError("Kraus operators must hold finite numbers (NaN or inf found)")
    if dim & (dim - 1):
        raise ValueError(f"Kraus operator dimension {dim} is not a power of two")
    completeness = np.einsum("kba,kbc->ac", ops.conj(), ops)
    if not np.allclose(completeness, np.eye(dim), atol=atol, rtol=0):
        deviation = np.max(np.abs(completeness - np.eye(dim)))
        raise ValueError(
            f"Kraus operators are not trace preserving: max |Σ K†K - I| = {deviation:.3g}"
        )
    return Channel(kraus_to_ptm(ops), name="kraus")


def reset() -> Channel:
    """Reset to ``|0⟩``: every state goes to ``|0⟩⟨0|`` (no scaling: it is not an error)."""
    ptm = np.zeros((4, 4))
    ptm[0, 0] = 1.0
    ptm[3, 0] = 1.0
    return Channel(ptm, scaler=lambda f: reset(), name="reset")


@dataclass(frozen=True)
class ReadoutError:
    """Classical bit-flip error of one qubit's measurement.

    Attributes
    ----------
    p_meas1_prep0 : float
        Probability of reading 1 when the qubit is in ``|0⟩``.
    p_meas0_prep1 : float
        Probability of reading 0 when the qubit is in ``|1⟩``.
    """

    p_meas1_prep0: float
    p_meas0_prep1: float

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "p_meas1_prep0", _check_probability(self.p_meas1_prep0, "p_meas1_prep0")
        )
        object.__setattr__(
            self, "p_meas0_prep1", _check_probability(self.p_meas0_prep1, "p_meas0_prep1")
        )

    @property
    def confusion_matrix(self) -> np.ndarray:
        """``M[measured, prepared]`` for bits 0, 1 (columns sum to 1)."""
        e0, e1 = self.p_meas1_prep0, self.p_meas0_prep1
        return np.array([[1 - e0, e1], [e0, 1 - e1]])

    @property
    def offset(self) -> float:
        """α = e1 - e0: the ±1 outcome's mean is ``α + β⟨σ⟩``."""
        return self.p_meas0_prep1 - self.p_meas1_prep0

    @property
    def contraction(self) -> float:
        """β = 1 - e0 - e1."""
        return 1.0 - self.p_meas1_prep0 - self.p_meas0_prep1

    @property
    def ptm(self) -> np.ndarray:
        """Measurement map on Pauli expectations: each measured σ ∈ {X, Y, Z} (after the basis
        change) is read as ``α I + β σ``; identity stays. Not a physical channel on the state."""
        a, b = self.offset, self.contraction
        return np.array([[1, 0, 0, 0], [a, b, 0, 0], [a, 0, b, 0], [a, 0, 0, b]], dtype=float)

    def is_identity(self) -> bool:
        """True when readout is perfect."""
        return self.p_meas1_prep0 == 0.0 and self.p_meas0_prep1 == 0.0

    def scaled(self, factor: float) -> ReadoutError:
        """Both flip probabilities multiplied by ``factor``."""
        factor = _check_scale(factor)
        return ReadoutError(self.p_meas1_prep0 * factor, self.p_meas0_prep1 * factor)


def readout_error(p_meas1_prep0: float, p_meas0_prep1: float | None = None) -> ReadoutError:
    """Readout error of one qubit; ``p_meas0_prep1`` defaults to ``p_meas1_prep0`` (symmetric).

    Raises
    ------
    ValueError
        If a probability is outside [0, 1].
    """
    if p_meas0_prep1 is None:
        p_meas0_prep1 = p_meas1_prep0
    return ReadoutError(p_meas1_prep0, p_meas0_prep1)
