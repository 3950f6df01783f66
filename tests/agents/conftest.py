"""Fixtures of the agent tests."""

import pytest


@pytest.fixture
def ray_capture(capsys):
    """Output capture off while a Ray test runs: Ray's processes inherit the file descriptors
    that pytest captures into, and shutting them down then takes minutes instead of seconds."""
    pytest.importorskip("ray")
    with capsys.disabled():
        yield
