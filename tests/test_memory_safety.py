"""Memory safety: in-place edits through views and detach, gradient ownership, and a
``grad=`` Tensor that keeps its graph under ``create_graph``.

1. In-place edits. Tensors that view one memory (``detach()``, basic slices, reshape and
   transpose views) share one version counter, so a backward pass that would read a saved
   value changed in place since raises ``InPlaceError``. Random programs edit a view of a
   leaf, an input or an intermediate result after recording and are run in PyTorch too:
   where PyTorch refuses ("modified by an inplace operation") zen must raise InPlaceError;
   where PyTorch succeeds zen may refuse too (a conservative refusal) or must give PyTorch's
   gradient. Run with ``-s`` to see how often zen refused where PyTorch did not.
2. Gradient ownership. After backward, every leaf's ``.gradient`` has the leaf's shape and
   dtype, and changing it in place changes nothing else: no other gradient, no value.
3. ``create_graph=True`` with a trainable ``grad=`` Tensor records the seed, so the double
   VJP trick gives a Jacobian-vector product.
"""

import collections
import contextlib
import dataclasses
import math

import numpy
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import zen
from op_cases import CASES
from zen.autograd import topological_order
from zen.errors import InPlaceError


@pytest.fixture
def torch():
    return pytest.importorskip(
        "torch", reason="PyTorch is the oracle for in-place semantics and JVPs; "
                        "pip install torch")


def host(array_or_tensor):
    """A NumPy copy of a backend array or Tensor, from any device."""
    return zen.Tensor(array_or_tensor).numpy()


def constant(array, device=None):
    """A tensor that takes no gradient (a float array alone would make a trainable one)."""
    return zen.Tensor(array, trainable=False, device=device)


def trainable(array, device):
    return zen.Tensor(array, trainable=True, device=device)


def zen_mode(under_no_grad):
    return zen.no_grad() if under_no_grad else contextlib.nullcontext()


def torch_mode(torch, under_no_grad):
    return torch.no_grad() if under_no_grad else contextlib.nullcontext()


# 1. In-place edits through views and detach ---------------------------------------------

def _squared(w, a):
    product = w * w
    return product.sum(), product


def _times_input(w, a):
    product = w * a
    return product.sum(), product


def _exponential(w, a):
    exponential = w.exp()
    return exponential.sum(), exponential


def _sliced(w, a):
    product = w[1:] * a[1:]
    return product.sum(), product


def _reshaped(w, a):
    product = w.reshape(12) * a.reshape(12)
    return product.sum(), product


def _transposed_matmul(w, a):
    product = w.T @ a
    return product.sum(), product


def _sigmoid_times_input(w, a):
    sigmoid = w.sigmoid()
    return (sigmoid * a).sum(), sigmoid


# Each records a loss that saves values for backward, and names one intermediate result.
# The same code runs on zen and torch tensors.
EXPRESSIONS = {
    "(w*w).sum()": _squared,
    "(w*a).sum()": _times_input,
    "w.exp().sum()": _exponential,
    "(w[1:]*a[1:]).sum()": _sliced,
    "(w.reshape(12)*a.reshape(12)).sum()": _reshaped,
    "(w.T @ a).sum()": _transposed_matmul,
    "(w.sigmoid()*a).sum()": _sigmoid_times_input,
}
INTERMEDIATES = {   # what "intermediate" names in each expression
    "(w*w).sum()": "w*w",
    "(w*a).sum()": "w*a",
    "w.exp().sum()": "w.exp()",
    "(w[1:]*a[1:]).sum()": "w[1:]*a[1:]",
    "(w.reshape(12)*a.reshape(12)).sum()": "w.reshape(12)*a.reshape(12)",
    "(w.T @ a).sum()": "w.T @ a",
    "(w.sigmoid()*a).sum()": "w.sigmoid()",
}
BASES = ("w", "a", "intermediate", "loss")


def recorded_tensors(expression, w, a):
    loss, intermediate = EXPRESSIONS[expression](w, a)
    return {"w": w, "a": a, "intermediate": intermediate, "loss": loss}


