"""Every primitive's gradient, checked by central finite differences in float64 on every
backend, through the shared case table in ``op_cases.py``; second derivatives too, which
covers the primitives that only gradients use. The coverage test fails when a differentiable
primitive in the op table is reached by no case, so a new op joins the table."""

import numpy
import pytest

import zen
from op_cases import CASES
from zen.autograd import topological_order
from zen.namespaces import array_namespaces


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_gradient_matches_finite_differences(case, device):
    assert zen.gradcheck(case, *case.inputs(device), **case.tolerances)


def _first_derivatives(case):
    """All of ``case``'s first derivatives as one vector, recorded for differentiating."""
    def derivatives(*inputs):
        found = zen.gradients(case(*inputs).sum(), inputs, create_graph=True)
        return zen.concat([gradient.reshape(-1) for gradient in found])
    return derivatives


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_second_derivatives_match_finite_differences(case, device):
    """Differentiates each VJP, and so checks the ops that only VJPs use."""
    assert zen.gradcheck(_first_derivatives(case), *case.inputs(device), **case.tolerances)


def _recorded_ops(tensor):
    return {node._op.name for node in topological_order(tensor) if node._op}


def test_every_differentiable_op_has_a_case():
    reached = set()
    for case in CASES:
        inputs = case.inputs("cpu")
        reached |= _recorded_ops(case(*inputs))
        reached |= _recorded_ops(_first_derivatives(case)(*inputs))
    differentiable = {name for name, op in zen.OPS.items() if op.vjp}
    assert differentiable - reached == set()


ELEMENTWISE = sorted(name for name, op in zen.OPS.items() if op.elementwise)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_an_elementwise_ops_result_and_shares_keep_its_inputs_shape_and_dtype(name, dtype,
                                                                             device):
    """What Op.elementwise promises, on which the backward pass skips checking the shares
    of inputs that agree on shape and dtype; each such op declares one VJP per input."""
    op = zen.OPS[name]
    inputs = [zen.Tensor(numpy.linspace(0.5, 1.5, 6).reshape(2, 3) * (1 + k), dtype=dtype,
                         device=device) for k in range(len(op.each))]
    values = [x.value for x in inputs]
    F = array_namespaces[inputs[0].backend]
    ans = op.forward(F, *values)
    shares = op.vjp(F, F.ones_like(ans), ans, values, {}, None, inputs)
    assert [(tuple(a.shape), a.dtype) for a in (ans, *shares)] == \
        [((2, 3), values[0].dtype)] * (1 + len(inputs))


def test_gradcheck_reports_a_wrong_gradient(device):
    wrong = zen.ops.defop("wrong_square", lambda xp, x: x * x, lambda F, g, ans, x: g * x)
    try:
        with pytest.raises(zen.errors.GradcheckError, match=r"input 0 .* element \(\d+,\)"):
            zen.gradcheck(wrong, zen.Tensor([1.0, 2.0], device=device))
    finally:
        del zen.OPS["wrong_square"]


def test_gradcheck_catches_a_gradient_one_part_in_ten_thousand_off(device):
    """The defaults (atol=1e-7, rtol=1e-6) are tight enough for float64 central differences
    to catch a gradient 0.01% wrong, which the old ones (1e-5, 1e-3) let through."""
    off = zen.ops.defop("off_square", lambda xp, x: x * x,
                        lambda F, g, ans, x: g * 2 * x * (1 + 1e-4))
    try:
        with pytest.raises(zen.errors.GradcheckError, match=r"input 0 .*rtol=1e-06"):
            zen.gradcheck(off, zen.Tensor([0.5, 1.0, 2.0], device=device))
    finally:
        del zen.OPS["off_square"]


def _scaled_product_vjp(F, g, ans, inputs, params, saved, parents):
    x, y = inputs
    shared = g * params["scale"]
    return (shared * y if parents[0].trainable else None,
            shared * x if parents[1].trainable else None)


def _tanh_saved(xp, x):
    value = xp.tanh(x)
    return value, 1 - value * value


DECLARATIONS = {
    "one VJP per input": lambda: zen.ops.defop(
        "test_cube", lambda xp, x: x * x * x, lambda F, g, ans, x: g * 3 * x * x),
    "one joint vjp=": lambda: zen.ops.defop(
        "test_scaled_product", lambda xp, x, y, scale: x * y * scale, vjp=_scaled_product_vjp),
    "a joint vjp= with saved arrays and their recomputation": lambda: zen.ops.defop(
        "test_saving_tanh", _tanh_saved,
        vjp=lambda F, g, ans, inputs, params, slope, parents: (g * slope,),
        saves=lambda F, ans, x: 1 - ans * ans),
}


@pytest.mark.parametrize("form", DECLARATIONS)
def test_every_declared_vjp_form_gives_first_and_second_derivatives(form, device):
    """defop turns each way of declaring a VJP into the one form the backward pass calls;
    the second derivative runs the recorded pass, where a saving op recomputes its arrays."""
    apply_op = DECLARATIONS[form]()
    try:
        arguments = {"scale": 1.5} if apply_op.op.name == "test_scaled_product" else {}
        inputs = [zen.Tensor([0.3, -0.7, 1.1], device=device) for _ in
                  range(2 if arguments else 1)]
        function = lambda *xs: apply_op(*xs, **arguments)   # noqa: E731
        assert zen.gradcheck(function, *inputs)
        assert zen.gradcheck(_first_derivatives(function), *inputs)
    finally:
        del zen.OPS[apply_op.op.name]


def test_an_op_that_saves_must_declare_one_joint_vjp():
    with pytest.raises(zen.errors.ArgumentError, match=r"defop test_bad: .* joint vjp="):
        zen.ops.defop("test_bad", _tanh_saved, lambda F, g, ans, x: g,
                      saves=lambda F, ans, x: 1 - ans * ans)
    assert "test_bad" not in zen.OPS
