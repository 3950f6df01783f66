"""The user-facing PTM simulator."""

from __future__ import annotations

import weakref

import numpy as np
from qiskit.circuit import QuantumCircuit

from qnoise.noise.resolve import resolve_noise
from qnoise.sim.cache import CappedCache
from qnoise.sim.lowering import can_extend
from qnoise.sim.program import CompiledCircuit, compile_circuit

__all__ = ["PTMSimulator"]


def _structure_key(circuit: QuantumCircuit, data: list) -> tuple:
    """A hashable fingerprint of a circuit's structure (gates, qubits, parameter expressions);
    ``data`` is ``list(circuit.data)``.

    Numeric parameters enter as numbers, symbolic ones by their text, so circuits built with
    distinct ``Parameter`` objects of the same names share one compiled program."""
    qubit_index = {bit: i for i, bit in enumerate(circuit.qubits)}
    clbit_index = {bit: i for i, bit in enumerate(circuit.clbits)}
    numeric = (float, int)
    instructions = []
    for inst in data:
        clbits = inst.clbits
        instructions.append(
            (
                inst.name,
                tuple([qubit_index[q] for q in inst.qubits]),
                tuple([clbit_index[c] for c in clbits]) if clbits else (),
                tuple([p if type(p) in numeric else str(p) for p in inst.params]),
            )
        )
    return (
        circuit.num_qubits,
        circuit.num_clbits,
        tuple(instructions),
        tuple(p.name for p in circuit.parameters),
    )


