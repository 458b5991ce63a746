"""A sweep of about 960 calls a PyTorch user writes, each run in PyTorch and in zen on the CPU.

Each case is a torch expression (string) over named inputs. The zen expression is the same
string with torch./F. -> zen., dim= -> axis=, keepdim= -> keepdims=, dim1/dim2 -> axis1/axis2,
unless the case gives its own zen expression (z=...). Forward values are compared with
float32 tolerances (rtol 1.3e-6, atol 1e-5, as torch.testing.assert_close), and so are the
gradients of sum(out * W) (W fixed random) for every float input.

Every case agrees with PyTorch but those in DIFFERENCES, which the README documents;
tests/test_pytorch_sweep.py holds the sweep to that.

Run:  python tests/pytorch_sweep.py [-v] [substring-filter]   (exit status 1 on a surprise)
"""

import collections
import pathlib
import re
import sys
import traceback

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))   # this tree's zen
import zen

RTOL, ATOL = 1.3e-6, 1e-5


# ---------------------------------------------------------------- input specs
class Spec:
    def __init__(self, make):
        self.make = make


def normal(*shape):
    return Spec(lambda r: r.standard_normal(shape).astype(np.float32))


def positive(*shape):  # positive
    return Spec(lambda r: r.uniform(0.5, 2.0, shape).astype(np.float32))


def uniform(lo, hi, *shape):
    return Spec(lambda r: r.uniform(lo, hi, shape).astype(np.float32))


def integers(lo, hi, *shape):  # int64 in [lo, hi)
    return Spec(lambda r: r.integers(lo, hi, shape).astype(np.int64))


def booleans(*shape):
    return Spec(lambda r: r.random(shape) < 0.5)


def given(arr):
    arr = np.asarray(arr)
    return Spec(lambda r: arr.copy())


def permutation(n, *lead):  # a permutation of range(n) (unique indices for scatter)
    def make(r):
        if not lead:
            return r.permutation(n).astype(np.int64)
        out = np.stack([r.permutation(n) for _ in range(int(np.prod(lead)))])
        return out.reshape(*lead, n).astype(np.int64)

    return Spec(make)


# ---------------------------------------------------------------- cases
CASES = []


NOGRAD_NAMES = ("rm", "rv", "wt", "pw", "tt")  # weights / targets / running stats: no grad


def check(expr, inputs, z=None, grad=True, group="misc", name=None, rtol=RTOL, atol=ATOL):
    CASES.append(
        dict(
            expr=expr,
            inputs=inputs,
            z=z,
            grad=grad,
            group=group,
            name=name or expr,
            rtol=rtol,
            atol=atol,
        )
    )


def translate(expr):
    e = re.sub(r"\btorch\.nn\.functional\.", "zen.", expr)
    e = re.sub(r"\bF\.", "zen.", e)
    e = re.sub(r"\btorch\.", "zen.", e)
    e = re.sub(r"\bdim=", "axis=", e)
    e = re.sub(r"\bkeepdim=", "keepdims=", e)
    e = re.sub(r"\bdim1=", "axis1=", e)
    e = re.sub(r"\bdim2=", "axis2=", e)
    return e


x23, x34, x345 = normal(2, 3), normal(3, 4), normal(3, 4, 5)

# ---- elementwise unary (functions and methods)
g = "elementwise"
for fn, spec in [
    ("exp", normal(3, 4)),
    ("log", positive(3, 4)),
    ("sqrt", positive(3, 4)),
    ("sin", normal(3, 4)),
    ("cos", normal(3, 4)),
    ("tan", uniform(-1, 1, 3, 4)),
    ("tanh", normal(3, 4)),
    ("sigmoid", normal(3, 4)),
    ("relu", normal(3, 4)),
    ("abs", normal(3, 4)),
    ("sign", normal(3, 4)),
    ("neg", normal(3, 4)),
    ("negative", normal(3, 4)),
    ("reciprocal", positive(3, 4)),
    ("rsqrt", positive(3, 4)),
    ("log2", positive(3, 4)),
    ("log10", positive(3, 4)),
    ("log1p", positive(3, 4)),
    ("expm1", normal(3, 4)),
    ("exp2", normal(3, 4)),
    ("erf", normal(3, 4)),
    ("erfc", normal(3, 4)),
    ("asin", uniform(-0.9, 0.9, 3, 4)),
    ("acos", uniform(-0.9, 0.9, 3, 4)),
    ("atan", normal(3, 4)),
    ("sinh", normal(3, 4)),
    ("cosh", normal(3, 4)),
    ("asinh", normal(3, 4)),
    ("acosh", uniform(1.1, 3, 3, 4)),
    ("atanh", uniform(-0.9, 0.9, 3, 4)),
    ("floor", normal(3, 4)),
    ("ceil", normal(3, 4)),
    ("trunc", normal(3, 4)),
    ("round", normal(3, 4)),
    ("square", normal(3, 4)),
    ("frac", normal(3, 4)),
]:
    check(f"torch.{fn}(x)", {"x": spec}, group=g)
for fn, spec in [
    ("exp", normal(3, 4)),
    ("log", positive(3, 4)),
    ("sqrt", positive(3, 4)),
    ("tanh", normal(3, 4)),
    ("sigmoid", normal(3, 4)),
    ("relu", normal(3, 4)),
    ("abs", normal(3, 4)),
    ("erf", normal(3, 4)),
    ("sin", normal(3, 4)),
    ("cos", normal(3, 4)),
    ("rsqrt", positive(3, 4)),
    ("neg", normal(3, 4)),
    ("square", normal(3, 4)),
    ("reciprocal", positive(3, 4)),
    ("log1p", positive(3, 4)),
    ("floor", normal(3, 4)),
    ("sign", normal(3, 4)),
]:
    check(f"x.{fn}()", {"x": spec}, group=g)
check("torch.round(x, decimals=1)", {"x": normal(3, 4)}, group=g)
check("torch.clamp(x, -0.5, 0.5)", {"x": normal(3, 4)}, group=g)
check("torch.clamp(x, min=0.0)", {"x": normal(3, 4)}, group=g)
check("torch.clamp(x, max=0.2)", {"x": normal(3, 4)}, group=g)
check("x.clamp(-0.5, 0.5)", {"x": normal(3, 4)}, group=g)
check("x.clamp(min=0.1)", {"x": normal(3, 4)}, group=g)
check("torch.clip(x, -0.5, 0.5)", {"x": normal(3, 4)}, group=g)
check("x.clip(-0.5, 0.5)", {"x": normal(3, 4)}, group=g)
check(
    "torch.clamp(x, lo, hi)",
    {"x": normal(3, 4), "lo": uniform(-1, -0.2, 3, 4), "hi": uniform(0.2, 1, 3, 4)},
    group=g,
)
check("torch.pow(x, 2)", {"x": normal(3, 4)}, group=g)
check("torch.pow(x, y)", {"x": positive(3, 4), "y": normal(3, 4)}, group=g)
check("x ** 3", {"x": normal(3, 4)}, group=g)
check("x ** 0.5", {"x": positive(3, 4)}, group=g)
check("2.0 ** x", {"x": normal(3, 4)}, group=g)
check("x.pow(2)", {"x": normal(3, 4)}, group=g)
check("x + y", {"x": normal(3, 4), "y": normal(4)}, group=g)
check("x - y", {"x": normal(3, 1), "y": normal(1, 4)}, group=g)
check("x * y", {"x": normal(2, 3, 4), "y": normal(3, 1)}, group=g)
check("x / y", {"x": normal(3, 4), "y": positive(3, 4)}, group=g)
check("1.0 / y", {"y": positive(3, 4)}, group=g)
check("3.0 - x", {"x": normal(3, 4)}, group=g)
check("torch.add(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.add(x, y, alpha=2)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.sub(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.mul(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.div(x, y)", {"x": normal(3, 4), "y": positive(3, 4)}, group=g)
check("torch.div(x, y, rounding_mode='floor')", {"x": normal(3, 4), "y": positive(3, 4)}, group=g)
check("torch.div(x, y, rounding_mode='trunc')", {"x": normal(3, 4), "y": positive(3, 4)}, group=g)
check("torch.true_divide(x, y)", {"x": normal(3, 4), "y": positive(3, 4)}, group=g)
check("torch.maximum(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.minimum(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.atan2(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.copysign(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.logaddexp(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.lerp(x, y, 0.3)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check(
    "torch.lerp(x, y, w)", {"x": normal(3, 4), "y": normal(3, 4), "w": uniform(0, 1, 3, 4)}, group=g
)
check("torch.remainder(x, y)", {"x": normal(3, 4), "y": positive(3, 4)}, group=g)
check("torch.fmod(x, y)", {"x": normal(3, 4), "y": positive(3, 4)}, group=g)
check("x % 0.7", {"x": normal(3, 4)}, group=g)
check("torch.floor_divide(x, y)", {"x": normal(3, 4), "y": positive(3, 4)}, grad=False, group=g)
check("torch.where(x > 0, x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.where(m, x, 0.0)", {"x": normal(3, 4), "m": booleans(3, 4)}, group=g)
check("torch.where(m, x, y)", {"x": normal(3, 4), "y": normal(4), "m": booleans(3, 1)}, group=g)
check("torch.hypot(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.isnan(x)", {"x": given([1.0, np.nan, np.inf, -2.0])}, grad=False, group=g)
check("torch.isinf(x)", {"x": given([1.0, np.nan, np.inf, -2.0])}, grad=False, group=g)
check("torch.isfinite(x)", {"x": given([1.0, np.nan, np.inf, -2.0])}, grad=False, group=g)
check(
    "torch.isclose(x, y)",
    {"x": given([1.0, 2.0, 3.0]), "y": given([1.0, 2.00001, 3.1])},
    grad=False,
    group=g,
)
check("torch.nan_to_num(x)", {"x": given([1.0, np.nan, np.inf, -np.inf])}, group=g)
check("torch.logit(x)", {"x": uniform(0.1, 0.9, 3, 4)}, group=g)
check("x > y", {"x": normal(3, 4), "y": normal(3, 4)}, grad=False, group=g)
check(
    "torch.logical_and(x > 0, y > 0)", {"x": normal(3, 4), "y": normal(3, 4)}, grad=False, group=g
)

# ---- activations
g = "activations"
for e in [
    "F.relu(x)",
    "F.relu6(x * 4)",
    "F.leaky_relu(x, 0.2)",
    "F.leaky_relu(x)",
    "F.elu(x)",
    "F.elu(x, alpha=0.5)",
    "F.selu(x)",
    "F.celu(x, alpha=1.0)",
    "F.gelu(x)",
    "F.gelu(x, approximate='tanh')",
    "F.silu(x)",
    "F.mish(x)",
    "F.softplus(x)",
    "F.softplus(x, beta=2.0, threshold=1.0)",
    "F.softsign(x)",
    "F.logsigmoid(x)",
    "F.hardtanh(x)",
    "F.hardtanh(x, -0.5, 0.5)",
    "F.hardsigmoid(x * 4)",
    "F.hardswish(x * 4)",
    "F.softmin(x, dim=1)",
    "F.softmax(x, dim=-1)",
    "F.softmax(x, dim=0)",
    "F.log_softmax(x, dim=1)",
    "F.log_softmax(x, -1)",
    "torch.softmax(x, dim=1)",
    "torch.log_softmax(x, 1)",
    "x.softmax(dim=-1)",
    "x.log_softmax(-1)",
    "torch.sigmoid(x)",
    "torch.tanh(x)",
    "F.sigmoid(x)",
    "F.tanh(x)",
    "F.glu(x, dim=-1)",
    "F.tanhshrink(x)",
    "F.softshrink(x, 0.5)",
    "F.hardshrink(x, 0.5)",
    "F.threshold(x, 0.1, 20.0)",
    "F.rrelu(x, training=False)",
]:
    check(e, {"x": normal(3, 4)}, group=g)
check("F.prelu(x, w)", {"x": normal(2, 3, 4), "w": uniform(0.1, 0.3, 3)}, group=g)
check("F.softmax(x, dim=1)", {"x": normal(2, 3, 4)}, group=g)
check("F.softmax(x * 100, dim=-1)", {"x": normal(2, 5)}, group=g)
check("F.silu(x)", {"x": normal(2, 3, 4)}, group=g)

