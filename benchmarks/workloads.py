"""The workloads. Each is set up once and then offers the same computation three or four
ways: ``zen()``, ``floor()`` (the array calls written by hand, no graph, in NumPy or CuPy),
``torch()`` (PyTorch eager, or None when it is not installed) and, where a workload defines
it, ``captured()`` (zen's step under ``zen.capture``; None otherwise). Every run does the
whole forward and backward pass and, where the workload trains, the parameter update."""

import numpy

import zen
from zen import Tensor


class Workload:
    name = ""
    description = ""
    captured = None     # a workload that has a captured step defines it as a method

    def __init__(self, device, quick):
        self.device = device
        self.quick = quick
        self.backend = zen.Tensor(0.0, device=device).backend
        self.xp = numpy if device == "cpu" else __import__("cupy")   # the runner allows these
        self.rng = numpy.random.default_rng(0)
        self.torch_module = import_torch()
        self.torch_device = "cpu" if device == "cpu" else device

    def array(self, shape, scale=1.0):
        return self.xp.asarray(self.rng.normal(size=shape) * scale, dtype=self.xp.float32)

    def parameter(self, array):
        return Tensor(array, device=self.device)

    def data(self, array):
        return Tensor(array, trainable=False, device=self.device)

    def torch_parameter(self, array):
        torch = self.torch_module
        host = array if self.xp is numpy else array.get()
        return torch.tensor(host, device=self.torch_device, requires_grad=True)

    def torch(self):
        return None

    def model(self, layers, weights):
        """A zen Model of ``layers`` on the device, starting from the floor's ``weights``."""
        model = zen.nn.Model(layers, device=self.device)
        model(self.x[:1])
        for parameter, array in zip(model.parameters(), weights, strict=True):
            parameter.value = self.backend.asarray(array, copy=True)
        return model

    def captured_step(self, step):
        """``step`` (a method of the workload) under ``zen.capture``, made on first use."""
        plans = self.__dict__.setdefault("plans", {})
        if step.__name__ not in plans:
            plans[step.__name__] = zen.capture(step)
        return plans[step.__name__]

    @staticmethod
    def step(loss, optimizer):
        """Backward, update, forget the gradients: the end of a training step, in zen or
        PyTorch alike."""
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


class TrainingStep(Workload):
    """A workload that is one training step, ``train_step(*self.inputs)``: eagerly as zen,
    and under ``zen.capture`` as captured."""

    def zen(self):
        self.train_step(*self.inputs)

    def captured(self):
        self.captured_step(self.train_step)(*self.inputs)


