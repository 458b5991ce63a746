"""zen.capture: a captured training step gives what the eager step gives, bit for bit, over
several epochs with a short last batch, for every layer, loss and optimiser; every guard
traces again when what it watches changes; every step that cannot be replayed runs eagerly
and says why, once."""

import collections
import importlib
import types
import warnings

import numpy
import pytest

import zen
from tests.test_every_layer import EXAMPLES
from zen import nn, optim

ROWS, BATCH = 10, 4         # batches of 4, 4 and 2: the last one is short, so traced apart


def _data(shape, ids, seed=0):
    rng = numpy.random.default_rng(seed)
    shape = (ROWS, *shape[1:])
    return rng.integers(0, ids, shape) if ids else rng.normal(size=shape).astype("float32")


class Run:
    """One model, optimiser and step, eager or captured, trained batch by batch."""

    def __init__(self, layers, x, y, loss_fn, make_optimizer, device, captured, graphs=None):
        zen.seed(0)
        self.model = nn.Model(layers(), device=device)
        self.model(x[:BATCH])
        self.model.train()
        self.optimizer = make_optimizer(self.model.parameters())
        self.x, self.y, self.device = x, y, device
        self.scale = 1.0

        def step(x, y):
            loss = loss_fn(self.model(x), y) * self.scale
            loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad()
            return loss

        self.step = zen.capture(step, graphs=graphs) if captured else step

    def batch(self, first, last):
        x = zen.Tensor(self.x[first:last], device=self.device, trainable=False)
        return x, zen.Tensor(self.y[first:last], device=self.device)

    def epochs(self, count):
        losses = []
        for _ in range(count):
            for first in range(0, ROWS, BATCH):
                losses.append(self.step(*self.batch(first, first + BATCH)))
        return losses

    def state(self):
        arrays = [p.value for p in self.model.parameters()]
        arrays += [b.value for layer in self.model.layers
                   for b in getattr(layer, "buffers", {}).values()]
        arrays += [v for s in self.optimizer.state.values() for v in s.values()
                   if not isinstance(v, int)]
        return [zen.Tensor(a).numpy() for a in arrays]


@pytest.fixture(params=[False, True], ids=["plain", "graphs"])
def graphs(request):
    """Replays as generated code, or as the program of fixed arrays that CUDA graphs need
    (``zen.capture(graphs=True)``), run here call by call."""
    return request.param


def _same_training(layers, x, y, loss_fn, make_optimizer, device, epochs=3, replays=True,
                   graphs=None):
    """Train eagerly and captured; the losses, parameters, buffers and optimiser state
    agree bit for bit. Returns the captured step."""
    eager = Run(layers, x, y, loss_fn, make_optimizer, device, captured=False)
    captured = Run(layers, x, y, loss_fn, make_optimizer, device, captured=True,
                   graphs=graphs)
    with warnings.catch_warnings():
        if replays:
            warnings.simplefilter("error", zen.CaptureWarning)
        zen.seed(1)
        eager_losses = eager.epochs(epochs)
        zen.seed(1)
        captured_losses = captured.epochs(epochs)
    for a, b in zip(eager_losses, captured_losses, strict=True):
        assert a.item() == b.item() or (numpy.isnan(a.item()) and numpy.isnan(b.item()))
    for a, b in zip(eager.state(), captured.state(), strict=True):
        numpy.testing.assert_array_equal(a, b)
    if replays:
        assert captured.step.replays >= 3 * epochs - 4      # all but warm-up and two traces
    return captured.step


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_layer_trains_captured_as_it_trains_eagerly(name, device, graphs):
    make, shape, ids = EXAMPLES[name]
    x = _data(shape, ids)
    zen.seed(0)
    probe = nn.Model([make(), nn.Linear(2)], device=device)
    y = numpy.zeros(probe.predict(x[:BATCH]).shape[1:], "float32")
    y = numpy.broadcast_to(y, (ROWS, *y.shape)).copy()
    _same_training(lambda: [make(), nn.Linear(2)], x, y, zen.loss.MSE,
                   lambda p: optim.Adam(p, lr=0.01), device, replays=name != "Dropout",
                   graphs=graphs)


def test_a_dropout_step_runs_eagerly_and_says_it_draws_random_numbers(device):
    make, shape, ids = EXAMPLES["Dropout"]
    with pytest.warns(zen.CaptureWarning, match="draws random numbers"):
        step = _same_training(lambda: [make(), nn.Linear(2)], _data(shape, ids),
                              numpy.zeros((ROWS, 2), "float32"), zen.loss.MSE,
                              lambda p: optim.SGD(p, lr=0.1), device, replays=False)
    assert step.replays == 0


OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.1),
    "SGD momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "Momentum": lambda p: optim.Momentum(p, lr=0.05),
    "Momentum, Zen's": lambda p: optim.Momentum(lr=0.05, beta=0.8).__class__(p, lr=0.05),
    "RMSProp": lambda p: optim.RMSProp(p, lr=0.01),
    "RMSProp, Zen's": lambda p: _with(optim.RMSProp(lr=0.01, beta=0.9), p),
    "Adam": lambda p: optim.Adam(p, lr=0.01),
    "Adam, Zen's": lambda p: _with(optim.Adam(0.01, beta1=0.8), p),
    "AdamW": lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
}


def _with(optimizer, parameters):
    optimizer.parameters = list(parameters)
    return optimizer


def _mlp():
    return [nn.Linear(8), nn.Tanh(), nn.Linear(3)]


def _classes():
    rng = numpy.random.default_rng(3)
    x = rng.normal(size=(ROWS, 5)).astype("float32")
    return x, rng.integers(0, 3, ROWS)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimiser_steps_captured_as_it_steps_eagerly(name, device, graphs):
    x, labels = _classes()
    _same_training(_mlp, x, labels, zen.cross_entropy, OPTIMIZERS[name], device,
                   graphs=graphs)


def _one_hot(labels):
    return numpy.eye(3, dtype="float32")[labels]