@dataclasses.dataclass(frozen=True)
class ViewStep:
    zen: object         # function of a zen Tensor
    torch: object       # the same view of a torch tensor
    applies: object     # whether it applies to a tensor of this shape


def _reverse_axes(x):
    return x.permute(*reversed(range(x.ndim)))


VIEW_STEPS = {
    "detach()": ViewStep(lambda x: x.detach(), lambda x: x.detach(), lambda shape: True),
    "[1:]": ViewStep(lambda x: x[1:], lambda x: x[1:],
                     lambda shape: len(shape) >= 1 and shape[0] >= 2),
    "[:, ::2]": ViewStep(lambda x: x[:, ::2], lambda x: x[:, ::2],
                         lambda shape: len(shape) >= 2),
    "[0]": ViewStep(lambda x: x[0], lambda x: x[0], lambda shape: len(shape) >= 1),
    "reshape(-1)": ViewStep(lambda x: x.reshape(-1), lambda x: x.reshape(-1),
                            lambda shape: True),
    ".T": ViewStep(lambda x: x.T, lambda x: x.T, lambda shape: len(shape) == 2),
    "transpose()": ViewStep(lambda x: x.transpose(), _reverse_axes,
                            lambda shape: len(shape) >= 2),
    "flatten()": ViewStep(lambda x: x.flatten(), lambda x: x.flatten(), lambda shape: True),
    "expand_dims(0)": ViewStep(lambda x: x.expand_dims(0), lambda x: x.unsqueeze(0),
                               lambda shape: True),
    "squeeze()": ViewStep(lambda x: x.squeeze(), lambda x: x.squeeze(), lambda shape: True),
}
EDITS = ("+=", "*=", "[0] =")


@dataclasses.dataclass(frozen=True)
class Program:
    shape: tuple
    seed: int
    expression: str
    base: str
    steps: tuple                # (name in VIEW_STEPS, taken under no_grad)
    edit: str                   # one of EDITS
    number: float               # c in the edit
    edit_under_no_grad: bool    # even where v is not trainable (where it is, always)

    def arrays(self):
        rng = numpy.random.default_rng(self.seed)
        return rng.uniform(-1, 1, size=self.shape), rng.uniform(-1, 1, size=self.shape)

    def __str__(self):
        lines = [f"w, a = shape {self.shape}, seed {self.seed}",
                 f"loss = {self.expression}",
                 f"v = {self.base}" + (f"  # {INTERMEDIATES[self.expression]}"
                                       if self.base == "intermediate" else "")]
        lines += [f"v = v.{name}".replace(".[", "[") + ("  # under no_grad" if no_grad else "")
                  for name, no_grad in self.steps]
        edit = "v[0] =" if self.edit == "[0] =" else f"v {self.edit}"
        lines += [f"{edit} {self.number}"
                  + ("  # under no_grad" if self.edit_under_no_grad else
                     "  # under no_grad if v is trainable"),
                  "loss.backward()"]
        return "\n    ".join(lines)


def edit_in_place(view, edit, number):
    """``v += c``, ``v *= c`` or ``v[0] = c`` (``v[...] = c`` on a 0-d view), in place."""
    if edit == "+=":
        view += number
    elif edit == "*=":
        view *= number
    else:
        view[0 if view.ndim else Ellipsis] = number


@st.composite
def programs(draw):
    shape = draw(st.sampled_from([(3, 4), (2, 6)]))
    expression = draw(st.sampled_from(sorted(EXPRESSIONS)))
    base = draw(st.sampled_from(BASES))
    probe = _zeros_program_tensor(expression, shape, base)   # to know each step's shape
    steps = []
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from([name for name, step in VIEW_STEPS.items()
                                     if step.applies(probe.shape)]))
        probe = VIEW_STEPS[name].zen(probe)
        steps.append((name, draw(st.booleans())))
    return Program(shape, draw(st.integers(0, 99)), expression, base, tuple(steps),
                   draw(st.sampled_from(EDITS)), draw(st.sampled_from([0.5, 3.0])),
                   draw(st.booleans()))


def _zeros_program_tensor(expression, shape, base):
    w = trainable(numpy.zeros(shape), "cpu")
    return recorded_tensors(expression, w, constant(numpy.zeros(shape)))[base]