# ---- reductions and scans
g = "reductions"
check("torch.sum(x)", {"x": x345}, group=g)
check("x.sum()", {"x": x345}, group=g)
check("torch.sum(x, dim=1)", {"x": x345}, group=g)
check("torch.sum(x, 1)", {"x": x345}, group=g)
check("x.sum(1)", {"x": x345}, group=g)
check("x.sum(-1, keepdim=True)", {"x": x345}, group=g)
check("x.sum(dim=(0, 2))", {"x": x345}, group=g)
check("torch.sum(x, (0, 2), keepdim=True)", {"x": x345}, group=g)
check("torch.mean(x)", {"x": x345}, group=g)
check("x.mean(dim=-1)", {"x": x345}, group=g)
check("x.mean((1, 2), keepdim=True)", {"x": x345}, group=g)
check("torch.mean(x, 0, True)", {"x": x345}, group=g)
check("torch.prod(x, 1)", {"x": x345}, group=g)
check("x.prod()", {"x": normal(2, 3)}, group=g)
check("x.prod(dim=0, keepdim=True)", {"x": x345}, group=g)
check("torch.max(x)", {"x": x345}, group=g)
check("x.max()", {"x": x345}, group=g)
check("torch.max(x, 1)", {"x": x345}, group=g)
check("torch.max(x, dim=1)[0]", {"x": x345}, group=g)
check("x.max(dim=-1).values", {"x": x345}, group=g)
check("x.max(dim=-1).indices", {"x": x345}, grad=False, group=g)
check("x.max(-1, keepdim=True)", {"x": x345}, group=g)
check("torch.min(x, 0)", {"x": x345}, group=g)
check("x.min(1)[0]", {"x": x345}, group=g)
check("torch.max(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.amax(x, dim=1)", {"x": x345}, group=g)
check("torch.amin(x, dim=(0, 1))", {"x": x345}, group=g)
check("x.amax(-1)", {"x": x345}, group=g)
check("torch.max(x)", {"x": given([[1.0, 3.0], [3.0, 2.0]])}, group=g, name="torch.max(x) ties")
check("torch.var(x)", {"x": x345}, group=g)
check("torch.var(x, 1)", {"x": x345}, group=g)
check("x.var(dim=-1, keepdim=True)", {"x": x345}, group=g)
check("torch.var(x, dim=1, unbiased=False)", {"x": x345}, group=g)
check("x.var(1, unbiased=False)", {"x": x345}, group=g)
check("torch.var(x, dim=1, correction=0)", {"x": x345}, group=g)
check("torch.std(x)", {"x": x345}, group=g)
check("torch.std(x, dim=0)", {"x": x345}, group=g)
check("x.std(-1, keepdim=True)", {"x": x345}, group=g)
check("x.std(dim=1, unbiased=False)", {"x": x345}, group=g)
check("torch.var_mean(x, dim=1)", {"x": x345}, group=g)
check("torch.std_mean(x, dim=-1, keepdim=True)", {"x": x345}, group=g)
check("torch.logsumexp(x, dim=1)", {"x": x345}, group=g)
check("torch.logsumexp(x, 1, keepdim=True)", {"x": x345}, group=g)
check("x.logsumexp(-1)", {"x": x345}, group=g)
check("torch.argmax(x)", {"x": x345}, grad=False, group=g)
check("torch.argmax(x, dim=1)", {"x": x345}, grad=False, group=g)
check("x.argmax(-1)", {"x": x345}, grad=False, group=g)
check("x.argmax(dim=1, keepdim=True)", {"x": x345}, grad=False, group=g)
check("torch.argmin(x, 0)", {"x": x345}, grad=False, group=g)
check("torch.norm(x)", {"x": x345}, group=g)
check("x.norm(dim=-1)", {"x": x345}, group=g)
check("torch.norm(x, p=1, dim=1)", {"x": x345}, group=g)
check("torch.linalg.norm(x, dim=-1)", {"x": x345}, group=g)
check("torch.linalg.vector_norm(x, ord=2, dim=-1)", {"x": x345}, group=g)
check("torch.cumsum(x, dim=1)", {"x": x345}, group=g)
check("x.cumsum(-1)", {"x": x345}, group=g)
check("torch.cumsum(x, 0)", {"x": x345}, group=g)
check("torch.cumprod(x, dim=1)", {"x": x345}, group=g)
check("torch.logcumsumexp(x, dim=-1)", {"x": x345}, group=g)
check("torch.cummax(x, dim=1)", {"x": x345}, group=g)
check("torch.cummin(x, 0)", {"x": x345}, group=g)
check("torch.sort(x, dim=-1)", {"x": x345}, group=g)
check("torch.sort(x, dim=1, descending=True)", {"x": x345}, group=g)
check("x.sort(0)[0]", {"x": x345}, group=g)
check("torch.argsort(x, dim=-1)", {"x": x345}, grad=False, group=g)
check("x.argsort(dim=1, descending=True)", {"x": x345}, grad=False, group=g)
check("torch.topk(x, 2)", {"x": x345}, group=g)
check("torch.topk(x, 2, dim=1, largest=False)", {"x": x345}, group=g)
check("x.topk(3, dim=-1).values", {"x": x345}, group=g)
check("torch.median(x, dim=1)", {"x": x345}, group=g)
check("torch.any(x > 1)", {"x": x345}, grad=False, group=g)
check("torch.all(x > -3, dim=1)", {"x": x345}, grad=False, group=g)
check("(x > 0).any(dim=-1)", {"x": x345}, grad=False, group=g)
check("torch.count_nonzero(x > 0, dim=1)", {"x": x345}, grad=False, group=g)
check("(x > 0).sum()", {"x": x345}, grad=False, group=g)
check("(x > 0).float().mean()", {"x": x345}, grad=False, group=g)
check("torch.sum(x, dim=0)", {"x": normal(7)}, group=g)
check("torch.mean(x, dim=())", {"x": normal(3, 4)}, group=g)
check("torch.aminmax(x, dim=1)", {"x": x345}, group=g)

# ---- indexing
g = "indexing"
check("torch.gather(x, 1, idx)", {"x": normal(3, 5), "idx": integers(0, 5, 3, 4)}, group=g)
check("x.gather(-1, idx)", {"x": normal(2, 3, 5), "idx": integers(0, 5, 2, 3, 2)}, group=g)
check(
    "torch.gather(x, dim=0, index=idx)", {"x": normal(3, 5), "idx": integers(0, 3, 2, 5)}, group=g
)
check(
    "torch.scatter(x, 1, idx, src)",
    {"x": normal(3, 5), "idx": permutation(5, 3), "src": normal(3, 5)},
    group=g,
)
check("torch.scatter(x, 1, idx, 2.5)", {"x": normal(3, 5), "idx": permutation(5, 3)}, group=g)
check(
    "x.scatter(0, idx, src)",
    {
        "x": normal(3, 4),
        "idx": permutation(3, 4).__class__(
            lambda r: np.stack([r.permutation(3) for _ in range(4)], 1).astype(np.int64)
        ),
        "src": normal(3, 4),
    },
    group=g,
)
check(
    "torch.scatter_add(x, 1, idx, src)",
    {"x": normal(3, 5), "idx": integers(0, 5, 3, 6), "src": normal(3, 6)},
    group=g,
)
check(
    "x.scatter_add(0, idx, src)",
    {"x": normal(4, 3), "idx": integers(0, 4, 5, 3), "src": normal(5, 3)},
    group=g,
)
for red in ["sum", "prod", "mean", "amax", "amin"]:
    check(
        f"torch.scatter_reduce(x, 1, idx, src, '{red}')",
        {"x": normal(3, 5), "idx": integers(0, 5, 3, 6), "src": normal(3, 6)},
        group=g,
    )
    check(
        f"torch.scatter_reduce(x, 1, idx, src, reduce='{red}', include_self=False)",
        {"x": normal(3, 5), "idx": integers(0, 5, 3, 6), "src": normal(3, 6)},
        group=g,
    )
check(
    "torch.index_select(x, 0, idx)",
    {"x": normal(5, 3), "idx": given(np.array([0, 2, 2, 4]))},
    group=g,
)
check("x.index_select(1, idx)", {"x": normal(2, 5, 3), "idx": given(np.array([4, 0, 1]))}, group=g)
check(
    "torch.index_select(x, dim=-1, index=idx)",
    {"x": normal(2, 5), "idx": given(np.array([4, 0]))},
    group=g,
)
check("torch.masked_fill(x, m, -1e9)", {"x": normal(3, 4), "m": booleans(3, 4)}, group=g)
check(
    "x.masked_fill(m, float('-inf')).softmax(-1)",
    {"x": normal(3, 4), "m": given(np.array([[False, True, True, False]] * 3))},
    group=g,
)
check("x.masked_fill(m, 0.0)", {"x": normal(2, 3, 4), "m": booleans(3, 1)}, group=g)
check("torch.masked_select(x, m)", {"x": normal(3, 4), "m": booleans(3, 4)}, group=g)
check("x.masked_select(m)", {"x": normal(3, 4), "m": booleans(4)}, group=g)
check("x[idx]", {"x": normal(5, 3), "idx": given(np.array([0, 3, 3]))}, group=g)
check("x[:, idx]", {"x": normal(2, 5, 3), "idx": given(np.array([4, 1]))}, group=g)
check("x[m]", {"x": normal(3, 4), "m": booleans(3, 4)}, group=g)
check(
    "x[m]",
    {"x": normal(3, 4), "m": given(np.array([True, False, True]))},
    group=g,
    name="x[row mask]",
)
check("x[1:3, ::2]", {"x": normal(4, 5)}, group=g)
check("x[..., None]", {"x": normal(2, 3)}, group=g)
check("x[None, :, 1]", {"x": normal(2, 3)}, group=g)
check("x[-1]", {"x": normal(4, 5)}, group=g)
check("x[:, -1, :]", {"x": normal(2, 4, 5)}, group=g)
check(
    "x[i, j]",
    {"x": normal(4, 5), "i": given(np.array([0, 1, 3])), "j": given(np.array([4, 4, 0]))},
    group=g,
)
check("x[[0, 2]]", {"x": normal(4, 5)}, group=g)
check(
    "x[torch.arange(3), t]",
    {"x": normal(3, 5), "t": integers(0, 5, 3)},
    z="x[zen.arange(3), t]",
    group=g,
)
check("x[range(3), t]", {"x": normal(3, 5), "t": integers(0, 5, 3)}, group=g)
check("x[1, :, idx]", {"x": normal(2, 5, 6), "idx": given(np.array([0, 5]))}, group=g)
check("x[:, 1:4:2, None, 0]", {"x": normal(2, 5, 6)}, group=g)
check("torch.nonzero(x > 0)", {"x": normal(3, 4)}, grad=False, group=g)
check("torch.nonzero(x > 0, as_tuple=True)", {"x": normal(3, 4)}, grad=False, group=g)
check("F.one_hot(t, 5)", {"t": integers(0, 5, 6)}, grad=False, group=g)
check("F.one_hot(t)", {"t": given(np.array([0, 2, 1]))}, grad=False, group=g)
check("F.one_hot(t, num_classes=4)", {"t": integers(0, 4, 2, 3)}, grad=False, group=g)
check(
    "torch.take_along_dim(x, idx, dim=1)", {"x": normal(3, 5), "idx": integers(0, 5, 3, 2)}, group=g
)
check(
    "torch.index_add(x, 0, idx, src)",
    {"x": normal(4, 3), "idx": given(np.array([0, 2, 0])), "src": normal(3, 3)},
    group=g,
)
check("torch.take(x, idx)", {"x": normal(3, 4), "idx": given(np.array([0, 5, 11]))}, group=g)
check("torch.where(x > 0)", {"x": normal(3, 4)}, grad=False, group=g)

