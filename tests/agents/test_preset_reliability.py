"""Every seed learns: the H2 fast presets reach chemical accuracy (noiseless, or in the
noiseless re-evaluation under Mumbai noise) within 200 episodes on seeds 100-109."""

from __future__ import annotations

import pytest

from benchmarks.preset_reliability import first_success


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["h2_2q_noiseless_fast", "h2_2q_mumbai_median_fast"])
@pytest.mark.parametrize("seed", range(100, 110))
def test_fast_preset_learns_on_every_seed(preset, seed):
    result = first_success(preset, seed, episodes=200)
    assert result["first_success"] is not None
    assert result["first_success"] <= 200
