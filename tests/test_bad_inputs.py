"""A catalogue of bad inputs across the public API. Each case must raise its specific
exception with a message naming the op or argument and the offending values, and leave the
model's parameters and the checkpoint file on disk exactly as they were. A case's message is a
pattern, or a function of the device that gives one (for messages that name devices)."""

import os
import re

import numpy
import pytest

import backends
import zen
from zen import Tensor
from zen.errors import (
    AnomalyError,
    ArgumentError,
    AxisError,
    CallError,
    DataError,
    DeviceMismatchError,
    DeviceUnavailableError,
    DtypeError,
    GradientError,
    GraphFreedError,
    IndexOutOfRangeError,
    InPlaceError,
    ShapeMismatchError,
    UnknownDeviceError,
)
from zen.nn import RNN, CheckpointError, Conv2D, Dropout, Linear, Model
from zen.optim import SGD, Adam, OptimizerError


class Scene:
    """What each case may misuse: a built model on the device and its saved checkpoint."""

    def __init__(self, device, directory):
        self.device, self.directory = device, directory
        zen.seed(0)
        self.model = Model([Linear(3)], device=device)
        self.model(numpy.ones((2, 4)))
        self.checkpoint = directory / "model.npz"
        self.model.save(self.checkpoint)

    def t(self, shape, fill=1.0, **settings):
        return Tensor(numpy.full(shape, fill), device=self.device, **settings)

    def file(self, name, content):
        (self.directory / name).write_bytes(content)
        return self.directory / name


def _other_device(device):
    return "array_api_strict:device1" if device == "cpu" else "cpu"


def _devices_named(op, first, second):
    """The pattern of ``op``'s refusal of inputs on ``first`` and ``second``."""
    return (rf"{op}: inputs are on different devices, {re.escape(first)} and "
            rf"{re.escape(second)}; move one with \.to\(device\)")


def _backward_twice(s):
    y = (s.t((2,)) * 2.0).sum()
    y.backward()
    y.backward()


def _changed_after_recording(s):
    x = s.t((2,))
    y = (x * x).sum()
    with zen.no_grad():
        x += 1.0
    y.backward()


def _backward_through_a_freed_part(s):
    """A new output reuses a node whose saved values an earlier backward pass freed."""
    hidden = s.t((1,)).tanh()
    hidden.sum().backward()
    (hidden * 2.0).sum().backward()


def _anomaly(s):
    with zen.detect_anomaly():
        zen.log(s.t((2,), -1.0)).sum().backward()


def _other_model_file(s):
    path = s.directory / "wide.npz"
    wide = Model([Linear(5)])
    wide(numpy.ones((1, 4)))
    wide.save(path)
    s.model.load_weights(path)


def _same_layers_built_for_other_inputs(s):
    """Layer settings that match, built shapes that do not: the shapes must be refused."""
    path = s.directory / "five_inputs.npz"
    five = Model([Linear(3)], device=s.device)
    five(numpy.ones((1, 5)))
    five.save(path)
    s.model.load_weights(path)


def _result_changed_after_recording(s):
    y = s.t((2,), trainable=True).exp()
    z = (y * y).sum()
    with zen.no_grad():
        y += 1.0
    z.backward()


def _saved_result_changed_after_recording(s):
    """exp keeps its own result for its VJP: changing that result must be refused."""
    y = s.t((2,), trainable=True).exp()
    with zen.no_grad():
        y += 1.0
    y.sum().backward()


def _backward_after_a_step(s):
    """An optimiser step changes the parameters a retained graph saved."""
    model = Model([Linear(3)], device=s.device)
    loss = (model(s.t((2, 4))) ** 2).sum()
    loss.backward(retain_graph=True)
    SGD(model.parameters(), lr=0.1).step()
    loss.backward()


def _why_no_cuda_7():
    """What asking for cuda:7 must say here: why CUDA is missing, or that GPU 7 is not
    zen's to use."""
    try:
        backends.get_backend("cuda")
    except backends.DeviceUnavailableError as error:
        return re.escape(str(error))
    return (r"device 'cuda:7'( is not available: this machine has \d+ CUDA GPU"
            r"|: zen runs on the current CUDA device)")


def _in_place_add(x, y):
    with zen.no_grad():
        x += y


def _int_plus_float(s):
    _in_place_add(Tensor(numpy.array([1, 2]), device=s.device), 0.7)


def _resume_with_another_optimizer(s):
    path = s.directory / "training.npz"
    other = Model([Linear(3)], device=s.device)
    other.train(numpy.ones((4, 4)), numpy.ones((4, 3)), epochs=1, verbose=False,
                optimizer=SGD(lr=0.1), checkpoint=path)
    s.model.train(numpy.ones((4, 4)), numpy.ones((4, 3)), epochs=2, verbose=False,
                  optimizer=Adam(), checkpoint=path, resume=True)


