"""The layout rules of DESIGN.md, read from the source: zen's modules import one another in
one direction only (no circle, counting imports inside functions), ``backends`` never imports
zen, and zen never imports NumPy or CuPy (it reaches arrays through a backend)."""

import ast
import importlib
import inspect
import pathlib
import typing

import backends
import zen

ZEN = pathlib.Path(zen.__file__).parent
BACKENDS = pathlib.Path(backends.__file__).parent


def _imported(path, submodules=frozenset()):
    """Every module name ``path`` imports, at any depth (inside functions too): ``from
    package import name`` imports ``package.name`` if that is one of ``submodules``, else
    ``package`` itself."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in submodules else node.module)
    return names


def _module_name(path):
    """zen/nn.py -> zen.nn; zen/layers/__init__.py -> zen.layers."""
    parts = path.relative_to(ZEN.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _zen_imports():
    """zen's module graph: module -> the zen modules it imports (``zen`` is the package's
    ``__init__``)."""
    modules = {_module_name(path): path for path in ZEN.rglob("*.py")}
    return {module: {name for name in _imported(path, set(modules))
                     if name in modules and name != module}
            for module, path in modules.items()}


def _cycle(graph):
    """One import circle in ``graph`` as a list of modules, or None."""
    state = {}      # module -> "open" while on the current path, "done" after

    def visit(module, path):
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                return path[path.index(imported):] + [imported]
            if imported not in state:
                found = visit(imported, path + [imported])
                if found:
                    return found
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            found = visit(module, [module])
            if found:
                return found
    return None


def test_zen_modules_import_each_other_without_a_circle():
    graph = _zen_imports()
    assert "zen.tensor" in graph and graph["zen"], graph    # the graph was read
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_circle_through_a_function_level_import():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _offenders(directory, forbidden):
    """Every module under ``directory``, in subpackages too, that imports a ``forbidden`` one."""
    return sorted(f"{path.relative_to(directory)} imports {name}"
                  for path in directory.rglob("*.py")
                  for name in _imported(path) if name.split(".")[0] in forbidden)


def test_the_offender_finder_reads_subpackages_and_function_level_imports(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.py").write_text("def f():\n    import numpy.linalg\n")
    (tmp_path / "top.py").write_text("from cupyx import scatter_add\n")
    assert _offenders(tmp_path, {"numpy", "cupy", "cupyx"}) == [
        "sub/deep.py imports numpy.linalg", "top.py imports cupyx"]


def test_backends_never_import_zen():
    assert _offenders(BACKENDS, {"zen"}) == []


def test_zen_never_imports_numpy_or_cupy():
    assert _offenders(ZEN, {"numpy", "cupy", "cupyx"}) == []


PUBLIC_DUNDERS = {"__init__", "__call__"}
FULLY_ANNOTATED = [zen.nn, zen.distributed, zen.loss, zen.optim, zen.functional, zen.autograd,
                   *(importlib.import_module(f"zen.layers.{path.stem}")
                     for path in (ZEN / "layers").glob("[!_]*.py"))]


def _functions_of(member):
    """The functions behind a class member: a method, a property's getter and setter, a
    classmethod's or staticmethod's function."""
    if isinstance(member, property):
        return [f for f in (member.fget, member.fset) if f is not None]
    member = getattr(member, "__func__", member)
    return [member] if inspect.isfunction(member) else []


def _public_methods(classes):
    return [function for cls in classes for name, member in vars(cls).items()
            if not name.startswith("_") or name in PUBLIC_DUNDERS
            for function in _functions_of(member)]


def _module_api(module):
    """The public functions that ``module`` defines (not those it imports), and the public
    methods and properties of the public classes it defines."""
    members = [member for name, member in vars(module).items() if not name.startswith("_")
               and getattr(member, "__module__", None) == module.__name__]
    classes = [member for member in members if inspect.isclass(member)]
    return [m for m in members if inspect.isfunction(m)] + _public_methods(classes)


def _public_functions():
    """zen's exported functions, the public methods of Tensor and the optimisers, and the
    public API of the modules in FULLY_ANNOTATED."""
    exported = [getattr(zen, name) for name in zen.__all__] + [zen.loss.MSE, zen.seed]
    methods = _public_methods([zen.Tensor, zen.optim.Optimizer])
    modules = [f for module in FULLY_ANNOTATED for f in _module_api(module)]
    return [f for f in exported if inspect.isfunction(f)] + methods + modules


def _unannotated(function):
    """The parameters of ``function`` (but self and cls), and "return", left unannotated."""
    signature = inspect.signature(function)
    names = [name for name, parameter in signature.parameters.items()
             if parameter.annotation is parameter.empty and name not in ("self", "cls")]
    return names + ["return"] * (signature.return_annotation is signature.empty)


def test_the_public_annotations_name_things_that_exist():
    """Annotations are never evaluated on a call, so a misspelt one would go unseen: resolve
    every one of the public API's."""
    unresolved = []
    for function in _public_functions():
        try:
            typing.get_type_hints(function)
        except NameError as error:
            unresolved.append(f"{function.__qualname__}: {error}")
    assert unresolved == []


def test_the_public_api_is_annotated():
    """zen's exports, Tensor's and the optimisers' methods, and the public API of the modules
    in FULLY_ANNOTATED: every argument and every result."""
    api = _public_functions()
    qualnames = {f.__qualname__ for f in api}
    assert {"Model.train", "Model.device", "Layer.config", "Model.load", "Conv2D.forward",
            "Communicator.agree", "DistributedSync.sync", "shard", "add", "no_grad",
            "Tensor.backward", "Adam.update", "is_classification"} <= qualnames, qualnames
    missing = {f.__qualname__: names for f in api if (names := _unannotated(f))}
    assert missing == {}


def test_the_annotation_checks_see_properties_classmethods_and_unannotated_arguments():
    class Example:
        def method(self, annotated: int, bare) -> None: ...

        @property
        def read(self) -> int: ...

        @classmethod
        def make(cls): ...

    functions = _public_methods([Example])
    assert [f.__name__ for f in functions] == ["method", "read", "make"]
    assert [_unannotated(f) for f in functions] == [["bare"], [], ["return"]]


def test_the_architecture_map_names_every_module():
    """docs/ARCHITECTURE.md's layer table is where a newcomer looks a module up."""
    text = (ZEN.parent / "docs" / "ARCHITECTURE.md").read_text()
    unnamed = [path.name for path in ZEN.glob("*.py")
               if path.stem != "__init__" and f"{path.name}`" not in text]
    assert unnamed == [] and "`zen/layers/`" in text