@dataclasses.dataclass
class Outcome:
    refused: bool
    values_after_edit: tuple = None     # (w, a) on the host; None if the edit was refused
    gradient: numpy.ndarray = None      # w's, when backward ran


def run_in_zen(program, device):
    w_array, a_array = program.arrays()
    w, a = trainable(w_array, device), constant(a_array, device)
    tensors = recorded_tensors(program.expression, w, a)
    view = tensors[program.base]
    for name, under_no_grad in program.steps:
        with zen_mode(under_no_grad):
            view = VIEW_STEPS[name].zen(view)
    try:
        # A trainable view is edited in place only under no_grad (outside, `v += c` makes a
        # new tensor, as `v = v + c` would).
        with zen_mode(view.trainable or program.edit_under_no_grad):
            edit_in_place(view, program.edit, program.number)
    except InPlaceError:
        return Outcome(refused=True)
    values = (host(w), host(a))
    try:
        tensors["loss"].backward()
    except InPlaceError:
        return Outcome(refused=True, values_after_edit=values)
    return Outcome(refused=False, values_after_edit=values, gradient=host(w.gradient))


def run_in_torch(torch, program):
    w_array, a_array = program.arrays()
    w = torch.tensor(w_array, requires_grad=True)
    a = torch.tensor(a_array)
    tensors = recorded_tensors(program.expression, w, a)
    view = tensors[program.base]
    for name, under_no_grad in program.steps:
        with torch_mode(torch, under_no_grad):
            view = VIEW_STEPS[name].torch(view)
    # zen never records an in-place edit, so its translation is an edit under no_grad (with
    # grad mode on, torch refuses to edit a view made under no_grad, or records the edit).
    with torch.no_grad():
        edit_in_place(view, program.edit, program.number)
    values = (w.detach().numpy().copy(), a.numpy().copy())
    try:
        tensors["loss"].backward()
    except RuntimeError as error:
        if "modified by an inplace operation" not in str(error):
            raise
        return Outcome(refused=True, values_after_edit=values)
    return Outcome(refused=False, values_after_edit=values, gradient=w.grad.numpy())


# How often zen refused where PyTorch also did, or only zen (conservatively); see -s.
REFUSALS = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_refusals():
    yield
    if REFUSALS:
        print("\nin-place programs, (torch, zen) outcomes:")
        for (device, torch_outcome, zen_outcome), count in sorted(REFUSALS.items()):
            print(f"  {device:26} torch {torch_outcome:8} zen {zen_outcome:8} {count:4}")


def _named_program(expression, base, steps, edit="+=", number=3.0):
    return Program((3, 4), 0, expression, base, steps, edit, number, False)


@settings(derandomize=True, deadline=None, max_examples=200,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=programs())
# The reported bugs, reached whatever the generator draws:
@example(program=_named_program("(w*w).sum()", "w", (("detach()", False),)))
@example(program=_named_program("(w*a).sum()", "a", (("[1:]", False),)))
@example(program=_named_program("(w*a).sum()", "a", (("[1:]", True),)))
@example(program=_named_program("(w*a).sum()", "a", (("reshape(-1)", False),), "[0] ="))
@example(program=_named_program("(w*a).sum()", "a", (("reshape(-1)", True),), "*="))
@example(program=_named_program("(w*w).sum()", "w", (("[1:]", False),)))
@example(program=_named_program("w.exp().sum()", "intermediate", (("[0]", True),), "*="))
def test_in_place_edits_through_views_refuse_or_match_pytorch(program, device, torch):
    expected = run_in_torch(torch, program)
    actual = run_in_zen(program, device)
    REFUSALS[device, "refuses" if expected.refused else "runs",
             "refuses" if actual.refused else "runs"] += 1
    if actual.values_after_edit is not None:
        for name, value, torch_value in zip("wa", actual.values_after_edit,
                                            expected.values_after_edit, strict=True):
            numpy.testing.assert_array_equal(
                value, torch_value, err_msg=f"after the edit, {name} differs from PyTorch's "
                                            f"(the views share other memory):\n    {program}")
    zen_refused = actual.refused
    if expected.refused:
        assert zen_refused, (f"PyTorch refuses (a saved value was modified in place) but "
                             f"zen returned a gradient:\n    {program}")
    elif not zen_refused:
        numpy.testing.assert_allclose(actual.gradient, expected.gradient, rtol=1e-12,
                                      atol=1e-12, err_msg=f"w.gradient:\n    {program}")


