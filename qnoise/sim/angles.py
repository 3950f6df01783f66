"""Rotation angles of a compiled circuit as functions of its parameters."""

from __future__ import annotations

import numpy as np
import sympy

from qnoise.sim.kernels import affine_angles
from qnoise.sim.lowering import Angle

__all__ = ["AngleMap"]


class AngleMap:
    """Rotation angles ("slots") as functions of the circuit parameters.

    Affine slots (the common case, including transpiled ``rz(θ + π/2)``) are
    ``angles = params @ A.T + offset`` with ``A`` (slots × parameters) kept dense as
    :attr:`matrix` and sparse, row by row, for the kernels (a slot reads one parameter in
    most circuits); non-affine expressions are evaluated, and differentiated for the chain
    rule, through sympy.
    """

    def __init__(self, num_parameters: int, parameters: list) -> None:
        self.num_parameters = num_parameters
        self.parameters = parameters
        self.rows: list[tuple[dict[int, float], float]] = []
        self.nonlinear: list[tuple[int, object, object, list[int]]] = []

    def extended(self, num_parameters: int, parameters: list) -> AngleMap:
        """A new map with this map's slots, for a circuit whose ``parameters`` begin with this
        map's (same order, so slot rows stay valid); add its further slots, then finalize."""
        other = AngleMap(num_parameters, parameters)
        other.rows = list(self.rows)
        other.nonlinear = list(self.nonlinear)
        return other

    def add(self, angle: Angle) -> int:
        """Register the angle of one rotation factor; returns its slot index."""
        slot = len(self.rows)
        if angle.expression is None:
            self.rows.append((angle.coeffs, angle.offset))
            return slot
        self.rows.append(({}, 0.0))
        expr = angle.expression
        params = sorted(expr.parameters, key=lambda p: self.parameters.index(p))
        symbols = [sympy.Symbol(p.name) for p in params]
        sym_expr = expr.sympify()
        sym_expr = sym_expr.subs({s: sympy.Symbol(s.name) for s in sym_expr.free_symbols})
        value_fn = sympy.lambdify(symbols, sym_expr, "numpy")
        grad_fns = [sympy.lambdify(symbols, sympy.diff(sym_expr, s), "numpy") for s in symbols]
        self.nonlinear.append(
            (slot, value_fn, grad_fns, [self.parameters.index(p) for p in params])
        )
        return slot

    def finalize(self) -> None:
        """Freeze the affine rows (call once, after the last ``add``): the dense
        :attr:`matrix` and its rows as ``sparse = (start, parameter, coefficient)``, slot s
        reading ``parameter[start[s]:start[s + 1]]`` in increasing parameter order."""
        num_slots = len(self.rows)
        self.matrix = np.zeros((num_slots, self.num_parameters))
        self.offset = np.zeros(num_slots)
        start, columns = [0], []
        for slot, (coeffs, offset) in enumerate(self.rows):
            for j, c in coeffs.items():
                self.matrix[slot, j] = c
            columns += [j for j in sorted(coeffs) if coeffs[j] != 0]
            start.append(len(columns))
            self.offset[slot] = offset
        column_index = np.array(columns, dtype=np.int64)
        slot_of_entry = np.repeat(np.arange(num_slots), np.diff(start))
        self.sparse = (
            np.array(start, dtype=np.int64),
            column_index,
            self.matrix[slot_of_entry, column_index],
        )
        self._slot_of_entry = slot_of_entry

    def angles(self, params: np.ndarray) -> np.ndarray:
        """(B, P) parameters -> (B, S) angles."""
        out = np.empty((params.shape[0], self.offset.size))
        affine_angles(params, *self.sparse, self.offset, out)
        for slot, value_fn, _, cols in self.nonlinear:
            out[:, slot] = np.broadcast_to(value_fn(*(params[:, c] for c in cols)), out.shape[0])
        return out

    def chain(self, params: np.ndarray, slot_grad: np.ndarray) -> np.ndarray:
        """Parameter gradient from angle gradient (1-D, one parameter vector)."""
        _, columns, coefficients = self.sparse
        grad = np.bincount(
            columns,
            weights=slot_grad[self._slot_of_entry] * coefficients,
            minlength=self.num_parameters,
        ).astype(float)  # bincount of nothing is an integer array
        for slot, _, grad_fns, cols in self.nonlinear:
            args = [params[c] for c in cols]
            for fn, c in zip(grad_fns, cols, strict=True):
                grad[c] += slot_grad[slot] * float(fn(*args))
        return grad
