"""Molecular-orbital integrals from PySCF, reduced to an active space (needs the ``chem`` extra).

Conventions
-----------
* Restricted orbitals (RHF, or ROHF for ``spin != 0``), real, in Hartree.
* Two-electron integrals in chemists' notation ``eri[p, q, r, s] = (pq|rs)``.
* Every molecular orbital's sign is fixed so that its first largest atomic-orbital
  coefficient is positive. Orbital phases change the signs of some Pauli coefficients, so
  without this the generated Hamiltonians would depend on the eigensolver's arbitrary phases.
* Orbital indices (``remove_orbitals``, the active window) count spatial molecular orbitals
  of the whole molecule from 0 in order of energy, as in qiskit-nature's transformers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qnoise.chem._extra import require_chem_extra


@dataclass(frozen=True)
class ActiveSpaceIntegrals:
    """One- and two-electron integrals of the active orbitals plus the energy they leave out.

    Attributes
    ----------
    one_body : ndarray, shape (m, m)
        Active one-electron integrals, core mean field folded in (Ha).
    two_body : ndarray, shape (m, m, m, m)
        Active ``(pq|rs)`` in chemists' notation (Ha).
    nuclear_repulsion : float
        Nuclear repulsion energy (Ha).
    core_energy : float
        Energy of the frozen doubly occupied core orbitals (Ha, 0 without a core).
    num_particles : tuple of int
        Active ``(alpha, beta)`` electrons.
    active_orbitals : tuple of int
        Indices of the active orbitals among all molecular orbitals.
    core_orbitals : tuple of int
        Indices of the frozen doubly occupied orbitals.
    hf_energy : float
        Total SCF energy of the whole molecule (Ha).
    fci_energy : float
        Total FCI energy of the whole molecule, all orbitals and electrons (Ha).
    active_fci_energy : float
        Total energy of the lowest state with ``num_particles`` electrons in the active
        space (Ha): the best a number-conserving ansatz can reach.
    """

    one_body: np.ndarray
    two_body: np.ndarray
    nuclear_repulsion: float
    core_energy: float
    num_particles: tuple[int, int]
    active_orbitals: tuple[int, ...]
    core_orbitals: tuple[int, ...]
    hf_energy: float
    fci_energy: float
    active_fci_energy: float


def fix_orbital_phases(mo_coeff: np.ndarray, atol: float = 1e-6) -> np.ndarray:
    """Return ``mo_coeff`` with each column's first (within ``atol``) largest entry positive."""
    fixed = np.array(mo_coeff, dtype=float, copy=True)
    for j in range(fixed.shape[1]):
        column = fixed[:, j]
        magnitude = np.abs(column)
        lead = int(np.flatnonzero(magnitude >= magnitude.max() - atol)[0])
        if column[lead] < 0:
            fixed[:, j] = -column
    return fixed


_NOBLE_GAS_SHELLS = ((2, 0), (10, 1), (18, 5), (36, 9), (54, 18), (86, 27), (118, 43))


def noble_gas_core(atomic_numbers) -> int:
    """Number of doubly occupied core orbitals: each atom's preceding noble-gas shell
    (Li-Ne: 1s, Na-Ar: 1s 2s 2p, ...), the convention of qiskit-nature's FreezeCoreTransformer.
    """
    total = 0
    for z in np.asarray(atomic_numbers, dtype=int):
        total += next(core for limit, core in _NOBLE_GAS_SHELLS if z <= limit)
    return total


def _orbital_windows(
    num_orbitals: int,
    num_electrons: int,
    freeze_core: int,
    remove_orbitals: tuple[int, ...],
    active_space: tuple[int, int] | None,
) -> tuple[list[int], list[int]]:
    """Core and active orbital indices for the requested reduction."""
    if active_space is not None:
        active_electrons, active_count = active_space
        if active_electrons % 2 != num_electrons % 2 or active_electrons > num_electrons:
            raise ValueError(
                f"active_space={active_space}: {active_electrons} active electrons cannot be "
                f"taken from {num_electrons} with a doubly occupied core"
            )
        first = (num_electrons - active_electrons) // 2
        if first + active_count > num_orbitals or active_electrons > 2 * active_count:
            raise ValueError(
                f"active_space={active_space} does not fit {num_orbitals} orbitals and "
                f"{num_electrons} electrons"
            )
        return list(range(first)), list(range(first, first + active_count))
    core = list(range(freeze_core))
    bad = [i for i in remove_orbitals if not 0 <= i < num_orbitals or i in core]
    if bad:
        raise ValueError(f"remove_orbitals {bad} are not virtual or valence orbital indices")
    occupied = (num_electrons + 1) // 2
    removed_occupied = [i for i in remove_orbitals if i < occupied]
    if removed_occupied:
        raise ValueError(f"remove_orbitals {removed_occupied} are occupied in Hartree-Fock")
    active = [i for i in range(freeze_core, num_orbitals) if i not in remove_orbitals]
    return core, active


