"""``qnoise.Sampler``: a Qiskit ``BaseSamplerV2`` backed by the PTM simulator."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
from qiskit.primitives import BaseSamplerV2, BitArray, DataBin, SamplerPubResult
from qiskit.primitives.containers.sampler_pub import SamplerPub

from qnoise.sim.completed_job import CompletedJob
from qnoise.sim.lowering import UnsupportedCircuitError
from qnoise.sim.simulator import PTMSimulator

__all__ = ["Sampler", "UnsupportedCircuitError"]


class Sampler(BaseSamplerV2):
    """Noisy sampler implementing ``BaseSamplerV2`` on :class:`qnoise.PTMSimulator`.

    Each PUB ``(circuit[, parameter values[, shots]])`` gives, per classical register, a
    ``BitArray`` of shape ``(*parameter shape)`` with ``shots`` samples: the final
    measurements of the circuit drawn from the exact noisy outcome distribution, readout
    error included (so ``noise="fake_manila"`` samples what that device's calibration
    predicts). Bits of a register that no measurement writes read 0. Circuits with a
    measurement followed by an operation on the measured qubit (mid-circuit measurement) or
    with classical control flow are refused by name (:class:`UnsupportedCircuitError`, from
    the compilation); a circuit without classical registers
    gives an empty result (with Qiskit's warning).

    Sampling is seeded as Qiskit's ``StatevectorSampler`` seeds it: a fresh generator from
    ``seed`` for every parameter set, so a set gives the same bits whether it comes alone or
    in an array.

    The PUBs run when :meth:`run` is called and the returned job is already complete.

    Parameters
    ----------
    noise : see :class:`qnoise.PTMSimulator`
    default_shots : int
        Shots when neither the PUB nor ``run`` gives them.
    seed : int or None
        Seed of the sampling.
    """

    def __init__(self, noise=None, *, default_shots: int = 1024, seed=None) -> None:
        if int(default_shots) != default_shots or default_shots < 1:
            raise ValueError(f"default_shots must be a positive integer, got {default_shots}")
        self._simulator = PTMSimulator(noise)
        self._default_shots = int(default_shots)
        self._seed = seed

    @property
    def simulator(self) -> PTMSimulator:
        """The underlying simulator."""
        return self._simulator

    @property
    def default_shots(self) -> int:
        return self._default_shots

    @property
    def seed(self):
        return self._seed

    def run(self, pubs: Iterable, *, shots: int | None = None) -> CompletedJob:
        if shots is None:
            shots = self._default_shots
        coerced = [SamplerPub.coerce(pub, shots) for pub in pubs]
        if any(not pub.circuit.cregs for pub in coerced):
            warnings.warn(
                "One of your circuits has no output classical registers and so the result "
                "will be empty. Did you mean to add measurement instructions?",
                UserWarning,
                stacklevel=2,
            )
        return CompletedJob.of(self._run_pub, coerced)

    def _run_pub(self, pub: SamplerPub) -> SamplerPubResult:
        circuit, shots = pub.circuit, pub.shots
        compiled = self._simulator.compile(circuit)
        measured = compiled.lowered.measured  # clbit -> qubit, final measurements only
        qubits = sorted(set(measured.values()))
        position = {q: i for i, q in enumerate(qubits)}
        registers = {
            register.name: [circuit.find_bit(bit).index for bit in register]
            for register in circuit.cregs
        }
        shape = pub.parameter_values.shape
        size = int(np.prod(shape, dtype=int))
        num_params = circuit.num_parameters
        if num_params:
            flat = pub.parameter_values.as_array(circuit.parameters).reshape(size, num_params)
        else:
            flat = np.zeros((size, 0))
        bits = {name: np.zeros((size, shots, len(clbits)), dtype=bool)
                for name, clbits in registers.items()}  # fmt: skip
        for row in range(size):
            outcomes = np.zeros(shots, dtype=np.int64)
            if qubits:
                rng = np.random.default_rng(self._seed)
                values = flat[row] if num_params else None
                probabilities = compiled.probabilities(values, qubits=qubits)
                probabilities = np.clip(probabilities, 0.0, None)
                outcomes = rng.choice(
                    probabilities.size, size=shots, p=probabilities / probabilities.sum()
                )
            for name, clbits in registers.items():
                for column, clbit in enumerate(clbits):
                    if clbit in measured:
                        bits[name][row, :, column] = (outcomes >> position[measured[clbit]]) & 1
        data = {
            name: BitArray.from_bool_array(
                array.reshape(*shape, shots, array.shape[-1]), order="little"
            )
            for name, array in bits.items()
        }
        return SamplerPubResult(
            DataBin(**data, shape=shape),
            metadata={"shots": shots, "circuit_metadata": circuit.metadata},
        )
