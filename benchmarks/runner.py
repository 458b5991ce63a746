"""Timing, memory, the table and the JSON file.

The protocol (benchmarks/NOTES.md says why): every repeat runs each implementation in turn
(floor, zen, captured, torch), so that a change in the machine's load hits all of them
alike; in a repeat, each runs ``calls`` times back to back after one garbage collection, and
the repeat's figure is the fastest of those calls (what the code costs, without the
moments the machine was busy elsewhere); a workload's figure is the median of its repeats.
"""

import gc
import json
import math
import platform
import statistics
import sys
import time
import tracemalloc

import numpy

import zen
from benchmarks.workloads import WORKLOADS, import_torch

IMPLEMENTATIONS = ("floor", "zen", "captured", "torch")
HEADINGS = (f"{'workload':<18}", f"{'floor ms':>10}", f"{'zen ms':>10} {'ratio':>7}",
            f"{'captured ms':>11} {'ratio':>7}", f"{'torch ms':>10} {'ratio':>7}",
            f"{'zen MiB':>8} {'ratio':>7}")
# Each implementation runs for about this long in each repeat (at least MIN_CALLS calls,
# at most MAX_CALLS), so that the fastest call is one the machine's other work missed.
SECONDS_PER_REPEAT = 0.1
MIN_CALLS, MAX_CALLS = 3, 50
# Clocks: the wall clock, or the CPU time of the timing thread, which leaves out the time
# the thread waits while other processes run (valid with one thread, on the CPU only).
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def run(args):
    selected = [w for w in WORKLOADS if not args.only or w.name in args.only]
    if not selected:
        names = ", ".join(repr(w.name) for w in WORKLOADS)
        raise SystemExit(f"--only: no workload of that name; the workloads are {names}")
    if args.device != "cpu" and not args.device.startswith("cuda"):
        raise SystemExit(f"benchmarks: --device must be cpu or cuda (the floor is written in "
                         f"NumPy or CuPy), got {args.device!r}")
    clock = chosen_clock(args)
    try:
        backend = zen.Tensor(0.0, device=args.device).backend
    except (zen.errors.DeviceUnavailableError, zen.errors.UnknownDeviceError) as error:
        raise SystemExit(f"benchmarks: {error}") from None
    results = []
    for workload_class in selected:
        print(f"running {workload_class.name} ...", file=sys.stderr, flush=True)
        workload = workload_class(args.device, args.quick)
        results.append(measure(workload, backend, repeats(args), CLOCKS[clock]))
    print(table(results, args))
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"device": args.device, "threads": args.threads, "quick": args.quick,
                       "clock": clock, "repeats": repeats(args),
                       "machine": platform.platform(), "python": platform.python_version(),
                       "numpy": numpy.__version__, "torch": _torch_version(),
                       "results": results}, file, indent=2)
    return 0


def repeats(args):
    return 2 if args.quick else args.repeats


def chosen_clock(args):
    """The clock ``args.clock`` names; "auto" is the thread's CPU time where it sees all the
    work (the CPU, one thread) and the wall clock elsewhere."""
    cpu_valid = args.device == "cpu" and args.threads == 1
    if args.clock == "auto":
        return "cpu" if cpu_valid else "wall"
    if args.clock == "cpu" and not cpu_valid:
        raise SystemExit(f"benchmarks: --clock cpu times only the calling thread, so it needs "
                         f"--device cpu and --threads 1 (got --device {args.device}, "
                         f"--threads {args.threads}); use --clock wall")
    return args.clock


def implementations(workload):
    """name -> the workload's function for each implementation it has."""
    runs = {name: getattr(workload, name, None) for name in IMPLEMENTATIONS}
    if workload.torch_module is None:
        runs["torch"] = None
    return {name: function for name, function in runs.items() if function is not None}


def measure(workload, backend, repeats, clock=time.perf_counter):
    """Seconds of each implementation (see the module's protocol) and the peak traced host
    memory of one run of the floor and of zen."""
    runs = implementations(workload)
    for function in runs.values():      # warm-up: builds caches, lazy layers, pools
        function()
    slowest = max(_seconds(function, backend, clock) for function in runs.values())
    calls = min(MAX_CALLS, max(MIN_CALLS, math.ceil(SECONDS_PER_REPEAT / max(slowest, 1e-9))))
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, function in runs.items():
            gc.collect()
            times[name].append(min(_seconds(function, backend, clock) for _ in range(calls)))
    result = {"workload": workload.name, "description": workload.description,
              "calls_per_repeat": calls}
    for name, samples in times.items():
        result[f"{name}_seconds"] = statistics.median(samples)
    for name in ("floor", "zen"):
        if backend.on_host:
            result[f"{name}_peak_bytes"] = _peak_memory(runs[name])
    return result


def _seconds(function, backend, clock):
    started = clock()
    function()
    backend.synchronize()
    return clock() - started


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
    (no PyTorch; nothing captured; no host memory on a GPU) leaves the columns after it in
    place."""
    padded = (cell.rjust(len(heading)) for cell, heading in zip(cells, HEADINGS, strict=True))
    return " | ".join(padded).rstrip()


def _time_cell(result, name, width):
    ratio = _ratio(result, name)
    if ratio is None:
        return ""
    return f"{result[f'{name}_seconds'] * 1e3:{width}.2f} {ratio:6.2f}x"


def _row(result):
    cells = [f"{result['workload']:<18}", f"{result['floor_seconds'] * 1e3:10.2f}",
             _time_cell(result, "zen", 10), _time_cell(result, "captured", 11),
             _time_cell(result, "torch", 10)]
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
    clock = {"cpu": "the thread's CPU time", "wall": "wall-clock time"}[chosen_clock(args)]
    settings = (f"device {args.device}, {args.threads} thread(s), {clock}: median over "
                f"{repeats(args)} interleaved repeats of the fastest of several calls; ratios "
                f"are to the floor (hand-written {floor}, no graph); memory is peak traced "
                f"host memory")
    torch_version = _torch_version()
    if torch_version is None:
        return [settings, "PyTorch is not installed: its columns are empty"]
    return [settings, f"PyTorch {torch_version}"]
