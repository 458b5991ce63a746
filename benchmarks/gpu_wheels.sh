#!/usr/bin/env bash
# Fetch, on a machine with the package index, the wheels that the GPU check needs and the
# CUDA machine lacks, into .whl/ (ignored by git; carried to the GPU machine with the tree).
# That machine already has scikit-learn, hypothesis and tqdm; MPICH's wheel brings mpirun and
# the MPI library for the NCCL run.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl \
    array-api-compat array-api-strict mpi4py mpich
