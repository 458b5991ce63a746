"""The CUDA code's names, checked without a GPU: CuPy imports without one (only allocation
and kernels need the driver), so every CuPy, cupyx and array_api_compat name that the cuda
backend and its NCCL engine read is looked up, and every call to one is bound to its
signature where the signature can be read. The names are found by walking the backend's
syntax tree, so a name added later is checked too; so are the names that zen reads off a
backend's array namespace ``xp``. Without a driver, asking for "cuda" must say so."""

import ast
import dataclasses
import importlib
import inspect
import os
import re
import subprocess
import sys

import pytest

from conftest import import_or_skip

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKEND = os.path.join(ROOT, "backends", "cupy_backend.py")
ROOTS = ("cupy", "cupyx", "array_api_compat")     # the modules whose names are checked
NCCL = "cupy.cuda.nccl"
# The files whose `xp.NAME` run on the cuda backend's namespace.
ON_XP = [os.path.join(ROOT, "zen", name) for name in os.listdir(os.path.join(ROOT, "zen"))
         if name.endswith(".py")] + [os.path.join(ROOT, "backends", "base.py")]


@dataclasses.dataclass(frozen=True)
class Name:
    """``path`` (a dotted name under one of ROOTS) or, if ``instance``, an instance of the
    class at ``path``, whose attributes are looked up on that class."""
    path: str
    instance: bool = False


@dataclasses.dataclass(frozen=True)
class Use:
    """One reading of a name (``attribute`` of an instance of ``name``, if given), and, for a
    call, its positional count and keywords (None where they cannot be counted)."""
    name: Name
    attribute: str = None
    line: int = dataclasses.field(default=0, compare=False)
    call: tuple = None

    def __str__(self):
        return f"{self.name.path}{'().' + self.attribute if self.attribute else ''}"


def _parse(path):
    with open(path) as file:
        return ast.parse(file.read())


