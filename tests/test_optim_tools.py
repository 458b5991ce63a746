"""Tools for hand-written training loops, against torch.optim and torch.nn.utils over several
steps: learning rates that change between steps, schedulers, gradient clipping, and an
optimiser's state_dict."""

import math

import numpy
import pytest

import zen
from zen import Tensor
from zen.errors import ArgumentError, GradientError
from zen.optim import SGD, Adam, OptimizerError

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")

SCHEDULERS = {"StepLR": dict(step_size=2, gamma=0.5), "ExponentialLR": dict(gamma=0.9),
              "CosineAnnealingLR": dict(T_max=4, eta_min=0.1),
              "LinearLR": dict(start_factor=0.25, end_factor=0.9, total_iters=3)}


def _pair(device, seed=0):
    rng = numpy.random.default_rng(seed)
    arrays = [rng.normal(size=(3, 4)), rng.normal(size=(4,))]
    return ([Tensor(a, trainable=True, device=device) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _gradients(zen_parameters, torch_parameters, scale=1.0):
    for z, t in zip(zen_parameters, torch_parameters, strict=True):
        z.gradient = None
        t.grad = None
        (scale * z * z * z).sum().backward()
        (scale * t * t * t).sum().backward()


def _zen_gradients(*groups):
    for parameters in groups:
        for p in parameters:
            p.gradient = None
            (p * p * p).sum().backward()


def _assert_same(zen_parameters, torch_parameters):
    for z, t in zip(zen_parameters, torch_parameters, strict=True):
        numpy.testing.assert_allclose(z.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", SCHEDULERS)
def test_a_scheduler_steps_the_optimisers_lr_as_pytorchs(device, name):
    ours, theirs = _pair(device)
    optimizer, expected = Adam(ours, lr=0.1), torch.optim.Adam(theirs, lr=0.1)
    scheduler = getattr(zen.optim.lr_scheduler, name)(optimizer, **SCHEDULERS[name])
    oracle = getattr(torch.optim.lr_scheduler, name)(expected, **SCHEDULERS[name])
    for _ in range(9):
        assert scheduler.get_last_lr() == pytest.approx(oracle.get_last_lr(), rel=1e-12)
        _gradients(ours, theirs)
        optimizer.step()
        expected.step()
        scheduler.step()
        oracle.step()
    _assert_same(ours, theirs)


def test_a_scheduler_resumes_from_its_state_dict(device):
    optimizer = SGD(_pair(device)[0], lr=1.0)
    scheduler = zen.optim.StepLR(optimizer, step_size=2)
    for _ in range(3):
        scheduler.step()
    resumed = zen.optim.StepLR(SGD(_pair(device)[0], lr=1.0), step_size=2)
    resumed.load_state_dict(scheduler.state_dict())
    assert resumed.get_last_lr() == scheduler.get_last_lr() == [pytest.approx(0.1)]


def test_a_scheduler_of_a_zero_lr_loads_its_state_dict_and_a_bad_one_changes_nothing():
    """lr=0 is a learning rate the optimisers take, so its scheduler's state loads too; a
    state that does not check out leaves the scheduler as it was."""
    scheduler = zen.optim.StepLR(SGD([Tensor([1.0], trainable=True)], lr=0.0), step_size=2)
    scheduler.step()
    resumed = zen.optim.StepLR(SGD([Tensor([1.0], trainable=True)], lr=0.0), step_size=2)
    resumed.load_state_dict(scheduler.state_dict())
    assert resumed.last_epoch == 1 and resumed.base_lrs == [0.0]
    with pytest.raises(ArgumentError, match=r"base_lrs\[0\] must be a finite number >= 0"):
        resumed.load_state_dict({"last_epoch": 5, "base_lrs": [-1.0]})
    assert resumed.last_epoch == 1 and resumed.base_lrs == [0.0]


def test_an_lr_set_between_steps_is_checked_and_used_at_the_next_step(device):
    ours, theirs = _pair(device)
    optimizer, expected = SGD(ours, lr=0.1, momentum=0.5), torch.optim.SGD(theirs, lr=0.1,
                                                                          momentum=0.5)
    for lr in (0.1, 0.03, 0.0, 0.2):
        optimizer.lr = lr
        expected.param_groups[0]["lr"] = lr
        _gradients(ours, theirs)
        optimizer.step()
        expected.step()
    _assert_same(ours, theirs)
    for bad in (-0.1, math.nan, "0.1"):
        with pytest.raises(OptimizerError, match=r"SGD: lr must be a finite number >= 0"):
            optimizer.lr = bad
    assert optimizer.lr == 0.2
    with pytest.raises(OptimizerError, match=r"SGD: momentum must be a number in \[0, 1\)"):
        optimizer.momentum = 1.0


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_scales_and_returns_the_norm_as_pytorchs(device, norm_type, max_norm):
    ours, theirs = _pair(device)
    _gradients(ours, theirs, scale=3.0)
    norm = zen.optim.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert norm.device == ours[0].device and norm.shape == ()
    assert norm.item() == pytest.approx(expected.item(), rel=1e-12)
    for z, t in zip(ours, theirs, strict=True):
        numpy.testing.assert_allclose(Tensor(z.gradient).numpy(), t.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_a_nonfinite_norm(device):
    ours, theirs = _pair(device)
    _gradients(ours, theirs, scale=3.0)
    zen.optim.clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for z, t in zip(ours, theirs, strict=True):
        numpy.testing.assert_array_equal(Tensor(z.gradient).numpy(), t.grad.numpy())
    ours[0].gradient[0, 0] = math.inf
    with pytest.raises(GradientError, match=r"clip_grad_norm_: .* norm is inf"):
        zen.optim.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(ArgumentError, match=r"clip_grad_norm_: max_norm must be a finite"):
        zen.optim.clip_grad_norm_(ours, -1.0)


@pytest.mark.parametrize("make", [lambda p: Adam(p, lr=0.1), lambda p: SGD(p, momentum=0.9),
                                  lambda p: zen.optim.RMSProp(p), lambda p: zen.optim.AdamW(p)])
def test_an_optimiser_resumes_exactly_from_its_state_dict(device, make):
    ours, _ = _pair(device)
    twin = [Tensor(p.numpy(), trainable=True, device=device) for p in ours]
    optimizer = make(ours)
    for _ in range(2):
        _zen_gradients(ours)
        optimizer.step()
    saved = optimizer.state_dict()
    for p, q in zip(twin, ours, strict=True):
        p.value = q.backend.xp.asarray(q.value, copy=True)
    resumed = make(twin)
    resumed.lr = 0.5            # the state_dict's settings replace it
    resumed.load_state_dict(saved)
    assert resumed.settings() == optimizer.settings()
    for _ in range(2):
        _zen_gradients(ours, twin)
        optimizer.step()
        resumed.step()
    for p, q in zip(twin, ours, strict=True):
        numpy.testing.assert_array_equal(p.numpy(), q.numpy())


def test_load_state_dict_refuses_another_optimiser_or_other_shapes_and_changes_nothing(device):
    ours, _ = _pair(device)
    adam = Adam(ours, lr=0.1)
    _zen_gradients(ours)
    adam.step()
    sgd = SGD(ours, lr=0.1, momentum=0.9)
    with pytest.raises(OptimizerError, match=r"SGD.load_state_dict: the state_dict has the "
                                             r"settings \['betas', 'eps', 'lr'\]"):
        sgd.load_state_dict(adam.state_dict())
    other = Adam([Tensor(numpy.ones((2, 2)), trainable=True, device=device), ours[1]], lr=0.3)
    with pytest.raises(OptimizerError, match=r"parameter 0's first has shape \(3, 4\), but the "
                                             r"parameter has shape \(2, 2\)"):
        other.load_state_dict(adam.state_dict())
    assert other.lr == 0.3 and other.state == {}
    with pytest.raises(OptimizerError, match=r"needs an optimiser's state_dict\(\)"):
        other.load_state_dict({"lr": 0.1})


def test_schedulers_refuse_bad_settings():
    optimizer = SGD([Tensor([1.0], trainable=True)], lr=1.0)
    with pytest.raises(ArgumentError, match=r"StepLR: step_size must be a positive int, got 0"):
        zen.optim.StepLR(optimizer, step_size=0)
    with pytest.raises(ArgumentError, match=r"LinearLR: start_factor must be a number in "
                                            r"\(0, 1\], got 0"):
        zen.optim.LinearLR(optimizer, start_factor=0)
    with pytest.raises(ArgumentError, match=r"ExponentialLR: optimizer must be a zen.optim"):
        zen.optim.ExponentialLR("adam", gamma=0.5)
    assert optimizer.lr == 1.0
