"""Train a small character-level transformer on the Zen of Python, then let it write.

    python examples/transformer.py [--device cpu|cuda] [--epochs 12]

The text ships with Python: the module ``this`` keeps it rot13-encoded in ``this.s`` (and
prints it when first imported, which is kept quiet here). The model is written by hand from
zen's layers, as a PyTorch user would write a module: token and position embeddings, a
pre-norm block of causal self-attention and a GELU network, each added to its input.
"""

import codecs
import contextlib
import importlib
import io
import time

import numpy

import zen
from common import arguments, report
from zen.nn import Embedding, LayerNorm, Linear, MultiHeadAttention


def zen_of_python():
    with contextlib.redirect_stdout(io.StringIO()):
        this = importlib.import_module("this")
    return codecs.decode(this.s, "rot13")


class CharTransformer:
    """Scores for each position's next character, from the characters up to it."""

    def __init__(self, vocabulary, context, width, heads, blocks):
        self.context = context
        self.embed = Embedding(vocabulary, width)
        self.place = Embedding(context, width)
        self.blocks = [(LayerNorm(), MultiHeadAttention(heads, causal=True), LayerNorm(),
                        Linear(4 * width), Linear(width)) for _ in range(blocks)]
        self.norm = LayerNorm()
        self.head = Linear(vocabulary)

    def __call__(self, ids):
        positions = zen.Tensor(numpy.arange(ids.shape[1]), device=ids.device)
        x = self.embed(ids) + self.place(positions)
        for attention_norm, attention, network_norm, grow, shrink in self.blocks:
            x = x + attention(attention_norm(x))
            x = x + shrink(zen.gelu(grow(network_norm(x))))
        return self.head(self.norm(x))

    def parameters(self):
        layers = [self.embed, self.place, *(layer for block in self.blocks for layer in block),
                  self.norm, self.head]
        return [p for layer in layers for p in layer.parameters()]


def fit(model, text_ids, args):
    """Adam on every window of the text (shuffled each epoch); the mean loss per epoch."""
    windows = numpy.lib.stride_tricks.sliding_window_view(text_ids, args.context + 1)
    order = numpy.random.default_rng(args.seed)
    model(zen.Tensor(windows[:1, :-1], device=args.device))     # the layers take their sizes
    optimizer = zen.optim.Adam(model.parameters(), lr=args.learning_rate)
    history = {"loss": []}
    for _ in range(args.epochs):
        losses = []
        for batch in numpy.array_split(order.permutation(len(windows)),
                                       len(windows) // args.batch_size):
            ids = zen.Tensor(windows[batch], device=args.device)
            scores = model(ids[:, :-1])
            loss = zen.cross_entropy(scores.reshape(-1, scores.shape[-1]),
                                     ids[:, 1:].reshape(-1))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.detach())
        history["loss"].append(zen.stack(losses).mean().item())
    return history


def write(model, prompt_ids, length, device):
    """``length`` characters after the prompt, each the model's likeliest next one."""
    ids = list(prompt_ids)
    with zen.no_grad():
        for _ in range(length):
            window = zen.Tensor(numpy.array([ids[-model.context:]]), device=device)
            ids.append(int(model(window)[0, -1].argmax().item()))
    return ids[len(prompt_ids):]


def main():
    args = arguments(__doc__.splitlines()[0], epochs=12, batch_size=32, learning_rate=3e-3,
                     context=32, width=48, heads=4, blocks=1)
    if args.distributed:
        raise SystemExit("transformer.py trains in one process; drop --distributed")
    zen.seed(args.seed)
    text = zen_of_python()
    alphabet = sorted(set(text))
    text_ids = numpy.array([alphabet.index(c) for c in text])
    model = CharTransformer(len(alphabet), args.context, args.width, args.heads, args.blocks)
    started = time.perf_counter()
    history = fit(model, text_ids, args)
    seconds = time.perf_counter() - started
    prompt = "Beautiful is"
    sample = write(model, [alphabet.index(c) for c in prompt], 48, args.device)
    print(f"sample: {prompt + ''.join(alphabet[i] for i in sample)!r}")
    report("Zen of Python transformer", history, seconds, loss=history["loss"][-1])


if __name__ == "__main__":
    main()