CASES = [
    # Shapes that do not fit, in every binary op, matmul, convolution and the shape ops.
    ("add", lambda s: s.t((2, 3)) + s.t((4,)), ShapeMismatchError, r"add: .*\(2, 3\), \(4,\)"),
    ("subtract", lambda s: s.t((2, 3)) - s.t((2, 2)), ShapeMismatchError, r"subtract: .*\(2, 2\)"),
    ("multiply", lambda s: s.t((3,)) * s.t((4,)),
     ShapeMismatchError, r"multiply: .*\(3,\), \(4,\)"),
    ("divide", lambda s: s.t((3, 1)) / s.t((2, 3)), ShapeMismatchError, r"divide: .*\(2, 3\)"),
    ("power", lambda s: s.t((2,)) ** s.t((3,)), ShapeMismatchError, r"power: .*\(3,\)"),
    ("maximum", lambda s: zen.maximum(s.t((2,)), s.t((5,))),
     ShapeMismatchError, r"maximum: .*\(5,\)"),
    ("where", lambda s: zen.where(s.t((2,)) > 0, s.t((3,)), 0.0),
     ShapeMismatchError, r"where: .*\(3,\)"),
    ("matmul", lambda s: s.t((2, 3)) @ s.t((4, 5)),
     ShapeMismatchError, r"matmul: .*\(2, 3\), \(4, 5\)"),
    ("matmul with a vector", lambda s: s.t((2, 3)) @ s.t((4,)),
     ShapeMismatchError, r"matmul: .*\(2, 3\), \(4,\)"),
    ("matmul of a scalar", lambda s: s.t(()) @ s.t((2,)),
     ShapeMismatchError, r"matmul: .*\(\), \(2,\)"),
    ("conv2d channels", lambda s: zen.conv2d(s.t((1, 3, 5, 5)), s.t((2, 1, 3, 3))),
     ShapeMismatchError, r"conv2d: .*\(1, 3, 5, 5\).*\(2, 1, 3, 3\)"),
    ("conv2d rank", lambda s: zen.conv2d(s.t((5, 5)), s.t((2, 3, 3, 3))),
     ShapeMismatchError, r"conv2d: .*\(5, 5\)"),
    ("conv2d kernel too big", lambda s: zen.conv2d(s.t((1, 1, 2, 2)), s.t((1, 1, 3, 3))),
     ShapeMismatchError, r"conv2d: window \(3, 3\) .*is larger.*\(2, 2\)"),
    ("max_pool2d rank", lambda s: zen.max_pool2d(s.t((4, 4)), 2), ShapeMismatchError,
     r"max_pool2d: .*\(4, 4\)"),
    ("reshape", lambda s: s.t((2, 3)).reshape(4, 2),
     ShapeMismatchError, r"reshape: .*\(2, 3\).*shape=\(4, 2\)"),
    ("broadcast_to", lambda s: zen.broadcast_to(s.t((3,)), (2, 4)), ShapeMismatchError,
     r"broadcast_to: .*\(3,\).*\(2, 4\)"),
    ("concat", lambda s: zen.concat([s.t((2, 3)), s.t((2, 4))], axis=0), ShapeMismatchError,
     r"concat: .*\(2, 3\), \(2, 4\)"),
    ("stack", lambda s: zen.stack([s.t((2,)), s.t((3,))]),
     ShapeMismatchError, r"stack: .*\(2,\).*\(3,\)"),
    ("split", lambda s: zen.split(s.t((5,)), [2, 2]), ShapeMismatchError,
     r"split: .*sizes summing to the length 5 of axis 0 \(shape \(5,\)\), got \[2, 2\]"),
    ("squeeze", lambda s: zen.squeeze(s.t((2, 3)), 2),
     AxisError, r"squeeze: axis 2 is out of range for a tensor with 2 dimension"),
    # Reductions and scans, and indexing.
    ("gather out of range", lambda s: zen.gather(s.t((2, 3)), 1, numpy.array([[0, 3]])),
     IndexOutOfRangeError, r"gather: index 3 is out of range for axis 1 of length 3"),
    ("gather index of other rank", lambda s: zen.gather(s.t((2, 3)), 1, numpy.array([0])),
     ShapeMismatchError, r"gather: index must have the tensor's 2 dimension\(s\), got shape"),
    ("gather float index", lambda s: s.t((2, 3)).gather(0, s.t((1, 3))), DtypeError,
     r"gather: indices must be integers or booleans, got dtype .*float64"),
    ("scatter_add src dtype", lambda s: zen.scatter_add(
        s.t((2, 3)), 0, numpy.array([[1]]), s.t((1, 1), dtype="float32")), DtypeError,
     r"scatter_add: src must have the tensor's dtype .*float64, got .*float32"),
    ("scatter index longer than src", lambda s: zen.scatter(
        s.t((2, 3)), 1, numpy.array([[0, 1]]), s.t((1, 1))), ShapeMismatchError,
     r"scatter: index of shape \(1, 2\) is longer than the tensor \(2, 3\) or the source"),
    ("scatter_reduce reduce", lambda s: zen.scatter_reduce(
        s.t((2, 3)), 0, numpy.array([[1]]), s.t((1, 1)), "max"), ArgumentError,
     r"scatter_reduce: reduce must be one of .*'amax'.*, got 'max'"),
    ("topk k", lambda s: zen.topk(s.t((2, 3)), 4), ArgumentError,
     r"topk: k must be an int from 0 to 3 .*, got 4"),
    ("cumsum axis", lambda s: zen.cumsum(s.t((2, 3)), 2), AxisError,
     r"cumsum: axis 2 is out of range"),
    ("masked_fill mask", lambda s: zen.masked_fill(s.t((2,)), s.t((2,)), 0.0), DtypeError,
     r"masked_fill: mask must be bool, got .*float64; compare first"),
    ("one_hot class out of range", lambda s: zen.one_hot(
        Tensor(numpy.array([0, 3]), device=s.device), num_classes=3), ArgumentError,
     r"one_hot: class indices must be in \[0, num_classes\), got 0..3 with num_classes=3"),
    # Axes.
    ("sum axis", lambda s: s.t((2, 3)).sum(axis=2), AxisError, r"sum: axis 2 .* 2 dimension"),
    ("mean repeated axis", lambda s: s.t((2, 3)).mean(axis=(0, -2)),
     AxisError, r"mean: axis \(0, -2\) repeats"),
    ("softmax axis", lambda s: zen.softmax(s.t((2, 3)), axis=-3), AxisError, r"softmax: axis -3"),
    ("transpose axes", lambda s: s.t((2, 3)).transpose(1, 2),
     AxisError, r"transpose: axis 2 is out of range for a tensor with 2 dimension"),
    ("argmax two axes", lambda s: zen.argmax(s.t((2, 3)), axis=(0, 1)), AxisError,
     r"argmax: axis must be one int, got \(0, 1\)"),
    ("axis not an int", lambda s: s.t((2, 3)).sum(axis=0.5), AxisError,
     r"sum: axis must be None, an int or a tuple of ints, got 0.5"),
    ("axis of a 0-d split", lambda s: zen.split(s.t(()), 1), AxisError,
     r"split: a 0-d tensor has no axis 0"),
    ("shape not ints", lambda s: s.t((2, 3)).reshape(1.5), ShapeMismatchError,
     r"reshape: a shape is ints, got 1.5"),
    ("padding that crops past the size", lambda s: zen.pad(s.t((2,)), -2), ShapeMismatchError,
     r"pad: widths \(-2, -2\) crop axis 0 of length 2 below nothing"),
    # Dtypes and values that are not real numbers.
    ("unknown dtype name", lambda s: s.t((2,)).astype("foo"), DtypeError,
     r"astype: .* has no dtype 'foo'"),
    ("None as an operand", lambda s: s.t((2,)) + None, DtypeError,
     r"add: NoneType None is not an operand"),
    ("None as a tensor", lambda s: Tensor(None, device=s.device), DtypeError,
     r"Tensor: None is not a number"),
    ("complex tensor", lambda s: Tensor(numpy.array([1 + 2j]), device=s.device), DtypeError,
     r"Tensor: values of dtype .*complex128 are not real numbers"),
    ("integer overflow", lambda s: Tensor(2 ** 70, dtype="int64", device=s.device), DtypeError,
     r"Tensor: cannot make numbers of int 1180591620717411303424"),
    ("assignment that overflows", lambda s: Tensor(numpy.zeros(2, numpy.uint8), device=s.device)
     .__setitem__(0, 300), DtypeError, r"300 .*out of bounds for uint8"),
    ("uint8 indices", lambda s: s.t((3,))[Tensor(numpy.array([1, 0, 1], numpy.uint8),
                                                 device=s.device)],
     DtypeError, r"getitem: uint8 indices are ambiguous"),
    ("integer to a negative power", lambda s: Tensor(numpy.array([2]), device=s.device) ** -1,
     DtypeError, r"power: not defined for integers to a negative integer power"),
    ("mean of integers", lambda s: Tensor(numpy.array([1, 2]), device=s.device).mean(),
     DtypeError, r"mean: not defined for .*int64 tensors"),
    ("int += float", _int_plus_float, DtypeError,
     r"add in place: the result's dtype .*float32 cannot be stored in the tensor's dtype "
     r".*int64"),
    ("in place to a bigger shape", lambda s: _in_place_add(s.t((3,)), s.t((2, 3))),
     ShapeMismatchError, r"add in place: shape \(2, 3\) does not fit the tensor's shape \(3,\)"),
    ("integer default dtype", lambda s: zen.set_default_dtype("int32"), DtypeError,
     r"set_default_dtype: .*'int32'"),
    ("bitwise & of integers", lambda s: Tensor(numpy.array([5]), device=s.device) & 3,
     DtypeError, r"&: zen's & is logical, for bool tensors only"),
    # Data: empty, NaN and Inf, and values that are not numbers.
    ("empty batch", lambda s: s.model.train(numpy.ones((0, 4)), numpy.ones((0, 3)), verbose=False),
     DataError, r"train: x has no examples \(shape \(0, 4\)\)"),
    ("empty prediction", lambda s: s.model.predict(numpy.ones((0, 4))), DataError,
     r"predict: x has no examples"),
    ("NaN input", lambda s: s.model.train(numpy.full((4, 4), numpy.nan), numpy.ones((4, 3)),
                                          verbose=False),
     DataError, r"train: x holds 16 NaN or Inf"),
    ("Inf target", lambda s: s.model.train(numpy.ones((4, 4)), numpy.full((4, 3), numpy.inf),
                                           verbose=False),
     DataError, r"train: y holds 12 NaN or Inf"),
    ("object array", lambda s: Tensor(numpy.array([object()]), device=s.device), DtypeError,
     r"Tensor: .*object"),
    ("string", lambda s: Tensor("abc", device=s.device),
     DtypeError, r"Tensor: cannot make numbers of str 'abc'"),
    ("ragged list", lambda s: Tensor([[1.0, 2.0], [3.0]], device=s.device), ShapeMismatchError,
     r"Tensor: nested lists of unequal lengths"),
    ("trainable integers",
     lambda s: Tensor([1, 2], dtype="int32", trainable=True, device=s.device),
     DtypeError, r"Tensor: trainable=True needs a floating dtype, got .*int32"),
    ("bool subtraction", lambda s: (s.t((2,)) > 0) - (s.t((2,)) > 0), DtypeError,
     r"subtract: not defined for bool operands \(operand dtypes .*bool, .*bool\)"),
    ("bool negation", lambda s: -(s.t((2,)) > 0),
     DtypeError, r"negative: not defined for bool tensors \(operand dtypes .*bool\)"),
    # Devices.
    ("device mix", lambda s: s.t((2,)) + Tensor([1.0, 1.0], device=_other_device(s.device)),
     DeviceMismatchError, lambda device: _devices_named("add", device, _other_device(device))),
    ("device mix with an array",
     lambda s: Tensor([1.0], device=_other_device(s.device)) - s.t((1,)).value,
     DeviceMismatchError, lambda device: _devices_named("subtract", _other_device(device), device)),
    ("unknown device", lambda s: Tensor(1.0, device="tpu"), UnknownDeviceError,
     r"unknown device 'tpu'; known device kinds: 'cpu'"),
    ("cuda:7", lambda s: Tensor(1.0, device="cuda:7"), DeviceUnavailableError,
     _why_no_cuda_7()),
    ("numpy view of a device tensor",
     lambda s: numpy.asarray(Tensor([1.0], device="array_api_strict:device1")),
     DeviceMismatchError, r"numpy.asarray: .*array_api_strict:device1.*\.numpy\(\)"),
    # Models, losses and optimisers.
    ("model input width", lambda s: s.model(numpy.ones((2, 5))), ShapeMismatchError,
     r"Linear: input has 5 features .*built for 4"),
    ("RNN input rank", lambda s: Model([RNN(1, 4)], device=s.device)(numpy.ones((2, 3))),
     ShapeMismatchError, r"RNN: needs input \(batch, time, features\), got \(2, 3\)"),
    ("MSE target shape", lambda s: zen.loss.MSE(s.t((4, 3)), numpy.ones((4, 1))),
     ShapeMismatchError, r"MSE: prediction has shape \(4, 3\) but target has shape \(4, 1\)"),
    ("labels out of range",
     lambda s: zen.loss.softmax_cross_entropy(s.t((2, 3)), numpy.array([0, 3])),
     DataError, r"softmax_cross_entropy: 1 class label\(s\) outside \[0, 3\)"),
    ("labels out of range in train", lambda s: s.model.train(
        numpy.ones((2, 4)), numpy.array([0, 7]), loss_fn=zen.loss.softmax_cross_entropy,
        verbose=False), DataError, r"train: 1 class label\(s\) outside \[0, 3\) .*0 to 7"),
    ("negative label", lambda s: zen.loss.softmax_cross_entropy(s.t((2, 3)), numpy.array([0, -1])),
     DataError, r"softmax_cross_entropy: 1 class label\(s\) outside \[0, 3\) .*-1 to 0"),
    ("negative label in train", lambda s: s.model.train(
        numpy.ones((2, 4)), numpy.array([0, -1]), loss_fn=zen.loss.softmax_cross_entropy,
        verbose=False), DataError, r"train: 1 class label\(s\) outside \[0, 3\) .*-1 to 0"),
    ("negative label in evaluate", lambda s: s.model.evaluate(
        numpy.ones((2, 4)), numpy.array([0, -1]), loss_fn=zen.loss.softmax_cross_entropy),
     DataError, r"evaluate: 1 class label\(s\) outside \[0, 3\) .*-1 to 0"),
    ("float labels", lambda s: zen.loss.softmax_cross_entropy(s.t((2, 3)), numpy.zeros(2)),
     ShapeMismatchError, r"class labels must be integers"),
    # PyTorch's losses.
    ("cross_entropy label out of range", lambda s: zen.loss.cross_entropy(
        s.t((2, 3, 4)), numpy.array([[0, 1, 2, 3], [0, 0, 0, 0]])), DataError,
     r"cross_entropy: 1 class label\(s\) outside \[0, 3\)"),
    ("cross_entropy target shape", lambda s: zen.loss.cross_entropy(
        s.t((2, 3, 4)), numpy.zeros((2, 3), dtype=int)), ShapeMismatchError,
     r"cross_entropy: target has shape \(2, 3\); .*needs \(2, 4\) \(integer class labels\)"),
    ("cross_entropy ignore_index with probabilities", lambda s: zen.loss.cross_entropy(
        s.t((2, 3)), s.t((2, 3)), ignore_index=0), ArgumentError,
     r"cross_entropy: ignore_index=0 needs integer class labels"),
    ("cross_entropy weight shape", lambda s: zen.loss.cross_entropy(
        s.t((2, 3)), numpy.array([0, 1]), weight=numpy.ones(2)), ShapeMismatchError,
     r"cross_entropy: weight must have one value per class, shape \(3,\), got \(2,\)"),
    ("cross_entropy label_smoothing", lambda s: zen.loss.cross_entropy(
        s.t((2, 3)), numpy.array([0, 1]), label_smoothing=1.5), ArgumentError,
     r"cross_entropy: label_smoothing must be a number in \[0, 1\], got 1.5"),
    ("nll_loss of probabilities", lambda s: zen.loss.nll_loss(s.t((2, 3)), s.t((2, 3))),
     ShapeMismatchError, r"nll_loss: target must be integer class labels of shape \(2,\)"),
    ("loss reduction", lambda s: zen.loss.l1_loss(s.t((2,)), s.t((2,)), reduction="avg"),
     ArgumentError, r"l1_loss: reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    ("batchmean outside kl_div", lambda s: zen.loss.mse_loss(s.t((2,)), s.t((2,)),
                                                             reduction="batchmean"),
     ArgumentError, r"mse_loss: reduction must be one of 'mean', 'sum', 'none'"),
    ("loss shapes", lambda s: zen.loss.binary_cross_entropy(s.t((2, 3)), s.t((3,))),
     ShapeMismatchError, r"binary_cross_entropy: input has shape \(2, 3\) but target has "
     r"shape \(3,\)"),
    ("smooth_l1_loss beta", lambda s: zen.loss.smooth_l1_loss(s.t((2,)), s.t((2,)), beta=-1),
     ArgumentError, r"smooth_l1_loss: beta must be a finite number >= 0, got -1"),
    ("huber_loss delta", lambda s: zen.loss.huber_loss(s.t((2,)), s.t((2,)), delta=0),
     ArgumentError, r"huber_loss: delta must be a finite number > 0, got 0"),
    ("optimiser without parameters", lambda s: SGD([]), OptimizerError, r"SGD: got an empty list"),
    ("optimiser step with nothing", lambda s: Adam(lr=0.1).step(), OptimizerError,
     r"Adam: no parameters to update"),
    ("negative learning rate", lambda s: SGD(s.model.parameters(), lr=-1), OptimizerError,
     r"SGD: lr must be a finite number >= 0, got -1"),
    ("dropout rate", lambda s: Dropout(1.5),
     ArgumentError, r"Dropout: rate must be a number in \[0, 1\), got 1.5"),
    ("same padding, stride 2", lambda s: Conv2D(2, 4, strides=2, padding="same"),
     ArgumentError, r"Conv2D: padding='same' needs stride 1 .*stride=\(2, 2\)"),
    # Gradients.
    ("backward twice", _backward_twice, GraphFreedError, r"sum result was freed.*retain_graph"),
    ("backward through a part already freed", _backward_through_a_freed_part, GraphFreedError,
     r"tanh result was freed"),
    ("backward of a vector", lambda s: (s.t((3,)) * 2.0).backward(), GradientError,
     r"backward: the output has shape \(3,\).*pass grad="),
    ("backward with nothing trainable",
     lambda s: (s.t((1,), trainable=False) * 2.0).sum().backward(), GradientError,
     r"does not depend on any trainable tensor"),
    ("backward with a wrong grad", lambda s: (s.t((3,)) * 2.0).backward(numpy.ones(2)),
     ShapeMismatchError, r"backward: grad has shape \(2,\) but the output has shape \(3,\)"),
    ("grad of a non-tensor", lambda s: zen.grad(lambda x: 3.0)(s.t(())), GradientError,
     r"grad: the function must return a Tensor, got float"),
    ("gradient for a non-trainable input",
     lambda s: zen.gradients((s.t((2,)) * s.t((2,), trainable=False)).sum(),
                             [s.t((2,), trainable=False)]),
     GradientError, r"gradients: input 0 is a Tensor that is not trainable"),
    ("backward with a grad of strings", lambda s: (s.t(()) * 2.0).backward("a"), DtypeError,
     r"backward: grad 'a' is not an array of numbers"),
    ("item of many", lambda s: s.t((2,)).item(), ShapeMismatchError, r"item: .*shape \(2,\)"),
    ("changed after recording", _changed_after_recording, InPlaceError,
     r"an input of this multiply was modified in place"),
    ("result changed after recording", _result_changed_after_recording, InPlaceError,
     r"an input of this multiply was modified in place"),
    ("saved result changed after recording", _saved_result_changed_after_recording,
     InPlaceError, r"its result of this exp was modified in place"),
    ("backward after an optimiser step", _backward_after_a_step, InPlaceError,
     r"an input of this linear was modified in place"),
    ("assignment into a trainable tensor", lambda s: s.t((2,)).__setitem__(0, 1.0), InPlaceError,
     r"x\[key\] = value: .*zen.no_grad\(\)"),
    ("NaN in anomaly mode", _anomaly, AnomalyError,
     r"log: its forward produced NaN or Inf; recorded at .*test_bad_inputs.py"),
    # Checkpoints.
    ("truncated checkpoint", lambda s: s.model.load_weights(
        s.file("cut.npz", s.checkpoint.read_bytes()[:200])), CheckpointError,
     r"load: .*cut.npz is not a readable zen checkpoint"),
    ("corrupt checkpoint",
     lambda s: s.model.load_weights(s.file("bad.npz", b"PK\x03\x04" + b"x" * 300)),
     CheckpointError, r"load: .*bad.npz is not a readable zen checkpoint"),
    ("another model's checkpoint", _other_model_file, CheckpointError,
     (r"wide.npz holds another model: its layer 0 \(Linear\) has units=5, not this model's "
      r"units=3$")),
    ("same layers built for other inputs", _same_layers_built_for_other_inputs,
     CheckpointError, r"built for inputs of shape \(5,\), whose 0.Linear.weight is \(5, 3\), "
     r"not this model's \(4, 3\)"),
    ("unwritable checkpoint path", lambda s: s.model.save(s.directory / "missing" / "model.npz"),
     CheckpointError, r"save: cannot write .*missing/model.npz"),
    ("checkpoint path of no kind", lambda s: Model.load(None), ArgumentError,
     r"load: a checkpoint path must be a str or a pathlib.Path, got NoneType None"),
    ("checkpoint path is a directory", lambda s: s.model.save(s.directory), CheckpointError,
     r"save: cannot write .*\(Is a directory\); the previous file, if any, is untouched"),
    ("resume with another optimiser", _resume_with_another_optimizer, CheckpointError,
     r"trained with SGD, not Adam"),
    # Shape ops and linear algebra.
    ("flat padding of odd length", lambda s: zen.pad(s.t((2, 3)), (1, 2, 3)), ArgumentError,
     r"pad: pad must be an int, or a flat tuple .* got \(1, 2, 3\)"),
    ("flat padding for more axes", lambda s: zen.pad(s.t((2,)), (1, 1, 1, 1)), ArgumentError,
     r"pad: .*at most 1 pairs for shape \(2,\)"),
    ("unknown pad mode", lambda s: zen.pad(s.t((2,)), (1, 1), "mirror"), ArgumentError,
     r"pad: mode must be one of .*got 'mirror'"),
    ("pad value with reflect", lambda s: zen.pad(s.t((3,)), (1, 1), "reflect", 2.0),
     ArgumentError, r"pad: mode 'reflect' takes no value, got value=2.0"),
    ("reflect padding as wide as the axis", lambda s: zen.pad(s.t((2, 3)), (3, 0), "reflect"),
     ShapeMismatchError, r"pad: mode 'reflect' pads axis 1 of length 3 by at most 2, got 3"),
    ("replicate padding of an empty axis", lambda s: zen.pad(s.t((0,)), (1, 0), "replicate"),
     ShapeMismatchError, r"pad: mode 'replicate' pads axis 0 of length 0 by at most 0"),
    ("circular padding wider than the axis",
     lambda s: zen.pad(s.t((2,)), (0, 3), "circular"), ShapeMismatchError,
     r"pad: mode 'circular' pads axis 0 of length 2 by at most 2, got 3"),
    ("roll shifts for other axes", lambda s: s.t((2, 3)).roll((1, 2), 0), ArgumentError,
     r"roll: 2 shift\(s\) for 1 axis\(es\)"),
    ("roll axis out of range", lambda s: s.t((2, 3)).roll(1, 2), AxisError,
     r"roll: axis 2 is out of range for a tensor with 2"),
    ("repeat with fewer sizes than axes", lambda s: s.t((2, 3)).repeat(2), ArgumentError,
     r"repeat: 1 size\(s\) for a tensor with 2 axes"),
    ("negative tile", lambda s: zen.tile(s.t((2,)), (-1,)), ArgumentError,
     r"tile: reps must be non-negative, got \(-1,\)"),
    ("repeat_interleave counts of another length",
     lambda s: s.t((3,)).repeat_interleave([1, 2]), ShapeMismatchError,
     r"repeat_interleave: repeats must be .*\(length 3\), got shape \(2,\)"),
    ("negative repeat_interleave counts",
     lambda s: s.t((2,)).repeat_interleave([1, -1]), ArgumentError,
     r"repeat_interleave: repeats must be non-negative, got -1"),
    ("tril of a vector", lambda s: s.t((3,)).tril(), ShapeMismatchError,
     r"tril: needs a tensor of two or more axes, got shape \(3,\)"),
    ("diagonal of one axis twice", lambda s: s.t((2, 2)).diagonal(0, 1, -1), AxisError,
     r"diagonal: axis1 and axis2 are both axis 1"),
    ("diag of a 3-d tensor", lambda s: zen.diag(s.t((2, 2, 2))), ShapeMismatchError,
     r"diag: needs a 1-D or 2-D tensor, got shape \(2, 2, 2\)"),
    ("meshgrid of matrices", lambda s: zen.meshgrid(s.t((2, 2)), s.t((3,))),
     ShapeMismatchError, r"meshgrid: needs 1-D or 0-d tensors, got shapes \[\(2, 2\), \(3,\)\]"),
    ("meshgrid indexing", lambda s: zen.meshgrid(s.t((2,)), indexing="ji"), ArgumentError,
     r"meshgrid: indexing must be 'ij' or 'xy', got 'ji'"),
    ("zero chunks", lambda s: s.t((4,)).chunk(0), ArgumentError,
     r"chunk: chunks must be a positive int, got 0"),
    ("narrow past the end", lambda s: s.t((2, 5)).narrow(1, 3, 3), IndexOutOfRangeError,
     r"narrow: start 3 and length 3 do not fit axis 1 of length 5"),
    ("movedim to a repeated axis", lambda s: s.t((2, 3)).movedim((0, 1), (1, 1)), AxisError,
     r"movedim: repeated axes in source \(0, 1\) or destination \(1, 1\)"),
    ("einsum of mismatched lengths", lambda s: zen.einsum("ij,jk->ik", s.t((2, 3)), s.t((4, 2))),
     ShapeMismatchError, r"einsum: 'ij,jk->ik': label 'j' has lengths \[3, 4\]"),
    ("einsum with too few operands", lambda s: zen.einsum("ij,jk", s.t((2, 3))), ArgumentError,
     r"einsum: 'ij,jk' names 2 operand\(s\), got 1"),
    ("einsum subscript for another rank", lambda s: zen.einsum("ijk->i", s.t((2, 3))),
     ShapeMismatchError, r"einsum: 'ijk->i': subscript 'ijk' does not fit an operand with 2"),
    ("einsum output label no operand has", lambda s: zen.einsum("ij->iz", s.t((2, 3))),
     ArgumentError, r"einsum: the output of 'ij->iz' repeats a label or names one no operand"),
    ("einsum label that is not a letter", lambda s: zen.einsum("i1->i", s.t((2, 3))),
     ArgumentError, r"einsum: 'i1->i': subscripts are letters and at most one '...', got 'i1'"),
    ("outer of matrices", lambda s: zen.outer(s.t((2, 2)), s.t((3,))), ShapeMismatchError,
     r"outer: needs two 1-D tensors, got shapes \(2, 2\) and \(3,\)"),
    # Issue 16's elementwise functions and activations: settings out of range.
    ("div rounding_mode", lambda s: zen.div(s.t((2,)), 2.0, rounding_mode="ceil"),
     ArgumentError, r"div: rounding_mode .* 'ceil'"),
    ("round decimals", lambda s: zen.round(s.t((2,)), decimals=1.5),
     ArgumentError, r"round: decimals .* 1\.5"),
    ("isclose rtol", lambda s: zen.isclose(s.t((2,)), s.t((2,)), rtol=-1.0),
     ArgumentError, r"isclose: rtol .* -1\.0"),
    ("gelu approximate", lambda s: zen.gelu(s.t((2,)), approximate="erf"),
     ArgumentError, r"gelu: approximate .* 'erf'"),
    ("softplus beta", lambda s: zen.softplus(s.t((2,)), beta=0),
     ArgumentError, r"softplus: beta must be a number > 0, got 0"),
    ("celu alpha", lambda s: zen.celu(s.t((2,)), alpha="1"),
     ArgumentError, r"celu: alpha must be a number > 0, got '1'"),
    ("hardtanh bounds", lambda s: zen.hardtanh(s.t((2,)), 1.0, -1.0),
     ArgumentError, r"hardtanh: min_val 1\.0 is above max_val -1\.0"),
    ("normalize p", lambda s: zen.normalize(s.t((2, 2)), p=0),
     ArgumentError, r"normalize: p must be a number > 0, got 0"),
    ("normalize axis", lambda s: zen.normalize(s.t((2, 2)), axis=2),
     AxisError, r"normalize: axis 2 is out of range"),
    ("% of bools", lambda s: s.t((2,), True, dtype="bool") % s.t((2,), True, dtype="bool"),
     DtypeError, r"remainder: .*bool"),
    ("atan2 shapes", lambda s: zen.atan2(s.t((2,)), s.t((3,))),
     ShapeMismatchError, r"atan2: .*\(2,\), \(3,\)"),
    # Attention, linear and dropout.
    ("attention mask and is_causal", lambda s: zen.scaled_dot_product_attention(
        s.t((2, 3)), s.t((2, 3)), s.t((2, 3)), s.t((2, 2), True, dtype="bool"), is_causal=True),
     ArgumentError, r"scaled_dot_product_attention: give attn_mask or is_causal=True, not both"),
    ("attention key size", lambda s: zen.scaled_dot_product_attention(
        s.t((2, 3)), s.t((2, 4)), s.t((2, 3))),
     ShapeMismatchError, r"scaled_dot_product_attention: .*query \(2, 3\), key \(2, 4\)"),
    ("linear weight layout", lambda s: zen.linear(s.t((2, 4)), s.t((4, 3))),
     ShapeMismatchError, r"linear: .*input \(2, 4\) and weight \(4, 3\)"),
    ("dropout p", lambda s: zen.dropout(s.t((2,)), p=-0.1),
     ArgumentError, r"dropout: p must be a number in \[0, 1\], got -0\.1"),
    ("activation layer setting", lambda s: zen.nn.ELU(alpha="1"),
     ArgumentError, r"ELU: elu: alpha must be a number, got '1'"),
    # Issue 17's pooling and resampling (zen.pooling, nn's pooling layers).
    ("max_pool2d padding over half the kernel", lambda s: zen.max_pool2d(s.t((1, 1, 6, 6)), 3,
                                                                        padding=2),
     ArgumentError, r"max_pool2d: padding must be at most half the kernel size, got padding 2 "
                    r"for kernel size 3"),
    ("avg_pool2d output too small", lambda s: zen.avg_pool2d(s.t((1, 1, 2, 5)), 3),
     ShapeMismatchError, r"avg_pool2d: the output of input planes \(2, 5\) would be \(0, 1\)"),
    ("avg_pool2d divisor_override 0", lambda s: zen.avg_pool2d(s.t((1, 1, 4, 4)), 2,
                                                               divisor_override=0),
     ArgumentError, r"avg_pool2d: divisor_override must not be 0"),
    ("avg_pool1d of integers", lambda s: zen.avg_pool1d(s.t((1, 4), dtype="int64"), 2),
     DtypeError, r"avg_pool1d: needs a floating tensor, got int64"),
    ("max_pool1d two kernel sizes", lambda s: zen.max_pool1d(s.t((1, 1, 6)), (2, 2)),
     ArgumentError, r"max_pool1d: kernel_size must be an int or a tuple of one, got \(2, 2\)"),
    ("adaptive_max_pool2d rank", lambda s: zen.adaptive_max_pool2d(s.t((4, 4)), 2),
     ShapeMismatchError, r"adaptive_max_pool2d: needs an input of shape \(N, C, H, W\) or "
                         r"\(C, H, W\), got \(4, 4\)"),
    ("adaptive_avg_pool2d negative size", lambda s: zen.adaptive_avg_pool2d(
        s.t((1, 1, 4, 4)), (2, -1)),
     ArgumentError, r"adaptive_avg_pool2d: output_size .* got \(2, -1\)"),
    ("interpolate mode", lambda s: zen.interpolate(s.t((1, 1, 4, 4)), size=2, mode="bicubic"),
     ArgumentError, r"interpolate: mode must be one of .* got 'bicubic'"),
    ("interpolate mode for the rank", lambda s: zen.interpolate(s.t((1, 1, 4, 4)), size=2,
                                                                mode="linear"),
     ShapeMismatchError, r"interpolate: mode 'linear' needs a 3-D input .*\(1, 1, 4, 4\)"),
    ("interpolate size and scale_factor", lambda s: zen.interpolate(s.t((1, 1, 4)), 2, 2.0),
     ArgumentError, r"interpolate: give one of size and scale_factor, got size=2, "
                    r"scale_factor=2\.0"),
    ("interpolate align_corners with nearest", lambda s: zen.interpolate(
        s.t((1, 1, 4)), 2, align_corners=True),
     ArgumentError, r"interpolate: align_corners is for the linear modes only"),
    ("interpolate to nothing", lambda s: zen.interpolate(s.t((1, 1, 4)), scale_factor=0.2),
     ArgumentError, r"interpolate: the output size \(0,\) of input \(1, 1, 4\) must be "
                    r"positive"),
    ("MaxPool2D padding", lambda s: zen.nn.MaxPool2D(2, padding=2),
     ArgumentError, r"MaxPool2D: padding must be at most half of pool_size, got padding=2"),
    ("UpSampling2D interpolation", lambda s: zen.nn.UpSampling2D(interpolation="bicubic"),
     ArgumentError, r"UpSampling2D: interpolation must be 'nearest' or 'bilinear', "
                    r"got 'bicubic'"),
    # Convolution.
    ("conv2d groups", lambda s: zen.conv2d(s.t((1, 4, 5, 5)), s.t((3, 2, 3, 3)), groups=2),
     ShapeMismatchError, r"conv2d: input \(1, 4, 5, 5\) and weight \(3, 2, 3, 3\).*groups=2"),
    ("conv2d bias", lambda s: zen.conv2d(s.t((1, 2, 5, 5)), s.t((3, 2, 3, 3)), s.t((2,))),
     ShapeMismatchError, r"conv2d: bias must have shape \(3,\).*\(2,\)"),
    ("conv2d same, strided", lambda s: zen.conv2d(s.t((1, 2, 5, 5)), s.t((3, 2, 3, 3)),
                                                  stride=2, padding="same"),
     ArgumentError, r"conv2d: padding='same' needs stride 1"),
    ("conv1d padding pair", lambda s: zen.conv1d(s.t((1, 2, 5)), s.t((3, 2, 3)), padding=(1, 2)),
     ArgumentError, r"conv1d: padding must be .*1 of them.*got \(1, 2\)"),
    ("conv1d dilation", lambda s: zen.conv1d(s.t((1, 2, 5)), s.t((3, 2, 3)), dilation=0),
     ArgumentError, r"conv1d: dilation must be a positive int.*got 0"),
    ("conv_transpose2d output_padding",
     lambda s: zen.conv_transpose2d(s.t((1, 2, 3, 3)), s.t((2, 1, 3, 3)), output_padding=1),
     ArgumentError, r"conv_transpose2d: output_padding must be smaller than the stride"),
    ("conv_transpose1d cropped away",
     lambda s: zen.conv_transpose1d(s.t((1, 2, 1)), s.t((2, 1, 2)), padding=1),
     ShapeMismatchError, r"conv_transpose1d: padding 1 leaves no output"),
    ("Conv2D groups", lambda s: Conv2D(3, 3, groups=2), ArgumentError,
     r"Conv2D: filters must divide by groups, got filters=3, groups=2"),
    # Issue 17's embedding, normalisation and modes.
    ("embedding id out of range", lambda s: zen.embedding([[0, 3]], s.t((3, 2))),
     IndexOutOfRangeError, r"embedding: index 3 is out of range for axis 0 of length 3"),
    ("embedding of float ids", lambda s: zen.embedding(s.t((2,)), s.t((3, 2))),
     DtypeError, r"embedding: indices must be integers"),
    ("embedding max_norm", lambda s: zen.embedding([0], s.t((3, 2)), max_norm=1.0),
     ArgumentError, r"embedding: max_norm=1\.0 is not supported"),
    ("layer_norm normalized_shape", lambda s: zen.layer_norm(s.t((2, 3)), (2,)),
     ShapeMismatchError, r"layer_norm: input of shape \(2, 3\) does not end with "
                         r"normalized_shape \(2,\)"),
    ("batch_norm inference without statistics",
     lambda s: zen.batch_norm(s.t((2, 3)), None, None), ArgumentError,
     r"batch_norm: running_mean and running_var are needed when training=False"),
    ("group_norm groups", lambda s: zen.group_norm(s.t((2, 3, 4)), 2), ArgumentError,
     r"group_norm: num_groups must be a positive int that divides the 3 channels .* got 2"),
    ("BatchNorm1D momentum", lambda s: zen.nn.BatchNorm1D(momentum=-0.1), ArgumentError,
     r"BatchNorm1D: momentum must be a number in \[0, 1\], got -0\.1"),
    ("train with x but no y", lambda s: s.model.train(numpy.ones((2, 4))), ArgumentError,
     r"train: fitting needs both x and y"),
    ("train mode not a bool", lambda s: s.model.eval().layers[0].train("yes"), ArgumentError,
     r"Linear\.train: mode must be True or False, got 'yes'"),
    # Issue 17's PyTorch conventions: wrong calls, ambiguous forms.
    ("op with an unknown keyword", lambda s: zen.multiply(s.t((2,)), s.t((2,)), foo=1),
     CallError, r"multiply: got an unexpected keyword argument 'foo'"),
    ("where without x", lambda s: zen.where(s.t((2,)) > 0, y=s.t((2,))),
     ArgumentError, r"where: give the condition alone, or the condition, x and y"),
    ("max of a Tensor with keepdims", lambda s: s.t((2, 3)).max(s.t((2, 3)), keepdims=True),
     ArgumentError, r"max: max\(x, other\) with a Tensor other is the elementwise maximum"),
    ("var with correction and unbiased",
     lambda s: zen.var(s.t((2, 3)), 1, correction=0, unbiased=False),
     ArgumentError, r"var: unbiased must be True or False, given without correction"),
    ("transpose repeats an axis", lambda s: s.t((2, 3, 4)).transpose(0, 1, 1),
     AxisError, r"transpose: axis \(0, 1, 1\) repeats an axis"),
    ("t of a 3-d tensor", lambda s: s.t((2, 3, 4)).t(),
     AxisError, r"t: needs a tensor of at most 2 axes, got shape \(2, 3, 4\)"),
    ("expand to fewer axes", lambda s: s.t((2, 3)).expand(3),
     ShapeMismatchError, r"expand: sizes \(3,\) need one per axis of shape \(2, 3\)"),
    ("fliplr of a vector", lambda s: zen.fliplr(s.t((3,))),
     AxisError, r"fliplr: needs a tensor of at least 2 axes, got shape \(3,\)"),
    # What a PyTorch porter reaches for: creation, products, norms.
    ("zeros negative size", lambda s: zen.zeros(2, -1, device=s.device), ShapeMismatchError,
     r"zeros: a size is ints >= 0, got \(2, -1\)"),
    ("arange step 0", lambda s: zen.arange(0, 1, 0, device=s.device), ArgumentError,
     r"arange: step must not be 0"),
    ("mm of a vector", lambda s: zen.mm(s.t((3,)), s.t((3, 2))), ShapeMismatchError,
     r"mm: expects 2-D and 2-D tensors, got shapes \(3,\) and \(3, 2\)"),
    ("bmm batches", lambda s: zen.bmm(s.t((2, 1, 3)), s.t((1, 3, 2))), ShapeMismatchError,
     r"bmm: batches of 2 and 1 matrices"),
    ("dot lengths", lambda s: zen.dot(s.t((3,)), s.t((4,))), ShapeMismatchError,
     r"dot: cannot multiply shapes \(3,\) and \(4,\) \(3 != 4\)"),
    ("vector_norm negative ord", lambda s: zen.linalg.vector_norm(s.t((3,)), -1),
     ArgumentError, r"vector_norm: ord must be a number >= 0, inf or -inf, got -1"),
    ("linalg.norm spectral", lambda s: zen.linalg.norm(s.t((2, 2)), 2), ArgumentError,
     r"linalg.norm: ord=2 over axis=None of a tensor of shape \(2, 2\) is a matrix norm"),
    ("cdist columns", lambda s: zen.cdist(s.t((2, 3)), s.t((2, 4))), ShapeMismatchError,
     r"cdist: needs \(\.\.\., P, M\) and \(\.\.\., R, M\) .* got shapes \(2, 3\) and \(2, 4\)"),
    ("cross without length 3", lambda s: zen.cross(s.t((2, 2)), s.t((2, 2))),
     ShapeMismatchError, r"cross: needs an axis of length 3, got shape \(2, 2\)"),
    ("glu of an odd axis", lambda s: zen.glu(s.t((2, 3))), ShapeMismatchError,
     r"glu: axis -1 of shape \(2, 3\) has odd length 3"),
    ("prelu slopes", lambda s: zen.prelu(s.t((2, 3, 4)), s.t((2,))), ShapeMismatchError,
     r"prelu: weight must hold 1 or 3 slopes .* got shape \(2,\)"),
    ("softshrink negative lambd", lambda s: zen.softshrink(s.t((2,)), -0.5), ArgumentError,
     r"softshrink: lambd must be >= 0, got -0\.5"),
    ("logit eps", lambda s: zen.logit(s.t((2,)), eps=0.7), ArgumentError,
     r"logit: eps must be None or a number in \[0, 0\.5\], got 0\.7"),
    ("size of an axis out of range", lambda s: s.t((2, 3)).size(2), AxisError,
     r"size: axis must be an int in \[-2, 2\) for a tensor of shape \(2, 3\), got 2"),
    # More functions a porter reaches for
    ("take_along_dim index past the slice", lambda s: zen.take_along_dim(
        s.t((2, 3)), numpy.array([[3]]), 1), IndexOutOfRangeError,
     r"take_along_dim: index 3 is out of range for axis 1 of length 3"),
    ("take_along_dim dimensions", lambda s: zen.take_along_dim(s.t((2, 3)), numpy.array([1]), 1),
     ShapeMismatchError, r"take_along_dim: indices must have the tensor's 2 dimension"),
    ("median of an empty axis", lambda s: zen.median(s.t((0, 3)), 0), ShapeMismatchError,
     r"median: axis 0 of shape \(0, 3\) is empty"),
    ("pixel_shuffle channels", lambda s: zen.pixel_shuffle(s.t((1, 6, 2, 2)), 2),
     ShapeMismatchError, r"pixel_shuffle: input must be \(\*, C \* 4, H, W\), got shape"),
    ("fold window count", lambda s: zen.fold(s.t((1, 8, 5)), (3, 3), 2), ShapeMismatchError,
     r"fold: input must be \(N, C \* 4, L\) .* L = 4 windows .* got shape \(1, 8, 5\)"),
    ("unfold stride", lambda s: zen.unfold(s.t((1, 1, 3, 3)), 2, stride=0), ArgumentError,
     r"unfold: stride must be a positive int or a pair of them, got 0"),
    ("rms_norm shape", lambda s: zen.rms_norm(s.t((2, 3)), 4), ShapeMismatchError,
     r"rms_norm: input of shape \(2, 3\) does not end with normalized_shape \(4,\)"),
    ("triplet shapes", lambda s: zen.triplet_margin_loss(s.t((2, 3)), s.t((2, 3)), s.t((3,))),
     ShapeMismatchError, r"triplet_margin_loss: the inputs must have one shape"),
    ("gaussian_nll_loss var shape", lambda s: zen.gaussian_nll_loss(
        s.t((2, 3)), s.t((2, 3)), s.t((2, 2))), ShapeMismatchError,
     r"gaussian_nll_loss: var must have input's shape \(2, 3\)"),
    ("gaussian_nll_loss negative var", lambda s: zen.gaussian_nll_loss(
        s.t((2, 3)), s.t((2, 3)), -s.t((2, 3)) - 1), DataError,
     r"gaussian_nll_loss: var has negative entries"),
]


