"""Optimisers against their closed-form updates and against PyTorch's."""

import math

import numpy
import pytest

from zen import Tensor
from zen.errors import ArgumentError
from zen.optim import SGD, Adam, AdamW, Momentum, OptimizerError, RMSProp

GRADIENTS = [numpy.array([0.5, -1.0, 2.0]), numpy.array([0.1, 0.3, -0.2]),
             numpy.array([-0.4, 0.2, 0.6])]
START = numpy.array([1.0, -2.0, 0.5])


def _run(optimizer_class, device, **settings):
    parameter = Tensor(START, device=device)
    optimizer = optimizer_class([parameter], **settings)
    for gradient in GRADIENTS:
        parameter.gradient = parameter.backend.asarray(gradient)
        optimizer.step()
    for values in optimizer.state.values():
        for value in values.values():
            if not isinstance(value, int):               # step counts are host ints
                assert Tensor(value).device == device   # state lives beside the parameter
    return parameter.numpy()


def _closed_form(name, lr, **settings):
    p, state = START.copy(), {}
    for t, g in enumerate(GRADIENTS, start=1):
        if name == "SGD":
            p -= lr * g
        elif name == "Momentum":
            state["v"] = settings["momentum"] * state.get("v", 0) + g
            p -= lr * state["v"]
        elif name == "RMSProp":
            state["s"] = settings["alpha"] * state.get("s", 0) + (1 - settings["alpha"]) * g * g
            p -= lr * g / (numpy.sqrt(state["s"]) + 1e-8)
        else:
            if name == "AdamW":
                p *= 1 - lr * settings["weight_decay"]
            state["m"] = 0.9 * state.get("m", 0) + 0.1 * g
            state["v"] = 0.999 * state.get("v", 0) + 0.001 * g * g
            m_hat, v_hat = state["m"] / (1 - 0.9 ** t), state["v"] / (1 - 0.999 ** t)
            p -= lr * m_hat / (numpy.sqrt(v_hat) + 1e-8)
    return p


CASES = [("SGD", SGD, dict(lr=0.1)), ("Momentum", Momentum, dict(lr=0.1, momentum=0.9)),
         ("RMSProp", RMSProp, dict(lr=0.01, alpha=0.9)), ("Adam", Adam, dict(lr=0.1)),
         ("AdamW", AdamW, dict(lr=0.1, weight_decay=0.1))]


@pytest.mark.parametrize("name, optimizer_class, settings", CASES, ids=[c[0] for c in CASES])
def test_updates_match_their_closed_form(name, optimizer_class, settings, device):
    numpy.testing.assert_allclose(_run(optimizer_class, device, **settings),
                                  _closed_form(name, **settings), rtol=1e-12)


@pytest.mark.parametrize("name, optimizer_class, settings", CASES, ids=[c[0] for c in CASES])
def test_updates_match_pytorch(name, optimizer_class, settings, device):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install zen[oracle]")
    torch_class = {"SGD": torch.optim.SGD, "Momentum": torch.optim.SGD,
                   "RMSProp": torch.optim.RMSprop, "Adam": torch.optim.Adam,
                   "AdamW": torch.optim.AdamW}[name]
    parameter = torch.tensor(START, requires_grad=True)
    optimizer = torch_class([parameter], **settings)
    for gradient in GRADIENTS:
        parameter.grad = torch.tensor(gradient)
        optimizer.step()
    numpy.testing.assert_allclose(_run(optimizer_class, device, **settings),
                                  parameter.detach().numpy(), rtol=1e-12)


def test_adam_counts_steps_per_parameter_as_pytorch_does(device):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle; install zen[oracle]")
    early, late = Tensor([1.0], device=device, dtype="float64"), \
        Tensor([1.0], device=device, dtype="float64")
    optimizer = Adam([early, late], lr=0.1)
    t_early, t_late = (torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
                       for _ in range(2))
    t_optimizer = torch.optim.Adam([t_early, t_late], lr=0.1)
    for step in range(5):
        early.gradient = early.backend.asarray([0.5])
        late.gradient = late.backend.asarray([0.5]) if step >= 3 else None
        optimizer.step()
        t_early.grad = torch.tensor([0.5], dtype=torch.float64)
        t_late.grad = torch.tensor([0.5], dtype=torch.float64) if step >= 3 else None
        t_optimizer.step()
    assert late.item() == pytest.approx(t_late.item(), rel=1e-12)
    assert early.item() == pytest.approx(t_early.item(), rel=1e-12)


