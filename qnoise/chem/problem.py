"""A molecular ground-state problem: qubit Hamiltonian, constant offset, reference energies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse.linalg
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

CHEMICAL_ACCURACY = 1.6e-3
"""Chemical accuracy in Hartree (1 kcal/mol)."""

DENSE_LIMIT = 12


def ground_energy(operator: SparsePauliOp) -> float:
    """Lowest eigenvalue of a Hermitian ``SparsePauliOp`` (dense up to 12 qubits, Lanczos above).

    The search covers the whole qubit space (every particle number), which is what an ansatz
    without symmetry constraints can reach.
    """
    if operator.num_qubits <= DENSE_LIMIT:
        return float(np.linalg.eigvalsh(operator.to_matrix())[0])
    matrix = operator.to_matrix(sparse=True)
    return float(scipy.sparse.linalg.eigsh(matrix, k=1, which="SA", tol=1e-12)[0][0])


def formula_of(geometry: str) -> str:
    """Chemical formula of a PySCF geometry string (``"H 0 0 0; O ...; H ..."`` → ``"H2O"``),
    elements in order of first appearance."""
    counts: dict[str, int] = {}
    for entry in geometry.split(";"):
        if entry.strip():
            element = entry.split()[0]
            counts[element] = counts.get(element, 0) + 1
    return "".join(el + (str(n) if n > 1 else "") for el, n in counts.items())


@dataclass(frozen=True)
class Problem:
    """A qubit Hamiltonian for an electronic ground state, with its references.

    Attributes
    ----------
    name : str
        Registry name (e.g. ``"LiH-4q"``) or a label chosen by the user.
    hamiltonian : SparsePauliOp
        Qubit operator in Hartree **without** the constant offset; Qiskit little-endian
        labels (rightmost character = qubit 0).
    constant : float
        Energy offset in Hartree: nuclear repulsion plus frozen-core energy (and the identity
        part is *not* moved here; it stays in ``hamiltonian``).
    energies : dict
        Total energies in Hartree (constant included): ``"hf"`` (Hartree-Fock), ``"exact"``
        (lowest eigenvalue of the qubit Hamiltonian plus constant), ``"fci"`` (FCI of the
        whole molecule in the basis, no active space), ``"active_fci"`` (lowest state with
        the problem's particle numbers in the active space).
    hf_bitstring : str
        Hartree-Fock occupation in the qubit basis, Qiskit order (rightmost = qubit 0).
    metadata : dict
        Geometry, unit, basis, charge, spin, mapping, reductions, particles, orbitals, source.
    """

    name: str
    hamiltonian: SparsePauliOp
    constant: float
    energies: dict[str, float]
    hf_bitstring: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.hf_bitstring) != self.hamiltonian.num_qubits:
            raise ValueError(
                f"hf_bitstring has {len(self.hf_bitstring)} bits for a "
                f"{self.hamiltonian.num_qubits}-qubit Hamiltonian"
            )
        if not np.allclose(self.hamiltonian.coeffs.imag, 0.0, atol=1e-12):
            raise ValueError("the Hamiltonian must have real coefficients")

    @property
    def num_qubits(self) -> int:
        """Number of qubits of the Hamiltonian."""
        return self.hamiltonian.num_qubits

    @property
    def formula(self) -> str | None:
        """Chemical formula from the geometry in ``metadata`` (``"LiH"``, ``"H2O"``), or
        ``None`` for a problem without one."""
        geometry = self.metadata.get("geometry")
        return formula_of(geometry) if isinstance(geometry, str) else None

    @property
    def num_terms(self) -> int:
        """Number of Pauli terms (the identity included)."""
        return len(self.hamiltonian)

    @property
    def exact_energy(self) -> float:
        """Lowest eigenvalue of the qubit Hamiltonian plus the constant (Ha)."""
        return self.energies["exact"]

    @property
    def hf_energy(self) -> float:
        """Hartree-Fock total energy (Ha)."""
        return self.energies["hf"]

    @property
    def fci_energy(self) -> float:
        """FCI total energy of the whole molecule in its basis (Ha)."""
        return self.energies["fci"]

    @property
    def total_hamiltonian(self) -> SparsePauliOp:
        """The Hamiltonian with the constant added to its identity term."""
        identity = SparsePauliOp("I" * self.num_qubits, coeffs=[self.constant])
        return (self.hamiltonian + identity).simplify(atol=0.0)

    @property
    def lower_bound(self) -> float:
        """``constant - sum |c_j|``: the crude bound the public CRLQAS code used as target."""
        return self.constant - float(np.abs(self.hamiltonian.coeffs).sum())

    def hf_circuit(self) -> QuantumCircuit:
        """Circuit preparing the Hartree-Fock determinant (X on every occupied qubit)."""
        circuit = QuantumCircuit(self.num_qubits, name=f"HF {self.name}")
        for qubit, bit in enumerate(reversed(self.hf_bitstring)):
            if bit == "1":
                circuit.x(qubit)
        return circuit

    def error(self, energy: float) -> float:
        """``|energy - exact_energy|`` in Hartree (``energy`` total, constant included)."""
        return abs(float(energy) - self.exact_energy)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (labels sorted; coefficients as real floats)."""
        terms = sorted(
            zip(self.hamiltonian.paulis.to_labels(), self.hamiltonian.coeffs.real, strict=True)
        )
        return {
            "name": self.name,
            "num_qubits": self.num_qubits,
            "constant": self.constant,
            "energies": dict(self.energies),
            "hf_bitstring": self.hf_bitstring,
            "metadata": self.metadata,
            "paulis": [label for label, _ in terms],
            "coeffs": [float(c) for _, c in terms],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        """Inverse of :meth:`to_dict`."""
        hamiltonian = SparsePauliOp(data["paulis"], coeffs=np.asarray(data["coeffs"], float))
        if hamiltonian.num_qubits != data["num_qubits"]:
            raise ValueError(f"{data['name']}: labels do not have {data['num_qubits']} qubits")
        return cls(
            name=data["name"],
            hamiltonian=hamiltonian,
            constant=float(data["constant"]),
            energies={k: float(v) for k, v in data["energies"].items()},
            hf_bitstring=data["hf_bitstring"],
            metadata=data["metadata"],
        )

    def __repr__(self) -> str:
        return (
            f"Problem({self.name!r}, {self.num_qubits} qubits, {self.num_terms} terms, "
            f"exact {self.exact_energy:.8f} Ha)"
        )
