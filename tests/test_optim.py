"""Optimisers against their closed-form updates and against PyTorch's."""

import math

import numpy
import pytest

import zen
from zen import Tensor
from zen.errors import ArgumentError
from zen.nn import Linear, Model, Tanh
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
        if name == "SGD" and "momentum" not in settings:
            p -= lr * g
        elif name in ("SGD", "Momentum"):
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
         ("SGD", SGD, dict(lr=0.1, momentum=0.8)),
         ("RMSProp", RMSProp, dict(lr=0.01, alpha=0.9)), ("Adam", Adam, dict(lr=0.1)),
         ("AdamW", AdamW, dict(lr=0.1, weight_decay=0.1))]
CASE_NAMES = [f"{name}-{'-'.join(settings)}" for name, _, settings in CASES]


@pytest.mark.parametrize("name, optimizer_class, settings", CASES, ids=CASE_NAMES)
def test_updates_match_their_closed_form(name, optimizer_class, settings, device):
    numpy.testing.assert_allclose(_run(optimizer_class, device, **settings),
                                  _closed_form(name, **settings), rtol=1e-12)


@pytest.mark.parametrize("name, optimizer_class, settings", CASES, ids=CASE_NAMES)
def test_updates_match_pytorch(name, optimizer_class, settings, device):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")
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
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")
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
    assert SGD(0.5).lr == 0.5


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


@pytest.mark.parametrize("name, optimizer_class, settings", CASES, ids=CASE_NAMES)
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
    assert RMSProp([Tensor(START)]).settings() == {"lr": 0.01, "alpha": 0.99, "eps": 1e-8}
    assert RMSProp().settings() == {"lr": 0.01, "alpha": 0.9, "epsilon": 1e-10}
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


# The original Zen's optimisers (the seed), written out from its code: every form of call it
# took, by keyword and by position, must take its steps. Small gradients make epsilon count.
SEED_GRADIENTS = GRADIENTS + [numpy.array([1e-4, -3e-4, 2e-5])] * 2


SEED_DEFAULTS = {"SGD": dict(lr=0.01), "Momentum": dict(lr=0.01, beta=0.9),
                 "RMSProp": dict(lr=0.01, beta=0.9, epsilon=1e-10),
                 "Adam": dict(lr=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8)}


def _seed_steps(name, **settings):
    """The original Zen's updates, as its optim.py wrote them (Adam with the bias correction
    zen fixes: it divided by 1 - beta where Kingma & Ba divide by 1 - beta ** t)."""
    settings = {**SEED_DEFAULTS[name], **settings}
    lr, beta, epsilon = settings["lr"], settings.get("beta"), settings.get("epsilon")
    beta1, beta2 = settings.get("beta1"), settings.get("beta2")
    p, v, s = START.copy(), 0, 0
    for t, g in enumerate(SEED_GRADIENTS, start=1):
        if name == "SGD":
            p -= g * lr
        elif name == "Momentum":
            v = beta * v + lr * g
            p -= v
        elif name == "RMSProp":
            s = beta * s + (1 - beta) * g ** 2
            p -= (lr / (s + epsilon) ** 0.5) * g
        else:
            v = beta1 * v + (1 - beta1) * g
            s = beta2 * s + (1 - beta2) * g ** 2
            p -= lr * ((v / (1 - beta1 ** t)) / ((s / (1 - beta2 ** t)) ** 0.5 + epsilon))
    return p


SEED_CALLS = [      # (the call, its class, the settings it meant in the original Zen)
    ("SGD(0.3)", lambda: SGD(0.3), dict(lr=0.3)),
    ("SGD(lr=0.3)", lambda: SGD(lr=0.3), dict(lr=0.3)),
    ("Momentum()", lambda: Momentum(), dict()),
    ("Momentum(0.05)", lambda: Momentum(0.05), dict(lr=0.05)),
    ("Momentum(0.05, 0.5)", lambda: Momentum(0.05, 0.5), dict(lr=0.05, beta=0.5)),
    ("Momentum(lr=0.05, beta=0.5)", lambda: Momentum(lr=0.05, beta=0.5),
     dict(lr=0.05, beta=0.5)),
    ("Momentum(beta=0.5)", lambda: Momentum(beta=0.5), dict(beta=0.5)),
    ("RMSProp()", lambda: RMSProp(), dict()),
    ("RMSProp(lr=0.02)", lambda: RMSProp(lr=0.02), dict(lr=0.02)),
    ("RMSProp(0.02, 0.5)", lambda: RMSProp(0.02, 0.5), dict(lr=0.02, beta=0.5)),
    ("RMSProp(0.02, 0.5, 1e-6)", lambda: RMSProp(0.02, 0.5, 1e-6),
     dict(lr=0.02, beta=0.5, epsilon=1e-6)),
    ("RMSProp(lr=0.02, beta=0.5, epsilon=1e-6)",
     lambda: RMSProp(lr=0.02, beta=0.5, epsilon=1e-6), dict(lr=0.02, beta=0.5, epsilon=1e-6)),
    ("RMSProp(epsilon=1e-6)", lambda: RMSProp(epsilon=1e-6), dict(epsilon=1e-6)),
    ("Adam()", lambda: Adam(), dict()),
    ("Adam(0.02)", lambda: Adam(0.02), dict(lr=0.02)),
    ("Adam(0.02, 0.8, 0.99, 1e-6)", lambda: Adam(0.02, 0.8, 0.99, 1e-6),
     dict(lr=0.02, beta1=0.8, beta2=0.99, epsilon=1e-6)),
    ("Adam(lr=0.02, beta1=0.8, beta2=0.99, epsilon=1e-6)",
     lambda: Adam(lr=0.02, beta1=0.8, beta2=0.99, epsilon=1e-6),
     dict(lr=0.02, beta1=0.8, beta2=0.99, epsilon=1e-6)),
    ("Adam(beta2=0.99)", lambda: Adam(beta2=0.99), dict(beta2=0.99)),
]