def import_torch():
    """PyTorch, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


class Chain(Workload):
    name = "chain"
    description = "900 tiny ops: y = tanh(y*a + b) on 16 elements, forward + backward"
    squashed = True     # each link ends in tanh

    def __init__(self, device, quick):
        super().__init__(device, quick)
        self.steps = 10 if quick else 300
        self.a, self.b, self.x = self.array(16, 0.5), self.array(16, 0.1), self.array(16)
        self.za, self.zb = self.parameter(self.a), self.parameter(self.b)
        self.zx = self.data(self.x)

    def link(self, y, a, b):
        y = y * a + b
        return y.tanh() if self.squashed else y

    def zen(self):
        y = self.zx
        for _ in range(self.steps):
            y = self.link(y, self.za, self.zb)
        y.sum().backward()
        self.za.gradient = self.zb.gradient = None

    def floor(self):
        xp, a, b, y, squashed = self.xp, self.a, self.b, self.x, self.squashed
        inputs, outputs = [], []
        for _ in range(self.steps):
            inputs.append(y)
            y = y * a + b
            if squashed:
                y = xp.tanh(y)
            outputs.append(y)
        g = xp.ones_like(y)
        grad_a, grad_b = xp.zeros_like(a), xp.zeros_like(b)
        for y_in, t in zip(reversed(inputs), reversed(outputs), strict=True):
            if squashed:
                g = g * (1 - t * t)
            grad_b = grad_b + g
            grad_a = grad_a + g * y_in
            g = g * a
        return grad_a, grad_b

    def torch(self):
        if self.torch_module is None:
            return None
        if not hasattr(self, "ta"):
            self.ta, self.tb = self.torch_parameter(self.a), self.torch_parameter(self.b)
            self.tx = self.torch_parameter(self.x).detach()
        y = self.tx
        for _ in range(self.steps):
            y = self.link(y, self.ta, self.tb)
        y.sum().backward()
        self.ta.grad = self.tb.grad = None


class DeepChain(Chain):
    name = "deep chain"
    description = "20,000 ops: y = y*a + b on 16 elements, forward + backward"
    squashed = False

    def __init__(self, device, quick):
        super().__init__(device, quick)
        self.steps = 100 if quick else 10_000


class ScalarChain(Workload):
    name = "scalar chain"
    description = "20,000 ops: y = y + 1.0 (a Python float) on 16 elements, forward + backward"

    def __init__(self, device, quick):
        super().__init__(device, quick)
        self.steps = 200 if quick else 20_000
        self.x = self.array(16)
        self.zx = self.parameter(self.x)

    def zen(self):
        y = self.zx
        for _ in range(self.steps):
            y = y + 1.0
        y.sum().backward()
        self.zx.gradient = None

    def floor(self):
        y = self.x
        for _ in range(self.steps):
            y = y + 1.0
        return y.sum(), self.xp.ones_like(self.x)     # the loss, and its gradient in x

    def torch(self):
        if self.torch_module is None:
            return None
        if not hasattr(self, "tx"):
            self.tx = self.torch_parameter(self.x)
        y = self.tx
        for _ in range(self.steps):
            y = y + 1.0
        y.sum().backward()
        self.tx.grad = None


def _digits(rng):
    try:
        from sklearn.datasets import load_digits
    except ImportError:     # the same shapes: speed does not depend on the pixel values
        return rng.uniform(0, 1, size=(1797, 64)), rng.integers(0, 10, size=1797)
    data = load_digits()
    return data.data / 16.0, data.target


class DigitsEpoch(Workload):
    name = "digits MLP epoch"
    description = "one epoch, 64-256-10 MLP, batch 64, softmax cross-entropy, SGD"

    def __init__(self, device, quick):
        super().__init__(device, quick)
        images, labels = _digits(self.rng)
        count = 256 if quick else len(images)
        self.x = self.xp.asarray(images[:count], dtype=self.xp.float32)
        self.y = self.xp.asarray(labels[:count])
        self.weights = [self.array((64, 256), 0.1), self.xp.zeros(256, self.xp.float32),
                        self.array((256, 10), 0.1), self.xp.zeros(10, self.xp.float32)]
        self.net = self.model([zen.nn.Linear(256), zen.nn.ReLU(), zen.nn.Linear(10)],
                              self.weights)
        # Tensors already on the device, as a training script would keep its data.
        self.zx = self.data(self.x)
        self.zy = self.data(self.y)
        self.optimizer = zen.optim.SGD(lr=0.1)
        self.hand_optimizer = zen.optim.SGD(self.net.parameters(), lr=0.1)
        self.order_rng = numpy.random.default_rng(1)

    def captured(self):
        """A hand-written loop over the epoch's batches, its step captured."""
        step = self.captured_step(self.train_step)
        count = len(self.x)
        order = self.xp.asarray(self.order_rng.permutation(count))
        for start in range(0, count, 64):
            rows = order[start:start + 64]
            step(Tensor(self.x[rows], trainable=False, copy=False),
                 Tensor(self.y[rows], trainable=False, copy=False))

    def train_step(self, x, y):
        loss = zen.loss.softmax_cross_entropy(self.net(x), y)
        self.step(loss, self.hand_optimizer)
        return loss

    def zen(self):
        self.net.train(self.zx, self.zy, epochs=1, batch_size=64, verbose=False,
                         loss_fn=zen.loss.softmax_cross_entropy, optimizer=self.optimizer)

    def floor(self):
        xp = self.xp
        w1, b1, w2, b2 = self.weights
        count = len(self.x)
        order = xp.asarray(self.order_rng.permutation(count))
        total = 0.0
        for start in range(0, count, 64):
            rows = order[start:start + 64]
            x, y = self.x[rows], self.y[rows]
            hidden = x @ w1 + b1
            active = xp.maximum(hidden, 0)
            logits = active @ w2 + b2
            shifted = logits - logits.max(axis=1, keepdims=True)
            exps = xp.exp(shifted)
            sums = exps.sum(axis=1, keepdims=True)
            picked = xp.arange(len(rows)), y
            total = total + (xp.log(sums[:, 0]) - shifted[picked]).mean()   # the loss
            grad_logits = exps / sums
            grad_logits[picked] -= 1
            grad_logits /= len(rows)
            grad_active = grad_logits @ w2.T
            grad_hidden = grad_active * (hidden > 0)
            w2 -= 0.1 * (active.T @ grad_logits)
            b2 -= 0.1 * grad_logits.sum(axis=0)
            w1 -= 0.1 * (x.T @ grad_hidden)
            b1 -= 0.1 * grad_hidden.sum(axis=0)
        return float(total) / -(-count // 64)

    def torch(self):
        torch = self.torch_module
        if torch is None:
            return None
        if not hasattr(self, "torch_model"):
            self.torch_model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(),
                                                   torch.nn.Linear(256, 10))
            self.torch_model.to(self.torch_device)
            self.torch_optimizer = torch.optim.SGD(self.torch_model.parameters(), lr=0.1)
            self.tx = torch.as_tensor(numpy.asarray(_host(self.x)), device=self.torch_device)
            self.ty = torch.as_tensor(numpy.asarray(_host(self.y)), device=self.torch_device)
        count = len(self.tx)
        order = torch.as_tensor(self.order_rng.permutation(count), device=self.torch_device)
        for start in range(0, count, 64):
            rows = order[start:start + 64]
            self.step(torch.nn.functional.cross_entropy(self.torch_model(self.tx[rows]),
                                                        self.ty[rows]), self.torch_optimizer)