LOSSES = {
    "MSE": (zen.loss.MSE, _one_hot),
    "categorical_crossentropy": (
        lambda p, t: zen.loss.categorical_crossentropy(zen.softmax(p, axis=-1), t), _one_hot),
    "cross_entropy, labels": (zen.cross_entropy, None),
    "cross_entropy, smoothing": (
        lambda p, t: zen.cross_entropy(p, t, label_smoothing=0.1), None),
    "cross_entropy, probabilities": (zen.cross_entropy, _one_hot),
    "nll_loss": (lambda p, t: zen.nll_loss(zen.log_softmax(p, axis=-1), t), None),
    "binary_cross_entropy_with_logits": (zen.binary_cross_entropy_with_logits, _one_hot),
    "binary_cross_entropy": (lambda p, t: zen.binary_cross_entropy(zen.sigmoid(p), t),
                             _one_hot),
    "l1_loss": (zen.l1_loss, _one_hot),
    "smooth_l1_loss": (zen.smooth_l1_loss, _one_hot),
    "huber_loss": (zen.huber_loss, _one_hot),
    "kl_div": (lambda p, t: zen.kl_div(zen.log_softmax(p, axis=-1), t, reduction="batchmean"),
               lambda labels: _one_hot(labels) * 0.9 + 0.1 / 3),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_trains_captured_as_it_trains_eagerly(name, device, graphs):
    loss_fn, target = LOSSES[name]
    x, labels = _classes()
    y = labels if target is None else target(labels)
    _same_training(_mlp, x, y, loss_fn, OPTIMIZERS["Adam"], device, graphs=graphs)


def test_the_returned_loss_is_a_fresh_tensor_each_call(device):
    x, labels = _classes()
    run = Run(_mlp, x, labels, zen.cross_entropy, OPTIMIZERS["SGD"], device, captured=True)
    losses = run.epochs(3)
    values = [loss.item() for loss in losses]
    assert len(set(values)) == len(values)          # none overwritten by a later replay
    assert len({id(loss.value) for loss in losses}) == len(losses)
    assert run.step.replays > 0


def _captured_mlp(device, captured=True, graphs=None):
    x, labels = _classes()
    return Run(_mlp, x, labels, zen.cross_entropy, OPTIMIZERS["Adam"], device, captured,
               graphs)


def _agree(change, device, graphs=None):
    """Three steps (eager, traced, replayed), then ``change(run)``, which returns the batch
    to go on with, then two steps: the eager and the captured run agree bit for bit.
    Returns the captured step."""
    runs = _captured_mlp(device, captured=False), _captured_mlp(device, graphs=graphs)
    losses = []
    for run in runs:
        for _ in range(3):
            run.step(*run.batch(0, BATCH))
        try:
            zen.seed(7)     # a layer the change adds draws the same weights in both runs
            batch = change(run) or run.batch(0, BATCH)
            losses.append([run.step(*batch).item() for _ in range(2)])
        finally:
            zen.set_default_dtype("float32")
    assert losses[0] == losses[1]
    for a, b in zip(runs[0].state(), runs[1].state(), strict=True):
        numpy.testing.assert_array_equal(a, b)
    _assert_guards_agree(runs[1].step)
    return runs[1].step


def _assert_guards_agree(captured):
    """Each plan's compiled check holds exactly when each of its guards, read one by one,
    holds."""
    for plans in captured.plans.values():
        for plan in plans:
            one_by_one = plan.what_changed() == "nothing the guards watch changed"
            assert plan.holds() is one_by_one, plan.what_changed()


def _rebind_parameters(run):
    for parameter in run.model.parameters():
        parameter.value = zen.Tensor(parameter.value).value + 0.5


def _reload(run, tmp_path=None):
    other = nn.Model(_mlp(), device=run.model.backend)
    other(run.x[:BATCH])
    run.model.set_weights(other.get_weights()) if hasattr(run.model, "set_weights") else \
        _rebind_parameters(run)


def _replace_weights(run):
    """The first layer given new weight tensors in a new dict (as a failed first call that
    built it leaves it), the second a new tensor in place of its kernel."""
    first, second = run.model.layers[0], run.model.layers[2]
    first.weights = {name: zen.Tensor(weight.value + 0.5) for name, weight in
                     first.weights.items()}
    second.weights["weight"] = zen.Tensor(second.weights["weight"].value * 0.5)


GUARDS = {
    "a new batch shape": lambda run: run.batch(0, 2),
    "a new dtype": lambda run: (zen.Tensor(run.x[:BATCH], dtype="float64", trainable=False,
                                           device=run.device), run.batch(0, BATCH)[1]),
    "a trainable input": lambda run: (zen.Tensor(run.x[:BATCH], device=run.device),
                                      run.batch(0, BATCH)[1]),
    "parameters rebound": _rebind_parameters,
    "a layer's weights replaced": _replace_weights,
    "a layer's mode": lambda run: run.model.layers[1].eval() and None,
    "a layer's setting": lambda run: setattr(run.model.layers[2], "use_bias", False),
    "the default dtype": lambda run: zen.set_default_dtype("float64"),
    "optimiser state rebound": lambda run: [state.update(first=zen.Tensor(state["first"]).value
                                                         * 0.5)
                                            for state in run.optimizer.state.values()] and None,
    "the optimiser's betas": lambda run: setattr(run.optimizer, "betas", (0.5, 0.9)),
    "a parameter frozen": lambda run: setattr(run.model.parameters()[0], "trainable", False),
    "the optimiser's state replaced": lambda run: run.optimizer.load_state_dict(
        run.optimizer.state_dict()),
    "the optimiser's parameters": lambda run: run.optimizer.parameters.__delitem__(-1),
    "a layer replaced": lambda run: run.model.layers.__setitem__(1, nn.ReLU()),
    "a layer added": lambda run: run.model.layers.insert(1, nn.Linear(8)),
    "a number the step reads": lambda run: setattr(run, "scale", 0.5),
    "an optimiser the step reads": lambda run: setattr(
        run, "optimizer", optim.SGD(run.model.parameters(), lr=0.5)),
}


@pytest.mark.parametrize("name", sorted(GUARDS))
def test_a_guard_traces_again_when_what_it_watches_changes(name, device, graphs):
    step = _agree(GUARDS[name], device, graphs)
    assert step.traces >= 2


def test_a_new_learning_rate_is_read_at_every_replay_without_tracing_again(device, graphs):
    def scheduled(run):
        run.optimizer.lr = 0.05
    step = _agree(scheduled, device, graphs)
    assert step.traces == 1 and step.replays == 3


def test_a_changed_optimiser_in_the_closure_traces_again(device):
    x, labels = _classes()
    zen.seed(0)
    model = nn.Model(_mlp(), device=device)
    model(x[:BATCH])
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    @zen.capture
    def step(x, y):
        loss = zen.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    batch = (zen.Tensor(x[:BATCH], trainable=False, device=device),
             zen.Tensor(labels[:BATCH], device=device))
    for _ in range(3):
        step(*batch)
    optimizer = optim.SGD(model.parameters(), lr=0.0)
    before = [zen.Tensor(p.value).numpy() for p in model.parameters()]
    step(*batch)
    assert step.traces == 2
    for a, p in zip(before, model.parameters(), strict=True):
        numpy.testing.assert_array_equal(a, zen.Tensor(p.value).numpy())   # lr 0: unchanged


def test_tracing_too_often_runs_eagerly_and_warns_once(device):
    run = _captured_mlp(device)
    run.step = zen.capture(run.step.step, max_traces=2)
    with pytest.warns(zen.CaptureWarning, match="traced 2 times.*shapes") as caught:
        for rows in (4, 3, 2, 1, 2, 1):
            run.step(*run.batch(0, rows))
    assert len([w for w in caught if issubclass(w.category, zen.CaptureWarning)]) == 1
    assert run.step.traces == 2


def _refusing(body):
    """A step over a Linear model whose loss is ``body(model, x, y)``."""
    def make(device):
        zen.seed(0)
        model = nn.Model([nn.Linear(3)], input_shape=(2,), device=device)
        optimizer = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            loss = body(model, x, y)
            optimizer.step()
            optimizer.zero_grad()
            return loss
        return step
    return make


def _mse(model, x, y):
    loss = zen.loss.MSE(model(x), y)
    loss.backward()
    return loss


def _read(read):
    def body(model, x, y):
        loss = _mse(model, x, y)
        read(loss)
        return loss
    return body


def _backward(**settings):
    def body(model, x, y):
        loss = zen.loss.MSE(model(x), y)
        loss.backward(**settings)
        return loss
    return body


def _made_inside(model, x, y):
    return _mse(model, x * zen.Tensor(numpy.full((4, 2), 2.0, "float32"), device=x.device), y)


def _masked(model, x, y):
    out = model(x)
    loss = zen.sum(out[out > 0] ** 2)
    loss.backward()
    return loss


REFUSALS = {
    "item()": (_read(lambda loss: loss.item()), "reads a value to the host"),
    "float()": (_read(float), "reads a value to the host"),
    "bool()": (_read(lambda loss: bool(loss > 0)), "reads a value to the host"),
    "numpy()": (_read(lambda loss: loss.numpy()), "reads a value to the host"),
    "a tensor made inside": (_made_inside, "made a tensor from an array"),
    "retain_graph": (_backward(retain_graph=True), "retain_graph"),
    "create_graph": (_backward(create_graph=True), "create_graph"),
    "grad=": (_backward(grad=1.0), "grad="),
    "a boolean mask": (_masked, "depends on the data"),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_step_that_cannot_be_replayed_runs_eagerly_and_says_why_once(name, device):
    body, reason = REFUSALS[name]
    rng = numpy.random.default_rng(0)
    batches = [(zen.Tensor(rng.normal(size=(4, 2)), trainable=False, device=device),
                zen.Tensor(rng.normal(size=(4, 3)), device=device)) for _ in range(4)]
    eager, captured = _refusing(body)(device), zen.capture(_refusing(body)(device))
    with pytest.warns(zen.CaptureWarning, match=reason) as caught:
        for x, y in batches:
            assert eager(x, y).item() == captured(x, y).item()
    assert len([w for w in caught if issubclass(w.category, zen.CaptureWarning)]) == 1
    assert captured.replays == 0


def test_an_optimiser_whose_update_is_not_zens_runs_eagerly(device):
    class Halving(optim.SGD):
        def update(self, parameter, gradient, state):
            state["calls"] = state.get("calls", 0) + 1
            array = zen.Tensor(parameter.value)
            parameter.value[...] = (array - self.lr / state["calls"] * zen.Tensor(gradient)).value

    zen.seed(0)
    model = nn.Model([nn.Linear(3)], input_shape=(2,), device=device)
    optimizer = Halving(model.parameters(), lr=0.1)

    @zen.capture
    def step(x, y):
        loss = _mse(model, x, y)
        optimizer.step()
        optimizer.zero_grad()
        return loss

    x = zen.Tensor(numpy.ones((4, 2)), trainable=False, device=device)
    with pytest.warns(zen.CaptureWarning):
        for _ in range(3):
            step(x, zen.Tensor(numpy.zeros((4, 3)), device=device))
    assert step.replays == 0


def test_anomaly_detection_runs_the_step_eagerly(device):
    run = _captured_mlp(device)
    with zen.detect_anomaly(), pytest.warns(zen.CaptureWarning, match="anomaly"):
        for _ in range(3):
            run.step(*run.batch(0, BATCH))
    assert run.step.replays == 0


def test_a_bad_label_raises_at_a_replay_as_it_does_eagerly(device):
    run = _captured_mlp(device)
    _three = [run.step(*run.batch(0, BATCH)) for _ in range(3)]
    assert run.step.replays == 1 and len(_three) == 3
    x, _ = run.batch(0, BATCH)
    with pytest.raises(zen.errors.DataError, match="outside"):
        run.step(x, zen.Tensor(numpy.array([0, 1, 7, 2]), device=device))


def test_a_recorded_in_place_edit_replays_with_its_version_bump(device):
    zen.seed(0)
    model = nn.Model([nn.Linear(3)], input_shape=(2,), device=device)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scale = zen.Tensor(numpy.ones(3, "float32"), trainable=False, device=device)

    def make():
        def step(x, y):
            loss = zen.loss.MSE(model(x) * scale, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            scale[...] = scale * 1.5
            return loss
        return step

    captured = zen.capture(make())
    x = zen.Tensor(numpy.ones((4, 2)), trainable=False, device=device)
    y = zen.Tensor(numpy.zeros((4, 3)), device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error", zen.CaptureWarning)
        for _ in range(4):
            captured(x, y)
    assert captured.replays == 2
    numpy.testing.assert_array_equal(scale.numpy(), numpy.full(3, 1.5 ** 4, "float32"))


def test_constants_a_traced_step_makes_are_plain_arrays_after_it(device):
    """Before, zen's cache of Python-number constants kept a traced step's stand-ins, and
    eager ops on the strict device refused them later."""
    run = _captured_mlp(device)

    def step(x, y):
        loss = zen.cross_entropy(run.model(x) * 0.37, y)
        loss.backward()
        return loss
    captured = zen.capture(step)
    for _ in range(3):
        captured(*run.batch(0, BATCH))
    product = zen.Tensor(numpy.ones(3, "float32"), device=device) * 0.37
    assert type(product.value) is type(zen.Tensor(1.0, device=device).value)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_model_train_captures_its_steps_with_the_eager_results(name, device):
    """Model.train captures each step and its validation's forward passes by default
    (Dropout's steps run eagerly): its history, parameters and buffers are those of
    capture=False, over calls of train and epochs with a short last batch, and the steps of a
    later call replay the plan of the first."""
    make, shape, ids = EXAMPLES[name]
    x = _data(shape, ids)
    results = []
    for captured in (False, True):
        zen.seed(0)
        model = nn.Model([make(), nn.Linear(2)], device=device)
        y = numpy.zeros((ROWS, *model.predict(x[:1]).shape[1:]), "float32")
        optimizer = optim.Adam(model.parameters(), lr=0.01)
        histories = [model.train(x, y, epochs=2, batch_size=BATCH, optimizer=optimizer,
                                 verbose=False, capture=captured, validation_data=(x, y))
                     for _ in range(2)]
        state = [zen.Tensor(a).numpy() for a in
                 [p.value for p in model.parameters()] +
                 [b.value for layer in model.layers for b in layer.buffers.values()]]
        results.append((histories, state))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1], strict=True):
        numpy.testing.assert_array_equal(a, b)
    steps = zen.training._CAPTURED_STEPS[model]
    (step,) = [step for key, step in steps.items() if key != "predict"]
    assert step.replays > 0 if name != "Dropout" else step.reasons
    assert steps["predict"].replays > 0


def _scheduled_inside(model, x, y):
    loss = _mse(model, x, y)
    _scheduled_inside.scheduler.step()
    return loss


REFUSED_KINDS = {
    "a returned tensor with a graph": (lambda model, x, y: model(x), "still to be"),
}


def test_a_step_that_steps_a_scheduler_inside_runs_eagerly(device):
    zen.seed(0)
    model = nn.Model([nn.Linear(3)], input_shape=(2,), device=device)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.StepLR(optimizer, step_size=1, gamma=0.5)

    @zen.capture
    def step(x, y):
        loss = _mse(model, x, y)
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
        return loss

    x = zen.Tensor(numpy.ones((4, 2)), trainable=False, device=device)
    with pytest.warns(zen.CaptureWarning, match="scheduler"):
        for _ in range(4):
            step(x, zen.Tensor(numpy.zeros((4, 3)), device=device))
    assert step.replays == 0 and optimizer.lr == 0.1 * 0.5 ** 4


def test_a_returned_tensor_with_a_graph_still_to_differentiate_runs_eagerly(device):
    zen.seed(0)
    model = nn.Model([nn.Linear(3)], input_shape=(2,), device=device)
    forward = zen.capture(model.__call__)
    x = zen.Tensor(numpy.ones((4, 2)), trainable=False, device=device)
    with pytest.warns(zen.CaptureWarning, match="still to be differentiated"):
        outputs = [forward(x) for _ in range(3)]
    zen.sum(outputs[-1]).backward()         # eagerly the graph is there: so it stays
    assert all(p.gradient is not None for p in model.parameters())


@pytest.mark.parametrize("argument", [{"x": 1}, [1.0], object()], ids=["dict", "list", "object"])
def test_an_argument_whose_contents_are_not_watched_runs_eagerly(argument, device):
    step = zen.capture(lambda x, extra: x * 2.0)
    x = zen.Tensor(numpy.ones(3), trainable=False, device=device)
    with pytest.warns(zen.CaptureWarning, match="pass tensors, arrays, numbers"):
        for _ in range(3):
            step(x, argument)
    assert step.replays == 0


def test_zero_and_minus_zero_arguments_have_their_own_plans(device):
    step = zen.capture(lambda x, scale: 1.0 / (x * scale))
    x = zen.Tensor(numpy.ones(2, "float32"), trainable=False, device=device)
    results = [step(x, scale).numpy()[0] for scale in (0.0, 0.0, 0.0, -0.0, -0.0)]
    assert results == [numpy.inf] * 3 + [-numpy.inf] * 2


def test_a_captured_function_called_inside_a_traced_step_is_part_of_its_trace(device):
    runs = [_captured_mlp(device, captured=False), _captured_mlp(device)]
    model = runs[1].model
    inner = zen.capture(lambda x: model(x))
    runs[1].model = type("Forward", (), {"__call__": staticmethod(inner)})()
    losses = [[run.step(*run.batch(0, BATCH)).item() for _ in range(4)] for run in runs]
    assert losses[0] == losses[1] and runs[1].step.replays == 2


def test_a_method_step_replays_while_attributes_it_does_not_read_change(device):
    """Its object's attributes that the method names are guarded (a scale, a model), the
    rest not: a counter beside them changing at every call does not trace again."""

    class Trainer:
        def __init__(self):
            self.run, self.scale, self.calls = _captured_mlp(device, captured=False), 1.0, 0

        def step(self, x, y):
            loss = zen.cross_entropy(self.run.model(x), y) * self.scale
            loss.backward()
            self.run.optimizer.step()
            self.run.optimizer.zero_grad()
            return loss

    trainer = Trainer()
    step = zen.capture(trainer.step)
    for _ in range(4):
        trainer.calls += 1
        step(*trainer.run.batch(0, BATCH))
    assert step.traces == 1 and step.replays == 2
    trainer.scale = 0.5
    step(*trainer.run.batch(0, BATCH))
    assert step.traces == 2


def test_a_step_traced_too_often_says_which_guard_kept_failing(device):
    """Parameters given new arrays between calls (as a checkpoint load would): each call is
    traced, then it runs eagerly with a warning naming the guard."""
    run = _captured_mlp(device)
    run.step = zen.capture(run.step.step, max_traces=2)
    parameter = run.model.parameters()[0]
    with pytest.warns(zen.CaptureWarning, match="Tensor's 'value' changed"):
        for _ in range(5):
            parameter.value = zen.Tensor(parameter.value, device=device).value   # a copy
            run.step(*run.batch(0, BATCH))
    assert run.step.replays == 0


def _plan_calls(captured):
    """The names of the array calls in each of ``captured``'s plans, in order."""
    return [[line.rsplit("# ", 1)[1] for line in plan.replay.source.splitlines() if "  # " in line]
            for plans in captured.plans.values() for plan in plans]


def test_a_plan_computes_what_every_replay_would_compute_alike_once(device):
    """The label mask's classes (arange) and the backward seed (ones_like, then divided by
    the batch) are made when the plan is compiled; the replays still match eager."""
    run = _captured_mlp(device)
    for _ in range(4):
        run.step(*run.batch(0, BATCH))
    [calls] = _plan_calls(run.step)
    assert "arange" not in calls and "ones_like" not in calls
    assert "matmul" in calls


def test_a_bool_mask_is_not_cast_where_the_backend_reads_bools_as_numbers(device):
    """On NumPy and CuPy, relu's gradient mask and the one-hot rows feed the multiply and
    subtract as bools (the same numbers); the array API's strict device keeps the cast."""
    def relu_mlp():
        return [nn.Linear(8), nn.ReLU(), nn.Linear(3)]

    run = Run(relu_mlp, *_classes(), zen.loss.softmax_cross_entropy, OPTIMIZERS["SGD"], device,
              captured=True)
    for _ in range(4):
        run.step(*run.batch(0, BATCH))
    [calls] = _plan_calls(run.step)
    assert ("astype" in calls) is not zen.Tensor(0.0, device=device).backend.bool_arithmetic


def test_a_plan_never_computes_ahead_an_array_the_step_changes_in_place(device):
    """A gather with a repeated index: its gradient starts from zeros (zeros_like, which
    depends on a shape alone) and adds into them in place, at every replay afresh."""
    rows = zen.Tensor(numpy.array([0, 0, 2]), device=device)

    def step(x):
        picked = x[rows]
        (picked * picked).sum().backward()
        return picked

    captured = zen.capture(step)
    for draw in range(5):
        values = numpy.arange(4.0, dtype="float32") + draw
        eager_x, captured_x = (zen.Tensor(values, device=device) for _ in range(2))
        step(eager_x), captured(captured_x)
        numpy.testing.assert_array_equal(*(zen.Tensor(x.gradient).numpy()
                                               for x in (captured_x, eager_x)))
    assert captured.replays == 3


_activation = zen.tanh     # a module's function the step calls


_SCALE = 1.0


def _scaled(x):
    return x * sum(_SCALE for _ in range(2))     # read inside a generator's own code


class _Shifted(nn.Layer):
    """A layer of the user's own, with a plain attribute its forward reads."""

    def __init__(self):
        super().__init__()
        self.shift = 0.0

    def forward(self, x):
        return x + self.shift


class _Settings:
    factor = 1.0        # a class attribute, read by a classmethod

    @classmethod
    def scaled(cls, y):
        return y * cls.factor


class _Slotted:
    """A callable object with slots."""

    __slots__ = ("factor",)

    def __init__(self):
        self.factor = 1.0

    def __call__(self, y):
        return y * self.factor


class _Holder:
    def __init__(self):
        self.inner, self.factors = _Slotted(), [1.0]

    @property
    def factor(self):
        return self.inner.factor

    def times(self, y):
        return y * self.factor * self.factors[0]


def _with_default(y, factors=[1.0]):     # noqa: B006 - the default changed in place is the case
    return y * factors[0]


class _Base:
    factor = 1.0        # read on the class _Child, which inherits it

    def scaled(self, y):
        return y * _CONFIG.factor


class _Child(_Base):
    def scaled(self, y):        # reaches _Base.scaled, and what it reads, through super()
        return super().scaled(y)


_HOLDER, _CHILD, _SETTINGS = _Holder(), _Child(), _Settings()
_FUNCTIONS = {"scale": _scaled}
_FACTORS = collections.OrderedDict(a=1.0)
_CONFIG = types.ModuleType("training_config")   # a module of the user's, read as _CONFIG.factor
_CONFIG.factor = 1.0


def _reset_helpers():
    global _SCALE, _HOLDER, _activation
    _SCALE, _HOLDER, _Settings.factor, _activation = 1.0, _Holder(), 1.0, zen.tanh
    _FACTORS["a"] = _with_default.__defaults__[0][0] = _CONFIG.factor = _Base.factor = 1.0
    for holder, name in ((_Child, "factor"), (_SETTINGS, "factor"), (_CHILD, "scaled")):
        if name in vars(holder):
            delattr(holder, name)


def _closure_function():
    """A function of the step's closure, and a change that rebinds it."""
    scale = zen.sigmoid

    def then(y):
        return scale(y)

    def change(layer):
        nonlocal scale
        scale = zen.exp if scale is zen.sigmoid else zen.sigmoid
    return then, change


WHAT_HELPERS_READ = {    # name -> (the step's function of its layer's output, the change)
    "a module's function, rebound": (
        lambda y: _activation(y), lambda layer: globals().update(_activation=zen.relu)),
    "a closure's function, rebound": _closure_function(),
    "a global a helper function reads": (_scaled, lambda layer: globals().update(_SCALE=3.0)),
    "an attribute a layer of the user's own reads": (
        lambda y: y, lambda layer: setattr(layer, "shift", 2.0)),
    "a class attribute a classmethod reads": (
        lambda y: _Settings.scaled(y), lambda layer: setattr(_Settings, "factor", 3.0)),
    "a slot a callable object reads": (
        lambda y: _HOLDER.inner(y), lambda layer: setattr(_HOLDER.inner, "factor", 3.0)),
    "what a property reads, through a method": (
        lambda y: _HOLDER.times(y), lambda layer: setattr(_HOLDER.inner, "factor", 3.0)),
    "a list an object holds, changed in place": (
        lambda y: _HOLDER.times(y), lambda layer: _HOLDER.factors.__setitem__(0, 3.0)),
    "what a function in a global dict reads": (
        lambda y: _FUNCTIONS["scale"](y), lambda layer: globals().update(_SCALE=3.0)),
    "an OrderedDict's item": (
        lambda y: y * _FACTORS["a"], lambda layer: _FACTORS.__setitem__("a", 3.0)),
    "a default argument changed in place": (
        _with_default, lambda layer: _with_default.__defaults__[0].__setitem__(0, 3.0)),
    "a module's attribute": (
        lambda y: y * _CONFIG.factor, lambda layer: setattr(_CONFIG, "factor", 3.0)),
    "what a method reads that super() reaches": (
        lambda y: _CHILD.scaled(y), lambda layer: setattr(_CONFIG, "factor", 3.0)),
    "a class attribute read on a subclass": (
        lambda y: y * _Child.factor, lambda layer: setattr(_Base, "factor", 3.0)),
    "a subclass's own attribute, hiding the one it inherited": (
        lambda y: y * _Child.factor, lambda layer: setattr(_Child, "factor", 3.0)),
    "an object's own attribute, hiding its class's": (
        lambda y: y * _SETTINGS.factor, lambda layer: setattr(_SETTINGS, "factor", 3.0)),
    "a method of the object's own, hiding its class's": (
        lambda y: _CHILD.scaled(y), lambda layer: setattr(_CHILD, "scaled", _scaled)),
}


def test_a_name_read_as_a_global_is_not_guarded_on_what_the_step_reaches(device):
    """The step reads the global _SCALE and the object _HOLDER (through _HOLDER.times): an
    attribute _SCALE of _HOLDER, which it never reads, may change without a new trace."""
    weight = zen.Tensor(numpy.full((3, 3), 0.5, "float32"), device=device)
    _HOLDER._SCALE = 1.0

    def step(x):
        loss = _HOLDER.times(x @ weight).sum() * _SCALE
        loss.backward()
        weight.gradient = None
        return loss

    captured, x = zen.capture(step), zen.Tensor(numpy.ones((2, 3), "float32"), device=device)
    try:
        for scale in (1.0, 1.0, 1.0, 2.0, 3.0):
            _HOLDER._SCALE = scale
            assert captured(x).item() == step(x).item()
    finally:
        _reset_helpers()
    assert (captured.traces, captured.replays) == (1, 3)


@pytest.mark.parametrize("name", sorted(WHAT_HELPERS_READ))
def test_what_the_functions_a_step_calls_read_is_guarded(name, device):
    """A change to what a helper function, method, property or user's layer reads, beyond
    the step's own code, traces again (before, the old value was replayed)."""
    then, change = WHAT_HELPERS_READ[name]
    shifted = _Shifted()
    weight = zen.Tensor(numpy.full((3, 3), 0.5, "float32"), device=device)

    def step(x):
        loss = then(shifted(x @ weight)).sum()
        loss.backward()
        weight.gradient = None
        return loss

    captured, x = zen.capture(step), zen.Tensor(numpy.ones((2, 3), "float32"), device=device)
    try:
        for _ in range(3):
            assert captured(x).item() == step(x).item()
        change(shifted)
        assert captured(x).item() == step(x).item()
    finally:
        _reset_helpers()
    assert (captured.traces, captured.replays) == (2, 1)


def _accumulated(device, step_of, captured, graphs=None, batches=9):
    """Micro-batches run through ``step_of(model, optimizer)``, the optimiser stepped every
    third one outside it: the losses and the parameters after."""
    zen.seed(0)
    model = nn.Model(_mlp(), input_shape=(5,), device=device)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    step = step_of(model, optimizer)
    step = zen.capture(step, graphs=graphs) if captured else step
    x, labels = _classes()
    losses = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", zen.CaptureWarning)
        for index in range(batches):
            rows = slice(index % 2 * BATCH, index % 2 * BATCH + BATCH)
            losses.append(step(zen.Tensor(x[rows], trainable=False, device=device),
                               zen.Tensor(labels[rows], device=device)).item())
            if index % 3 == 2:
                optimizer.step()
                optimizer.zero_grad()
    return losses, [zen.Tensor(p.value).numpy() for p in model.parameters()], step


def _backward_only(model, optimizer):
    def step(x, y):
        loss = zen.cross_entropy(model(x), y)
        loss.backward()
        return loss
    return step


def _rebinding_update(model, optimizer):
    """A hand-written update that gives each parameter a new array (no zero_grad)."""
    def step(x, y):
        loss = zen.cross_entropy(model(x), y)
        loss.backward()
        for parameter in model.parameters():
            parameter.value = parameter.value - 0.01 * parameter.gradient
        return loss
    return step


@pytest.mark.parametrize("step_of", [_backward_only, _rebinding_update])
def test_a_step_that_keeps_what_it_replaces_replays_without_tracing_again(step_of, device,
                                                                         graphs):
    """Gradients added up over micro-batches (no zero_grad in the step), and parameters
    given new arrays: a replay reads what the last call left there, so the step is traced
    once per state (gradients none yet, and some) and then replays, as eager runs it."""
    eager_losses, eager_state, _ = _accumulated(device, step_of, captured=False)
    losses, state, step = _accumulated(device, step_of, captured=True, graphs=graphs)
    assert losses == eager_losses
    for a, b in zip(state, eager_state, strict=True):
        numpy.testing.assert_array_equal(a, b)
    assert step.traces <= 2 and step.replays >= 5
    _assert_guards_agree(step)


class _Twin:
    """One case of the table below, made twice (eager and captured): ``step``, the
    arguments of call ``index``, the state to compare after each call, and whether a
    captured step should replay at all."""

    def __init__(self, step, arguments, state=list, replays=True):
        self.step, self.arguments, self.state, self.replays = step, arguments, state, replays


def _values(result):
    if isinstance(result, dict):
        return [type(result), *(_values(item) for item in result.values())]
    if isinstance(result, (tuple, list)):
        return [_values(item) for item in result]
    return zen.Tensor(result).numpy().tolist() if isinstance(result, zen.Tensor) else result


def _outcome(twin, index):
    """What call ``index`` gives: its result's values (or its error's type), its arguments'
    values after it, and the state."""
    arguments = twin.arguments(index)
    try:
        result = _values(twin.step(*arguments))
    except zen.errors.DataError as error:
        result = type(error)
    after = [zen.Tensor(a).numpy().tolist() if isinstance(a, zen.Tensor) else a
             for a in arguments]
    return result, after, [zen.Tensor(a).numpy().tolist() for a in twin.state()]


def _mlp_case(device, optimizer=OPTIMIZERS["Adam"]):
    zen.seed(0)
    model = nn.Model(_mlp(), input_shape=(5,), device=device)
    return model, optimizer(model.parameters())


def _batch(index, device, bad=False):
    x, labels = _classes()
    rows = slice(index % 2 * BATCH, index % 2 * BATCH + BATCH)
    labels = labels[rows] if not bad else numpy.full(BATCH, 7)
    return zen.Tensor(x[rows], trainable=False, device=device), zen.Tensor(labels, device=device)


def _optimiser_state(model, optimizer):
    return [*(p.value for p in model.parameters()),
            *(v for s in optimizer.state.values() for v in s.values() if not isinstance(v, int))]


def _cast_then_changed(device):
    base = numpy.array([1.0, -2.0, 3.0], "float32")

    def step(x):
        mask = x > 0
        weights = mask.astype(x.dtype)
        mask[...] = False
        return x * weights
    return _Twin(step, lambda i: [zen.Tensor(base + i - 1.5, trainable=False, device=device)])


def _argument_changed_in_place(device):
    def step(x, y):
        x[...] = x * 0.5
        return (x * y).sum()
    return _Twin(step, lambda i: [zen.Tensor(numpy.full(3, i + 1.0, "float32"), device=device,
                                             trainable=False),
                                  zen.Tensor(numpy.arange(3.0), device=device,
                                             trainable=False)])


def _parameter_as_argument(device):
    weight = zen.Tensor(numpy.full((5, 3), 0.1, "float32"), device=device)
    optimizer = optim.Adam([weight], lr=0.01)

    def step(x, w):
        loss = (zen.tanh(x @ w) ** 2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss
    return _Twin(step, lambda i: [_batch(i, device)[0], weight],
                 lambda: [weight.value, *optimizer.state[weight].values()][:3])


def _transposed_argument(device):
    base = numpy.random.default_rng(0).normal(size=(300, 40)).astype("float32")

    def step(x):
        return x.sum(axis=0), x.mean(axis=0), x.T @ x[:, :3]
    return _Twin(step, lambda i: [zen.Tensor((base + i).T, trainable=False, device=device)])


def _classifying(model, optimizer, labels_of=lambda y: y):
    """A training step of ``model`` on the labels ``labels_of(y)`` gives."""
    def step(x, y):
        loss = zen.cross_entropy(model(x), labels_of(y))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss
    return step


def _labels_filled_in_the_step(device):
    model, optimizer = _mlp_case(device)
    labels = zen.Tensor(numpy.zeros(BATCH, "int64"), device=device)

    def filled(y):
        labels[...] = y
        return labels
    return _Twin(_classifying(model, optimizer, filled),
                 lambda i: _batch(i, device, bad=i == 3),
                 lambda: _optimiser_state(model, optimizer))


def _a_bad_label_then_on(device):
    model, optimizer = _mlp_case(device)
    return _Twin(_classifying(model, optimizer), lambda i: _batch(i, device, bad=i == 3),
                 lambda: _optimiser_state(model, optimizer))


def _weight_it_does_not_read(device):
    used, unused = (zen.Tensor(numpy.full((5, 3), value, "float32"), device=device)
                    for value in (0.1, 0.2))
    optimizer = optim.SGD([used, unused], lr=0.1)

    def arguments(index):
        unused.gradient = zen.Tensor(numpy.full((5, 3), index + 1.0, "float32"),
                                     device=device).value
        return [_batch(index, device)[0]]

    def step(x):
        loss = (x @ used).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss
    return _Twin(step, arguments, lambda: [used.value, unused.value])


def _gradient_cleared_of_a_tensor_it_does_not_use(device):
    """The step sets a gradient that no op of it reads (a plain attribute write)."""
    weight = zen.Tensor(numpy.full((5, 3), 0.1, "float32"), device=device)
    other = zen.Tensor(numpy.zeros(3, "float32"), device=device)

    def arguments(index):
        other.gradient = zen.Tensor(numpy.full(3, index + 1.0, "float32"),
                                    device=device).value
        return [_batch(index, device)[0]]

    def step(x):
        loss = (x @ weight).sum()
        loss.backward()
        weight.gradient = other.gradient = None
        return loss
    return _Twin(step, arguments, lambda: [weight.value] + (
        [] if other.gradient is None else [other.gradient]))


def _learning_rate_halved_inside(device):
    model, optimizer = _mlp_case(device, OPTIMIZERS["SGD"])

    def halving(y):
        optimizer.lr = optimizer.lr * 0.5
        return y
    return _Twin(_classifying(model, optimizer, halving), lambda i: _batch(i, device),
                 lambda: _optimiser_state(model, optimizer), replays=False)


def _zero_grad_first(device):
    model, optimizer = _mlp_case(device)

    def step(x, y):
        optimizer.zero_grad()
        loss = zen.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return _Twin(step, lambda i: _batch(i, device), lambda: _optimiser_state(model, optimizer))


def _one_tensor_twice(device):
    zen.seed(0)
    model = nn.Model([nn.Linear(3), nn.Tanh(), nn.Linear(5)], input_shape=(5,), device=device)
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    def step(x, target):
        loss = zen.loss.MSE(model(x), target)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return collections.OrderedDict(loss=loss)
    return _Twin(step, lambda i: [_batch(i, device)[0]] * 2,
                 lambda: _optimiser_state(model, optimizer))


TWINS = {function.__name__.strip("_"): function for function in (
    _cast_then_changed, _argument_changed_in_place, _parameter_as_argument,
    _transposed_argument, _labels_filled_in_the_step, _a_bad_label_then_on,
    _weight_it_does_not_read, _gradient_cleared_of_a_tensor_it_does_not_use,
    _learning_rate_halved_inside, _zero_grad_first,
    _one_tensor_twice)}


@pytest.mark.parametrize("name", sorted(TWINS))
def test_a_captured_step_gives_what_eager_gives_call_by_call(name, device, graphs):
    """A table of steps that once replayed other results than eager ones, or kept tracing:
    every call's result (or error), its arguments after it and the state agree, and no
    stand-in is left in a tensor it was given."""
    eager, twin = TWINS[name](device), TWINS[name](device)
    captured = zen.capture(twin.step, graphs=graphs, warn=False)
    twin.step = captured
    for index in range(7):
        assert _outcome(twin, index) == _outcome(eager, index), index
    assert bool(captured.replays) is twin.replays, captured.reasons
    _assert_guards_agree(captured)


def test_a_plans_quick_check_accepts_only_what_its_signature_and_guards_accept(device):
    """A call is first checked by the last plan's compiled ``accepts``; over a table of
    arguments, it accepts exactly when the signature matches and the guards hold (a
    refusal only sends the call the long way)."""
    signature = importlib.import_module("zen.capture")._signature
    weight = zen.Tensor(numpy.ones((3, 2), "float32"), device=device, trainable=False)

    def step(x, y, scale):
        return (((x @ weight) * scale - y) ** 2).sum()

    def tensor(shape=(4, 3), dtype="float32", **settings):
        return zen.Tensor(numpy.ones(shape, dtype), device=device, trainable=False,
                          **settings)

    x, y = tensor(), tensor((4, 2))
    captured = zen.capture(step)
    for _ in range(3):
        captured(x, y, 0.5)
    [[plan]] = captured.plans.values()
    [key] = captured.plans
    with_gradient = tensor()
    with_gradient.gradient = zen.Tensor(numpy.ones((4, 3), "float32"), device=device).value
    calls = [(x, y, 0.5), (tensor(), tensor((4, 2)), 0.5), (x, y, -0.5), (x, y, 0.0),
             (x, y, 1), (tensor((5, 3)), y, 0.5), (tensor(dtype="float64"), y, 0.5),
             (zen.Tensor(numpy.ones((4, 3), "float32"), device=device), y, 0.5),
             (with_gradient, y, 0.5), (x, x, 0.5), (x, y), (x, y, 0.5, 1.0),
             (zen.Tensor(numpy.ones((3, 4), "float32"), device=device,
                         trainable=False).T, y, 0.5)]
    for arguments in calls:
        expected = signature(arguments, {}) == key and plan.holds()
        assert plan.accepts(arguments, {}) is expected, arguments
    assert plan.accepts((x, y), {"scale": 0.5}) is False
    for mode in (zen.no_grad, zen.detect_anomaly):
        with mode():
            assert plan.accepts((x, y, 0.5), {}) is False, mode
    zen.set_default_dtype("float64")
    try:
        assert plan.accepts((x, y, 0.5), {}) is False
    finally:
        zen.set_default_dtype("float32")
    assert plan.accepts((x, y, 0.5), {}) is True
    weight.value = zen.Tensor(weight.value, device=device).value    # a guard fails now
    assert plan.accepts((x, y, 0.5), {}) is False
    squared = zen.capture(lambda a, b: (a * b).sum())
    for _ in range(3):
        squared(x, x)                                   # a plan for one tensor given twice
    [[plan]] = squared.plans.values()
    assert plan.accepts((x, x), {}) and not plan.accepts((x, tensor()), {})


def test_a_step_given_keyword_arguments_replays_and_leaves_their_gradients(device, graphs):
    """Keyword arguments go the long way (the quick path takes positional ones): their
    arrays reach the replay, and a gradient the step leaves on one reaches it too."""
    weight = zen.Tensor(numpy.full((3, 2), 0.5, "float32"), device=device, trainable=False)

    def step(x, *, target):
        loss = (((x @ weight) - target) ** 2).sum()
        loss.backward()
        return loss

    captured = zen.capture(step, graphs=graphs)
    x = zen.Tensor(numpy.ones((4, 3), "float32"), device=device, trainable=False)
    for index in range(4):
        targets = [zen.Tensor(numpy.full((4, 2), float(index), "float32"), device=device)
                   for _ in range(2)]
        losses = [run(x, target=target).item() for run, target in zip(
            (step, captured), targets, strict=True)]
        assert losses[0] == losses[1]
        numpy.testing.assert_array_equal(*(zen.Tensor(t.gradient).numpy() for t in targets))
    assert captured.replays == 2


def test_a_full_batch_and_a_short_last_one_each_replay_by_the_quick_check(device,
                                                                          monkeypatch):
    """Epochs of full batches and a short last one (4, 4, 2): once both are traced, every
    call is answered by one of the two latest plans' quick checks, never the long way (the
    signature computed, each plan's guards asked)."""
    run = _captured_mlp(device)
    run.epochs(2)
    long_way = []
    capture_module = importlib.import_module("zen.capture")
    signature = capture_module._signature
    monkeypatch.setattr(capture_module, "_signature",
                        lambda *arguments: long_way.append(1) or signature(*arguments))
    replays = run.step.replays
    run.epochs(2)
    assert not long_way
    assert run.step.replays - replays == 2 * len(range(0, ROWS, BATCH))
