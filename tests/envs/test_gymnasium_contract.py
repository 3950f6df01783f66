"""The Gymnasium contract: ``gymnasium.make`` after ``import qnoise``, render mode, spec and
Gymnasium's own environment checker."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env


def test_make_works_after_import_qnoise_alone():
    code = (
        "import gymnasium, qnoise; "
        "env = gymnasium.make('qnoise/ArchSearch-v0', problem='H2-2q', noise='ideal'); "
        "print(type(env.unwrapped).__name__, env.spec.max_episode_steps)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert result.stdout.split() == ["ArchSearchEnv", "40"]


@pytest.mark.parametrize(("problem", "cap"), [("H2-2q", 40), ("LiH-6q", 70)])
def test_the_spec_carries_the_environments_own_step_cap(problem, cap):
    import qnoise  # noqa: F401 - registers the environment

    env = gymnasium.make("qnoise/ArchSearch-v0", problem=problem, noise="ideal", max_steps=None)
    assert env.spec.max_episode_steps == cap == env.unwrapped.max_steps
    assert env.spec.id == "qnoise/ArchSearch-v0"
    capped = gymnasium.make("qnoise/ArchSearch-v0", problem=problem, noise="ideal", max_steps=3)
    assert capped.spec.max_episode_steps == 3


def test_ansi_rendering_and_the_environment_checker_pass_without_skips():
    import qnoise  # noqa: F401

    env = gymnasium.make("qnoise/ArchSearch-v0", render_mode="ansi", problem="H2-2q",
                         noise="ideal", optimizer="spsa", maxfev=20)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert not caught, [str(w.message) for w in caught]
    check_env(env)  # the made (wrapped) environment passes too
    env.reset(seed=1)
    assert "q_0" in env.render()
    with pytest.raises(ValueError, match="render_mode"):
        gymnasium.make("qnoise/ArchSearch-v0", render_mode="human", problem="H2-2q")