def test_adam_bias_correction_makes_the_first_step_lr_sized(device):
    parameter = Tensor([0.0], device=device, dtype="float64")
    parameter.gradient = parameter.backend.asarray([1e-3])
    Adam([parameter], lr=0.1).step()
    assert parameter.item() == pytest.approx(-0.1, rel=1e-4)


def test_float32_parameters_stay_float32(device):
    parameter = Tensor([1.0, 2.0], device=device)
    parameter.gradient = parameter.backend.xp.ones_like(parameter.value)
    Adam([parameter]).step()
    assert str(parameter.numpy().dtype) == "float32"


def test_an_optimizer_needs_parameters():
    with pytest.raises(OptimizerError, match="SGD: got an empty list of parameters"):
        SGD([])
    with pytest.raises(OptimizerError, match="Adam: no parameters to update"):
        Adam(lr=0.1).step()
    assert SGD(0.5).lr == 0.5 and math.isclose(Adam().lr, 1e-3)


# Every setting of every optimiser, each with values that would divide by zero, run away to
# infinity or NaN, or are not numbers at all.
BAD_SETTINGS = [
    (name, optimizer_class, setting, value, wanted)
    for name, optimizer_class, settings in CASES
    for setting in ["lr", *settings, *{"RMSProp": ["eps"], "Adam": ["betas", "eps"],
                                        "AdamW": ["betas", "eps"]}.get(name, [])]
    if setting != "lr" or name in ("SGD", "AdamW")
    for value, wanted in {
        "lr": [(-0.1, ">= 0"), (math.inf, "finite"), (math.nan, "finite"), ("0.1", r"\(str\)"),
               (True, ">= 0"), (None, ">= 0")],
        "eps": [(-1.0, ">= 0"), (math.inf, "finite"), ("1e-8", r"\(str\)")],
        "weight_decay": [(-0.01, ">= 0"), (math.nan, "finite")],
        "momentum": [(1.0, r"\[0, 1\)"), (-0.5, r"\[0, 1\)"), (math.nan, r"\[0, 1\)")],
        "alpha": [(1, r"\[0, 1\)"), (1.5, r"\[0, 1\)"), ("0.9", r"\(str\)")],
        "betas": [((1, 1), "two numbers"), ((0.9, 1.0), "two numbers"), ((-0.1, 0.9), "two"),
                  ((0.9,), "two numbers"), (0.9, "two numbers"), (("0.9", "0.99"), "two")],
    }[setting]]


@pytest.mark.parametrize("name, optimizer_class, setting, value, wanted", BAD_SETTINGS,
                         ids=[f"{c[0]}-{c[2]}={c[3]!r}" for c in BAD_SETTINGS])
def test_a_setting_out_of_range_is_refused_by_name(name, optimizer_class, setting, value,
                                                   wanted):
    with pytest.raises(ArgumentError, match=rf"^{name}: {setting} must be .*{wanted}"):
        optimizer_class([Tensor(START)], **{setting: value})
    with pytest.raises(ArgumentError, match=rf"^{name}: {setting} must be"):
        optimizer_class(**{setting: value})     # Optimizer(lr=...), parameters given later


@pytest.mark.parametrize("name, optimizer_class, settings", CASES, ids=[c[0] for c in CASES])
def test_a_zero_learning_rate_is_allowed_and_moves_nothing(name, optimizer_class, settings,
                                                          device):
    numpy.testing.assert_array_equal(_run(optimizer_class, device, **{**settings, "lr": 0}),
                                     START)


def test_zero_decay_rates_are_allowed_as_in_pytorch():
    assert Momentum(momentum=0).momentum == 0.0
    assert RMSProp(alpha=0, eps=0).settings() == {"lr": 0.01, "alpha": 0.0, "eps": 0.0}
    assert AdamW(betas=(0, 0), eps=0, weight_decay=0).settings() == {
        "lr": 0.001, "betas": (0.0, 0.0), "eps": 0.0, "weight_decay": 0.0}