def _host(array):
    return array.get() if hasattr(array, "get") else array


class WideStep(TrainingStep):
    name = "2048 MLP step"
    description = "one SGD step of a 2048-2048-2048 MLP (ReLU, MSE) on 256 rows: BLAS-bound"

    def __init__(self, device, quick):
        super().__init__(device, quick)
        width, rows = (64, 16) if quick else (2048, 256)
        self.x, self.target = self.array((rows, width)), self.array((rows, width))
        self.weights = [self.array((width, width), width ** -0.5),
                        self.array((width, width), width ** -0.5)]
        self.parameters = [self.parameter(w) for w in self.weights]
        self.zx = self.data(self.x)
        self.zt = self.data(self.target)
        self.inputs = (self.zx, self.zt)
        self.optimizer = zen.optim.SGD(self.parameters, lr=0.01)

    def train_step(self, x, target):
        w1, w2 = self.parameters
        loss = zen.loss.MSE((x @ w1).relu() @ w2, target)
        self.step(loss, self.optimizer)
        return loss

    def floor(self):
        xp = self.xp
        w1, w2 = self.weights
        hidden = self.x @ w1
        active = xp.maximum(hidden, 0)
        difference = active @ w2 - self.target
        loss = (difference * difference).mean()
        grad_out = difference * (2 / difference.size)
        grad_hidden = (grad_out @ w2.T) * (hidden > 0)
        w2 -= 0.01 * (active.T @ grad_out)
        w1 -= 0.01 * (self.x.T @ grad_hidden)
        return loss

    def torch(self):
        torch = self.torch_module
        if torch is None:
            return None
        if not hasattr(self, "tw"):
            self.tw = [self.torch_parameter(w) for w in self.weights]
            self.tx = self.torch_parameter(self.x).detach()
            self.tt = self.torch_parameter(self.target).detach()
            self.torch_optimizer = torch.optim.SGD(self.tw, lr=0.01)
        w1, w2 = self.tw
        loss = torch.nn.functional.mse_loss(torch.relu(self.tx @ w1) @ w2, self.tt)
        self.step(loss, self.torch_optimizer)


