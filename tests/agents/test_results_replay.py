"""The committed result runs reproduce: training their config and seed again gives the same
episodes (``benchmarks/replay_results.py`` checks every run; this checks one run per kind of
row: calibrated noise, exact energies, shot noise with mitigated rewards, a Stable-Baselines3
agent)."""

from __future__ import annotations

import pytest

from benchmarks.replay_results import RESULTS, first_difference, replay

REPLAYED_RUNS = (
    "h2_4q_ourense_fast/s100",
    "lih_4q_noiseless_fast/s100",
    "lih_4q_depol_zne_fast/s100",
    "lih_6q_noiseless_ppo_fast/s1",
)


@pytest.mark.slow
@pytest.mark.parametrize("run", REPLAYED_RUNS)
def test_committed_run_replays_episode_for_episode(run):
    result = replay(RESULTS / run, episodes=60)
    assert result["episodes"] == 60
    assert result["first_difference"] is None
    assert result["identical"] == 60


def test_record_comparison_names_the_first_differing_field():
    record = {
        "outcome": "halt", "steps": 12, "gates": 12, "cnots": 4, "depth": 7,
        "energy": -7.78, "noiseless_energy": -7.78, "threshold": 5e-3, "reward": -5.0,
    }  # fmt: skip
    assert first_difference(record, dict(record)) is None
    assert first_difference(record, {**record, "energy": -7.78 * (1 + 1e-12)}) is None
    assert first_difference(record, {**record, "energy": -7.7801}) == "energy"
    assert first_difference(record, {**record, "cnots": 5}) == "cnots"
    assert first_difference(record, {**record, "threshold": None}) == "threshold"
