#!/usr/bin/env bash
# The GPU check: one command for a CUDA machine that already has CuPy, NumPy, pytest and
# PyTorch. It installs nothing from the network: the wheels it needs (array-api-compat,
# array-api-strict, mpi4py, MPICH) travel in .whl/ (benchmarks/gpu_wheels.sh fetches them).
#
#   bash benchmarks/gpu_check.sh        # about 5 minutes on one GPU; logs in $OUT or /tmp
#
# It runs the test suite's CUDA cases (every op on cuda against cpu included), zen.capture's
# cuda cases once more on a line of their own, each example at its default settings on cuda
# and on cpu, the digits example data-parallel over NCCL (one process: one GPU), and the
# benchmark runner on cuda, then prints one table last.
set -u
cd "$(dirname "$0")/.."
logs=${OUT:-/tmp/zen-gpu-check}
mkdir -p "$logs"
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/zen-site \
        $(ls .whl/*.whl | grep -v /mpich-)
    export PYTHONPATH=/tmp/zen-site
    # MPICH's wheel needs a prefix (it installs bin/ and lib/); mpi4py finds libmpi through
    # the loader path.
    python3 -m pip install -q --no-index --no-deps --prefix /tmp/zen-mpi .whl/mpich-*.whl
    export PATH="/tmp/zen-mpi/bin:$PATH"
    export LD_LIBRARY_PATH="/tmp/zen-mpi/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$logs/gpu.txt"

# A CuPy or driver fault must fail the CUDA cases, not turn them into skips.
ZEN_REQUIRE_DEVICES=cuda timeout 240 python3 -m pytest -q -p no:cacheprovider -k cuda tests/ > "$logs/tests.log" 2>&1
tests=$(tail -n 1 "$logs/tests.log")
# zen.capture on cuda: captured steps bit-identical to eager ones, every op, layer, loss and
# optimiser, replayed as generated code and as CUDA graphs (a row of its own).
ZEN_REQUIRE_DEVICES=cuda timeout 180 python3 -m pytest -q -p no:cacheprovider -k cuda \
    tests/test_capture.py tests/test_capture_ops.py tests/test_graphs.py \
    > "$logs/capture.log" 2>&1
capture=$(tail -n 1 "$logs/capture.log")
# What the digits step's CUDA graphs became: how many graphs, the calls between them, and
# why a run of calls could not be captured (if one could not).
graphs=$(timeout 60 python3 - 2>&1 <<'EOF' | tail -n 1
from benchmarks.workloads import DigitsEpoch
workload = DigitsEpoch("cuda", True)
for _ in range(3):
    workload.captured()
[[plan]] = workload.plans["train_step"].plans.values()
program = plan.replay
print(f"{getattr(program, 'graphs', 0)} graphs; outside them: "
      f"{getattr(program, 'outside', None)}; fallbacks: {getattr(program, 'fallbacks', None)}; "
      f"not a program: {plan.graph_reason}")
EOF
)

examples=""
for program in mnist cnn rnn fizzbuzz; do
    for device in cpu cuda; do
        timeout 120 python3 "examples/$program.py" --device "$device" \
            > "$logs/$program-$device.log" 2>/dev/null
        result=$(grep -E "^(digits|sin|fizzbuzz)" "$logs/$program-$device.log" | tail -n 1)
        examples+=$(printf '\n| %s | %s | %s |' "$program" "$device" "${result:-FAILED}")
    done
done

timeout 120 mpirun -n 1 python3 examples/mnist.py --device cuda --distributed \
    > "$logs/mnist-cuda-nccl.log" 2>&1
result=$(grep -E "^digits" "$logs/mnist-cuda-nccl.log" | tail -n 1)
examples+=$(printf '\n| mnist | cuda, NCCL, mpirun -n 1 | %s |' "${result:-FAILED}")

timeout 240 python3 -m benchmarks --device cuda --json "$logs/benchmarks-cuda.json" \
    > "$logs/benchmarks-cuda.txt" 2>&1

echo
echo "## GPU check, $(date -u +%Y-%m-%d), $(cat "$logs/gpu.txt")"
echo
echo "tests (cuda cases): $tests"
echo "zen.capture (cuda cases): $capture"
echo "digits step as CUDA graphs: $graphs"
echo
echo "| example | device | result |"
echo "|---|---|---|$examples"
echo
cat "$logs/benchmarks-cuda.txt"