@pytest.mark.parametrize("call, make, meant", SEED_CALLS, ids=[c[0] for c in SEED_CALLS])
def test_the_original_zens_calls_take_its_steps(call, make, meant, device):
    optimizer = make()
    parameter = Tensor(START, device=device)
    for gradient in SEED_GRADIENTS:
        parameter.gradient = parameter.backend.asarray(gradient)
        optimizer.step([parameter])
    expected = _seed_steps(call.split("(")[0], **meant)
    numpy.testing.assert_allclose(parameter.numpy(), expected, rtol=1e-12, atol=1e-15)


def test_the_original_zens_calls_are_not_pytorchs_where_it_differed():
    """The forms are told apart: without parameters, RMSProp puts epsilon in the root and
    decays by 0.9, and Adam's lr is 0.01; PyTorch's defaults stay with its form."""
    parameters = [Tensor(START)]
    assert RMSProp().settings() != RMSProp(parameters).settings()
    assert (Adam().lr, Adam(parameters).lr) == (0.01, 0.001)
    assert RMSProp(lr=0.02, alpha=0.5).settings() == {"lr": 0.02, "alpha": 0.5, "eps": 1e-8}
    assert Adam(parameters, beta1=0.8).settings() == {"lr": 0.01, "betas": (0.8, 0.999),
                                                      "eps": 1e-8}


REFUSED_CALLS = [   # (what is wrong, the call, what the error says)
    ("SGD with two numbers", lambda: SGD(0.1, 0.9),
     (r"^SGD: got 2 settings by position, \(0.1, 0.9\); PyTorch's is SGD\(parameters, "
      r"lr=0.01, momentum=0.0\) and the original Zen's, without parameters, SGD\(lr=0.01\); "
      r"name the settings after lr$")),
    ("the original's order, PyTorch's eps", lambda: RMSProp(0.01, 0.5, eps=1e-8),
     (r"^RMSProp: the original Zen's RMSProp takes beta and PyTorch's takes eps, and they "
      r"update differently; PyTorch's is RMSProp\(parameters, lr=0.01, alpha=0.99, "
      r"eps=1e-08\) and the original Zen's, without parameters, RMSProp\(lr=0.01, beta=0.9, "
      r"epsilon=1e-10\); use the names of one$")),
    ("PyTorch's order, the original's epsilon",
     lambda: RMSProp([Tensor(START)], 0.01, 0.5, epsilon=1e-10),
     r"^RMSProp: the original Zen's RMSProp takes epsilon and PyTorch's takes alpha, and"),
    ("beta1 and betas", lambda: Adam(betas=(0.9, 0.99), beta1=0.8),
     r"^Adam: the original Zen's Adam takes beta1 and PyTorch's takes betas, and"),
    ("five numbers", lambda: Adam(0.01, 0.9, 0.999, 1e-8, 0.1),
     r"^Adam: got 5 settings by position"),
    ("AdamW with two numbers", lambda: AdamW(0.01, (0.9, 0.99)),
     r"^AdamW: got 2 settings by position.*AdamW takes AdamW\(parameters, lr=0.001, betas="),
    ("an unknown setting", lambda: Momentum(lr=0.1, nesterov=True),
     r"^Momentum: no setting named nesterov; "),
    ("lr twice", lambda: Adam([Tensor(START)], 0.01, lr=0.02), r"^Adam: got lr twice"),
    ("parameters twice", lambda: SGD([Tensor(START)], params=[Tensor(START)]),
     r"^SGD: got the parameters more than once"),
    ("beta of 1", lambda: Momentum(beta=1.0),
     r"^Momentum: beta must be a number in \[0, 1\), got 1.0"),
    ("beta2 of 1", lambda: Adam(beta1=0.9, beta2=1),
     r"^Adam: beta2 must be a number in \[0, 1\), got 1"),
    ("negative epsilon", lambda: RMSProp(epsilon=-1e-10),
     r"^RMSProp: epsilon must be a finite number >= 0"),
]


