"""tests/pytorch_sweep.py, about 960 calls a PyTorch user writes, run in PyTorch and in zen:
every one agrees in values and gradients, but for the differences the README documents,
each listed with its reason, and none of those may have quietly gone away."""

import pytest

pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")
import pytorch_sweep


def test_every_call_agrees_with_pytorch_or_is_a_documented_difference():
    failing = {name: f"{status}: {message}"
               for _, name, status, message in pytorch_sweep.run_all() if status != "pass"}
    surprises = {name: why for name, why in failing.items()
                 if name not in pytorch_sweep.DIFFERENCES}
    assert surprises == {}
    assert set(pytorch_sweep.DIFFERENCES) == set(failing), "a difference that no longer differs"
