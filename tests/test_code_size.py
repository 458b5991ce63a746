"""The training half of zen reads in short pieces: no class over 200 lines, no function over
60 (docstrings included), so that each of Model's jobs stays in a room of its own."""

import ast
import pathlib

import pytest

import zen

# The modules of the layers, the training loop, data, checkpoints and distributed training;
# the engine's modules (tensor, recorder, ops, autograd, functional) are reshaped apart.
TRAINING_HALF = ["arguments.py", "checkpoint.py", "data.py", "distributed.py", "loss.py",
                 "nn.py", "optim.py", "training.py"]
LIMITS = {ast.ClassDef: 200, ast.FunctionDef: 60}


@pytest.mark.parametrize("module", TRAINING_HALF)
def test_no_class_or_function_is_too_long(module):
    path = pathlib.Path(zen.__file__).parent / module
    too_long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
                for node in ast.walk(ast.parse(path.read_text()))
                if type(node) in LIMITS and node.end_lineno - node.lineno + 1 > LIMITS[type(node)]]
    assert not too_long, f"{module}: {', '.join(too_long)}"
