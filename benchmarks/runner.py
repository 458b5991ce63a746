"""Timing, memory, the table and the JSON file."""

import gc
import json
import platform
import statistics
import sys
import time
import tracemalloc

import numpy

import zen
from benchmarks.workloads import WORKLOADS, import_torch

IMPLEMENTATIONS = ("floor", "zen", "torch")
HEADINGS = (f"{'workload':<18}", f"{'floor ms':>10}", f"{'zen ms':>10} {'ratio':>7}",
            f"{'torch ms':>10} {'ratio':>7}", f"{'zen MiB':>8} {'ratio':>7}")


def run(args):
    selected = [w for w in WORKLOADS if not args.only or w.name in args.only]
    if not selected:
        names = ", ".join(repr(w.name) for w in WORKLOADS)
        raise SystemExit(f"--only: no workload of that name; the workloads are {names}")
    if args.device != "cpu" and not args.device.startswith("cuda"):
        raise SystemExit(f"benchmarks: --device must be cpu or cuda (the floor is written in "
                         f"NumPy or CuPy), got {args.device!r}")
    try:
        backend = zen.Tensor(0.0, device=args.device).backend
    except (zen.errors.DeviceUnavailableError, zen.errors.UnknownDeviceError) as error:
        raise SystemExit(f"benchmarks: {error}") from None
    results = []
    for workload_class in selected:
        print(f"running {workload_class.name} ...", file=sys.stderr, flush=True)
        workload = workload_class(args.device, args.quick)
        results.append(measure(workload, backend, 2 if args.quick else args.repeats))
    print(table(results, args))
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"device": args.device, "threads": args.threads, "quick": args.quick,
                       "machine": platform.platform(), "python": platform.python_version(),
                       "numpy": numpy.__version__, "torch": _torch_version(),
                       "results": results}, file, indent=2)
    return 0


def measure(workload, backend, repeats):
    """Median seconds of each implementation, timed in turn (so drift hits all alike), and
    the peak traced host memory of one run of each."""
    runs = {name: getattr(workload, name) for name in IMPLEMENTATIONS}
    if workload.torch_module is None:
        del runs["torch"]
    times = {name: [] for name in runs}
    for function in runs.values():
        function()                          # warm-up: builds caches, lazy layers, pools
    for _ in range(repeats):
        for name, function in runs.items():
            gc.collect()
            started = time.perf_counter()
            function()
            backend.synchronize()
            times[name].append(time.perf_counter() - started)
    result = {"workload": workload.name, "description": workload.description}
    for name, samples in times.items():
        result[f"{name}_seconds"] = statistics.median(samples)
    for name in ("floor", "zen"):
        if backend.on_host:
            result[f"{name}_peak_bytes"] = _peak_memory(runs[name])
    return result


def _peak_memory(function):
    gc.collect()
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _ratio(result, name):
    seconds = result.get(f"{name}_seconds")
    return None if seconds is None else seconds / result["floor_seconds"]


def _torch_version():
    torch = import_torch()
    return None if torch is None else torch.__version__


def _line(cells):
    """``cells`` under ``HEADINGS``, each padded to its column's width, so that an empty one
    (no PyTorch; no host memory on a GPU) leaves the columns after it in place."""
    padded = (cell.rjust(len(heading)) for cell, heading in zip(cells, HEADINGS, strict=True))
    return " | ".join(padded).rstrip()


def _row(result):
    cells = [f"{result['workload']:<18}", f"{result['floor_seconds'] * 1e3:10.2f}"]
    for name in ("zen", "torch"):
        ratio = _ratio(result, name)
        cells.append("" if ratio is None else
                     f"{result[f'{name}_seconds'] * 1e3:10.2f} {ratio:6.2f}x")
    memory = ""
    if "zen_peak_bytes" in result:
        memory = (f"{result['zen_peak_bytes'] / 2**20:8.2f} "
                  f"{result['zen_peak_bytes'] / max(result['floor_peak_bytes'], 1):6.2f}x")
    return _line(cells + [memory])


def table(results, args):
    header = _line(HEADINGS)
    lines = [*_preamble(args), header, "-" * len(header)]
    return "\n".join(lines + [_row(result) for result in results])


def _preamble(args):
    """What the figures are, and whether PyTorch's are there."""
    floor = "NumPy" if args.device == "cpu" else "CuPy"
    settings = (f"device {args.device}, {args.threads} thread(s), median of "
                f"{2 if args.quick else args.repeats}; ratios are to the floor (hand-written "
                f"{floor}, no graph); memory is peak traced host memory")
    torch_version = _torch_version()
    if torch_version is None:
        return [settings, "PyTorch is not installed: its columns are empty"]
    return [settings, f"PyTorch {torch_version}"]