class RNNStep(TrainingStep):
    name = "RNN BPTT"
    description = "50-step tanh RNN, batch 32, hidden 64: forward, backprop through time, SGD"

    def __init__(self, device, quick):
        super().__init__(device, quick)
        self.steps, hidden = (5, 8) if quick else (50, 64)
        self.x, self.target = self.array((32, self.steps, 1)), self.array((32, 1))
        self.weights = {"input_weight": self.array((1, hidden), 0.5),
                        "hidden_weight": self.array((hidden, hidden), hidden ** -0.5),
                        "hidden_bias": self.xp.zeros(hidden, self.xp.float32),
                        "output_weight": self.array((hidden, 1), hidden ** -0.5),
                        "output_bias": self.xp.zeros(1, self.xp.float32)}
        self.net = self.model([zen.nn.RNN(1, hidden_dim=hidden)], self.weights.values())
        self.optimizer = zen.optim.SGD(self.net.parameters(), lr=0.01)
        self.zx = self.data(self.x)
        self.zt = self.data(self.target)
        self.inputs = (self.zx, self.zt)

    def train_step(self, x, target):
        loss = zen.loss.MSE(self.net(x), target)
        self.step(loss, self.optimizer)
        return loss

    def floor(self):
        xp, w = self.xp, self.weights
        inputs = self.x @ w["input_weight"] + w["hidden_bias"]
        states = [xp.tanh(inputs[:, 0])]
        for step in range(1, self.steps):
            states.append(xp.tanh(inputs[:, step] + states[-1] @ w["hidden_weight"]))
        difference = states[-1] @ w["output_weight"] + w["output_bias"] - self.target
        loss = (difference * difference).mean()
        grad_out = difference * (2 / difference.size)
        grad_state = grad_out @ w["output_weight"].T
        grads = {"output_weight": states[-1].T @ grad_out, "output_bias": grad_out.sum(0),
                 "hidden_weight": xp.zeros_like(w["hidden_weight"])}
        grad_inputs = xp.empty_like(inputs)
        for step in range(self.steps - 1, -1, -1):
            grad_pre = grad_state * (1 - states[step] * states[step])
            grad_inputs[:, step] = grad_pre
            if step:
                grads["hidden_weight"] += states[step - 1].T @ grad_pre
                grad_state = grad_pre @ w["hidden_weight"].T
        grads["hidden_bias"] = grad_inputs.sum(axis=(0, 1))
        grads["input_weight"] = (self.x.reshape(-1, 1).T @ grad_inputs.reshape(-1, len(
            w["hidden_bias"])))
        for name, gradient in grads.items():
            w[name] -= 0.01 * gradient
        return loss

    def torch(self):
        torch = self.torch_module
        if torch is None:
            return None
        if not hasattr(self, "tw"):
            self.tw = {name: self.torch_parameter(w) for name, w in self.weights.items()}
            self.tx = self.torch_parameter(self.x).detach()
            self.tt = self.torch_parameter(self.target).detach()
            self.torch_optimizer = torch.optim.SGD(self.tw.values(), lr=0.01)
        w = self.tw
        inputs = self.tx @ w["input_weight"] + w["hidden_bias"]
        state = torch.tanh(inputs[:, 0])
        for step in range(1, self.steps):
            state = torch.tanh(inputs[:, step] + state @ w["hidden_weight"])
        output = state @ w["output_weight"] + w["output_bias"]
        self.step(torch.nn.functional.mse_loss(output, self.tt), self.torch_optimizer)


