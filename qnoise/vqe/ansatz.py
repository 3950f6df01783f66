"""Ready-made ansätze as parameterized ``QuantumCircuit``s."""

from __future__ import annotations

import warnings

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qnoise.chem.problem import Problem

ENTANGLEMENTS = ("linear", "circular", "none")
ROTATION_GATES = ("rx", "ry", "rz")
_UCCSD_BASIS = ["cx", "rx", "ry", "rz", "h", "x", "sx"]


def hardware_efficient(
    num_qubits: int,
    layers: int = 2,
    *,
    entanglement: str = "linear",
    final_rotations: bool = True,
    initial_state: QuantumCircuit | None = None,
    rotations: tuple[str, ...] = ("ry", "rz"),
) -> QuantumCircuit:
    """Hardware-efficient RY-RZ ansatz with a CNOT ladder (as in the neural-ZNE paper).

    Structure, for each of ``layers`` layers: ``RY(θ)`` then ``RZ(θ)`` on every qubit (the
    gates of ``rotations``, in its order), then CNOTs ``(0→1), (1→2), …, (n-2→n-1)``
    (``"circular"`` adds ``n-1→0``; ``"none"`` omits them). ``final_rotations`` appends one
    more rotation layer, so the last CNOTs are not wasted.

    Parameters
    ----------
    num_qubits : int
    layers : int
        Number of rotation + entangler layers (≥ 1).
    entanglement : {"linear", "circular", "none"}
    final_rotations : bool
    initial_state : QuantumCircuit, optional
        Prepended state preparation, e.g. :meth:`qnoise.chem.Problem.hf_circuit`.
    rotations : tuple of {"rx", "ry", "rz"}
        The rotation layer's gates, each on every qubit in turn. ``("ry",)`` gives a real
        ansatz (RY and CNOT only, Qiskit's ``RealAmplitudes`` structure), enough for the
        real ground states of molecular Hamiltonians.

    Returns
    -------
    QuantumCircuit
        ``len(rotations) * num_qubits * (layers + final_rotations)`` parameters named
        ``θ[i]``, ordered layer by layer, gate by gate as in ``rotations``, qubit 0 first;
        this is ``circuit.parameters`` order (Qiskit sorts vector elements by index).
    """
    if num_qubits < 1 or layers < 1:
        raise ValueError(f"need num_qubits >= 1 and layers >= 1, got {num_qubits}, {layers}")
    if entanglement not in ENTANGLEMENTS:
        raise ValueError(f"entanglement must be one of {ENTANGLEMENTS}, got {entanglement!r}")
    if (
        not rotations
        or not set(rotations) <= set(ROTATION_GATES)
        or len(set(rotations)) < len(rotations)
    ):
        raise ValueError(
            f"rotations must be distinct names from {ROTATION_GATES}, got {rotations!r}"
        )
    if initial_state is not None and initial_state.num_qubits != num_qubits:
        raise ValueError(
            f"initial_state has {initial_state.num_qubits} qubits, the ansatz {num_qubits}"
        )
    rotation_layers = layers + int(final_rotations)
    theta = ParameterVector("θ", len(rotations) * num_qubits * rotation_layers)
    circuit = QuantumCircuit(num_qubits, name=f"HEA({num_qubits}, {layers})")
    if initial_state is not None:
        circuit.compose(initial_state, inplace=True)
    pairs = [(q, q + 1) for q in range(num_qubits - 1)]
    if entanglement == "circular" and num_qubits > 2:
        pairs.append((num_qubits - 1, 0))
    used = 0
    for layer in range(rotation_layers):
        for name in rotations:
            for qubit in range(num_qubits):
                getattr(circuit, name)(theta[used], qubit)
                used += 1
        if layer < layers and entanglement != "none":
            for control, target in pairs:
                circuit.cx(control, target)
    return circuit


def qubit_mapper(problem: Problem):
    """qiskit-nature ``QubitMapper`` that produced ``problem`` (needs the ``chem`` extra)."""
    from qnoise.chem._extra import require_chem_extra

    require_chem_extra("qubit_mapper")
    from qnoise.chem.build import mapper_for

    meta = problem.metadata
    return mapper_for(meta["mapping"], meta["two_qubit_reduction"], tuple(meta["num_particles"]))


def uccsd(problem: Problem, reps: int = 1) -> QuantumCircuit:
    """UCCSD ansatz on the Hartree-Fock state, from qiskit-nature (needs the ``chem`` extra).

    Excitations are built for the problem's active orbitals and particle numbers and mapped
    with the problem's own mapping, so the circuit acts on the same qubits as
    ``problem.hamiltonian``. The evolution gates are compiled to CNOTs and rotations
    (Qiskit's transpiler at optimization level 1, no layout: qubits keep their indices).
    """
    mapper = qubit_mapper(problem)
    from qiskit import transpile
    from qiskit_nature.second_q.circuit.library import UCCSD, HartreeFock

    orbitals = problem.metadata["num_spatial_orbitals"]
    particles = tuple(problem.metadata["num_particles"])
    with warnings.catch_warnings():
        # qiskit-nature 0.8 builds on Qiskit's deprecated BlueprintCircuit; nothing to act on
        warnings.simplefilter("ignore", DeprecationWarning)
        circuit = UCCSD(
            orbitals,
            particles,
            mapper,
            reps=reps,
            initial_state=HartreeFock(orbitals, particles, mapper),
        )
    return transpile(circuit, basis_gates=_UCCSD_BASIS, optimization_level=1)