# ---- shape ops
g = "shapes"
check("x.reshape(4, 3)", {"x": normal(3, 4)}, group=g)
check("x.reshape(-1)", {"x": normal(3, 4)}, group=g)
check("x.reshape((2, -1))", {"x": normal(3, 4)}, group=g)
check("torch.reshape(x, (6, 2))", {"x": normal(3, 4)}, group=g)
check("x.view(2, 6)", {"x": normal(3, 4)}, group=g)
check("x.view(-1)", {"x": normal(3, 4)}, group=g)
check("x.view(x.size(0), -1)", {"x": normal(2, 3, 4)}, group=g)
check("x.view(x.shape[0], -1)", {"x": normal(2, 3, 4)}, group=g)
check("x.permute(2, 0, 1)", {"x": x345}, group=g)
check("x.permute((1, 0, 2))", {"x": x345}, group=g)
check("torch.permute(x, (2, 1, 0))", {"x": x345}, group=g)
check("torch.transpose(x, 0, 1)", {"x": x345}, group=g)
check("x.transpose(1, 2)", {"x": x345}, group=g)
check("x.transpose(-2, -1)", {"x": x345}, group=g)
check("x.t()", {"x": normal(3, 4)}, group=g)
check("x.T", {"x": normal(3, 4)}, group=g)
check("x.mT", {"x": x345}, group=g)
check("torch.swapaxes(x, 0, 2)", {"x": x345}, group=g)
check("torch.squeeze(x)", {"x": normal(3, 1, 4, 1)}, group=g)
check("x.squeeze(1)", {"x": normal(3, 1, 4)}, group=g)
check("x.squeeze(-1)", {"x": normal(3, 4, 1)}, group=g)
check("torch.squeeze(x, dim=1)", {"x": normal(3, 1, 4)}, group=g)
check("x.squeeze(0)", {"x": normal(3, 4)}, group=g, name="x.squeeze(0) of non-1 axis (no-op)")
check("torch.unsqueeze(x, 1)", {"x": normal(3, 4)}, group=g)
check("x.unsqueeze(0)", {"x": normal(3, 4)}, group=g)
check("x.unsqueeze(-1)", {"x": normal(3, 4)}, group=g)
check("torch.flatten(x)", {"x": x345}, group=g)
check("torch.flatten(x, 1)", {"x": x345}, group=g)
check("x.flatten(1)", {"x": x345}, group=g)
check("x.flatten(start_dim=0, end_dim=1)", {"x": x345}, group=g)
check("x.unflatten(1, (2, 2))", {"x": normal(3, 4)}, group=g)
check("torch.cat([x, y])", {"x": normal(2, 3), "y": normal(4, 3)}, group=g)
check("torch.cat((x, y), dim=1)", {"x": normal(2, 3), "y": normal(2, 1)}, group=g)
check("torch.cat([x, y], -1)", {"x": normal(2, 3), "y": normal(2, 1)}, group=g)
check("torch.concat([x, y], dim=0)", {"x": normal(2, 3), "y": normal(4, 3)}, group=g)
check("torch.concatenate([x, y], 0)", {"x": normal(2, 3), "y": normal(4, 3)}, group=g)
check("torch.stack([x, y])", {"x": normal(2, 3), "y": normal(2, 3)}, group=g)
check("torch.stack((x, y), dim=1)", {"x": normal(2, 3), "y": normal(2, 3)}, group=g)
check("torch.stack([x, y], -1)", {"x": normal(2, 3), "y": normal(2, 3)}, group=g)
check("torch.hstack([x, y])", {"x": normal(2, 3), "y": normal(2, 1)}, group=g)
check("torch.vstack([x, y])", {"x": normal(2, 3), "y": normal(1, 3)}, group=g)
check("torch.split(x, 2)", {"x": normal(6, 3)}, group=g)
check("torch.split(x, 2, dim=1)", {"x": normal(3, 5)}, group=g)
check("torch.split(x, [1, 3, 2])", {"x": normal(6, 3)}, group=g)
check("x.split(2, dim=-1)", {"x": normal(3, 6)}, group=g)
check("torch.chunk(x, 3)", {"x": normal(6, 3)}, group=g)
check("torch.chunk(x, 2, dim=1)", {"x": normal(3, 5)}, group=g)
check("x.chunk(3, -1)", {"x": normal(2, 7)}, group=g)
check("torch.unbind(x, 1)", {"x": normal(2, 3)}, group=g)
check("x.unbind(0)", {"x": normal(2, 3)}, group=g)
check("torch.flip(x, (0,))", {"x": x345}, group=g)
check("torch.flip(x, dims=(0, 2))", {"x": x345}, group=g)
check("torch.flip(x, [-1])", {"x": x345}, group=g)
check("x.flip(1)", {"x": x345}, group=g)
check("x.flip(-1)", {"x": normal(3, 4)}, group=g)
check("torch.fliplr(x)", {"x": normal(3, 4)}, group=g)
check("torch.roll(x, 1)", {"x": normal(3, 4)}, group=g)
check("torch.roll(x, 2, 1)", {"x": normal(3, 4)}, group=g)
check("torch.roll(x, shifts=-1, dims=0)", {"x": normal(3, 4)}, group=g)
check("torch.roll(x, (1, 2), (0, 1))", {"x": normal(3, 4)}, group=g)
check("x.roll(1, -1)", {"x": normal(3, 4)}, group=g)
check("x.repeat(2, 3)", {"x": normal(2, 3)}, group=g)
check("x.repeat(2, 1, 1)", {"x": normal(2, 3)}, group=g)
check("torch.tile(x, (2,))", {"x": normal(2, 3)}, group=g)
check("torch.tile(x, (2, 2))", {"x": normal(2, 3)}, group=g)
check("x.tile((1, 2))", {"x": normal(2, 3)}, group=g)
check("torch.repeat_interleave(x, 2)", {"x": normal(2, 3)}, group=g)
check("torch.repeat_interleave(x, 2, dim=0)", {"x": normal(2, 3)}, group=g)
check("x.repeat_interleave(3, dim=1)", {"x": normal(2, 3)}, group=g)
check(
    "torch.repeat_interleave(x, r, dim=0)",
    {"x": normal(3, 2), "r": given(np.array([1, 0, 2]))},
    group=g,
)
check("x.expand(3, 4)", {"x": normal(1, 4)}, group=g)
check("x.expand(2, -1, -1)", {"x": normal(1, 3, 4)}, group=g)
check("x.expand_as(y)", {"x": normal(3, 1), "y": normal(3, 4)}, group=g)
check("torch.broadcast_to(x, (2, 3, 4))", {"x": normal(3, 1)}, group=g)
check("x.broadcast_to((2, 3))", {"x": normal(3)}, group=g)
check("torch.tril(x)", {"x": normal(4, 4)}, group=g)
check("torch.tril(x, -1)", {"x": normal(4, 5)}, group=g)
check("torch.triu(x, diagonal=1)", {"x": normal(4, 5)}, group=g)
check("x.triu()", {"x": normal(2, 4, 4)}, group=g)
check("x.tril(1)", {"x": normal(3, 4)}, group=g)
check("torch.diagonal(x)", {"x": normal(4, 5)}, group=g)
check("torch.diagonal(x, 1)", {"x": normal(4, 5)}, group=g)
check("torch.diagonal(x, offset=-1, dim1=1, dim2=2)", {"x": normal(2, 4, 4)}, group=g)
check("x.diagonal(0, -2, -1)", {"x": normal(2, 3, 3)}, group=g)
check("torch.diag(x)", {"x": normal(4)}, group=g)
check("torch.diag(x)", {"x": normal(3, 3)}, group=g, name="torch.diag(matrix)")
check("torch.diag(x, 1)", {"x": normal(3)}, group=g)
check("torch.diag_embed(x)", {"x": normal(2, 3)}, group=g)
check("torch.trace(x)", {"x": normal(3, 3)}, group=g)
check("torch.movedim(x, 0, -1)", {"x": x345}, group=g)
check("x.movedim(2, 0)", {"x": x345}, group=g)
check("torch.moveaxis(x, 0, 1)", {"x": x345}, group=g)
check("torch.narrow(x, 1, 1, 2)", {"x": normal(3, 4)}, group=g)
check("x.narrow(0, 1, 2)", {"x": normal(3, 4)}, group=g)
check("torch.meshgrid(x, y, indexing='ij')", {"x": normal(3), "y": normal(4)}, group=g)
check("torch.meshgrid(x, y, indexing='xy')", {"x": normal(3), "y": normal(4)}, group=g)
check("x.contiguous()", {"x": normal(3, 4)}, group=g)
check("x.clone()", {"x": normal(3, 4)}, group=g)
check("x.size()", {"x": normal(3, 4)}, grad=False, group=g)
check("x.size(1)", {"x": normal(3, 4)}, grad=False, group=g)
check("x.dim()", {"x": normal(3, 4)}, grad=False, group=g)
check("x.numel()", {"x": normal(3, 4)}, grad=False, group=g)
check("x.float()", {"x": integers(0, 5, 3)}, grad=False, group=g)
check("x.long()", {"x": normal(3)}, grad=False, group=g)
check("x.to(torch.float64)", {"x": normal(3)}, grad=False, group=g)

# ---- pad
g = "pad"
check("F.pad(x, (1, 2))", {"x": normal(2, 3, 4)}, group=g)
check("F.pad(x, (1, 1, 2, 0))", {"x": normal(2, 3, 4)}, group=g)
check("F.pad(x, (1, 1), value=3.5)", {"x": normal(2, 3, 4)}, group=g)
check("F.pad(x, (1, 1), 'constant', 0.5)", {"x": normal(2, 3, 4)}, group=g)
check("F.pad(x, (-1, 1))", {"x": normal(2, 3, 4)}, group=g)
check("F.pad(x, (0, 0, 0, 0, 1, 1))", {"x": normal(2, 3, 4)}, group=g)
for mode in ["reflect", "replicate", "circular"]:
    check(f"F.pad(x, (1, 2), mode='{mode}')", {"x": normal(2, 3, 5)}, group=g)
    check(
        f"F.pad(x, (2, 1), '{mode}')",
        {"x": normal(3, 5)},
        group=g,
        name=f"F.pad 2-D input (C,W) {mode}",
    )
    check(f"F.pad(x, (1, 2, 2, 1), mode='{mode}')", {"x": normal(2, 3, 4, 5)}, group=g)
    check(
        f"F.pad(x, (1, 1, 1, 1), mode='{mode}')",
        {"x": normal(3, 4, 5)},
        group=g,
        name=f"F.pad 3-D input 2 axes {mode}",
    )
    check(f"F.pad(x, (1, 1, 1, 1, 1, 1), mode='{mode}')", {"x": normal(1, 2, 3, 4, 5)}, group=g)

