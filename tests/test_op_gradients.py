"""Every primitive's gradient, checked by central finite differences in float64 on every
backend, through the shared case table in ``op_cases.py``; second derivatives too, which
covers the primitives that only gradients use. The coverage test fails when a differentiable
primitive in the op table is reached by no case, so a new op joins the table."""

import pytest

import zen
from op_cases import CASES
from zen.autograd import topological_order


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
    differentiable = {name for name, op in zen.OPS.items() if op.vjps}
    assert differentiable - reached == set()


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
