"""A device that is unknown or missing raises zen's own exception, whichever way zen reached
the backends, saying what to install or what is missing and that the CPU works; and zen
refuses to start on a ``backends`` that is not its own."""

import ast
import os
import subprocess
import sys
import types

import pytest

import backends
import zen
from backends import cupy_backend
from zen import Tensor, devices
from zen.errors import DeviceUnavailableError, UnknownDeviceError, ZenError
from zen.nn import Linear, Model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_ON_THE_CPU = 'device="cpu" (--device cpu'


class _DLPackOn:
    """An array that says it lives on DLPack device (``kind``, ``index``)."""

    def __init__(self, kind, index):
        self.place = (kind, index)

    def __dlpack_device__(self):
        return self.place


def _saved_model(directory):
    path = directory / "model.npz"
    Model([Linear(2)], input_shape=(3,)).save(path)
    return path


# Every way a user names a device, each given "tpu" (no such kind) and "cuda:7" (no such GPU).
ROUTES = {
    "Tensor(device=)": lambda device, directory: Tensor(1.0, device=device),
    "Tensor.to": lambda device, directory: Tensor(1.0).to(device),
    "Model(device=)": lambda device, directory: Model([Linear(2)], device=device),
    "Model.to": lambda device, directory: Model([Linear(2)], input_shape=(3,)).to(device),
    "Model.load(device=)": lambda device, directory: Model.load(_saved_model(directory),
                                                                device=device),
    "zen.from_dlpack": lambda device, directory: zen.from_dlpack(
        _DLPackOn(*{"tpu": (99, 0), "cuda:7": (2, 7)}[device])),
}
WRONG = {"tpu": (UnknownDeviceError, backends.UnknownDeviceError),
         "cuda:7": (DeviceUnavailableError, backends.DeviceUnavailableError)}


@pytest.mark.parametrize("device", WRONG)
@pytest.mark.parametrize("route", ROUTES)
def test_every_route_to_a_device_raises_zens_error_with_the_backends_as_cause(route, device,
                                                                              tmp_path):
    zens, backends_own = WRONG[device]
    with pytest.raises(zens) as caught:
        ROUTES[route](device, tmp_path)
    assert isinstance(caught.value, ZenError)
    assert type(caught.value.__cause__) is backends_own
    assert str(caught.value.__cause__) in str(caught.value)
    assert RUN_ON_THE_CPU in str(caught.value)


def test_zens_and_the_backends_except_clauses_both_catch_device_errors():
    caught = []
    for clause in (ZenError, UnknownDeviceError, backends.UnknownDeviceError, ValueError):
        try:
            Tensor(1.0, device="tpu")
        except clause as error:
            caught.append(type(error))
    for clause in (ZenError, DeviceUnavailableError, backends.DeviceUnavailableError,
                   RuntimeError):
        try:
            Tensor(1.0, device="cuda:7")
        except clause as error:
            caught.append(type(error))
    assert caught == [UnknownDeviceError] * 4 + [DeviceUnavailableError] * 4


def test_unknown_device_lists_the_known_kinds():
    with pytest.raises(UnknownDeviceError, match=r"unknown device 'tpu'.*'cpu'.*'cuda'"):
        Tensor(1.0, device="tpu")
    with pytest.raises(UnknownDeviceError, match="device must be a string"):
        Tensor(1.0, device=3)


REGISTRY = {"get_backend", "backend_for_array", "backend_for_dlpack_device", "collectives"}