def test_editing_a_detached_copy_of_a_saved_leaf_raises(device):
    w = trainable(numpy.array([1.0, 2.0, 3.0]), device)
    loss = (w * w).sum()
    detached = w.detach()
    detached += 1       # also changes w, which the product saved
    with pytest.raises(InPlaceError):
        loss.backward()     # the gradient of the recorded program is [2, 4, 6], not [4, 6, 8]


def _add_one_to_rows(a):
    rows = a[1:]
    return lambda: rows.__iadd__(1)


def _set_first_of_flat(a):
    flat = a.reshape(12)
    return lambda: flat.__setitem__(0, 100.0)


@pytest.mark.parametrize("edit", [_add_one_to_rows, _set_first_of_flat],
                         ids=["slice +=", "reshape [0] ="])
@pytest.mark.parametrize("under_no_grad", [False, True], ids=["recorded", "no_grad"])
def test_editing_a_view_of_a_saved_input_raises(device, under_no_grad, edit):
    w = trainable(numpy.ones((3, 4)), device)
    a = constant(numpy.arange(12.0).reshape(3, 4), device)
    loss = (w * a).sum()
    with zen_mode(under_no_grad):
        change = edit(a)        # the view is taken with or without recording
    change()        # also changes a, which the product saved for w's gradient
    with pytest.raises(InPlaceError):
        loss.backward()


# 2. Gradient ownership --------------------------------------------------------------------

def weights_like(shape, device):
    count = math.prod(shape)
    values = numpy.cos(numpy.arange(count) * 1.3 + 0.4).reshape(shape)
    return constant(values, device)


def backward_through(case, inputs, reduction, device):
    output = case(*inputs)
    if reduction == "weighted sum":
        output = output * weights_like(output.shape, device)
    output.sum().backward()


def assert_every_leaf_owns_its_gradient(leaves):
    """Each gradient has its leaf's shape and dtype; scaling it in place changes no other
    gradient and no value. On the CPU also: a writable, C-contiguous ndarray that shares no
    memory with another gradient or any leaf's value."""
    for index, leaf in enumerate(leaves):
        assert leaf.gradient is not None, f"leaf {index} has no gradient"
        assert tuple(leaf.gradient.shape) == leaf.shape, f"leaf {index}: gradient's shape"
        assert leaf.gradient.dtype == leaf.dtype, f"leaf {index}: gradient's dtype"
    if leaves[0].device == "cpu":
        _assert_numpy_gradients_are_owned(leaves)
    for index, leaf in enumerate(leaves):
        others = [other for other in leaves if other is not leaf]
        gradients_before = [host(other.gradient) for other in others]
        values_before = [host(x) for x in leaves]
        scaled = host(leaf.gradient) * 2
        leaf.gradient *= 2
        numpy.testing.assert_array_equal(host(leaf.gradient), scaled,
                                         err_msg=f"leaf {index}'s gradient, doubled in place")
        for other, before in zip(others, gradients_before, strict=True):
            numpy.testing.assert_array_equal(
                host(other.gradient), before,
                err_msg=f"doubling leaf {index}'s gradient in place changed another gradient")
        for x, before in zip(leaves, values_before, strict=True):
            numpy.testing.assert_array_equal(
                host(x), before,
                err_msg=f"doubling leaf {index}'s gradient in place changed a leaf's value")