def test_settings_are_every_hyper_parameter_as_floats():
    assert Adam(lr=1).settings() == {"lr": 1.0, "betas": (0.9, 0.999), "eps": 1e-8}
    assert AdamW(0.5, betas=[0.8, 0.9]).settings() == {
        "lr": 0.5, "betas": (0.8, 0.9), "eps": 1e-8, "weight_decay": 0.01}
    assert Momentum(lr=0.1).settings() == {"lr": 0.1, "momentum": 0.9}
    assert RMSProp().settings() == {"lr": 0.01, "alpha": 0.99, "eps": 1e-8}
    assert SGD(numpy.float32(0.5)).settings() == {"lr": 0.5}
    assert SGD().settings() == {"lr": 0.01}
    assert Momentum().settings() == {"lr": 0.01, "momentum": 0.9}
    assert repr(Momentum(lr=0.1)) == "Momentum(lr=0.1, momentum=0.9)"


@pytest.mark.parametrize("parameters", ["0.1", [1.0, 2.0], 3j],
                         ids=["a string", "numbers", "a complex number"])
def test_parameters_must_be_tensors(parameters):
    with pytest.raises(OptimizerError, match=r"^SGD: parameters must be .*Tensors"):
        SGD(parameters)


def test_a_recorded_gradient_is_applied_by_value(device):
    x = Tensor([1.0, 2.0], device=device, dtype="float64")
    (x ** 3).sum().backward(create_graph=True)
    SGD([x], lr=0.1).step()
    numpy.testing.assert_allclose(x.numpy(), [1.0 - 0.3, 2.0 - 1.2])


# The state's names are part of the checkpoint format: a file written today must resume later.
STATE_NAMES = {"SGD": set(), "Momentum": {"velocity"}, "RMSProp": {"square"},
               "Adam": {"step", "first", "second"}, "AdamW": {"step", "first", "second"}}


def _step_second_only(optimizer, idle, active, gradient):
    """One step in which ``idle`` has no gradient."""
    idle.gradient = None
    active.gradient = active.backend.asarray(gradient)
    optimizer.step()


@pytest.mark.parametrize("name, optimizer_class, settings", CASES, ids=[c[0] for c in CASES])
def test_a_parameter_without_a_gradient_is_left_alone_and_the_others_step(
        name, optimizer_class, settings, device):
    idle, active = Tensor(START, device=device), Tensor(START, device=device)
    optimizer = optimizer_class([idle, active], **settings)
    for gradient in GRADIENTS:
        _step_second_only(optimizer, idle, active, gradient)
    numpy.testing.assert_array_equal(idle.numpy(), START)
    numpy.testing.assert_allclose(active.numpy(), _closed_form(name, **settings), rtol=1e-12)
    assert idle not in optimizer.state


@pytest.mark.parametrize("name, optimizer_class, settings", CASES, ids=[c[0] for c in CASES])
def test_the_state_goes_to_host_arrays_and_back_and_training_goes_on_alike(
        name, optimizer_class, settings, device):
    idle, active = Tensor(START, device=device), Tensor(START, device=device)
    optimizer = optimizer_class([idle, active], **settings)
    for gradient in GRADIENTS[:2]:
        _step_second_only(optimizer, idle, active, gradient)
    values = optimizer.state_values([idle, active])
    assert set(values) == {f"1.{state_name}" for state_name in STATE_NAMES[name]}
    on_host = {key: value if isinstance(value, int) else Tensor(value).numpy()
               for key, value in values.items()}               # as a checkpoint holds them
    resumed = optimizer_class([idle, active], **settings)
    resumed.load_state_values([idle, active], on_host)
    for state in resumed.state.values():
        for value in state.values():
            assert isinstance(value, int) or Tensor(value).device == device
    _step_second_only(resumed, idle, active, GRADIENTS[2])
    numpy.testing.assert_allclose(active.numpy(), _closed_form(name, **settings), rtol=1e-12)