class CNNStep(TrainingStep):
    name = "CNN step"
    description = "the examples' CNN (conv16-pool-conv32-pool-linear) on 64 8x8 digits, SGD"

    def __init__(self, device, quick):
        super().__init__(device, quick)
        images, labels = _digits(self.rng)
        self.x = self.xp.asarray(images[:64].reshape(-1, 1, 8, 8), dtype=self.xp.float32)
        self.y = self.xp.asarray(labels[:64])
        self.weights = [self.array((16, 1, 3, 3), 0.3), self.xp.zeros(16, self.xp.float32),
                        self.array((32, 16, 3, 3), 0.1), self.xp.zeros(32, self.xp.float32),
                        self.array((128, 10), 0.1), self.xp.zeros(10, self.xp.float32)]
        self.net = self.model([
            zen.nn.Conv2D(16, 3, padding="same"), zen.nn.ReLU(), zen.nn.MaxPool2D(2),
            zen.nn.Conv2D(32, 3, padding="same"), zen.nn.ReLU(), zen.nn.MaxPool2D(2),
            zen.nn.Flatten(), zen.nn.Linear(10)], self.weights)
        self.optimizer = zen.optim.SGD(self.net.parameters(), lr=0.05)
        self.zx = self.data(self.x)
        self.zy = self.data(self.y)
        self.inputs = (self.zx, self.zy)

    def train_step(self, x, y):
        loss = zen.loss.softmax_cross_entropy(self.net(x), y)
        self.step(loss, self.optimizer)
        return loss

    def floor(self):
        xp = self.xp
        w1, b1, w2, b2, w3, b3 = self.weights
        hidden1, patches1 = _conv_forward(xp, self.x, w1, b1)
        active1 = xp.maximum(hidden1, 0)
        pooled1 = _pool_forward(active1)
        hidden2, patches2 = _conv_forward(xp, pooled1, w2, b2)
        active2 = xp.maximum(hidden2, 0)
        pooled2 = _pool_forward(active2)
        flat = pooled2.reshape(len(self.x), -1)
        logits = flat @ w3 + b3
        shifted = logits - logits.max(axis=1, keepdims=True)
        exps = xp.exp(shifted)
        sums = exps.sum(axis=1, keepdims=True)
        picked = xp.arange(len(self.y)), self.y
        loss = (xp.log(sums[:, 0]) - shifted[picked]).mean()
        grad_logits = exps / sums
        grad_logits[picked] -= 1
        grad_logits /= len(self.y)
        grad_flat = grad_logits @ w3.T
        grad_pooled2 = grad_flat.reshape(pooled2.shape)
        grad_hidden2 = _pool_backward(xp, active2, pooled2, grad_pooled2) * (hidden2 > 0)
        grad_pooled1, grad_w2, grad_b2 = _conv_backward(xp, grad_hidden2, patches2, w2,
                                                        pooled1.shape)
        grad_hidden1 = _pool_backward(xp, active1, pooled1, grad_pooled1) * (hidden1 > 0)
        _, grad_w1, grad_b1 = _conv_backward(xp, grad_hidden1, patches1, w1, self.x.shape,
                                             need_input=False)
        for weight, gradient in zip(self.weights, [grad_w1, grad_b1, grad_w2, grad_b2,
                                                   flat.T @ grad_logits,
                                                   grad_logits.sum(axis=0)], strict=True):
            weight -= 0.05 * gradient
        return loss

    def torch(self):
        torch = self.torch_module
        if torch is None:
            return None
        if not hasattr(self, "torch_model"):
            nn = torch.nn
            self.torch_model = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(128, 10)).to(self.torch_device)
            self.torch_optimizer = torch.optim.SGD(self.torch_model.parameters(), lr=0.05)
            self.tx = torch.as_tensor(_host(self.x), device=self.torch_device)
            self.ty = torch.as_tensor(_host(self.y), device=self.torch_device)
        self.step(torch.nn.functional.cross_entropy(self.torch_model(self.tx), self.ty),
                  self.torch_optimizer)


