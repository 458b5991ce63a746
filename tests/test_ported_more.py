"""More functions a PyTorch porter reaches for, at the points random
op cases miss: medians with ties and NaN, take_along_dim's broadcasting and indices out of
range, count_nonzero, and torch.nn.functional's other losses at their clamps and extremes,
against PyTorch on every device. (Values and gradients elsewhere:
tests/op_cases.py.)"""

import numpy
import pytest

import zen

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")

# Rows with ties at the median, an even count, NaN once and twice, and infinities
MEDIAN_ROWS = [[3.0, 1.0, 2.0, 2.0, 5.0, 2.0],
               [4.0, 1.0, 2.0, 3.0, 7.0, 0.0],
               [1.0, numpy.nan, 0.0, 2.0, numpy.nan, 1.0],
               [numpy.inf, numpy.inf, -numpy.inf, numpy.inf, 0.0, 1.0]]


def _host(tensor):
    return tensor.backend.to_host(tensor.value)


@pytest.mark.parametrize("row", range(len(MEDIAN_ROWS)))
def test_median_of_everything_shares_its_gradient_among_ties_as_pytorch(row, device):
    """torch.median(x) splits the gradient evenly among the elements equal to the median
    (evenly_distribute_backward), unlike median(x, dim), which picks one."""
    x = zen.Tensor(numpy.array(MEDIAN_ROWS[row]), device=device, trainable=True)
    expected = torch.tensor(MEDIAN_ROWS[row], dtype=torch.float64, requires_grad=True)
    value, torch_value = x.median(), torch.median(expected)
    value.backward()
    torch_value.backward()
    numpy.testing.assert_array_equal(_host(value), torch_value.detach().numpy())
    numpy.testing.assert_array_equal(x.backend.to_host(x.gradient), expected.grad.numpy())


@pytest.mark.parametrize("keepdims", [False, True])
def test_median_along_an_axis_picks_pytorchs_element(keepdims, device):
    """The lower median's index is PyTorch's among ties (a stable sort's), the first NaN in a
    slice with NaN, and the gradient goes to that one element."""
    x = zen.Tensor(numpy.array(MEDIAN_ROWS), device=device, trainable=True)
    expected = torch.tensor(MEDIAN_ROWS, dtype=torch.float64, requires_grad=True)
    values, indices = zen.median(x, -1, keepdims)
    torch_values, torch_indices = torch.median(expected, -1, keepdims)
    values.sum().backward()
    torch_values.sum().backward()
    numpy.testing.assert_array_equal(_host(values), torch_values.detach().numpy())
    numpy.testing.assert_array_equal(_host(indices), torch_indices.numpy())
    assert indices.dtype == x.backend.dtype("int64") and not indices.trainable
    numpy.testing.assert_array_equal(x.backend.to_host(x.gradient), expected.grad.numpy())


def test_median_edges_as_pytorch(device):
    assert numpy.isnan(_host(zen.median(zen.Tensor([], device=device))))
    values, indices = zen.median(zen.Tensor(3.0, device=device), 0)
    assert values.shape == indices.shape == () and _host(indices) == 0
    integers = zen.Tensor(numpy.array([[3, 1, 2, 2]]), device=device)
    assert _host(integers.median()) == 2 and _host(integers.median(1).values).tolist() == [2]
    with pytest.raises(zen.errors.ShapeMismatchError, match=r"median: axis 0 .* is empty"):
        zen.median(zen.Tensor(numpy.zeros((0, 3)), device=device), 0)


# (input shape, indices, axis): broadcasting both ways, repeats, no axis
TAKE_ALONG = [
    ((2, 3), [[2], [1]], 1),
    ((3, 1), [[0, 2], [2, 1]], 0),
    ((1, 3), [[0], [2], [2]], 1),
    ((2, 1, 3), [[[1, 0, 1]]], 2),
    ((2, 3), [[5, 0], [0, 3]], None),
]


@pytest.mark.parametrize("shape, rows, axis", TAKE_ALONG)
def test_take_along_dim_broadcasts_and_wraps_as_pytorch(shape, rows, axis, device):
    array = numpy.arange(float(numpy.prod(shape))).reshape(shape)
    x = zen.Tensor(array, device=device, trainable=True)
    expected = torch.tensor(array, requires_grad=True)
    got = zen.take_along_dim(x, numpy.array(rows), axis)
    torch_got = torch.take_along_dim(expected, torch.tensor(rows), axis)
    (got * got).sum().backward()
    (torch_got * torch_got).sum().backward()
    numpy.testing.assert_array_equal(_host(got), torch_got.detach().numpy())
    numpy.testing.assert_array_equal(x.backend.to_host(x.gradient), expected.grad.numpy())


