"""qnoise.torch.QuantumLayer: forward equals the simulator, backward equals finite
differences and passes torch's gradcheck, and a hybrid model trains."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qnoise import PTMSimulator
from qnoise.torch import QuantumLayer

NOISE = "depolarizing:p1=1e-2,p2=3e-2"


def circuit():
    x, w = ParameterVector("x", 2), ParameterVector("w", 4)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.ry(2 * x[1], 1)
    qc.cx(0, 1)
    qc.rx(w[0], 0)
    qc.ry(w[1] * x[0], 1)  # a weight times an input: both gradients are non-trivial
    qc.cx(1, 0)
    qc.rz(w[2], 0)
    qc.ry(w[3], 0)
    return qc, x, w


def layer(noise=NOISE):
    qc, x, w = circuit()
    return QuantumLayer(qc, ["ZI", "XZ", "YY"], x, w, noise=noise,
                        initial_weights=[0.3, -1.1, 0.7, 2.0])  # fmt: skip


def test_forward_equals_the_simulator():
    module = layer()
    inputs = torch.tensor([[0.1, 0.4], [1.2, -0.3], [2.0, 0.9]], dtype=torch.float64)
    out = module(inputs)
    qc, *_ = circuit()
    simulator = PTMSimulator(NOISE)
    for b in range(3):
        values = module.columns.values(inputs[b : b + 1].numpy(), module.weights.detach().numpy())
        for k, label in enumerate(["ZI", "XZ", "YY"]):
            expected = simulator.expectation(qc, label, values[0])
            assert out[b, k].item() == pytest.approx(expected, abs=1e-12)
    assert module(inputs[0]).shape == (3,)


def test_gradcheck_in_float64():
    module = layer()
    inputs = torch.rand(4, 2, dtype=torch.float64, requires_grad=True)

    assert torch.autograd.gradcheck(lambda a: module(a), (inputs,), eps=1e-6, atol=1e-8)
    # gradcheck perturbs the tensor it is given in place: here the layer's own weights
    assert torch.autograd.gradcheck(lambda w: module(inputs.detach()), (module.weights,), eps=1e-6,
                                    atol=1e-8)  # fmt: skip


def test_backward_equals_finite_differences():
    module = layer()
    inputs = torch.tensor([[0.5, -0.2], [0.9, 1.3]], dtype=torch.float64)
    upstream = torch.tensor([[1.0, -2.0, 0.5], [0.3, 0.0, -1.0]], dtype=torch.float64)
    (module(inputs) * upstream).sum().backward()
    analytic = module.weights.grad.numpy().copy()
    h = 1e-6
    numeric = []
    for j in range(4):
        with torch.no_grad():
            module.weights[j] += h
            plus = (module(inputs) * upstream).sum().item()
            module.weights[j] -= 2 * h
            minus = (module(inputs) * upstream).sum().item()
            module.weights[j] += h
        numeric.append((plus - minus) / (2 * h))
    np.testing.assert_allclose(analytic, numeric, atol=1e-8)


def test_hybrid_model_trains_with_a_torch_optimizer():
    torch.manual_seed(0)
    qc, x, w = circuit()
    model = torch.nn.Sequential(torch.nn.Linear(3, 2, dtype=torch.float64),
                                QuantumLayer(qc, ["ZI"], x, w, noise=NOISE))  # fmt: skip
    data = torch.rand(16, 3, dtype=torch.float64)
    target = torch.where(data[:, :1] > 0.5, 0.6, -0.6)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_bad_arguments():
    qc, x, w = circuit()
    with pytest.raises(ValueError, match="unassigned"):
        QuantumLayer(qc, "ZZ", x, w[:3])
    with pytest.raises(ValueError, match="distinct"):
        QuantumLayer(qc, "ZZ", [*list(x), w[0]], w)
    with pytest.raises(ValueError, match="qubits"):
        QuantumLayer(qc, "ZZZ", x, w)
    with pytest.raises(ValueError, match="initial_weights"):
        QuantumLayer(qc, "ZZ", x, w, initial_weights=[0.0])
    module = QuantumLayer(qc, "ZZ", x, w)
    with pytest.raises(ValueError, match="shape"):
        module(torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        module(torch.full((1, 2), float("nan"), dtype=torch.float64))