# The last names a porter reaches for
CASES += [
    ("unflatten sizes", lambda s: zen.unflatten(s.t((2, 6)), 1, (4, -1)), ShapeMismatchError,
     r"unflatten: sizes \(4, -1\) do not split axis 1 of length 6"),
    ("diag_embed axes", lambda s: zen.diag_embed(s.t((2, 3)), 0, 1, -2), AxisError,
     r"diag_embed: axis1 and axis2 are both axis 1"),
    ("addmm alpha", lambda s: zen.addmm(s.t((2, 2)), s.t((2, 3)), s.t((3, 2)), alpha="2"),
     ArgumentError, r"addmm: alpha must be a number, got '2'"),
    ("baddbmm batches", lambda s: zen.baddbmm(s.t((2, 2, 2)), s.t((2, 2, 3)), s.t((3, 3, 2))),
     ShapeMismatchError, r"bmm: batches of 2 and 3 matrices"),
    ("bilinear weight", lambda s: zen.bilinear(s.t((2, 3)), s.t((2, 4)), s.t((5, 4, 3))),
     ShapeMismatchError, r"bilinear: needs inputs .* got shapes \(2, 3\), \(2, 4\), "
     r"\(5, 4, 3\) and None"),
    ("index_add source", lambda s: zen.index_add(s.t((3, 4)), 0, [0, 1], s.t((2, 3))),
     ShapeMismatchError, r"index_add: needs a 1-D index and a source of shape \(2, 4\)"),
    ("index_add range", lambda s: zen.index_add(s.t((3, 4)), 0, [0, 3], s.t((2, 4))),
     IndexOutOfRangeError, r"index_add: index 3 is out of range for axis 0"),
    ("aminmax axes", lambda s: zen.aminmax(s.t((2, 3)), axis=(0, 1)), AxisError,
     r"aminmax: axis must be None or one int, got \(0, 1\)"),
    ("hstack nothing", lambda s: zen.hstack([]), ArgumentError,
     r"hstack: needs at least one tensor"),
    # the last functions and dtype spellings
    ("to given two dtypes", lambda s: s.t((2,)).to(zen.float64, dtype=zen.float32),
     ArgumentError, r"to: dtype given twice, as 'float32' and 'float64'"),
    ("rrelu bounds", lambda s: zen.rrelu(s.t((2,)), 0.5, 0.1), ArgumentError,
     r"rrelu: upper must be a finite number >= 0.5, got 0.1"),
    ("dropout2d rank", lambda s: zen.dropout2d(s.t((2, 3))), ShapeMismatchError,
     r"dropout2d: needs a 3-D or 4-D input .* got shape \(2, 3\)"),
    ("dropout1d p", lambda s: zen.dropout1d(s.t((2, 3)), 1.5), ArgumentError,
     r"dropout1d: p must be a number in \[0, 1\], got 1.5"),
    ("local_response_norm size", lambda s: zen.local_response_norm(s.t((1, 2, 3)), 0),
     ArgumentError, r"local_response_norm: size must be a positive int, got 0"),
    ("lp_pool2d norm_type", lambda s: zen.lp_pool2d(s.t((1, 1, 4, 4)), 0, 2), ArgumentError,
     r"lp_pool2d: norm_type must be a non-zero number, got 0"),
    ("multi_margin_loss p", lambda s: zen.multi_margin_loss(s.t((2, 3)), numpy.array([0, 1]), p=3),
     ArgumentError, r"multi_margin_loss: p must be 1 or 2, got 3"),
    ("multi_margin_loss labels", lambda s: zen.multi_margin_loss(s.t((2, 3)), numpy.arange(3)),
     ShapeMismatchError, r"multi_margin_loss: needs an input \(N, C\) .* got input \(2, 3\) "
     r"and target \(3,\)"),
    ("interpolate area align_corners", lambda s: zen.interpolate(
        s.t((1, 1, 4)), 2, mode="area", align_corners=True), ArgumentError,
     r"interpolate: align_corners is for the linear modes only, .* mode 'area'"),
]

@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name, misuse, error, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error_and_changes_nothing(name, misuse, error, message, device,
                                                         tmp_path):
    scene = Scene(device, tmp_path)
    parameters = {key: p.numpy().copy() for key, p in scene.model.named_parameters().items()}
    saved = scene.checkpoint.read_bytes()
    with pytest.raises(error, match=message(device) if callable(message) else message):
        misuse(scene)
    for key, parameter in scene.model.named_parameters().items():
        numpy.testing.assert_array_equal(parameter.numpy(), parameters[key])
    assert scene.checkpoint.read_bytes() == saved


def test_readme_counts_this_catalogue():
    readme = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "README.md")
    with open(readme, encoding="utf-8") as file:
        stated = re.search(r"`tests/test_bad_inputs.py` holds (\d+) such", file.read())
    assert stated is not None and int(stated[1]) == len(CASES)
