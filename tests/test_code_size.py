"""zen reads in short pieces: no class over 200 lines, no function over 60 (docstrings
included), so that each job stays in a room of its own."""

import ast
import pathlib

import pytest

import zen

ZEN = pathlib.Path(zen.__file__).parent
MODULES = sorted(str(path.relative_to(ZEN)) for path in ZEN.rglob("*.py"))
LIMITS = {ast.ClassDef: 200, ast.FunctionDef: 60}


@pytest.mark.parametrize("module", MODULES)
def test_no_class_or_function_is_too_long(module):
    path = ZEN / module
    too_long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
                for node in ast.walk(ast.parse(path.read_text()))
                if type(node) in LIMITS and node.end_lineno - node.lineno + 1 > LIMITS[type(node)]]
    assert not too_long, f"{module}: {', '.join(too_long)}"