@pytest.mark.parametrize("index, axis", [([[-1]], 1), ([[3]], 1), ([-1], None), ([6], None)])
def test_take_along_dim_refuses_indices_outside_the_slice(index, axis, device):
    """PyTorch raises for these without an axis but, along one, reads past the slice into
    the next row (or outside the tensor): a silent wrong answer, refused here."""
    x = zen.Tensor(numpy.arange(6.0).reshape(2, 3), device=device)
    with pytest.raises(zen.errors.IndexOutOfRangeError, match="take_along_dim: index"):
        zen.take_along_dim(x, numpy.array(index), axis)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1), -1])
def test_count_nonzero_as_pytorch(axis, device):
    array = numpy.array([[0.0, 1.0, -0.0], [2.0, numpy.nan, 0.0]])
    got = zen.Tensor(array, device=device).count_nonzero(axis)
    expected = torch.count_nonzero(torch.tensor(array), axis)
    assert got.dtype == got.backend.dtype("int64")
    numpy.testing.assert_array_equal(_host(got), expected.numpy())


F = torch.nn.functional
RNG = numpy.random.default_rng(17)
_X, _Y = RNG.normal(size=4), RNG.normal(size=4)
_X[0] = _Y[0]                                    # margin_ranking_loss at its clamp
_A, _B = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
_B[1] = 0                                        # a zero vector in cosine_embedding_loss
_VAR = RNG.uniform(0, 2, size=(3, 4))
_VAR[0, :2] = 1e-9, 0.0                          # variances below eps, raised to it
_MEAN, _TARGET = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
_COUNTS = RNG.integers(0, 5, size=(3, 4)).astype(float)   # 0 and 1 and above: Stirling's
# (name, arrays, which are trainable, settings): at PyTorch's clamps, kinks and extremes
LOSS_EDGES = [
    ("margin_ranking_loss", [_X, _Y, numpy.array([1.0, -1, -1, 1])], (0, 1), {}),
    ("soft_margin_loss", [RNG.normal(size=(3, 4)) * 400, numpy.sign(RNG.normal(size=(3, 4)))],
     (0,), {}),
    ("hinge_embedding_loss", [numpy.array([0.3, 0.2, -2, 1.0, 0.4, 1.0]),
                              numpy.array([1.0, -1, 1, -1, 0.5, 1])], (0,), {"margin": 0.2}),
    ("cosine_embedding_loss", [_A, _B, numpy.array([1.0, -1, -1, 1])], (0, 1), {"margin": 0.1}),
    ("cosine_embedding_loss", [_A[0], _B[0], numpy.array(-1.0)], (0, 1), {}),
    ("triplet_margin_loss", [_A, _A, _B], (0, 1, 2), {"swap": True, "p": 1.0}),
    ("poisson_nll_loss", [numpy.log(_VAR + 0.1), _COUNTS], (0,), {"full": True}),
    ("poisson_nll_loss", [_VAR, _COUNTS], (0,), {"log_input": False, "full": True}),
    ("gaussian_nll_loss", [_MEAN, _TARGET, _VAR], (0, 1, 2), {"full": True}),
    ("gaussian_nll_loss", [_MEAN, _TARGET, _VAR[:, 0]], (0, 2), {}),
    ("gaussian_nll_loss", [_MEAN, _TARGET, _VAR[:1]], (0, 2), {}),
    ("multilabel_soft_margin_loss", [RNG.normal(size=(3, 4)) * 400,
                                     RNG.integers(0, 2, size=(3, 4)).astype(float)], (0,), {}),
    ("multilabel_soft_margin_loss", [RNG.normal(size=(3, 4)), RNG.uniform(size=(3, 4))], (0,),
     {"weight": RNG.uniform(size=4)}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, arrays, trainable, settings", LOSS_EDGES,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(LOSS_EDGES)])
def test_losses_match_pytorch_at_their_edges(name, arrays, trainable, settings, reduction,
                                             device):
    inputs = [zen.Tensor(a, device=device, trainable=i in trainable)
              for i, a in enumerate(arrays)]
    expected = [torch.tensor(a, requires_grad=i in trainable) for i, a in enumerate(arrays)]
    torch_settings = {key: torch.tensor(value) if isinstance(value, numpy.ndarray) else value
                      for key, value in settings.items()}
    loss = getattr(zen, name)(*inputs, reduction=reduction, **settings)
    torch_loss = getattr(F, name)(*expected, reduction=reduction, **torch_settings)
    loss.sum().backward()
    torch_loss.sum().backward()
    numpy.testing.assert_allclose(_host(loss), torch_loss.detach().numpy(), rtol=1e-12,
                                  atol=1e-12)
    for tensor, torch_tensor in zip(inputs, expected, strict=True):
        if tensor.trainable:
            numpy.testing.assert_allclose(tensor.backend.to_host(tensor.gradient),
                                          torch_tensor.grad.numpy(), rtol=1e-12, atol=1e-12)