# ---- linear algebra
g = "linalg"
check("torch.matmul(x, y)", {"x": normal(3, 4), "y": normal(4, 5)}, group=g)
check("x @ y", {"x": normal(2, 3, 4), "y": normal(4, 5)}, group=g)
check(
    "x @ y", {"x": normal(2, 1, 3, 4), "y": normal(5, 4, 2)}, group=g, name="x @ y broadcast batch"
)
check("x @ y", {"x": normal(4), "y": normal(4, 5)}, group=g, name="vector @ matrix")
check("x @ y", {"x": normal(3, 4), "y": normal(4)}, group=g, name="matrix @ vector")
check("x @ y", {"x": normal(4), "y": normal(4)}, group=g, name="vector @ vector")
check("x.matmul(y)", {"x": normal(3, 4), "y": normal(4, 5)}, group=g)
check("torch.mm(x, y)", {"x": normal(3, 4), "y": normal(4, 5)}, group=g)
check("x.mm(y)", {"x": normal(3, 4), "y": normal(4, 5)}, group=g)
check("torch.bmm(x, y)", {"x": normal(2, 3, 4), "y": normal(2, 4, 5)}, group=g)
check("torch.mv(x, y)", {"x": normal(3, 4), "y": normal(4)}, group=g)
check("torch.dot(x, y)", {"x": normal(4), "y": normal(4)}, group=g)
check("torch.outer(x, y)", {"x": normal(3), "y": normal(4)}, group=g)
check("x.outer(y)", {"x": normal(3), "y": normal(4)}, group=g)
check("torch.addmm(b, x, y)", {"b": normal(5), "x": normal(3, 4), "y": normal(4, 5)}, group=g)
check(
    "torch.baddbmm(b, x, y)",
    {"b": normal(2, 3, 5), "x": normal(2, 3, 4), "y": normal(2, 4, 5)},
    group=g,
)
check("torch.einsum('ij,jk->ik', x, y)", {"x": normal(3, 4), "y": normal(4, 5)}, group=g)
check("torch.einsum('bij,bjk->bik', x, y)", {"x": normal(2, 3, 4), "y": normal(2, 4, 5)}, group=g)
check(
    "torch.einsum('bhqd,bhkd->bhqk', x, y)",
    {"x": normal(2, 2, 3, 4), "y": normal(2, 2, 5, 4)},
    group=g,
)
check("torch.einsum('ii->i', x)", {"x": normal(3, 3)}, group=g)
check("torch.einsum('ii', x)", {"x": normal(3, 3)}, group=g)
check("torch.einsum('i,j->ij', x, y)", {"x": normal(3), "y": normal(4)}, group=g)
check("torch.einsum('...ij,...jk', x, y)", {"x": normal(2, 3, 4), "y": normal(2, 4, 5)}, group=g)
check("torch.einsum('ij->ji', x)", {"x": normal(3, 4)}, group=g)
check("torch.einsum('bi,bi->b', x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check(
    "torch.einsum('ij,jk,kl->il', x, y, w)",
    {"x": normal(2, 3), "y": normal(3, 4), "w": normal(4, 5)},
    group=g,
)
check(
    "torch.einsum('ij,jk->ik', [x, y])",
    {"x": normal(3, 4), "y": normal(4, 5)},
    group=g,
    name="einsum operands as list",
)
check(
    "torch.einsum('i j, j k -> i k', x, y)",
    {"x": normal(3, 4), "y": normal(4, 5)},
    group=g,
    name="einsum with spaces",
)
check("F.linear(x, w)", {"x": normal(3, 4), "w": normal(5, 4)}, group=g)
check("F.linear(x, w, b)", {"x": normal(2, 3, 4), "w": normal(5, 4), "b": normal(5)}, group=g)
check(
    "F.linear(x, w, b)",
    {"x": normal(4), "w": normal(5, 4), "b": normal(5)},
    group=g,
    name="F.linear 1-D input",
)
check(
    "F.bilinear(x, y, w, b)",
    {"x": normal(3, 4), "y": normal(3, 2), "w": normal(5, 4, 2), "b": normal(5)},
    group=g,
)
check("torch.cross(x, y, dim=-1)", {"x": normal(4, 3), "y": normal(4, 3)}, group=g)
check("torch.kron(x, y)", {"x": normal(2, 2), "y": normal(2, 3)}, group=g)
check("F.cosine_similarity(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("F.cosine_similarity(x, y, dim=-1)", {"x": normal(2, 3, 4), "y": normal(2, 3, 4)}, group=g)
check("F.pairwise_distance(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("torch.cdist(x, y)", {"x": normal(3, 4), "y": normal(5, 4)}, group=g)

# ---- losses
g = "losses"
for red in ["mean", "sum", "none"]:
    check(f"F.mse_loss(x, y, reduction='{red}')", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
    check(f"F.l1_loss(x, y, reduction='{red}')", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
    check(
        f"F.smooth_l1_loss(x, y, reduction='{red}', beta=0.5)",
        {"x": normal(3, 4), "y": normal(3, 4)},
        group=g,
    )
    check(
        f"F.huber_loss(x, y, reduction='{red}', delta=0.7)",
        {"x": normal(3, 4), "y": normal(3, 4)},
        group=g,
    )
    check(
        f"F.cross_entropy(x, t, reduction='{red}')",
        {"x": normal(4, 5), "t": integers(0, 5, 4)},
        group=g,
    )
    check(
        f"F.nll_loss(F.log_softmax(x, 1), t, reduction='{red}')",
        {"x": normal(4, 5), "t": integers(0, 5, 4)},
        group=g,
    )
    check(
        f"F.binary_cross_entropy(torch.sigmoid(x), y, reduction='{red}')",
        {"x": normal(3, 4), "y": uniform(0, 1, 3, 4)},
        group=g,
    )
    check(
        f"F.binary_cross_entropy_with_logits(x, y, reduction='{red}')",
        {"x": normal(3, 4), "y": uniform(0, 1, 3, 4)},
        group=g,
    )
    check(
        f"F.kl_div(F.log_softmax(x, -1), y, reduction='{red}')",
        {"x": normal(3, 4), "y": uniform(0.1, 1, 3, 4)},
        group=g,
    )
    check(
        f"F.cross_entropy(x, t, weight=wt, reduction='{red}')",
        {"x": normal(4, 5), "t": integers(0, 5, 4), "wt": positive(5)},
        group=g,
    )
    check(
        f"F.cross_entropy(x, t, wt, ignore_index=2, reduction='{red}')",
        {"x": normal(6, 5), "t": given(np.array([0, 2, 2, 1, 4, 3])), "wt": positive(5)},
        group=g,
    )
    check(
        f"F.cross_entropy(x, t, reduction='{red}', label_smoothing=0.1)",
        {"x": normal(2, 5, 3), "t": integers(0, 5, 2, 3)},
        group=g,
    )
    check(
        f"F.binary_cross_entropy(torch.sigmoid(x), y, weight=wt, reduction='{red}')",
        {"x": normal(3, 4), "y": uniform(0, 1, 3, 4), "wt": positive(3, 4)},
        group=g,
    )
    check(
        f"F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction='{red}')",
        {"x": normal(3, 4), "y": uniform(0, 1, 3, 4), "pw": positive(4)},
        group=g,
    )
    check(
        f"F.kl_div(x, y, reduction='{red}', log_target=True)",
        {"x": normal(3, 4), "y": normal(3, 4)},
        group=g,
    )
check("F.mse_loss(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("F.l1_loss(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("F.smooth_l1_loss(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("F.huber_loss(x, y)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("F.cross_entropy(x, t)", {"x": normal(4, 5), "t": integers(0, 5, 4)}, group=g)
check(
    "F.cross_entropy(x, t, ignore_index=1)",
    {"x": normal(6, 5), "t": given(np.array([0, 1, 2, 1, 4, 3]))},
    group=g,
)
check(
    "F.cross_entropy(x, t, label_smoothing=0.1)",
    {"x": normal(4, 5), "t": integers(0, 5, 4)},
    group=g,
)
check(
    "F.cross_entropy(x, t, weight=wt, label_smoothing=0.2)",
    {"x": normal(4, 5), "t": integers(0, 5, 4), "wt": positive(5)},
    group=g,
)
check(
    "F.cross_entropy(x, t)",
    {"x": normal(2, 5, 3), "t": integers(0, 5, 2, 3)},
    group=g,
    name="F.cross_entropy (N,C,L)",
)
check(
    "F.cross_entropy(x, t)",
    {"x": normal(2, 5, 3, 2), "t": integers(0, 5, 2, 3, 2)},
    group=g,
    name="F.cross_entropy (N,C,H,W)",
)
check(
    "F.cross_entropy(x, p)",
    {
        "x": normal(4, 5),
        "p": Spec(
            lambda r: (lambda a: (a / a.sum(1, keepdims=True)).astype(np.float32))(
                r.uniform(0.1, 1, (4, 5))
            )
        ),
    },
    group=g,
    name="F.cross_entropy prob targets",
)
check(
    "F.cross_entropy(x, t)",
    {"x": normal(5), "t": given(np.array(2))},
    group=g,
    name="F.cross_entropy unbatched",
)
check(
    "F.cross_entropy(x.view(-1, 5), t.view(-1))",
    {"x": normal(2, 3, 5), "t": integers(0, 5, 2, 3)},
    group=g,
)
check(
    "F.cross_entropy(x.reshape(-1, 5), t.reshape(-1), ignore_index=-1)",
    {"x": normal(2, 3, 5), "t": given(np.array([[0, -1, 2], [4, 4, -1]]))},
    group=g,
)
check("F.nll_loss(x, t)", {"x": normal(4, 5), "t": integers(0, 5, 4)}, group=g)
check(
    "F.nll_loss(x, t, weight=wt, ignore_index=0)",
    {"x": normal(6, 5), "t": given(np.array([0, 1, 2, 1, 4, 3])), "wt": positive(5)},
    group=g,
)
check(
    "F.nll_loss(x, t)",
    {"x": normal(2, 5, 3), "t": integers(0, 5, 2, 3)},
    group=g,
    name="F.nll_loss (N,C,L)",
)
check(
    "F.binary_cross_entropy(torch.sigmoid(x), y, weight=wt)",
    {"x": normal(3, 4), "y": uniform(0, 1, 3, 4), "wt": positive(3, 4)},
    group=g,
)
check(
    "F.binary_cross_entropy(x, y)",
    {
        "x": given(np.array([0.0, 1.0, 0.5], np.float32)),
        "y": given(np.array([1.0, 0.0, 0.5], np.float32)),
    },
    group=g,
    name="F.binary_cross_entropy at 0 and 1 (clamp)",
)
check(
    "F.binary_cross_entropy_with_logits(x, y, pos_weight=pw)",
    {"x": normal(3, 4), "y": uniform(0, 1, 3, 4), "pw": positive(4)},
    group=g,
)
check(
    "F.binary_cross_entropy_with_logits(x, y, weight=wt, pos_weight=pw)",
    {"x": normal(3, 4), "y": uniform(0, 1, 3, 4), "wt": positive(4), "pw": positive(4)},
    group=g,
)
check(
    "F.binary_cross_entropy_with_logits(x * 50, y)",
    {"x": normal(3, 4), "y": uniform(0, 1, 3, 4)},
    group=g,
)
check(
    "F.kl_div(F.log_softmax(x, -1), y, reduction='batchmean')",
    {"x": normal(3, 4), "y": uniform(0.1, 1, 3, 4)},
    group=g,
)
check(
    "F.kl_div(x, y, reduction='batchmean', log_target=True)",
    {"x": normal(3, 4), "y": normal(3, 4)},
    group=g,
)
check("F.kl_div(x, y)", {"x": normal(3, 4), "y": uniform(0, 1, 3, 4)}, group=g)
check(
    "F.cosine_embedding_loss(x, y, t)",
    {"x": normal(3, 4), "y": normal(3, 4), "t": given(np.array([1, -1, 1]))},
    group=g,
)
check(
    "F.margin_ranking_loss(x, y, tt)",
    {"x": normal(4), "y": normal(4), "tt": given(np.array([1.0, -1.0, 1.0, -1.0], np.float32))},
    group=g,
)
check(
    "F.soft_margin_loss(x, tt)",
    {"x": normal(4), "tt": given(np.array([1.0, -1.0, 1.0, -1.0], np.float32))},
    group=g,
)
check(
    "F.triplet_margin_loss(x, y, w)",
    {"x": normal(3, 4), "y": normal(3, 4), "w": normal(3, 4)},
    group=g,
)
check("F.poisson_nll_loss(x, y)", {"x": normal(3, 4), "y": positive(3, 4)}, group=g)
check(
    "F.gaussian_nll_loss(x, y, v)",
    {"x": normal(3, 4), "y": normal(3, 4), "v": positive(3, 4)},
    group=g,
)

# ---- convolution
g = "conv"
check("F.conv1d(x, w)", {"x": normal(2, 3, 8), "w": normal(4, 3, 3)}, group=g)
check("F.conv1d(x, w, b)", {"x": normal(2, 3, 8), "w": normal(4, 3, 3), "b": normal(4)}, group=g)
check(
    "F.conv1d(x, w, b, 2, 1)", {"x": normal(2, 3, 9), "w": normal(4, 3, 3), "b": normal(4)}, group=g
)
check(
    "F.conv1d(x, w, stride=2, padding=2, dilation=2)",
    {"x": normal(2, 3, 9), "w": normal(4, 3, 3)},
    group=g,
)
check("F.conv1d(x, w, groups=3)", {"x": normal(2, 3, 8), "w": normal(6, 1, 3)}, group=g)
check(
    "F.conv1d(x, w, b, padding='same')",
    {"x": normal(2, 3, 8), "w": normal(4, 3, 3), "b": normal(4)},
    group=g,
)
check(
    "F.conv1d(x, w, padding='same')",
    {"x": normal(2, 3, 8), "w": normal(4, 3, 4)},
    group=g,
    name="conv1d same even kernel",
)
check(
    "F.conv1d(x, w, padding='same', dilation=2)",
    {"x": normal(2, 3, 8), "w": normal(4, 3, 3)},
    group=g,
)
check("F.conv1d(x, w, padding='valid')", {"x": normal(2, 3, 8), "w": normal(4, 3, 3)}, group=g)
check("F.conv1d(x, w)", {"x": normal(3, 8), "w": normal(4, 3, 3)}, group=g, name="conv1d unbatched")
check("F.conv1d(x, w, None, (2,), (1,))", {"x": normal(2, 3, 9), "w": normal(4, 3, 3)}, group=g)
check("F.conv2d(x, w)", {"x": normal(2, 3, 6, 7), "w": normal(4, 3, 3, 3)}, group=g)
check(
    "F.conv2d(x, w, b, 1, 1)",
    {"x": normal(2, 3, 6, 7), "w": normal(4, 3, 3, 3), "b": normal(4)},
    group=g,
)
check(
    "F.conv2d(x, w, b, 2, 1)",
    {"x": normal(2, 3, 7, 7), "w": normal(4, 3, 3, 3), "b": normal(4)},
    group=g,
)
check(
    "F.conv2d(x, w, stride=(1, 2), padding=(2, 0))",
    {"x": normal(2, 3, 6, 7), "w": normal(4, 3, 3, 2)},
    group=g,
)
check(
    "F.conv2d(x, w, padding=2, dilation=2)",
    {"x": normal(1, 2, 7, 7), "w": normal(3, 2, 3, 3)},
    group=g,
)
check(
    "F.conv2d(x, w, dilation=(1, 2))", {"x": normal(1, 2, 7, 7), "w": normal(3, 2, 3, 3)}, group=g
)
check("F.conv2d(x, w, groups=2)", {"x": normal(2, 4, 5, 5), "w": normal(6, 2, 3, 3)}, group=g)
check(
    "F.conv2d(x, w, b, padding=1, groups=4)",
    {"x": normal(2, 4, 5, 5), "w": normal(4, 1, 3, 3), "b": normal(4)},
    group=g,
    name="conv2d depthwise",
)
check("F.conv2d(x, w, padding='same')", {"x": normal(2, 3, 6, 7), "w": normal(4, 3, 3, 3)}, group=g)
check(
    "F.conv2d(x, w, padding='same')",
    {"x": normal(2, 3, 6, 7), "w": normal(4, 3, 2, 4)},
    group=g,
    name="conv2d same even kernel",
)
check(
    "F.conv2d(x, w, padding='same', dilation=2)",
    {"x": normal(2, 3, 6, 7), "w": normal(4, 3, 3, 3)},
    group=g,
)
check(
    "F.conv2d(x, w, padding='valid')", {"x": normal(2, 3, 6, 7), "w": normal(4, 3, 3, 3)}, group=g
)
check(
    "F.conv2d(x, w)",
    {"x": normal(3, 6, 7), "w": normal(4, 3, 3, 3)},
    group=g,
    name="conv2d unbatched",
)
check(
    "F.conv2d(x, w, b)",
    {"x": normal(2, 3, 6, 7), "w": normal(4, 3, 1, 1), "b": normal(4)},
    group=g,
    name="conv2d 1x1",
)
check("F.conv_transpose1d(x, w)", {"x": normal(2, 3, 5), "w": normal(3, 4, 3)}, group=g)
check(
    "F.conv_transpose1d(x, w, b, 2)",
    {"x": normal(2, 3, 5), "w": normal(3, 4, 3), "b": normal(4)},
    group=g,
)
check(
    "F.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1)",
    {"x": normal(2, 3, 5), "w": normal(3, 4, 3)},
    group=g,
)
check("F.conv_transpose1d(x, w, groups=3)", {"x": normal(2, 3, 5), "w": normal(3, 2, 3)}, group=g)
check(
    "F.conv_transpose1d(x, w, dilation=2, padding=1)",
    {"x": normal(2, 3, 5), "w": normal(3, 4, 3)},
    group=g,
)
check("F.conv_transpose2d(x, w)", {"x": normal(2, 3, 4, 5), "w": normal(3, 2, 3, 3)}, group=g)
check(
    "F.conv_transpose2d(x, w, b, 2, 1)",
    {"x": normal(2, 3, 4, 5), "w": normal(3, 2, 3, 3), "b": normal(2)},
    group=g,
)
check(
    "F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)",
    {"x": normal(2, 3, 4, 5), "w": normal(3, 2, 3, 3)},
    group=g,
)
check(
    "F.conv_transpose2d(x, w, stride=2)",
    {"x": normal(1, 2, 3, 3), "w": normal(2, 3, 2, 2)},
    group=g,
    name="conv_transpose2d k2 s2 (upsample)",
)
check(
    "F.conv_transpose2d(x, w, stride=(2, 1), padding=(0, 1), dilation=(1, 2))",
    {"x": normal(2, 3, 4, 5), "w": normal(3, 2, 3, 3)},
    group=g,
)
check(
    "F.conv_transpose2d(x, w, groups=2)",
    {"x": normal(2, 4, 4, 4), "w": normal(4, 3, 3, 3)},
    group=g,
)
check(
    "F.conv_transpose2d(x, w, b, 2, 1, 1, 2, 2)",
    {"x": normal(2, 4, 4, 4), "w": normal(4, 3, 3, 3), "b": normal(6)},
    group=g,
    name="conv_transpose2d all positional",
)
check("F.unfold(x, 2)", {"x": normal(1, 2, 4, 4)}, group=g)
check("F.pixel_shuffle(x, 2)", {"x": normal(1, 4, 2, 3)}, group=g)

# ---- pooling
g = "pooling"
check("F.max_pool1d(x, 2)", {"x": normal(2, 3, 8)}, group=g)
check("F.max_pool1d(x, 3, 2)", {"x": normal(2, 3, 9)}, group=g)
check("F.max_pool1d(x, 3, 2, 1)", {"x": normal(2, 3, 9)}, group=g)
check("F.max_pool1d(x, 3, stride=2, ceil_mode=True)", {"x": normal(2, 3, 8)}, group=g)
check("F.max_pool1d(x, 2, dilation=2)", {"x": normal(2, 3, 8)}, group=g)
check("F.max_pool1d(x, 2, return_indices=True)", {"x": normal(2, 3, 8)}, group=g)
check("F.max_pool1d(x, 2)", {"x": normal(3, 8)}, group=g, name="max_pool1d unbatched")
check("F.max_pool2d(x, 2)", {"x": normal(2, 3, 6, 6)}, group=g)
check("F.max_pool2d(x, 2, 2)", {"x": normal(2, 3, 7, 6)}, group=g)
check("F.max_pool2d(x, 3, 2, 1)", {"x": normal(2, 3, 7, 7)}, group=g)
check("F.max_pool2d(x, (2, 3), stride=(1, 2))", {"x": normal(2, 3, 6, 7)}, group=g)
check(
    "F.max_pool2d(x, kernel_size=3, stride=2, ceil_mode=True)", {"x": normal(2, 3, 6, 6)}, group=g
)
check("F.max_pool2d(x, 3, 2, 1, ceil_mode=True)", {"x": normal(1, 2, 6, 6)}, group=g)
check("F.max_pool2d(x, 2, dilation=2)", {"x": normal(1, 2, 7, 7)}, group=g)
check("F.max_pool2d(x, 2, return_indices=True)", {"x": normal(2, 3, 6, 6)}, group=g)
check("F.max_pool2d(x, 3, 1, 1, return_indices=True)", {"x": normal(1, 2, 5, 5)}, group=g)
check("F.max_pool2d(x, 2)", {"x": normal(3, 6, 6)}, group=g, name="max_pool2d unbatched")
check("F.avg_pool1d(x, 2)", {"x": normal(2, 3, 8)}, group=g)
check("F.avg_pool1d(x, 3, 2, 1)", {"x": normal(2, 3, 9)}, group=g)
check("F.avg_pool1d(x, 3, 2, 1, count_include_pad=False)", {"x": normal(2, 3, 9)}, group=g)
check("F.avg_pool1d(x, 3, 2, ceil_mode=True)", {"x": normal(2, 3, 8)}, group=g)
check("F.avg_pool1d(x, 3, 2, 1, ceil_mode=True)", {"x": normal(2, 3, 8)}, group=g)
check("F.avg_pool1d(x, 3, 2, 1, True, False)", {"x": normal(2, 3, 8)}, group=g)
check("F.avg_pool2d(x, 2)", {"x": normal(2, 3, 6, 6)}, group=g)
check("F.avg_pool2d(x, 3, 2, 1)", {"x": normal(2, 3, 7, 7)}, group=g)
check("F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)", {"x": normal(2, 3, 7, 7)}, group=g)
check("F.avg_pool2d(x, 3, stride=2, ceil_mode=True)", {"x": normal(2, 3, 6, 6)}, group=g)
check("F.avg_pool2d(x, 3, 2, 1, ceil_mode=True)", {"x": normal(1, 2, 6, 6)}, group=g)
check(
    "F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)",
    {"x": normal(1, 2, 6, 6)},
    group=g,
)
check("F.avg_pool2d(x, 2, divisor_override=3)", {"x": normal(2, 3, 6, 6)}, group=g)
check("F.avg_pool2d(x, (2, 3), (1, 2))", {"x": normal(2, 3, 6, 7)}, group=g)
check("F.adaptive_avg_pool1d(x, 3)", {"x": normal(2, 3, 8)}, group=g)
check("F.adaptive_avg_pool1d(x, 1)", {"x": normal(2, 3, 7)}, group=g)
check("F.adaptive_avg_pool2d(x, (1, 1))", {"x": normal(2, 3, 5, 6)}, group=g)
check("F.adaptive_avg_pool2d(x, 1)", {"x": normal(2, 3, 5, 6)}, group=g)
check("F.adaptive_avg_pool2d(x, (3, 4))", {"x": normal(2, 3, 7, 6)}, group=g)
check("F.adaptive_avg_pool2d(x, (None, 2))", {"x": normal(2, 3, 5, 6)}, group=g)
check("F.adaptive_max_pool1d(x, 3)", {"x": normal(2, 3, 8)}, group=g)
check("F.adaptive_max_pool1d(x, 3, return_indices=True)", {"x": normal(2, 3, 7)}, group=g)
check("F.adaptive_max_pool2d(x, (2, 3))", {"x": normal(2, 3, 5, 7)}, group=g)
check("F.adaptive_max_pool2d(x, 1)", {"x": normal(2, 3, 5, 7)}, group=g)
check("F.adaptive_max_pool2d(x, 2, True)", {"x": normal(2, 3, 5, 5)}, group=g)
check("F.lp_pool2d(x, 2, 2)", {"x": normal(1, 2, 4, 4)}, group=g)

# ---- interpolate
g = "interpolate"
check("F.interpolate(x, scale_factor=2)", {"x": normal(2, 3, 4)}, group=g)
check("F.interpolate(x, size=7)", {"x": normal(2, 3, 4)}, group=g)
check("F.interpolate(x, scale_factor=2, mode='nearest')", {"x": normal(1, 2, 3, 4)}, group=g)
check("F.interpolate(x, size=(5, 7))", {"x": normal(1, 2, 3, 4)}, group=g)
check(
    "F.interpolate(x, size=(2, 3))",
    {"x": normal(1, 2, 5, 7)},
    group=g,
    name="nearest downsample 2-D",
)
check("F.interpolate(x, scale_factor=1.5)", {"x": normal(1, 2, 4, 4)}, group=g)
check("F.interpolate(x, scale_factor=2, mode='linear')", {"x": normal(2, 3, 4)}, group=g)
check(
    "F.interpolate(x, size=7, mode='linear', align_corners=True)", {"x": normal(2, 3, 4)}, group=g
)
check(
    "F.interpolate(x, size=7, mode='linear', align_corners=False)", {"x": normal(2, 3, 4)}, group=g
)
check(
    "F.interpolate(x, size=3, mode='linear')",
    {"x": normal(2, 3, 8)},
    group=g,
    name="linear downsample",
)
check("F.interpolate(x, scale_factor=2, mode='bilinear')", {"x": normal(1, 2, 3, 4)}, group=g)
check(
    "F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True)",
    {"x": normal(1, 2, 3, 4)},
    group=g,
)
check(
    "F.interpolate(x, size=(5, 6), mode='bilinear', align_corners=False)",
    {"x": normal(1, 2, 3, 4)},
    group=g,
)
check(
    "F.interpolate(x, size=(2, 3), mode='bilinear')",
    {"x": normal(1, 2, 5, 7)},
    group=g,
    name="bilinear downsample",
)
check("F.interpolate(x, scale_factor=(2, 3), mode='bilinear')", {"x": normal(1, 2, 3, 4)}, group=g)
check(
    "F.interpolate(x, scale_factor=1.7, mode='bilinear', recompute_scale_factor=True)",
    {"x": normal(1, 2, 3, 4)},
    group=g,
)
check("F.interpolate(x, scale_factor=1.7, mode='bilinear')", {"x": normal(1, 2, 3, 4)}, group=g)
check("F.interpolate(x, scale_factor=2, mode='trilinear')", {"x": normal(1, 2, 2, 3, 3)}, group=g)
check("F.interpolate(x, scale_factor=2, mode='bicubic')", {"x": normal(1, 2, 3, 4)}, group=g)
check("F.interpolate(x, scale_factor=2, mode='nearest-exact')", {"x": normal(1, 2, 3, 4)}, group=g)
check("F.interpolate(x, size=(2, 2), mode='area')", {"x": normal(1, 2, 4, 6)}, group=g)
check("F.upsample(x, scale_factor=2)", {"x": normal(1, 2, 3, 4)}, group=g)

# ---- attention
g = "attention"
check(
    "F.scaled_dot_product_attention(q, k, v)",
    {"q": normal(2, 3, 4), "k": normal(2, 5, 4), "v": normal(2, 5, 6)},
    group=g,
)
check(
    "F.scaled_dot_product_attention(q, k, v)",
    {"q": normal(2, 2, 3, 4), "k": normal(2, 2, 3, 4), "v": normal(2, 2, 3, 4)},
    group=g,
    name="sdpa 4-D",
)
check(
    "F.scaled_dot_product_attention(q, k, v, is_causal=True)",
    {"q": normal(2, 2, 4, 4), "k": normal(2, 2, 4, 4), "v": normal(2, 2, 4, 4)},
    group=g,
)
check(
    "F.scaled_dot_product_attention(q, k, v, is_causal=True)",
    {"q": normal(2, 3, 4), "k": normal(2, 5, 4), "v": normal(2, 5, 4)},
    group=g,
    name="sdpa causal L<S",
)
check(
    "F.scaled_dot_product_attention(q, k, v, is_causal=True)",
    {"q": normal(2, 5, 4), "k": normal(2, 3, 4), "v": normal(2, 3, 4)},
    group=g,
    name="sdpa causal L>S",
)
check(
    "F.scaled_dot_product_attention(q, k, v, attn_mask=m)",
    {
        "q": normal(2, 3, 4),
        "k": normal(2, 5, 4),
        "v": normal(2, 5, 4),
        "m": Spec(lambda r: np.concatenate([np.ones((3, 1), bool), r.random((3, 4)) < 0.5], 1)),
    },
    group=g,
    name="sdpa bool mask",
)
check(
    "F.scaled_dot_product_attention(q, k, v, m)",
    {
        "q": normal(2, 2, 3, 4),
        "k": normal(2, 2, 5, 4),
        "v": normal(2, 2, 5, 4),
        "m": normal(2, 1, 3, 5),
    },
    group=g,
    name="sdpa float mask positional",
)
check(
    "F.scaled_dot_product_attention(q, k, v, attn_mask=m)",
    {
        "q": normal(2, 3, 4),
        "k": normal(2, 5, 4),
        "v": normal(2, 5, 4),
        "m": given(np.array([[True] * 5, [False] * 5, [True, False, True, False, True]])),
    },
    group=g,
    name="sdpa bool mask fully masked row",
)
check(
    "F.scaled_dot_product_attention(q, k, v, scale=0.3)",
    {"q": normal(2, 3, 4), "k": normal(2, 5, 4), "v": normal(2, 5, 4)},
    group=g,
)
check(
    "F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=True, scale=0.5)",
    {"q": normal(1, 4, 4), "k": normal(1, 4, 4), "v": normal(1, 4, 4)},
    group=g,
)
check(
    "F.scaled_dot_product_attention(q, k, v, enable_gqa=True)",
    {"q": normal(1, 4, 3, 4), "k": normal(1, 2, 3, 4), "v": normal(1, 2, 3, 4)},
    group=g,
)

# ---- embedding / normalisation / misc nn.functional
g = "nn"
check("F.embedding(t, w)", {"t": integers(0, 10, 2, 3), "w": normal(10, 4)}, group=g)
check(
    "F.embedding(t, w, padding_idx=0)",
    {"t": given(np.array([[0, 2, 0], [1, 3, 9]])), "w": normal(10, 4)},
    group=g,
)
check(
    "F.embedding(t, w)",
    {"t": given(np.array([1, 1, 4])), "w": normal(10, 4)},
    group=g,
    name="embedding repeated ids",
)
check("F.layer_norm(x, (4,))", {"x": normal(2, 3, 4)}, group=g)
check("F.layer_norm(x, [4], w, b)", {"x": normal(2, 3, 4), "w": normal(4), "b": normal(4)}, group=g)
check(
    "F.layer_norm(x, (3, 4), w, b, eps=1e-3)",
    {"x": normal(2, 3, 4), "w": normal(3, 4), "b": normal(3, 4)},
    group=g,
)
check("F.layer_norm(x, x.shape[-1:])", {"x": normal(2, 3, 4)}, group=g)
check("F.layer_norm(x, (4,), weight=w)", {"x": normal(2, 3, 4), "w": normal(4)}, group=g)
check("F.rms_norm(x, (4,), w)", {"x": normal(2, 3, 4), "w": normal(4)}, group=g)
check(
    "F.batch_norm(x, rm, rv, w, b, training=True)",
    {"x": normal(4, 3), "rm": normal(3), "rv": positive(3), "w": normal(3), "b": normal(3)},
    group=g,
)
check(
    "F.batch_norm(x, rm, rv, w, b, True)",
    {"x": normal(4, 3, 5), "rm": normal(3), "rv": positive(3), "w": normal(3), "b": normal(3)},
    group=g,
)
check(
    "F.batch_norm(x, rm, rv, training=True)",
    {"x": normal(2, 3, 4, 4), "rm": normal(3), "rv": positive(3)},
    group=g,
)
check("F.batch_norm(x, None, None, training=True)", {"x": normal(4, 3)}, group=g)
check(
    "F.batch_norm(x, rm, rv, w, b)",
    {"x": normal(4, 3), "rm": normal(3), "rv": positive(3), "w": normal(3), "b": normal(3)},
    group=g,
    name="batch_norm eval",
)
check(
    "F.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-3)",
    {"x": normal(2, 3, 4, 4), "rm": normal(3), "rv": positive(3), "w": normal(3), "b": normal(3)},
    group=g,
    name="batch_norm eval 4-D positional",
)
check("F.group_norm(x, 2)", {"x": normal(2, 4, 5)}, group=g)
check(
    "F.group_norm(x, 2, w, b)", {"x": normal(2, 4, 3, 3), "w": normal(4), "b": normal(4)}, group=g
)
check(
    "F.group_norm(x, 4, w, b, eps=1e-3)",
    {"x": normal(2, 4, 5), "w": normal(4), "b": normal(4)},
    group=g,
)
check("F.instance_norm(x)", {"x": normal(2, 3, 5)}, group=g)
check(
    "F.instance_norm(x, weight=w, bias=b)",
    {"x": normal(2, 3, 4, 4), "w": normal(3), "b": normal(3)},
    group=g,
)
check(
    "F.instance_norm(x, rm, rv, w, b, use_input_stats=True)",
    {"x": normal(2, 3, 5), "rm": normal(3), "rv": positive(3), "w": normal(3), "b": normal(3)},
    group=g,
)
check("F.local_response_norm(x, 2)", {"x": normal(2, 4, 5)}, group=g)
check("F.dropout(x, p=0.0)", {"x": normal(3, 4)}, group=g)
check("F.dropout(x, 0.5, training=False)", {"x": normal(3, 4)}, group=g)
check("F.dropout(x, 0.3, False)", {"x": normal(3, 4)}, group=g)
check("torch.dropout(x, 0.5, False)", {"x": normal(3, 4)}, group=g)
check("F.dropout2d(x, 0.5, training=False)", {"x": normal(2, 3, 4, 4)}, group=g)
check("F.normalize(x)", {"x": normal(3, 4)}, group=g)
check("F.normalize(x, dim=-1)", {"x": normal(2, 3, 4)}, group=g)
check("F.normalize(x, p=1, dim=0)", {"x": normal(3, 4)}, group=g)
check("F.normalize(x, 2.0, 1, 1e-6)", {"x": normal(3, 4)}, group=g)
check(
    "F.normalize(x, dim=1)",
    {"x": given(np.array([[0.0, 0.0], [1.0, 2.0]], np.float32))},
    group=g,
    name="normalize zero row",
)


# ---- edge cases: kinks, ties, zeros, integer dtypes
g = "edges"
K = given(np.array([[-1.0, 0.0, 1.0], [0.0, 2.0, -3.0]], np.float32))
for e in [
    "torch.relu(x)",
    "torch.abs(x)",
    "F.leaky_relu(x, 0.1)",
    "F.elu(x)",
    "F.gelu(x)",
    "F.hardtanh(x)",
    "F.relu6(x)",
    "F.hardswish(x)",
    "F.hardsigmoid(x)",
    "torch.clamp(x, -1.0, 1.0)",
    "torch.clip(x, 0.0, 1.0)",
    "torch.sign(x)",
    "torch.maximum(x, torch.zeros_like(x))",
    "torch.sqrt(x * x)",
    "x ** 0",
    "torch.max(x)",
    "torch.min(x)",
    "torch.amax(x, 1)",
    "torch.max(x, 1)",
    "torch.argmax(x, 1)",
    "torch.argmin(x)",
    "torch.prod(x)",
    "torch.prod(x, 1)",
    "torch.cumprod(x, 1)",
    "torch.norm(x)",
    "torch.cummax(x, 1)",
    "torch.cummin(x, 0)",
    "torch.sort(x, dim=1, stable=True)",
    "torch.sort(x, dim=1, descending=True, stable=True)",
    "torch.topk(x, 2)",
    "torch.logsumexp(x, 1)",
    "torch.median(x)",
]:
    check(e, {"x": K}, group=g, name=e + " [kinks/ties]")
check(
    "torch.maximum(x, y)",
    {
        "x": given(np.array([1.0, 2.0, 3.0], np.float32)),
        "y": given(np.array([1.0, 0.0, 3.0], np.float32)),
    },
    group=g,
    name="maximum ties",
)
check(
    "F.max_pool2d(x, 2)",
    {"x": given(np.ones((1, 1, 4, 4), np.float32))},
    group=g,
    name="max_pool2d all-equal window",
)
check(
    "F.max_pool1d(x, 2, 1)",
    {"x": given(np.array([[[1.0, 1.0, 2.0, 2.0, 0.0]]], np.float32))},
    group=g,
    name="max_pool1d overlapping ties",
)
check(
    "torch.logsumexp(x, 1)",
    {"x": given(np.array([[-np.inf, -np.inf], [0.0, -np.inf]], np.float32))},
    group=g,
    name="logsumexp of -inf",
)
check(
    "F.softmax(x, -1)",
    {"x": given(np.array([[-np.inf, 0.0, 1.0]], np.float32))},
    group=g,
    name="softmax with -inf",
)
check("torch.sum(i)", {"i": integers(0, 5, 3, 4)}, grad=False, group=g)
check(
    "torch.sum(i, dim=1)",
    {"i": given(np.arange(6, dtype=np.int32).reshape(2, 3))},
    grad=False,
    group=g,
    name="sum int32 -> int64",
)
check(
    "torch.cumsum(i, 0)",
    {"i": given(np.arange(6, dtype=np.int32))},
    grad=False,
    group=g,
    name="cumsum int32 -> int64",
)
check("torch.prod(i)", {"i": integers(1, 4, 5)}, grad=False, group=g)
check("torch.max(i, 1)", {"i": integers(0, 5, 3, 4)}, grad=False, group=g)
check("i * 0.5", {"i": integers(0, 5, 3, 4)}, grad=False, group=g)
check("i / 2", {"i": integers(0, 5, 3, 4)}, grad=False, group=g)
check("i // 2", {"i": integers(-5, 5, 3, 4)}, grad=False, group=g)
check("i % 3", {"i": integers(-5, 5, 3, 4)}, grad=False, group=g)
check("x + i", {"x": normal(3, 4), "i": integers(0, 5, 3, 4)}, group=g)
check(
    "torch.where(m, x, i)",
    {"x": normal(3, 4), "i": integers(0, 5, 3, 4), "m": booleans(3, 4)},
    group=g,
)
check(
    "torch.mean(x, dim=1, dtype=torch.float64)",
    {"x": normal(3, 4)},
    z="zen.mean(x, axis=1, dtype='float64')",
    group=g,
    name="mean dtype float64",
)
check(
    "torch.sum(x, 1, dtype=torch.float64)",
    {"x": normal(3, 4)},
    z="zen.sum(x, 1, dtype='float64')",
    group=g,
    name="sum dtype float64",
)
check(
    "torch.topk(x, 3, sorted=False)",
    {"x": normal(6)},
    z=None,
    grad=False,
    group=g,
    name="topk sorted=False (values as set)",
)
check(
    "F.interpolate(x, scale_factor=1.7)",
    {"x": normal(1, 2, 5)},
    group=g,
    name="nearest 1-D scale 1.7",
)
check(
    "F.interpolate(x, scale_factor=0.5)",
    {"x": normal(1, 2, 6)},
    group=g,
    name="nearest 1-D scale 0.5",
)
check(
    "F.interpolate(x, scale_factor=2.5)",
    {"x": normal(1, 2, 4)},
    group=g,
    name="nearest 1-D scale 2.5",
)
check(
    "F.interpolate(x, scale_factor=0.6, mode='linear')",
    {"x": normal(1, 2, 7)},
    group=g,
    name="linear 1-D scale 0.6",
)
check(
    "F.interpolate(x, scale_factor=1.3, mode='bilinear', align_corners=False)",
    {"x": normal(1, 2, 4, 5)},
    group=g,
    name="bilinear scale 1.3",
)
check(
    "F.max_pool2d(x, 2, 2, 1, 2)",
    {"x": normal(1, 1, 5, 5)},
    group=g,
    name="max_pool2d padding+dilation",
)
check(
    "F.avg_pool1d(x, 4, 3, 2, True, True)",
    {"x": normal(1, 2, 9)},
    group=g,
    name="avg_pool1d ceil last window in padding",
)
check(
    "F.scaled_dot_product_attention(q, k, v, attn_mask=m)",
    {
        "q": normal(3, 4),
        "k": normal(5, 4),
        "v": normal(5, 2),
        "m": Spec(lambda r: np.concatenate([np.ones((3, 1), bool), r.random((3, 4)) < 0.5], 1)),
    },
    group=g,
    name="sdpa 2-D unbatched",
)
check(
    "F.embedding(t, w, padding_idx=-1)",
    {"t": given(np.array([0, 9, 3])), "w": normal(10, 4)},
    group=g,
)
check(
    "F.layer_norm(x, (4,), w, b)",
    {"x": given(np.ones((2, 4), np.float32)), "w": normal(4), "b": normal(4)},
    group=g,
    name="layer_norm constant rows",
)
check("F.normalize(x, p=float('inf'), dim=1)", {"x": normal(3, 4)}, group=g)
check("F.one_hot(t, 3).float()", {"t": given(np.array([0, 2]))}, grad=False, group=g)
check(
    "x.masked_fill(m, v)",
    {"x": normal(3, 4), "m": booleans(3, 4), "v": given(np.float32(2.5))},
    group=g,
    name="masked_fill 0-d tensor value",
)
check(
    "torch.gather(x, 1, idx)",
    {"x": normal(3, 4), "idx": given(np.array([[0, 0, 0], [1, 1, 3], [2, 2, 2]]))},
    group=g,
    name="gather repeated indices",
)
check(
    "torch.scatter_reduce(x, 0, idx, src, 'amax')",
    {
        "x": given(np.array([1.0, 2.0, 3.0], np.float32)),
        "idx": given(np.array([0, 0, 1, 2])),
        "src": given(np.array([1.0, 0.5, 2.0, 3.0], np.float32)),
    },
    group=g,
    name="scatter_reduce amax ties with self",
)
check(
    "x[idx] ",
    {"x": normal(5, 3), "idx": given(np.array([-1, 0, -2]))},
    group=g,
    name="x[negative int index]",
)
check("x[:, [True, False, True]]", {"x": normal(2, 3)}, group=g)
check("x.T @ x", {"x": normal(3, 4)}, group=g)
check(
    "F.conv2d(x, w, b, padding=(1, 2), stride=(2, 3))",
    {"x": normal(1, 3, 8, 9), "w": normal(2, 3, 3, 5), "b": normal(2)},
    group=g,
)
check(
    "F.conv1d(x, w, padding=3)",
    {"x": normal(1, 2, 4), "w": normal(3, 2, 5)},
    group=g,
    name="conv1d padding > output",
)
check(
    "F.conv_transpose1d(x, w, b, 3, 2, 1)",
    {"x": normal(1, 2, 4), "w": normal(2, 3, 4), "b": normal(3)},
    group=g,
    name="conv_transpose1d stride3 pad2 outpad1",
)

check("torch.var(x, dim=1, correction=2)", {"x": x345}, group=g)
check("torch.std(x, dim=(0, 1), correction=0)", {"x": x345}, group=g)
check("torch.var_mean(x, 1, correction=0)", {"x": x345}, group=g)
check("torch.std_mean(x)", {"x": x345}, group=g)
check("F.log_softmax(x, dim=0)", {"x": normal(5)}, group=g)
check(
    "F.cross_entropy(x, p, label_smoothing=0.1)",
    {
        "x": normal(4, 5),
        "p": Spec(
            lambda r: (lambda a: (a / a.sum(1, keepdims=True)).astype(np.float32))(
                r.uniform(0.1, 1, (4, 5))
            )
        ),
    },
    group=g,
    name="cross_entropy prob targets + label_smoothing",
)
check(
    "F.cross_entropy(x, p, weight=wt)",
    {
        "x": normal(4, 5),
        "wt": positive(5),
        "p": Spec(
            lambda r: (lambda a: (a / a.sum(1, keepdims=True)).astype(np.float32))(
                r.uniform(0.1, 1, (4, 5))
            )
        ),
    },
    group=g,
    name="cross_entropy prob targets + weight",
)
check(
    "F.cross_entropy(x, t, weight=wt, ignore_index=1, label_smoothing=0.3)",
    {"x": normal(6, 5), "t": given(np.array([0, 1, 2, 1, 4, 3])), "wt": positive(5)},
    group=g,
    name="cross_entropy weight+ignore+smoothing",
)
check(
    "F.cross_entropy(x, t, weight=wt, ignore_index=1, label_smoothing=0.3, reduction='sum')",
    {"x": normal(6, 5), "t": given(np.array([0, 1, 2, 1, 4, 3])), "wt": positive(5)},
    group=g,
    name="cross_entropy weight+ignore+smoothing sum",
)
check(
    "F.cross_entropy(x, t, weight=wt, ignore_index=1, label_smoothing=0.3, reduction='none')",
    {"x": normal(6, 5), "t": given(np.array([0, 1, 2, 1, 4, 3])), "wt": positive(5)},
    group=g,
    name="cross_entropy weight+ignore+smoothing none",
)
check(
    "F.nll_loss(x, t, ignore_index=1, reduction='none')",
    {"x": normal(6, 5), "t": given(np.array([0, 1, 2, 1, 4, 3]))},
    group=g,
)
check(
    "F.nll_loss(x, t, wt, reduction='mean')",
    {"x": normal(2, 5, 3), "t": integers(0, 5, 2, 3), "wt": positive(5)},
    group=g,
    name="nll_loss (N,C,L) weighted",
)
check("F.smooth_l1_loss(x, y, beta=0.0)", {"x": normal(3, 4), "y": normal(3, 4)}, group=g)
check("F.group_norm(x, 1)", {"x": normal(3, 4)}, group=g, name="group_norm 2-D input")
check(
    "F.batch_norm(x, rm, rv, w, b)",
    {"x": normal(4, 3, 5), "rm": normal(3), "rv": positive(3), "w": normal(3), "b": normal(3)},
    group=g,
    name="batch_norm eval 3-D",
)
check(
    "F.instance_norm(x, rm, rv, use_input_stats=False)",
    {"x": normal(2, 3, 5), "rm": normal(3), "rv": positive(3)},
    group=g,
)
check("F.layer_norm(x, (4,), None, b)", {"x": normal(2, 4), "b": normal(4)}, group=g)
check(
    "F.adaptive_avg_pool2d(x, 2)",
    {"x": normal(3, 5, 5)},
    group=g,
    name="adaptive_avg_pool2d unbatched",
)
check(
    "F.adaptive_max_pool1d(x, 2)",
    {"x": normal(3, 5)},
    group=g,
    name="adaptive_max_pool1d unbatched",
)
check("F.avg_pool2d(x, 2)", {"x": normal(3, 6, 6)}, group=g, name="avg_pool2d unbatched")
check(
    "F.linear(x, w, b)",
    {"x": normal(2, 3, 0 + 4), "w": normal(1, 4), "b": normal(1)},
    group=g,
    name="linear out=1",
)
check("torch.cumsum(x, dim=0)", {"x": normal(0 + 1, 3)}, group=g)
check("torch.sum(x, dim=1)", {"x": normal(2, 0, 3)}, group=g, name="sum over empty axis")
check("torch.mean(x, dim=1)", {"x": normal(2, 0, 3)}, group=g, name="mean over empty axis (nan)")
check("torch.max(x)", {"x": normal(1)}, group=g, name="max of 1 element")
check("x.sum(0)", {"x": given(np.float32(3.0))}, group=g, name="0-d sum(0)")


# ---- sweeps over settings (conv / pool / interpolate)
g = "sweep"
_r = np.random.default_rng(2024)
for _ in range(20):
    k, s_, p, d, gr = (
        int(_r.integers(1, 4)),
        int(_r.integers(1, 4)),
        int(_r.integers(0, 3)),
        int(_r.integers(1, 3)),
        int(_r.choice([1, 2])),
    )
    if p > (k - 1) * d // 2 + 1:
        p = 0
    cin, cout = 2 * gr, 2 * gr
    check(
        f"F.conv2d(x, w, b, {s_}, {p}, {d}, {gr})",
        {"x": normal(2, cin, 7, 8), "w": normal(cout, cin // gr, k, k + 1), "b": normal(cout)},
        group=g,
    )
    op = int(_r.integers(0, max(s_, d)))
    check(
        f"F.conv_transpose2d(x, w, b, {s_}, {p}, {op}, {gr}, {d})",
        {"x": normal(2, cin, 4, 5), "w": normal(cin, cout // gr, k, k + 1), "b": normal(cout)},
        group=g,
    )
    check(
        f"F.conv_transpose1d(x, w, b, {s_}, {p}, {op}, {gr}, {d})",
        {"x": normal(2, cin, 5), "w": normal(cin, cout // gr, k + 1), "b": normal(cout)},
        group=g,
    )
for _ in range(20):
    k = int(_r.integers(2, 5))
    s_ = int(_r.integers(1, 4))
    p = int(_r.integers(0, k // 2 + 1))
    cm = bool(_r.integers(0, 2))
    d = int(_r.integers(1, 3))
    cip = bool(_r.integers(0, 2))
    check(
        f"F.max_pool2d(x, {k}, {s_}, {p}, {d}, ceil_mode={cm})", {"x": normal(2, 2, 9, 8)}, group=g
    )
    check(
        f"F.max_pool1d(x, {k}, {s_}, {p}, {d}, ceil_mode={cm}, return_indices=True)",
        {"x": normal(2, 2, 9)},
        group=g,
    )
    check(
        f"F.avg_pool2d(x, {k}, {s_}, {p}, ceil_mode={cm}, count_include_pad={cip})",
        {"x": normal(2, 2, 9, 8)},
        group=g,
    )
    check(f"F.avg_pool1d(x, {k}, {s_}, {p}, {cm}, {cip})", {"x": normal(2, 2, 9)}, group=g)
for size in [(1, 1), (2, 5), (4, 4), (7, 3), (9, 11)]:
    check(f"F.adaptive_avg_pool2d(x, {size})", {"x": normal(1, 2, 5, 7)}, group=g)
    check(
        f"F.adaptive_max_pool2d(x, {size}, return_indices=True)", {"x": normal(1, 2, 5, 7)}, group=g
    )
for mode, shp in [
    ("nearest", (1, 2, 3, 5)),
    ("bilinear", (1, 2, 3, 5)),
    ("linear", (1, 2, 5)),
    ("nearest", (1, 2, 5)),
    ("trilinear", (1, 1, 2, 3, 4)),
    ("nearest", (1, 1, 2, 3, 4)),
]:
    nd = len(shp) - 2
    for sf in [0.5, 1.5, 2, 3.3]:
        ac = "" if mode == "nearest" else ", align_corners=False"
        check(
            f"F.interpolate(x, scale_factor={sf}, mode='{mode}'{ac})", {"x": normal(*shp)}, group=g
        )
    for sz in [3, 8]:
        check(f"F.interpolate(x, size={(sz,) * nd}, mode='{mode}')", {"x": normal(*shp)}, group=g)
        if mode != "nearest":
            check(
                f"F.interpolate(x, size={(sz,) * nd}, mode='{mode}', align_corners=True)",
                {"x": normal(*shp)},
                group=g,
            )


# ---- custom cases (stateful or multi-step)
def custom_batch_norm_stats(T):
    """batch_norm in training: compare running stats after the call."""
    r = np.random.default_rng(7)
    x = r.standard_normal((5, 3, 4)).astype(np.float32)
    rm = r.standard_normal(3).astype(np.float32)
    rv = r.uniform(0.5, 2, 3).astype(np.float32)
    if T == "torch":
        rmt, rvt = torch.tensor(rm), torch.tensor(rv)
        F.batch_norm(torch.tensor(x), rmt, rvt, training=True, momentum=0.2)
        return [rmt.numpy(), rvt.numpy()]
    rmz, rvz = zen.Tensor(rm), zen.Tensor(rv)
    zen.batch_norm(zen.Tensor(x), rmz, rvz, training=True, momentum=0.2)
    return [rmz.numpy(), rvz.numpy()]


def custom_clip_grad_norm(T, norm_type=2.0):
    r = np.random.default_rng(8)
    ps = [r.standard_normal((3, 4)).astype(np.float32), r.standard_normal(5).astype(np.float32)]
    gs = [r.standard_normal(p.shape).astype(np.float32) * 3 for p in ps]
    if T == "torch":
        tp = [torch.tensor(p, requires_grad=True) for p in ps]
        for t, gr in zip(tp, gs, strict=False):
            t.grad = torch.tensor(gr)
        n = torch.nn.utils.clip_grad_norm_(tp, 1.0, norm_type=norm_type)
        return [n.numpy()] + [t.grad.numpy() for t in tp]
    zp = [zen.Tensor(p, trainable=True) for p in ps]
    for t, gr in zip(zp, gs, strict=False):
        t.gradient = gr.copy()
    clip = getattr(zen, "clip_grad_norm_", None) or zen.optim.clip_grad_norm_
    n = clip(zp, 1.0, norm_type=norm_type)
    return [np.asarray(n.numpy() if hasattr(n, "numpy") else n)] + [
        np.asarray(t.gradient) for t in zp
    ]


def custom_clip_grad_value(T):
    r = np.random.default_rng(9)
    ps = [r.standard_normal((3, 4)).astype(np.float32)]
    gs = [r.standard_normal(p.shape).astype(np.float32) * 3 for p in ps]
    if T == "torch":
        tp = [torch.tensor(p, requires_grad=True) for p in ps]
        for t, gr in zip(tp, gs, strict=False):
            t.grad = torch.tensor(gr)
        torch.nn.utils.clip_grad_value_(tp, 0.5)
        return [t.grad.numpy() for t in tp]
    zp = [zen.Tensor(p, trainable=True) for p in ps]
    for t, gr in zip(zp, gs, strict=False):
        t.gradient = gr.copy()
    clip = getattr(zen, "clip_grad_value_", None) or zen.optim.clip_grad_value_
    clip(zp, 0.5)
    return [np.asarray(t.gradient) for t in zp]


def custom_instance_norm_stats(T):
    r = np.random.default_rng(10)
    x = r.standard_normal((4, 3, 5)).astype(np.float32)
    rm = r.standard_normal(3).astype(np.float32)
    rv = r.uniform(0.5, 2, 3).astype(np.float32)
    if T == "torch":
        rmt, rvt = torch.tensor(rm), torch.tensor(rv)
        y = F.instance_norm(torch.tensor(x), rmt, rvt, momentum=0.3)
        return [y.numpy(), rmt.numpy(), rvt.numpy()]
    rmz, rvz = zen.Tensor(rm), zen.Tensor(rv)
    y = zen.instance_norm(zen.Tensor(x), rmz, rvz, momentum=0.3)
    return [y.numpy(), rmz.numpy(), rvz.numpy()]


def custom_batch_norm_stats_4d(T):
    r = np.random.default_rng(11)
    x = r.standard_normal((3, 2, 4, 4)).astype(np.float32)
    rm, rv = np.zeros(2, np.float32), np.ones(2, np.float32)
    if T == "torch":
        rmt, rvt = torch.tensor(rm), torch.tensor(rv)
        y = F.batch_norm(torch.tensor(x), rmt, rvt, None, None, True)
        return [y.numpy(), rmt.numpy(), rvt.numpy()]
    rmz, rvz = zen.Tensor(rm), zen.Tensor(rv)
    y = zen.batch_norm(zen.Tensor(x), rmz, rvz, None, None, True)
    return [y.numpy(), rmz.numpy(), rvz.numpy()]


CUSTOM = [
    ("instance_norm with running stats (momentum=0.3)", custom_instance_norm_stats),
    ("batch_norm 4-D training, running stats", custom_batch_norm_stats_4d),
    ("batch_norm training: running stats (momentum=0.2)", custom_batch_norm_stats),
    ("clip_grad_norm_(params, 1.0)", custom_clip_grad_norm),
    (
        "clip_grad_norm_(params, 1.0, norm_type=inf)",
        lambda T: custom_clip_grad_norm(T, float("inf")),
    ),
    ("clip_grad_norm_(params, 1.0, norm_type=1)", lambda T: custom_clip_grad_norm(T, 1.0)),
    ("clip_grad_value_(params, 0.5)", custom_clip_grad_value),
]


# ---------------------------------------------------------------- harness
def flat_outputs(out):
    """A list of leaves: tensors, arrays, numbers; tuples/lists flattened."""
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(flat_outputs(o))
        return res
    return [out]


def to_np(o):
    if isinstance(o, torch.Tensor):
        return o.detach().numpy()
    if isinstance(o, zen.Tensor):
        return np.asarray(o.numpy())
    if isinstance(o, torch.dtype):
        return np.asarray(str(o).replace("torch.", ""))
    if isinstance(o, torch.Size):
        return np.asarray(tuple(o))
    return np.asarray(o)


def kind(a):
    a = np.asarray(a)
    if a.dtype == bool:
        return "bool"
    if np.issubdtype(a.dtype, np.integer):
        return "int"
    return "float"


def compare(a, b, rtol, atol):
    """(ok, message). a: zen, b: torch."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False, f"shape {a.shape} vs torch {b.shape}"
    if kind(a) != kind(b) and not (b.dtype == bool and kind(a) == "bool"):
        # value comparison still made, but note the dtype mismatch
        note = f"dtype {a.dtype} vs torch {b.dtype}"
    else:
        note = ""
    if kind(b) != "float":
        ok = np.array_equal(a.astype(np.float64), b.astype(np.float64))
        return ok and not note, (note or ("values differ" if not ok else ""))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    nan_a, nan_b = np.isnan(a64), np.isnan(b64)
    if not np.array_equal(nan_a, nan_b):
        return False, "nan positions differ"
    fin = ~nan_b
    diff = np.abs(a64[fin] - b64[fin])
    diff = np.where(np.isinf(b64[fin]) & (a64[fin] == b64[fin]), 0.0, diff)
    tol = atol + rtol * np.abs(b64[fin])
    bad = diff > tol
    if bad.any() or note:
        md = float(np.nanmax(diff)) if diff.size else 0.0
        rel = float(np.nanmax(diff / (np.abs(b64[fin]) + 1e-30))) if diff.size else 0.0
        return False, (note + " " if note else "") + (
            f"max abs diff {md:.3g} (max rel {rel:.3g})" if bad.any() else ""
        )
    return True, ""


def lenient(expr):
    e = translate(expr)
    e = re.sub(r"\bstart_dim=", "start_axis=", e)
    e = re.sub(r"\bend_dim=", "end_axis=", e)
    e = re.sub(r"\bdims=", "axis=", e)
    e = re.sub(r"\bunbiased=False", "correction=0", e)
    return e


def run_case(case, seed):
    r = np.random.default_rng(seed)
    arrays = {k: s.make(r) for k, s in case["inputs"].items()}
    # torch
    tin = {}
    for k, a in arrays.items():
        t = torch.tensor(a)
        if kind(a) == "float" and case["grad"] and k not in NOGRAD_NAMES:
            t.requires_grad_(True)
        tin[k] = t
    tenv = {"torch": torch, "F": F, "np": np, **tin}
    try:
        tout = eval(case["expr"], tenv)
    except Exception as e:  # noqa: BLE001
        return "torch-error", f"torch raised {type(e).__name__}: {e}"
    # zen
    zin = {}
    for k, a in arrays.items():
        if kind(a) == "float" and case["grad"] and k not in NOGRAD_NAMES:
            zin[k] = zen.Tensor(a, trainable=True)
        else:
            zin[k] = zen.Tensor(a)
    zexpr = case["z"] or translate(case["expr"])
    zenv = {"zen": zen, "np": np, **zin}
    try:
        zout = eval(zexpr, zenv)
    except Exception as e:  # noqa: BLE001
        return "zen-raises", f"{type(e).__name__}: {str(e)[:300]}"
    tl, zl = flat_outputs(tout), flat_outputs(zout)
    if len(tl) != len(zl):
        return "forward", f"{len(zl)} outputs vs torch {len(tl)}"
    for i, (zt, tt) in enumerate(zip(zl, tl, strict=False)):
        ok, msg = compare(to_np(zt), to_np(tt), case["rtol"], case["atol"])
        if not ok:
            return "forward", f"output {i}: {msg}"
    if not case["grad"]:
        return "pass", ""
    # gradients of sum(out * W)
    wr = np.random.default_rng(seed + 1000)
    tloss, zloss = None, None
    for zt, tt in zip(zl, tl, strict=False):
        if isinstance(tt, torch.Tensor) and tt.is_floating_point() and tt.requires_grad:
            W = wr.standard_normal(tuple(tt.shape)).astype(np.float32)
            tl_ = (tt * torch.tensor(W)).sum()
            tloss = tl_ if tloss is None else tloss + tl_
            if not isinstance(zt, zen.Tensor):
                return "grad", f"zen output is {type(zt).__name__}, not a Tensor"
            zl_ = (zt * zen.Tensor(W)).sum()
            zloss = zl_ if zloss is None else zloss + zl_
    if tloss is None:
        return "pass", ""
    fkeys = [k for k, t in tin.items() if t.requires_grad]
    tg = torch.autograd.grad(tloss, [tin[k] for k in fkeys], allow_unused=True)
    try:
        zloss.backward()
    except Exception as e:  # noqa: BLE001
        return "grad-raises", f"backward: {type(e).__name__}: {str(e)[:300]}"
    for k, g_ in zip(fkeys, tg, strict=False):
        gt = np.zeros_like(arrays[k]) if g_ is None else g_.numpy()
        gz = zin[k].gradient
        gz = np.zeros_like(arrays[k]) if gz is None else to_np(gz)
        ok, msg = compare(gz, gt, case["rtol"], case["atol"])
        if not ok:
            return "grad", f"d/d{k}: {msg}"
    return "pass", ""


# What zen does differently on purpose (the README's conventions), by case name.
_VALUES_ONLY = "zen.max/min(x, axis) return the values only (zen's API); indices: argmax"
_AXIS_SPELLING = "zen spells dim=/dims=/start_dim= as axis=/start_axis= (the array API's)"
DIFFERENCES = {
    **dict.fromkeys(["torch.max(x, 1)", "torch.max(x, dim=1)[0]", "x.max(dim=-1).values",
                     "x.max(dim=-1).indices", "x.max(-1, keepdim=True)", "torch.min(x, 0)",
                     "x.min(1)[0]", "torch.max(x, 1) [kinks/ties]", "torch.max(i, 1)"],
                    _VALUES_ONLY),
    **dict.fromkeys(["x.flatten(start_dim=0, end_dim=1)", "torch.flip(x, dims=(0, 2))",
                     "torch.roll(x, shifts=-1, dims=0)"], _AXIS_SPELLING),
    "torch.take(x, idx)": "zen.take takes along an axis, 0 unless given (torch.take flattens)",
    "F.interpolate(x, scale_factor=2, mode='bicubic')": "bicubic interpolation: not in zen",
    "F.upsample(x, scale_factor=2)": "F.upsample is deprecated in PyTorch; zen has interpolate",
}


def _run_expression_case(number, case):
    try:
        status, message = run_case(case, 1234 + number)
    except Exception as error:  # noqa: BLE001
        return "harness", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
    if status == "zen-raises" and not case["z"] and \
            lenient(case["expr"]) != translate(case["expr"]):
        retried = dict(case, z=lenient(case["expr"]))
        again, why = run_case(retried, 1234 + number)
        message += f"  [with {retried['z']!r}: {again} {why}]"
    return status, message


def _run_custom_case(function):
    try:
        expected = function("torch")
        try:
            actual = function("zen")
        except Exception as error:  # noqa: BLE001
            return "zen-raises", f"{type(error).__name__}: {str(error)[:300]}"
        for i, (a, b) in enumerate(zip(actual, expected, strict=False)):
            ok, why = compare(a, b, RTOL, ATOL)
            if not ok:
                return "forward", f"output {i}: {why}"
    except Exception as error:  # noqa: BLE001
        return "harness", f"{type(error).__name__}: {error}"
    return "pass", ""


def run_all(filters=()):
    """[(group, name, status, message)] for every case whose name or group a filter names
    (every case without filters); status "pass" or what went wrong."""
    def wanted(name, group):
        return not filters or any(f in name or f == group for f in filters)

    results = [(case["group"], case["name"], *_run_expression_case(n, case))
               for n, case in enumerate(CASES) if wanted(case["name"], case["group"])]
    results += [("custom", name, *_run_custom_case(function))
                for name, function in CUSTOM if wanted(name, "custom")]
    return results


def main():
    verbose = "-v" in sys.argv
    results = run_all([a for a in sys.argv[1:] if a != "-v"])
    surprises = 0
    for group, name, status, message in results:
        known = status != "pass" and name in DIFFERENCES
        surprises += status != "pass" and not known
        if status != "pass" or verbose:
            note = f"  (known: {DIFFERENCES[name]})" if known else ""
            print(f"[{status:11s}] {group:12s} {name}  ::  {message}{note}")
    passed = sum(status == "pass" for _, _, status, _ in results)
    print(f"\n{len(results)} cases, {passed} pass, {len(results) - passed} fail "
          f"({surprises} not among the documented differences)")
    print(collections.Counter(status for _, _, status, _ in results))
    return 1 if surprises else 0


if __name__ == "__main__":
    sys.exit(main())
