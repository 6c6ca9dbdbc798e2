#!/usr/bin/env bash
# Run every benchmark; results land in benchmarks/results/ (JSON + PNG).
#   bash benchmarks/run_all.sh            full runs (≈ 30-40 min on 2 cores)
#   bash benchmarks/run_all.sh --quick    smoke runs (≈ 1 min)
# Timed runs pin themselves to one core (taskset -c 0, NUMBA_NUM_THREADS=1); the rest is niced
# because the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
ARGS=("$@")
run() {
    echo "== $1 ${ARGS[*]-}"
    nice -n 5 "$PY" "benchmarks/$1.py" "${ARGS[@]}"
}
run bench_channelizer
run bench_per
run bench_accuracy
run bench_crowd
run bench_replay
echo "== done: $(ls benchmarks/results)"
