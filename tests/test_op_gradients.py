"""Every primitive's gradient, checked by central finite differences in float64 on every
backend. A case is a function of Tensors and the shapes of its inputs; the last test fails
when a primitive in the op table is not reached by any case, so a new op joins this table."""

import numpy
import pytest

import zen
from zen.autograd import topological_order


class Case:
    def __init__(self, label, function, *shapes, positive=False, **tolerances):
        self.label, self.function, self.shapes = label, function, shapes
        self.positive, self.tolerances = positive, tolerances

    def inputs(self, device):
        rng = numpy.random.default_rng(len(self.label))
        low, high = (0.5, 2.0) if self.positive else (-2.0, 2.0)
        return [zen.Tensor(rng.uniform(low, high, size=shape), device=device)
                for shape in self.shapes]


CASES = [
    Case("add", lambda x, y: x + y, (2, 3), (3,)),
    Case("add, both broadcast", lambda x, y: x + y, (2, 1, 3), (4, 1)),
    Case("add, reflected scalar", lambda x: 2.0 + x, (3,)),
    Case("subtract", lambda x, y: x - y, (2, 3), (2, 1)),
    Case("subtract, reflected scalar", lambda x: 1.5 - x, (3,)),
    Case("multiply", lambda x, y: x * y, (3, 1), (1, 4)),
    Case("multiply by 0-d", lambda x, y: x * y, (2, 3), ()),
    Case("divide", lambda x, y: x / y, (2, 3), (3,), positive=True),
    Case("divide, reflected scalar", lambda x: 3.0 / x, (4,), positive=True),
    Case("power", lambda x, y: x ** y, (2, 3), (3,), positive=True),
    Case("power, scalar exponent", lambda x: x ** 3, (5,)),
    Case("power, scalar base", lambda x: 2.0 ** x, (5,)),
    Case("negative", lambda x: -x, (2, 2)),
    Case("exp", lambda x: x.exp(), (2, 3)),
    Case("log", lambda x: zen.log(x), (2, 3), positive=True),
    Case("tanh", lambda x: zen.tanh(x), (2, 3)),
    Case("astype round trip", lambda x: x.astype("float32").astype("float64") * x, (4,),
         eps=1e-2, atol=1e-3, rtol=1e-2),
    Case("sum", lambda x: x.sum(), (2, 3)),
    Case("sum, axis", lambda x: x.sum(axis=1), (2, 3, 4)),
    Case("sum, negative axes, keepdims", lambda x: x.sum(axis=(0, -1), keepdims=True) * x,
         (2, 3, 4)),
    Case("mean", lambda x: x.mean(axis=0) * x.mean(), (3, 4)),
    Case("reshape", lambda x: x.reshape(3, -1) * zen.reshape(x, (3, 4)), (2, 6)),
    Case("broadcast_to", lambda x: zen.broadcast_to(x, (2, 3, 4)), (3, 1)),
    Case("transpose", lambda x: x.transpose(1, 2, 0), (2, 3, 4)),
    Case(".T and matrix_transpose", lambda x: x.T * zen.matrix_transpose(x), (3, 3)),
    Case("matmul 2-D", lambda a, b: a @ b, (3, 4), (4, 2)),
    Case("matmul vector-matrix", lambda a, b: a @ b, (4,), (4, 2)),
    Case("matmul matrix-vector", lambda a, b: a @ b, (3, 4), (4,)),
    Case("matmul vector-vector", lambda a, b: a @ b, (4,), (4,)),
    Case("matmul batched, broadcast", lambda a, b: a @ b, (2, 1, 3, 4), (5, 4, 2)),
    Case("matmul vector-batch", lambda a, b: a @ b, (4,), (2, 4, 3)),
    Case("matmul batch-vector", lambda a, b: a @ b, (2, 3, 4), (4,)),
    Case("shared subexpression", lambda x: (x * x + x).tanh() * x, (3,)),
]


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_gradient_matches_finite_differences(case, device):
    assert zen.gradcheck(case.function, *case.inputs(device), **case.tolerances)


def test_every_differentiable_op_has_a_case():
    reached = set()
    for case in CASES:
        output = case.function(*case.inputs("cpu"))
        reached.update(node._op.name for node in topological_order(output) if node._op)
    differentiable = {name for name, op in zen.OPS.items() if op.vjps}
    assert differentiable - reached == set()


def test_gradcheck_reports_a_wrong_gradient(device):
    wrong = zen.ops.defop("wrong_square", lambda xp, x: x * x, lambda F, g, ans, x: g * x)
    try:
        with pytest.raises(zen.errors.GradcheckError, match=r"input 0 .* element \(\d+,\)"):
            zen.gradcheck(wrong, zen.Tensor([1.0, 2.0], device=device))
    finally:
        del zen.OPS["wrong_square"]
