"""The functions a PyTorch porter reaches for, at the points random op cases miss: norms
and distances at zero, activations at their kinks, nan_to_num at non-finite values, against
PyTorch on every device. (Values and gradients elsewhere: tests/op_cases.py.)"""

import numpy
import pytest

import zen

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")

ROWS = [[0.0, 0.0, 0.0], [0.0, 1.0, -2.0], [1e-9, 0.0, 0.0]]

# Each a function of the module and one (3, 3) input with a zero row and a zero element
AT_ZERO = [
    ("vector_norm 2", lambda m, x: m.linalg.vector_norm(x, 2, -1)),
    ("vector_norm 1", lambda m, x: m.linalg.vector_norm(x, 1, -1)),
    ("vector_norm 3", lambda m, x: m.linalg.vector_norm(x, 3, -1)),
    ("vector_norm 0.5", lambda m, x: m.linalg.vector_norm(x, 0.5, -1)),
    ("vector_norm inf", lambda m, x: m.linalg.vector_norm(x, float("inf"), -1)),
    ("norm of zeros", lambda m, x: (x * 0).norm() + x.sum()),
    ("cdist to itself", lambda m, x: m.cdist(x, x)),
    ("pairwise_distance to itself", lambda m, x: _functional(m).pairwise_distance(x, x, eps=0)),
    ("cosine_similarity of tiny and zero rows",
     lambda m, x: _functional(m).cosine_similarity(x, x.flip(0))),
]


def _functional(m):
    return m if m is zen else m.nn.functional


@pytest.mark.parametrize("name, function", AT_ZERO, ids=[c[0] for c in AT_ZERO])
def test_gradients_at_zero_match_pytorch(name, function, device):
    x = zen.Tensor(numpy.array(ROWS), device=device, trainable=True)
    expected = torch.tensor(ROWS, dtype=torch.float64, requires_grad=True)
    function(zen, x).sum().backward()
    function(torch, expected).sum().backward()
    gradient = x.backend.to_host(x.gradient)
    assert numpy.isfinite(gradient).all()
    numpy.testing.assert_allclose(gradient, expected.grad.numpy(), rtol=1e-7, atol=1e-12)


KINKS = [-2.0, -0.5, -0.3, 0.0, 0.1, 0.3, 0.5, 2.0]

# Each a function of the module and one input holding every kink above
AT_KINKS = [
    ("softshrink", lambda m, x: _functional(m).softshrink(x, 0.5)),
    ("hardshrink", lambda m, x: _functional(m).hardshrink(x, 0.3)),
    ("threshold", lambda m, x: _functional(m).threshold(x, 0.1, -4.0)),
    ("prelu", lambda m, x: _functional(m).prelu(x, x[:1] * 0 + 0.25)),
    ("logit with eps", lambda m, x: m.logit(x * 0.5 + 0.5, eps=0.25)),
    ("hypot of large values", lambda m, x: m.hypot(x * 1e200, x * 1e200)),
    ("nan_to_num", lambda m, x: m.nan_to_num(m.log(x), nan=1.5)),
    ("frac", lambda m, x: m.frac(x * 2)),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name, function", AT_KINKS, ids=[c[0] for c in AT_KINKS])
def test_values_and_gradients_at_kinks_match_pytorch(name, function, device):
    x = zen.Tensor(numpy.array(KINKS), device=device, trainable=True)
    expected_x = torch.tensor(KINKS, dtype=torch.float64, requires_grad=True)
    made, expected = function(zen, x), function(torch, expected_x)
    made.sum().backward()
    expected.sum().backward()
    numpy.testing.assert_allclose(made.numpy(), expected.detach().numpy(), rtol=1e-12)
    numpy.testing.assert_allclose(x.backend.to_host(x.gradient), expected_x.grad.numpy(),
                                  rtol=1e-12)