class PTMSimulator:
    """Noisy circuit simulator in the Pauli–Liouville (PTM) picture.

    The state is the real vector of Pauli expectations ``Tr(P_k ρ)`` (``4**n`` entries,
    little-endian, see ``docs/conventions.md``); every gate and channel acts as a Pauli transfer
    matrix. Circuits are compiled once per structure (fused 1–2 qubit kernels run by numba) and
    cached, so repeated evaluation with new parameters costs only the kernels.

    Parameters
    ----------
    noise : NoiseModel, str, qiskit_aer NoiseModel, BackendV2, or None
        Noise model (see :func:`qnoise.noise.resolve_noise`); a name like
        ``"fake_mumbai:median"`` or ``"depolarizing:p1=1e-3,p2=5e-3"`` selects a built-in one.
    cache_size : int
        Number of compiled circuit structures kept (at least 1).
    gradient_memory : int
        Bytes of intermediate states a reverse-mode gradient may keep (default 1 GiB); beyond
        that states are checkpointed and segments recomputed (slower, never wrong). From 9
        simulated qubits on, gradients keep only a few states and uncompute the others by
        the inverse groups, checked against a kept state (see
        :meth:`~qnoise.sim.program.CompiledCircuit.value_and_gradient`).

    Examples
    --------
    >>> from qiskit import QuantumCircuit
    >>> from qnoise import PTMSimulator
    >>> qc = QuantumCircuit(2); _ = qc.h(0); _ = qc.cx(0, 1)
    >>> round(PTMSimulator().expectation(qc, "ZZ"), 12)
    1.0
    """

    def __init__(self, noise=None, *, cache_size: int = 256, gradient_memory: int = 2**30):
        self.noise = resolve_noise(noise)
        self.cache_size = int(cache_size)
        self.gradient_memory = int(gradient_memory)
        self._cache: CappedCache[tuple, CompiledCircuit] = CappedCache(self.cache_size)
        # compiled circuits by (noise revision, qubits, clbits, instructions): a circuit one
        # instruction longer than a recent one (a gate appended) lowers and fuses only that
        # instruction
        self._extendable: CappedCache[tuple, CompiledCircuit] = CappedCache(self.cache_size)
        # compiled circuits by circuit object: (weak reference, snapshot of the circuit's
        # instructions, noise revision, compiled). A call with the same, unchanged object
        # skips building the structure key (the snapshot comparison is exact and cheaper)
        self._by_object: CappedCache[int, tuple] = CappedCache(self.cache_size)

    def __repr__(self) -> str:
        return f"PTMSimulator(noise={self.noise!r})"

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # weak references to this process's objects
        state["_by_object"] = CappedCache(self.cache_size)
        return state

    def compile(self, circuit: QuantumCircuit) -> CompiledCircuit:
        """Compile ``circuit`` (cached by structure and noise-model revision) for fast
        repeated evaluation. A circuit that extends a recently compiled one by one
        instruction extends that compilation (only the new instruction is lowered and fused;
        the result equals a fresh compilation). Calling again with the same circuit object,
        unchanged, finds its compilation by identity; a circuit changed in place through
        Qiskit's API (``append``, ``data[i] = ...``, ``assign_parameters(inplace=True)``,
        ``compose(inplace=True)``, ...) no longer equals its snapshot and is compiled anew.
        Operation objects taken from ``circuit.data`` must not be mutated in place (Qiskit
        does not support that either)."""
        revision = getattr(self.noise, "revision", 0)
        data = list(circuit.data)
        entry = self._by_object.get(id(circuit))
        if entry is not None:
            reference, snapshot, entry_revision, compiled = entry
            # instruction-wise equality: operations, parameters, qubits and clbits
            if entry_revision == revision and reference() is circuit and data == snapshot:
                return compiled
        compiled = self._compile_by_structure(circuit, data, revision)
        self._by_object.put(id(circuit), (weakref.ref(circuit), data, revision, compiled))
        return compiled

    def _compile_by_structure(
        self, circuit: QuantumCircuit, data: list, revision: int
    ) -> CompiledCircuit:
        structure = _structure_key(circuit, data)
        key = (revision, structure)
        compiled = self._cache.get(key)
        if compiled is not None:
            return compiled
        qubits, clbits, instructions, _ = structure
        prefix = self._extendable.get((revision, qubits, clbits, instructions[:-1]))
        if prefix is not None and not can_extend(prefix.lowered, circuit):
            prefix = None
        compiled = compile_circuit(
            circuit, self.noise, gradient_memory=self.gradient_memory, prefix=prefix
        )
        self._cache.put(key, compiled)
        self._extendable.put((revision, qubits, clbits, instructions), compiled)
        return compiled

    def expectation(
        self,
        circuit: QuantumCircuit,
        observable,
        parameter_values=None,
        *,
        shots: int | None = None,
        seed=None,
        shot_model: str = "sample",
    ):
        """Expectation value(s) of ``observable``; see :meth:`CompiledCircuit.expectation`.

        Returns a float for ``parameter_values`` of shape ``(P,)`` (or ``None`` without
        parameters) and an array ``(B,)`` for shape ``(B, P)``.
        """
        return self.compile(circuit).expectation(
            observable, parameter_values, shots=shots, seed=seed, shot_model=shot_model
        )

    def gradient(self, circuit: QuantumCircuit, observable, parameter_values) -> np.ndarray:
        """Exact gradient of the expectation by reverse mode, shape ``(P,)`` or ``(B, P)``."""
        return self.compile(circuit).gradient(observable, parameter_values)

    def density_matrix(self, circuit: QuantumCircuit, parameter_values=None) -> np.ndarray:
        """Final density matrix, complex ``(2**n, 2**n)``, Qiskit ordering (no readout)."""
        return self.compile(circuit).density_matrix(parameter_values)

    def probabilities(
        self, circuit: QuantumCircuit, parameter_values=None, qubits=None
    ) -> np.ndarray:
        """Computational-basis probabilities including readout error, shape ``(2**n,)``
        (Qiskit bit order), or the marginal of ``qubits``; see
        :meth:`CompiledCircuit.probabilities`."""
        return self.compile(circuit).probabilities(parameter_values, qubits=qubits)

    def sample_counts(
        self, circuit: QuantumCircuit, shots: int, parameter_values=None, seed=None
    ) -> dict[str, int]:
        """Qiskit-style counts of ``shots`` samples (readout error included)."""
        return self.compile(circuit).sample_counts(shots, parameter_values, seed=seed)