def active_space_integrals(
    atom: str,
    *,
    basis: str = "sto3g",
    charge: int = 0,
    spin: int = 0,
    unit: str = "angstrom",
    freeze_core: bool = False,
    remove_orbitals: tuple[int, ...] = (),
    active_space: tuple[int, int] | None = None,
) -> ActiveSpaceIntegrals:
    """Run SCF and FCI with PySCF and fold the frozen core into active-space integrals.

    Parameters
    ----------
    atom : str
        PySCF geometry string, e.g. ``"H 0 0 0; H 0 0 0.7414"``.
    basis, charge, spin :
        PySCF basis name, total charge, and ``2S`` (number of unpaired electrons).
    unit : {"angstrom", "bohr"}
        Unit of the coordinates in ``atom``.
    freeze_core : bool
        Freeze each atom's noble-gas core (:func:`noble_gas_core`).
    remove_orbitals : tuple of int
        Unoccupied orbitals to drop (indices among all molecular orbitals).
    active_space : (num_electrons, num_orbitals), optional
        Active window around the Fermi level; the orbitals below it are frozen. Exclusive
        with ``freeze_core`` and ``remove_orbitals``.
    """
    require_chem_extra("active_space_integrals")
    from pyscf import ao2mo, fci, gto, scf

    if active_space is not None and (freeze_core or remove_orbitals):
        raise ValueError("give either active_space or freeze_core/remove_orbitals, not both")
    if unit.lower() not in ("angstrom", "bohr"):
        raise ValueError(f"unit must be 'angstrom' or 'bohr', got {unit!r}")
    mol = gto.M(atom=atom, basis=basis, charge=charge, spin=spin, unit=unit, verbose=0)
    mean_field = (scf.RHF if spin == 0 else scf.ROHF)(mol)
    mean_field.conv_tol = 1e-12
    mean_field.kernel()
    if not mean_field.converged:
        raise RuntimeError(f"SCF did not converge for {atom!r} ({basis})")
    orbitals = fix_orbital_phases(mean_field.mo_coeff)
    num_orbitals = orbitals.shape[1]
    n_core = noble_gas_core(mol.atom_charges()) if freeze_core else 0
    core, active = _orbital_windows(
        num_orbitals, mol.nelectron, n_core, tuple(remove_orbitals), active_space
    )

    hcore = orbitals.T @ mean_field.get_hcore() @ orbitals
    eri = ao2mo.restore(1, ao2mo.full(mol, orbitals), num_orbitals)
    core_idx, act_idx = np.array(core, dtype=int), np.array(active, dtype=int)
    coulomb = eri[np.ix_(act_idx, act_idx, core_idx, core_idx)]
    exchange = eri[np.ix_(act_idx, core_idx, core_idx, act_idx)]
    one_body = hcore[np.ix_(act_idx, act_idx)] + (
        2 * np.einsum("pqii->pq", coulomb) - np.einsum("piiq->pq", exchange)
    )
    core_energy = 2 * np.trace(hcore[np.ix_(core_idx, core_idx)]) + (
        2 * np.einsum("iijj->", eri[np.ix_(core_idx, core_idx, core_idx, core_idx)])
        - np.einsum("ijji->", eri[np.ix_(core_idx, core_idx, core_idx, core_idx)])
    )
    two_body = eri[np.ix_(act_idx, act_idx, act_idx, act_idx)]
    alpha, beta = mol.nelec
    particles = (alpha - len(core), beta - len(core))

    nuclear = float(mol.energy_nuc())
    full_fci = fci.FCI(mean_field, orbitals).kernel()[0]
    active_fci = fci.direct_spin1.FCI().kernel(
        one_body, two_body, len(active), particles, ecore=nuclear + core_energy
    )[0]
    return ActiveSpaceIntegrals(
        one_body=one_body,
        two_body=two_body,
        nuclear_repulsion=nuclear,
        core_energy=float(core_energy),
        num_particles=particles,
        active_orbitals=tuple(active),
        core_orbitals=tuple(core),
        hf_energy=float(mean_field.e_tot),
        fci_energy=float(full_fci),
        active_fci_energy=float(active_fci),
    )
