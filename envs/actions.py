"""The CRLQAS action set: CNOTs first, then RX, RY, RZ on each qubit."""

from __future__ import annotations

from dataclasses import dataclass

ROTATIONS = ("rx", "ry", "rz")


@dataclass(frozen=True)
class Action:
    """One gate the agent can append.

    ``name`` is ``"cx"`` (``qubits = (control, target)``) or a rotation in :data:`ROTATIONS`
    (``qubits = (qubit,)``).
    """

    name: str
    qubits: tuple[int, ...]

    @property
    def is_cnot(self) -> bool:
        return self.name == "cx"

    @property
    def axis(self) -> int:
        """0, 1, 2 for RX, RY, RZ (rotations only)."""
        return ROTATIONS.index(self.name)

    def __str__(self) -> str:
        return f"{self.name}{self.qubits}"


def rotation_names(value) -> tuple[str, ...]:
    """A rotation subset in CRLQAS's order: ``value`` is one name or a collection of
    distinct names from :data:`ROTATIONS` (any case); ``ValueError`` otherwise."""
    names = [value] if isinstance(value, str) else value
    try:
        names = [str(name).lower() for name in names]
    except TypeError:
        names = None
    if not names or len(set(names)) < len(names) or not set(names) <= set(ROTATIONS):
        raise ValueError(
            f"rotations: must be a non-empty list of distinct names from "
            f"{', '.join(ROTATIONS)}, got {value!r}"
        )
    return tuple(name for name in ROTATIONS if name in names)


def action_set(
    num_qubits: int,
    edges: list[tuple[int, int]] | None = None,
    rotations: tuple[str, ...] = ROTATIONS,
) -> list[Action]:
    """Actions in CRLQAS's order.

    All-to-all CNOTs: for control ``c`` in ``0..n-1`` and offset ``x`` in ``1..n-1``, target
    ``(c + x) mod n``; then for each qubit ``q``: RX, RY, RZ. That is ``n(n+2)`` actions. With
    ``edges`` (directed ``(control, target)`` pairs), only those CNOTs are kept, in the same
    order; with ``rotations`` (a subset of :data:`ROTATIONS`), only those rotation axes, in
    the order RX, RY, RZ.
    """
    axes = rotation_names(rotations)
    allowed = None if edges is None else set(edges)
    actions = [
        Action("cx", (c, (c + x) % num_qubits))
        for c in range(num_qubits)
        for x in range(1, num_qubits)
        if allowed is None or (c, (c + x) % num_qubits) in allowed
    ]
    actions += [Action(name, (q,)) for q in range(num_qubits) for name in axes]
    return actions