@pytest.mark.parametrize("make, message", [case[1:] for case in REFUSED_CALLS],
                         ids=[case[0] for case in REFUSED_CALLS])
def test_a_call_of_two_meanings_or_none_is_refused_naming_them(make, message):
    with pytest.raises(OptimizerError, match=message):
        make()


def _seed_model(device):
    zen.seed(3)
    return Model([Linear(4), Tanh(), Linear(2)], device=device, input_shape=(3,))


@pytest.mark.parametrize("optimizer_class", [SGD, Momentum, RMSProp, Adam, AdamW])
def test_the_original_zens_call_is_backward_then_a_step_of_every_parameter(optimizer_class,
                                                                          device):
    x = numpy.linspace(-1, 1, 15).reshape(5, 3)
    y = numpy.linspace(0, 1, 10).reshape(5, 2)
    called, stepped = _seed_model(device), _seed_model(device)
    optimizer, by_hand = optimizer_class(0.05), optimizer_class(0.05)
    for _ in range(3):
        assert optimizer(called, zen.loss.MSE(called(x), y)) is None
        zen.loss.MSE(stepped(x), y).backward()
        by_hand.step(stepped.parameters())
        by_hand.zero_grad(stepped.parameters())
    for mine, theirs in zip(called.parameters(), stepped.parameters(), strict=True):
        numpy.testing.assert_array_equal(mine.numpy(), theirs.numpy())
        assert mine.gradient is None


@pytest.mark.parametrize("model, loss, message", [
    ("model", None, r"^SGD\(model, loss\): model must be a zen.nn.Model .*got str"),
    (None, 1.5, r"^SGD\(model, loss\): loss must be the Tensor .*got float"),
])
def test_the_original_zens_call_refuses_what_is_not_a_model_and_a_loss(model, loss, message):
    real = _seed_model("cpu")
    model = real if model is None else model
    with pytest.raises(OptimizerError, match=message):
        SGD(0.1)(model, loss)


# The state's names are part of the checkpoint format: a file written today must resume later.
STATE_NAMES = {"SGD": set(), "Momentum": {"velocity"}, "RMSProp": {"square"},
               "Adam": {"step", "first", "second"}, "AdamW": {"step", "first", "second"}}


def _step_second_only(optimizer, idle, active, gradient):
    """One step in which ``idle`` has no gradient."""
    idle.gradient = None
    active.gradient = active.backend.asarray(gradient)
    optimizer.step()


@pytest.mark.parametrize("name, optimizer_class, settings", CASES, ids=CASE_NAMES)
def test_a_parameter_without_a_gradient_is_left_alone_and_the_others_step(
        name, optimizer_class, settings, device):
    idle, active = Tensor(START, device=device), Tensor(START, device=device)
    optimizer = optimizer_class([idle, active], **settings)
    for gradient in GRADIENTS:
        _step_second_only(optimizer, idle, active, gradient)
    numpy.testing.assert_array_equal(idle.numpy(), START)
    numpy.testing.assert_allclose(active.numpy(), _closed_form(name, **settings), rtol=1e-12)
    assert idle not in optimizer.state


@pytest.mark.parametrize("name, optimizer_class, settings", CASES, ids=CASE_NAMES)
def test_the_state_goes_to_host_arrays_and_back_and_training_goes_on_alike(
        name, optimizer_class, settings, device):
    idle, active = Tensor(START, device=device), Tensor(START, device=device)
    optimizer = optimizer_class([idle, active], **settings)
    for gradient in GRADIENTS[:2]:
        _step_second_only(optimizer, idle, active, gradient)
    values = optimizer.state_values([idle, active])
    momentum = {"velocity"} if settings.get("momentum") else set()      # SGD(momentum=)
    assert set(values) == {f"1.{state_name}" for state_name in STATE_NAMES[name] | momentum}
    on_host = {key: value if isinstance(value, int) else Tensor(value).numpy()
               for key, value in values.items()}               # as a checkpoint holds them
    resumed = optimizer_class([idle, active], **settings)
    resumed.load_state_values([idle, active], on_host)
    for state in resumed.state.values():
        for value in state.values():
            assert isinstance(value, int) or Tensor(value).device == device
    _step_second_only(resumed, idle, active, GRADIENTS[2])
    numpy.testing.assert_allclose(active.numpy(), _closed_form(name, **settings), rtol=1e-12)
