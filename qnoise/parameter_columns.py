"""Where a circuit's input and weight parameters sit among its parameters."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter


class ParameterColumns:
    """Columns of ``input_params`` and ``weight_params`` in ``circuit.parameters`` order
    (the order qnoise's simulator takes parameter values in).

    Attributes
    ----------
    inputs, weights : ndarray of int
        Column of each input and each weight parameter, in the order given.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        input_params: Sequence[Parameter],
        weight_params: Sequence[Parameter],
    ) -> None:
        position = {p: i for i, p in enumerate(circuit.parameters)}
        self.inputs = np.array([position[p] for p in input_params], dtype=int)
        self.weights = np.array([position[p] for p in weight_params], dtype=int)
        self.size = circuit.num_parameters

    def values(self, inputs: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """One row of parameter values per row of ``inputs`` (shape ``(B, inputs)``), all
        with ``weights``: shape ``(B, circuit.num_parameters)``."""
        values = np.empty((inputs.shape[0], self.size))
        values[:, self.inputs] = inputs
        values[:, self.weights] = weights
        return values