class _Scope:
    """What the bare names and ``self.`` attributes of one function (with the functions inside
    it) stand for, as far as they are modules, classes or instances of ROOTS' names."""

    def __init__(self, module_names, self_names):
        self.names = dict(module_names)
        self.self_names = self_names

    def resolve(self, node):
        if isinstance(node, ast.Name):
            return self.names.get(node.id, Name(node.id) if node.id in ROOTS else None)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                return self.self_names.get(node.attr)
            base = self.resolve(node.value)
            if base is not None and not base.instance:
                return Name(f"{base.path}.{node.attr}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):   # an annotation
            try:
                return self.resolve(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return None
        return None

    def instance_of(self, node):
        """The name that ``node`` evaluates to: a call of a ROOTS class gives an instance."""
        if isinstance(node, ast.Call):
            made = self.resolve(node.func)
            return Name(made.path, instance=True) if made and not made.instance else None
        return self.resolve(node)

    def bind(self, target, value):
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for each_target, each_value in zip(target.elts, value.elts, strict=False):
                self.bind(each_target, each_value)
            return
        name = self.instance_of(value)
        if name is None:
            return
        if isinstance(target, ast.Name):
            self.names[target.id] = name
        elif (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
              and target.value.id == "self"):
            self.self_names[target.attr] = name

    def learn(self, function):
        """Imports, annotated arguments and assignments in ``function``."""
        for node in ast.walk(function):
            if isinstance(node, ast.arg) and node.annotation is not None:
                annotated = self.resolve(node.annotation)
                if annotated is not None:
                    self.names[node.arg] = Name(annotated.path, instance=True)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self.names.update(_imported(node))
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    self.bind(target, node.value)


def _imported(node):
    if isinstance(node, ast.Import):
        return {alias.asname or alias.name.partition(".")[0]:
                Name(alias.name if alias.asname else alias.name.partition(".")[0])
                for alias in node.names if alias.name.partition(".")[0] in ROOTS}
    if (node.module or "").partition(".")[0] not in ROOTS:
        return {}
    return {alias.asname or alias.name: Name(f"{node.module}.{alias.name}")
            for alias in node.names}


def _call(node):
    if any(isinstance(arg, ast.Starred) for arg in node.args) or \
            any(keyword.arg is None for keyword in node.keywords):
        return None
    return len(node.args), tuple(keyword.arg for keyword in node.keywords)


def _functions(tree):
    """(class name or None, function) for every top-level function and method."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            yield from ((node.name, item) for item in node.body
                        if isinstance(item, ast.FunctionDef))
        elif isinstance(node, ast.FunctionDef):
            yield None, node


def backend_uses(tree):
    """Every reading of a ROOTS name in ``tree``, with the calls among them."""
    module_names = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module_names.update(_imported(node))
    self_names = {}         # class -> its self.attributes, learnt from all of its methods
    for owner, function in _functions(tree):
        _Scope(module_names, self_names.setdefault(owner, {})).learn(function)
    uses = [Use(Name(alias.name), line=node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Import) for alias in node.names
            if alias.name.partition(".")[0] in ROOTS]
    for owner, function in _functions(tree):
        scope = _Scope(module_names, self_names.get(owner, {}))
        scope.learn(function)
        uses += _uses_in(function, scope)
    return uses


def _uses_in(function, scope):
    calls = {id(node.func): _call(node) for node in ast.walk(function)
             if isinstance(node, ast.Call)}
    uses = []
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute):
            base = scope.resolve(node.value)
            if base is not None and base.instance:
                uses.append(Use(base, node.attr, node.lineno, calls.get(id(node))))
                continue
        name = scope.resolve(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if name is not None and not name.instance:
            uses.append(Use(name, line=node.lineno, call=calls.get(id(node))))
        elif isinstance(node, ast.arg) and node.annotation is not None:
            annotated = scope.resolve(node.annotation)
            if annotated is not None:
                uses.append(Use(Name(annotated.path), line=node.lineno))
    return uses


def look_up(path):
    """The object at a dotted ``path``: the longest importable module, then attributes."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            found = getattr(found, part)
        return found
    raise ImportError(f"no module of {path} can be imported")


_CYTHON_SIGNATURE = re.compile(r"[\w.]+\((.*)\)(\s*->.*)?")


def signature(thing):
    """``thing``'s signature, from inspect or else from the first line of a Cython docstring
    (``allReduce(self, intptr_t sendbuf, ..., intptr_t stream)``); None if neither has one."""
    try:
        return inspect.signature(thing)
    except (TypeError, ValueError):
        pass
    first = (getattr(thing, "__doc__", None) or "").strip().partition("\n")[0]
    match = _CYTHON_SIGNATURE.fullmatch(first)
    if match is None:
        return None
    try:
        return inspect.Signature(_parameters(match[1]))
    except ValueError:
        return None


def _parameters(text):
    parameters, kind = [], inspect.Parameter.POSITIONAL_OR_KEYWORD
    for part in filter(None, (piece.strip() for piece in _top_level_split(text))):
        if part == "/":
            parameters = [p.replace(kind=inspect.Parameter.POSITIONAL_ONLY) for p in parameters]
        elif part == "*":
            kind = inspect.Parameter.KEYWORD_ONLY
        elif part.startswith("**"):
            parameters.append(inspect.Parameter(part[2:], inspect.Parameter.VAR_KEYWORD))
        elif part.startswith("*"):
            parameters.append(inspect.Parameter(part[1:], inspect.Parameter.VAR_POSITIONAL))
            kind = inspect.Parameter.KEYWORD_ONLY
        else:
            declared, has_default, _ = part.partition("=")
            parameters.append(inspect.Parameter(
                declared.split()[-1], kind,
                default=None if has_default else inspect.Parameter.empty))
    return parameters


def _top_level_split(text):
    depth, start = 0, 0
    for index, character in enumerate(text):
        depth += character in "([{"
        depth -= character in ")]}"
        if character == "," and depth == 0:
            yield text[start:index]
            start = index + 1
    yield text[start:]


def check(use, thing, self_argument=False):
    """A message if a call in ``use`` cannot bind to ``thing``'s signature, else None."""
    if use.call is None:
        return None
    found = signature(thing)
    if found is None:
        return None
    positional, keywords = use.call
    try:
        found.bind(*[None] * (positional + self_argument), **dict.fromkeys(keywords))
    except TypeError as error:
        return f"line {use.line}: {use}{found} called with {positional} positional " \
               f"argument(s) and keywords {keywords}: {error}"
    return None


# --- The tests ----------------------------------------------------------------------------

USES = backend_uses(_parse(BACKEND))


def test_the_walk_finds_the_names_the_backend_reads():
    """So that a walk broken by a change in the backend's style cannot pass by finding none."""
    found = {str(use) for use in USES}
    assert {"cupyx.scatter_add", "cupy.cuda.runtime.getDeviceCount",
            "cupy.cuda.runtime.CUDARuntimeError", "cupy.cuda.Device().synchronize",
            "cupy.cuda.nccl.NcclCommunicator().allReduce", "cupy.cuda.nccl.NCCL_FLOAT16",
            "cupy.lib.stride_tricks.sliding_window_view", "array_api_compat.cupy",
            "cupy.ndarray().data", "array_api_compat.is_cupy_array"} <= found


@pytest.fixture(scope="module")
def cupy():
    return import_or_skip("cupy", "CuPy is not installed (CI installs cupy-cuda13x)")


@pytest.fixture(scope="module")
def nccl(cupy):
    importlib.import_module(NCCL)   # loads libnccl from its wheel, if installed
    import_or_skip("cupy_backends.cuda.libs.nccl",
                   "CuPy cannot load NCCL here: pip install nvidia-nccl-cu13")
    return importlib.import_module(NCCL)


@pytest.mark.parametrize("use", sorted(set(USES), key=str), ids=str)
def test_every_cupy_name_the_cuda_backend_reads_exists_and_takes_its_arguments(use, request):
    request.getfixturevalue("nccl" if str(use).startswith(NCCL) else "cupy")
    try:
        owner = look_up(use.name.path)
    except AttributeError as error:
        pytest.fail(f"line {use.line}: {use} does not exist: {error}")
    if use.attribute is None:
        assert check(use, owner) is None
        return
    assert inspect.isclass(owner), f"{use.name.path} is made as an instance but is no class"
    assert hasattr(owner, use.attribute), f"line {use.line}: {use} does not exist"
    method = getattr(owner, use.attribute)
    assert check(use, method, self_argument=callable(method)) is None


def xp_uses(path):
    """``(name, call)`` for each ``xp.NAME`` and ``<...>.xp.NAME`` in the file at ``path``."""
    tree = _parse(path)
    calls = {id(node.func): _call(node) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (
                (isinstance(node.value, ast.Name) and node.value.id == "xp")
                or (isinstance(node.value, ast.Attribute) and node.value.attr == "xp")):
            yield Use(Name(f"xp.{node.attr}"), line=node.lineno, call=calls.get(id(node))), \
                os.path.relpath(path, ROOT)


def test_every_array_function_zen_reads_off_xp_exists_in_the_cuda_namespace(cupy):
    from backends.cupy_backend import CuPyBackend
    from zen.namespaces import array_namespace

    # zen reads names off the backend's own xp, and off zen's namespace on it (forwards,
    # VJPs, optimisers), which reads each name of zen's vocabulary from the backend's as it is
    # made and adds zen's own (in-place arithmetic, primitives' forwards)
    raw = CuPyBackend(cupy, 0).xp     # made without a GPU: nothing is allocated yet
    namespace = array_namespace(raw)
    uses = [use for path in ON_XP for use in xp_uses(path)]
    assert len(uses) > 50
    found = {use.name.path[3:]: getattr(raw, use.name.path[3:], None) or
             getattr(namespace, use.name.path[3:], None) for use, _ in uses}
    missing = [f"{where}:{use.line}: {use}" for use, where in uses
               if found[use.name.path[3:]] is None]
    assert missing == []
    unbound = [f"{where}: {message}" for use, where in uses
               if (message := check(use, found[use.name.path[3:]]))]
    assert unbound == []


def test_cuda_without_a_driver_or_a_visible_gpu_raises_zens_error_with_the_install_hint(cupy):
    """Here with no NVIDIA driver, on a GPU machine with none visible: either way CuPy
    imports and getDeviceCount raises, and zen must say what is missing and what to do."""
    program = ("import zen\n"
               "try:\n"
               "    zen.Tensor(1.0, device='cuda')\n"
               "except zen.errors.DeviceUnavailableError as error:\n"
               "    print(error)\n")
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", program], cwd=ROOT,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "CUDA_VISIBLE_DEVICES": "",
                                 "PYTHONPATH": os.pathsep.join(
                                     [ROOT, *filter(None, [os.environ.get("PYTHONPATH")])])})
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"device 'cuda': CuPy for CUDA \d+\.x found no usable GPU \(cudaError"
                     r".*nvidia-smi.*pip install \"cupy-cuda12x\[ctk\]>=14\".*"
                     r'device="cpu" \(--device cpu', result.stdout), result.stdout


def test_the_toolkit_check_passes_or_names_the_ctk_extra(cupy):
    """CuPy without its [ctk] wheels (as CI installs it) cannot load NVRTC; with them it can."""
    from backends import DeviceUnavailableError
    from backends.cupy_backend import check_toolkit

    try:
        check_toolkit(cupy)
    except DeviceUnavailableError as error:
        assert re.search(r'libnvrtc.*pip install "cupy-cuda\d+x\[ctk\]>=14"', str(error))
    else:
        assert cupy.cuda.nvrtc.getVersion() >= (11, 0)


def test_the_nccl_check_passes_exactly_when_nccl_loaded(cupy):
    from backends import DeviceUnavailableError
    from backends.cupy_backend import check_nccl

    nccl = importlib.import_module(NCCL)
    loaded = hasattr(nccl, "NcclCommunicator")
    try:
        check_nccl(nccl, cupy)
        assert loaded
    except DeviceUnavailableError as error:
        assert not loaded
        assert re.search(r"pip install nvidia-nccl-cu\d+ ", str(error))
