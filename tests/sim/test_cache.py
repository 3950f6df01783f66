"""The size-capped cache the simulator's caches share."""

import pytest

from qnoise import PTMSimulator
from qnoise.sim.cache import CappedCache


def test_least_recently_used_entry_goes_first():
    cache = CappedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2 and cache.get("b", "missing") == "missing"
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError, match="at least one"):
        CappedCache(0)


def test_the_simulator_keeps_at_most_cache_size_compilations():
    from qiskit import QuantumCircuit

    simulator = PTMSimulator(cache_size=2)
    circuits = []
    for k in range(4):
        circuit = QuantumCircuit(1)
        for _ in range(k + 1):
            circuit.x(0)
        circuits.append(circuit)
        simulator.compile(circuit)
    assert len(simulator._cache) == 2
    assert simulator.compile(circuits[-1]) is simulator.compile(circuits[-1])