def _conv_forward(xp, x, weight, bias):
    """3x3 'same' convolution as im2col and one matmul; returns the patches for backward."""
    batch, _, height, width = x.shape
    padded = xp.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = _windows(xp, padded)
    patches = windows.transpose(0, 2, 3, 1, 4, 5).reshape(batch * height * width, -1)
    out = patches @ weight.reshape(len(weight), -1).T + bias
    return out.reshape(batch, height, width, -1).transpose(0, 3, 1, 2), patches


def _windows(xp, padded):
    if xp is numpy:
        return numpy.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
    return xp.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))


def _conv_backward(xp, grad_out, patches, weight, input_shape, need_input=True):
    batch, channels, height, width = input_shape
    grad_rows = grad_out.transpose(0, 2, 3, 1).reshape(-1, len(weight))
    grad_weight = (grad_rows.T @ patches).reshape(weight.shape)
    grad_bias = grad_rows.sum(axis=0)
    if not need_input:
        return None, grad_weight, grad_bias
    grad_patches = (grad_rows @ weight.reshape(len(weight), -1)).reshape(
        batch, height, width, channels, 3, 3)
    grad_padded = xp.zeros((batch, channels, height + 2, width + 2), dtype=grad_out.dtype)
    for i in range(3):
        for j in range(3):
            grad_padded[:, :, i:i + height, j:j + width] += \
                grad_patches[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return grad_padded[:, :, 1:-1, 1:-1], grad_weight, grad_bias


def _pool_forward(x):
    batch, channels, height, width = x.shape
    return x.reshape(batch, channels, height // 2, 2, width // 2, 2).max(axis=(3, 5))


def _pool_backward(xp, x, pooled, grad_pooled):
    """Gradient to the maximum of each 2x2 window (shared among ties)."""
    batch, channels, height, width = x.shape
    blocks = x.reshape(batch, channels, height // 2, 2, width // 2, 2)
    hits = (blocks == pooled[:, :, :, None, :, None]).astype(x.dtype)
    share = grad_pooled / hits.sum(axis=(3, 5))
    return (hits * share[:, :, :, None, :, None]).reshape(x.shape)


class AdamStep(Workload):
    name = "Adam step"
    description = "one Adam update of a model with 100 parameter tensors (64x64)"

    def __init__(self, device, quick):
        super().__init__(device, quick)
        count = 10 if quick else 100
        self.values = [self.array((64, 64)) for _ in range(count)]
        self.gradients = [self.array((64, 64), 0.01) for _ in range(count)]
        self.parameters = [self.parameter(v) for v in self.values]
        for parameter, gradient in zip(self.parameters, self.gradients, strict=True):
            parameter.gradient = gradient
        self.optimizer = zen.optim.Adam(self.parameters, lr=1e-3)
        self.moments = [(self.xp.zeros_like(v), self.xp.zeros_like(v)) for v in self.values]
        self.steps = 0

    def zen(self):
        self.optimizer.step()

    def captured(self):
        self.captured_step(self.optimizer_step)()

    def optimizer_step(self):
        self.optimizer.step()

    def floor(self):
        self.steps += 1
        step_size = 1e-3 / (1 - 0.9 ** self.steps)
        scale = 1 / (1 - 0.999 ** self.steps) ** 0.5
        for value, gradient, (first, second) in zip(self.values, self.gradients, self.moments,
                                                    strict=True):
            first *= 0.9
            first += 0.1 * gradient
            second *= 0.999
            second += 0.001 * gradient * gradient
            value -= step_size * first / (self.xp.sqrt(second) * scale + 1e-8)

    def torch(self):
        torch = self.torch_module
        if torch is None:
            return None
        if not hasattr(self, "tp"):
            self.tp = [self.torch_parameter(v) for v in self.values]
            for parameter, gradient in zip(self.tp, self.gradients, strict=True):
                parameter.grad = torch.as_tensor(_host(gradient), device=self.torch_device)
            self.torch_optimizer = torch.optim.Adam(self.tp, lr=1e-3)
        self.torch_optimizer.step()


WORKLOADS = [Chain, DigitsEpoch, WideStep, RNNStep, CNNStep, DeepChain, ScalarChain, AdamStep]
