"""A PTM-simulated circuit as a torch layer, differentiated by qnoise's reverse mode."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp

from qnoise.parameter_columns import ParameterColumns
from qnoise.sim.simulator import PTMSimulator

__all__ = ["QuantumLayer"]


class QuantumLayer(torch.nn.Module):
    """Expectation values of ``observables`` on a parameterized circuit, as an ``nn.Module``.

    ``forward(inputs)`` takes inputs of shape ``(B, len(input_params))`` (or one sample,
    ``(len(input_params),)``) and returns ``(B, len(observables))``: row ``b`` holds
    ``⟨O_k⟩`` of the circuit with ``input_params`` bound to ``inputs[b]`` and
    ``weight_params`` to the layer's trainable ``weights``, under ``noise`` (readout error
    included). The backward pass is the simulator's exact reverse-mode gradient, batched
    over the inputs, with respect to both the weights and the inputs, so the layer trains
    with any torch optimizer and sits anywhere in a hybrid model.

    Parameters
    ----------
    circuit : QuantumCircuit
        Its parameters are exactly ``input_params`` and ``weight_params``.
    observables : SparsePauliOp, str or sequence of them
        On the circuit's qubits (Qiskit little-endian labels).
    input_params, weight_params : sequence of Parameter
        In the order of the input columns and of ``weights``.
    noise : optional
        Any noise model :class:`~qnoise.PTMSimulator` accepts.
    initial_weights : array_like, optional
        Default: uniform in [-π, π) from torch's global generator.

    Notes
    -----
    Computation is in float64; outputs take the dtype of ``weights`` (float64 by default,
    so ``torch.autograd.gradcheck`` applies).
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        observables,
        input_params: Sequence[Parameter],
        weight_params: Sequence[Parameter],
        noise=None,
        initial_weights=None,
    ) -> None:
        super().__init__()
        input_params, weight_params = list(input_params), list(weight_params)
        given = input_params + weight_params
        if len(set(given)) != len(given):
            raise ValueError("input_params and weight_params must be distinct parameters")
        if set(given) != set(circuit.parameters):
            missing = sorted(p.name for p in set(circuit.parameters) - set(given))
            extra = sorted(p.name for p in set(given) - set(circuit.parameters))
            raise ValueError(
                f"input_params and weight_params must be the circuit's parameters "
                f"(unassigned: {missing}; not in the circuit: {extra})"
            )
        if isinstance(observables, (str, SparsePauliOp)):
            observables = [observables]
        self.observables = [SparsePauliOp(o) if isinstance(o, str) else o for o in observables]
        for o in self.observables:
            if o.num_qubits != circuit.num_qubits:
                raise ValueError(
                    f"an observable acts on {o.num_qubits} qubits, the circuit on "
                    f"{circuit.num_qubits}"
                )
        self.circuit = circuit
        self.simulator = PTMSimulator(noise)
        self.compiled = self.simulator.compile(circuit)
        self.columns = ParameterColumns(circuit, input_params, weight_params)
        if initial_weights is None:
            start = torch.empty(len(weight_params), dtype=torch.float64).uniform_(-np.pi, np.pi)
        else:
            start = torch.as_tensor(np.asarray(initial_weights, dtype=float))
            if start.shape != (len(weight_params),):
                raise ValueError(
                    f"initial_weights has shape {tuple(start.shape)}; expected "
                    f"({len(weight_params)},)"
                )
        self.weights = torch.nn.Parameter(start)

    def extra_repr(self) -> str:
        return (
            f"qubits={self.circuit.num_qubits}, inputs={self.columns.inputs.size}, "
            f"weights={self.columns.weights.size}, observables={len(self.observables)}, "
            f"noise={self.simulator.noise!r}"
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        single = inputs.dim() == 1
        batch = inputs.unsqueeze(0) if single else inputs
        if batch.dim() != 2 or batch.shape[1] != self.columns.inputs.size:
            raise ValueError(
                f"inputs must have shape (B, {self.columns.inputs.size}), got {tuple(inputs.shape)}"
            )
        out = _Expectations.apply(batch, self.weights, self)
        return out[0] if single else out


class _Expectations(torch.autograd.Function):
    """Forward: batched expectations; backward: reverse-mode gradients per observable."""

    @staticmethod
    def forward(ctx, inputs, weights, layer: QuantumLayer):
        values = layer.columns.values(
            inputs.detach().cpu().double().numpy(), weights.detach().cpu().double().numpy()
        )
        if not np.all(np.isfinite(values)):
            raise ValueError("inputs or weights contain NaN or infinity")
        ctx.layer, ctx.values = layer, values
        ctx.input_dtype, ctx.weight_dtype = inputs.dtype, weights.dtype
        expectations = np.stack(
            [layer.compiled.expectation(o, values) for o in layer.observables], axis=1
        )
        return torch.as_tensor(expectations, dtype=weights.dtype, device=weights.device)

    @staticmethod
    def backward(ctx, grad_output):
        layer, values = ctx.layer, ctx.values
        upstream = grad_output.detach().cpu().double().numpy()  # (B, K)
        total = np.zeros_like(values)
        for k, observable in enumerate(layer.observables):
            if not upstream[:, k].any():
                continue
            _, grads = layer.compiled.value_and_gradient(observable, values)
            total += upstream[:, k, None] * grads
        grad_inputs = grad_weights = None
        if ctx.needs_input_grad[0]:
            grad_inputs = torch.as_tensor(
                total[:, layer.columns.inputs], dtype=ctx.input_dtype, device=grad_output.device
            )
        if ctx.needs_input_grad[1]:
            grad_weights = torch.as_tensor(
                total[:, layer.columns.weights].sum(axis=0),
                dtype=ctx.weight_dtype,
                device=grad_output.device,
            )
        return grad_inputs, grad_weights, None