def _assert_numpy_gradients_are_owned(leaves):
    problems = []
    for index, leaf in enumerate(leaves):
        gradient = leaf.gradient
        if not isinstance(gradient, numpy.ndarray):
            problems.append(f"leaf {index}: gradient is a {type(gradient).__name__}, "
                            f"not a numpy.ndarray")
            continue
        if not gradient.flags.writeable:
            problems.append(f"leaf {index}: gradient is read-only")
        if not gradient.flags.c_contiguous:
            problems.append(f"leaf {index}: gradient is not C-contiguous "
                            f"(strides {gradient.strides})")
        for other_index, other in enumerate(leaves):
            if other is not leaf and numpy.shares_memory(gradient, other.gradient):
                problems.append(f"the gradients of leaves {index} and {other_index} share "
                                f"memory")
            if numpy.shares_memory(gradient, other.value):
                problems.append(f"leaf {index}'s gradient shares memory with leaf "
                                f"{other_index}'s value")
    assert not problems, "\n".join(problems)


REDUCTIONS = ["sum", "weighted sum"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_every_leaf_owns_its_gradient(case, reduction, device):
    inputs = case.inputs(device)
    backward_through(case, inputs, reduction, device)
    assert_every_leaf_owns_its_gradient(inputs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_every_leaf_owns_its_gradient_after_two_accumulating_passes(case, reduction, device):
    inputs = case.inputs(device)
    backward_through(case, inputs, reduction, device)
    first = [host(x.gradient) for x in inputs]
    backward_through(case, inputs, reduction, device)
    for index, (x, once) in enumerate(zip(inputs, first, strict=True)):
        numpy.testing.assert_allclose(host(x.gradient), 2 * once, rtol=1e-12, atol=1e-12,
                                      err_msg=f"leaf {index}: the second pass adds its share")
    assert_every_leaf_owns_its_gradient(inputs)


def test_gradients_of_a_plus_reshaped_b_are_owned(device):
    a = trainable(numpy.arange(4.0), device)
    b = trainable(numpy.arange(4.0).reshape(2, 2), device)
    (a + b.reshape(4)).sum().backward()
    assert_every_leaf_owns_its_gradient([a, b])


def test_gradients_of_x_plus_transposed_y_are_owned(device):
    x = trainable(numpy.arange(6.0).reshape(2, 3), device)
    y = trainable(numpy.arange(6.0).reshape(3, 2), device)
    (x + y.T).sum().backward()
    assert_every_leaf_owns_its_gradient([x, y])


def test_scaling_both_gradients_in_place_scales_each_once(device):
    a = trainable(numpy.arange(4.0), device)
    b = trainable(numpy.arange(4.0).reshape(2, 2), device)
    weights = numpy.array([1.0, 2.0, 3.0, 4.0])
    ((a + b.reshape(4)) * constant(weights, device)).sum().backward()
    a.gradient *= 0.1
    b.gradient *= 0.1
    numpy.testing.assert_allclose(host(a.gradient), 0.1 * weights, rtol=1e-12)
    numpy.testing.assert_allclose(host(b.gradient), 0.1 * weights.reshape(2, 2), rtol=1e-12)


def test_the_gradient_of_a_sum_can_be_scaled_in_place(device):
    x = trainable(numpy.array([1.0, 2.0, 3.0]), device)
    x.sum().backward()
    x.gradient *= 2
    numpy.testing.assert_array_equal(host(x.gradient), [2.0, 2.0, 2.0])


# 3. create_graph with a trainable grad= Tensor --------------------------------------------

X = numpy.array([0.3, -1.2, 0.8, 2.0])
U = numpy.array([1.0, -0.5, 2.0, 0.25])        # the tangent: the JVP is J @ U
V = numpy.array([0.7, 1.3, -0.4, 0.9])         # the seed's values do not matter
M = numpy.array([[0.5, -1.0, 0.2, 0.3], [1.5, 0.4, -0.7, 0.1], [-0.2, 0.9, 1.1, -1.3]])


def _sin_times_sum(x, matrix):
    return x.sin() * x.sum()


def _tanh_matmul(x, matrix):
    return (matrix @ x.tanh()).tanh()


FUNCTIONS = {"x.sin() * x.sum()": _sin_times_sum, "tanh(M @ tanh(x))": _tanh_matmul}


def sin_times_sum_jvp(x, u):
    """J @ u for y = sin(x) * sum(x): J = diag(cos(x)) * sum(x) + sin(x) 1^T."""
    return numpy.cos(x) * u * x.sum() + numpy.sin(x) * u.sum()


def double_vjp(function, device):
    """J @ U as the gradient, with respect to the seed v, of the VJP v^T J applied to U."""
    x = trainable(X, device)
    y = function(x, constant(M, device))
    v = trainable(numpy.resize(V, y.shape), device)
    (vjp,) = zen.gradients(y, [x], grad=v, create_graph=True)
    (jvp,) = zen.gradients((vjp * constant(U, device)).sum(), [v])
    return host(jvp)


def test_double_vjp_through_a_trainable_seed_is_the_jvp(device):
    numpy.testing.assert_allclose(double_vjp(_sin_times_sum, device),
                                  sin_times_sum_jvp(X, U), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_double_vjp_through_a_trainable_seed_matches_pytorch_jvp(name, device, torch):
    function = FUNCTIONS[name]
    _, expected = torch.autograd.functional.jvp(lambda x: function(x, torch.tensor(M)),
                                                torch.tensor(X), torch.tensor(U))
    numpy.testing.assert_allclose(double_vjp(function, device), expected.numpy(),
                                  rtol=1e-10, atol=1e-12)


def test_vjp_with_a_trainable_seed_still_gives_v_times_j(device):
    x = trainable(X, device)
    v = trainable(V, device)
    (vjp,) = zen.gradients(_sin_times_sum(x, None), [x], grad=v, create_graph=True)
    expected = numpy.cos(X) * V * X.sum() + (V * numpy.sin(X)).sum()
    numpy.testing.assert_allclose(host(vjp), expected, rtol=1e-10, atol=1e-12)


def test_backward_with_a_trainable_seed_records_the_seed(device):
    x = trainable(X, device)
    v = trainable(V, device)
    _sin_times_sum(x, None).backward(grad=v, create_graph=True)
    assert isinstance(x.gradient, zen.Tensor), "create_graph=True leaves a Tensor gradient"
    (jvp,) = zen.gradients((x.gradient * constant(U, device)).sum(), [v])
    numpy.testing.assert_allclose(host(jvp), sin_times_sum_jvp(X, U), rtol=1e-10, atol=1e-12)


# --- 4. Which ops make views: the declarations are complete --------------------------------

def _recorded_nodes(case):
    """Every node recorded by ``case`` and by its recorded backward pass (so the ops that
    only VJPs use are reached too), on the CPU."""
    inputs = case.inputs("cpu")
    output = case(*inputs)
    found = zen.gradients(output.sum(), inputs, create_graph=True)
    roots = [output, *(gradient for gradient in found if gradient.trainable)]
    return [node for root in roots for node in topological_order(root) if node._op]


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_every_op_whose_result_shares_memory_declares_it_and_shares_the_version(case):
    """NumPy can tell which results view their inputs; each such op must say views=True, so
    that the view and its input count in-place edits together on every backend."""
    for node in _recorded_nodes(case):
        for position, parent in enumerate(node._parents):
            if numpy.shares_memory(numpy.asarray(node.value), numpy.asarray(parent.value)):
                assert node._op.views and position == 0, \
                    f"{node._op.name}'s result views its input {position}, undeclared"
                assert node._version is parent._version, node._op.name


# --- 5. Arrays zen keeps from its caller, and arrays it keeps for itself -------------------

def test_editing_an_index_tensor_after_a_gather_leaves_the_gradient_right(device):
    x = trainable(numpy.array([1.0, 2.0, 3.0]), device)
    indices = zen.Tensor(numpy.array([0, 0]), device=device)
    loss = (x[indices] ** 2).sum()
    indices[0] = 2          # the gather kept its own copy of the indices
    loss.backward()
    numpy.testing.assert_array_equal(host(x.gradient), [4.0, 0.0, 0.0])


def test_a_view_of_a_number_cannot_change_the_constants_zen_keeps(device):
    view = zen.reshape(zen.Tensor(2.0, device=device) * 0 + 2.0, (1,))
    scalar_view = zen.reshape(2.0, (1,))
    with zen.no_grad():
        view[0] = 7.0
        scalar_view[0] = 7.0
    doubled = constant(numpy.ones(2, numpy.float32), device) * 2.0
    numpy.testing.assert_array_equal(host(doubled), [2.0, 2.0])