def test_zen_reaches_the_backend_registry_only_through_zen_devices():
    """So that no route can let a backends exception past zen's."""
    others = []
    for name in sorted(os.listdir(os.path.join(ROOT, "zen"))):
        if not name.endswith(".py") or name == "devices.py":
            continue
        with open(os.path.join(ROOT, "zen", name)) as file:
            tree = ast.parse(file.read())
        for node in ast.walk(tree):
            called = node.func if isinstance(node, ast.Call) else None
            if (isinstance(called, ast.Attribute) and called.attr in REGISTRY
                    and not (isinstance(called.value, ast.Name) and called.value.id == "devices")):
                others.append(f"zen/{name}:{node.lineno} calls {called.attr}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("backends"):
                others += [f"zen/{name}:{node.lineno} imports {alias.name}"
                           for alias in node.names if alias.name in REGISTRY]
    assert not others


def _fake_cupy(monkeypatch, count=1, no_gpu=None, no_toolkit=None, nccl=None):
    """A stand-in for CuPy for CUDA 12.x, whether or not the real one is installed: ``count``
    GPUs, or getDeviceCount raising ``no_gpu`` (a message); NVRTC raising ``no_toolkit`` (an
    exception); ``nccl`` as its NCCL module."""
    class CUDARuntimeError(RuntimeError):
        pass

    def device_count():
        if no_gpu:
            raise CUDARuntimeError(no_gpu)
        return count

    def nvrtc_version():
        if no_toolkit:
            raise no_toolkit
        return (12, 8)

    cuda = types.ModuleType("cupy.cuda")
    cuda.runtime = types.SimpleNamespace(CUDARuntimeError=CUDARuntimeError,
                                         getDeviceCount=device_count,
                                         runtimeGetVersion=lambda: 12080)
    cuda.nvrtc = types.SimpleNamespace(getVersion=nvrtc_version)
    cuda.nccl = nccl
    cupy = types.ModuleType("cupy")
    cupy.cuda = cuda
    for name, module in (("cupy", cupy), ("cupy.cuda", cuda), ("cupy.cuda.nccl", nccl)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(backends.registry, "_backends", {})
    return cupy


def test_cuda_without_cupy_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)      # makes `import cupy` fail
    monkeypatch.setattr(backends.registry, "_backends", {})
    with pytest.raises(DeviceUnavailableError, match=r'needs CuPy, which is not installed: .*'
                       r'pip install "cupy-cuda12x\[ctk\]>=14" for CUDA 12.x or '
                       r'"cupy-cuda13x\[ctk\]>=14" for 13.x .*pip install "\.\[cuda12\]"'
                       ) as caught:
        Tensor(1.0, device="cuda")
    assert RUN_ON_THE_CPU in str(caught.value)


def test_cuda_index_beyond_the_gpus_says_how_many_there_are(monkeypatch):
    _fake_cupy(monkeypatch, count=1)
    with pytest.raises(DeviceUnavailableError, match=r"'cuda:7' .* 1 CUDA GPU\(s\), cuda:0"):
        Tensor(1.0, device="cuda:7")


def test_cuda_without_a_gpu_says_what_is_missing_and_what_to_install(monkeypatch):
    _fake_cupy(monkeypatch, no_gpu="cudaErrorNoDevice: no CUDA-capable device is detected")
    with pytest.raises(DeviceUnavailableError, match=r"CuPy for CUDA 12\.x found no usable GPU "
                       r"\(cudaErrorNoDevice: no CUDA-capable.*nvidia-smi.*"
                       r'"cupy-cuda12x\[ctk\]>=14"'):
        Tensor(1.0, device="cuda")


def test_cuda_without_the_toolkits_libraries_says_to_install_cupy_with_them(monkeypatch):
    """CuPy 14 without its [ctk] wheels imports and finds the GPU, then fails in the first op;
    zen says so when the device is asked for."""
    _fake_cupy(monkeypatch, no_toolkit=RuntimeError('Failure finding "libnvrtc.so.12"'))
    with pytest.raises(DeviceUnavailableError, match=r"cannot load the CUDA toolkit's libraries "
                       r'\(Failure finding "libnvrtc.so.12"\); install CuPy with them: '
                       r'pip install "cupy-cuda12x\[ctk\]>=14" .*"\.\[cuda12\]"'):
        Tensor(1.0, device="cuda")


def test_nccl_that_did_not_load_is_told_by_its_missing_api_not_by_available(monkeypatch):
    """CuPy 14 can say ``nccl.available`` and lack the API when libnccl failed to load."""
    nccl = types.ModuleType("cupy.cuda.nccl")
    nccl.available = True
    cupy = _fake_cupy(monkeypatch, nccl=nccl)
    cuda = types.SimpleNamespace(collectives=lambda comm: cupy_backend._NCCL(comm, cupy))
    with pytest.raises(DeviceUnavailableError, match=r"needs NCCL, which this CuPy cannot load: "
                       r"pip install nvidia-nccl-cu12 \(.*the cuda12 extra") as caught:
        devices.collectives(cuda, comm=None)
    assert type(caught.value.__cause__) is backends.DeviceUnavailableError
    assert RUN_ON_THE_CPU in str(caught.value)


def test_zen_refuses_a_backends_module_that_is_not_its_own(tmp_path):
    """A backends.py of the user's own, first on sys.path, would shadow zen's."""
    (tmp_path / "backends.py").write_text("VERSION = 1\n")
    result = subprocess.run([sys.executable, "-c", "import zen"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path),
                                                                              ROOT])})
    assert result.returncode != 0
    assert (f"ImportError: zen: the module 'backends' that Python found, at "
            f"{tmp_path / 'backends.py'}, is not zen's own array backends") in result.stderr
