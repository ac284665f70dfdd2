#!/usr/bin/env bash
# The short demo: partition Fashion-MNIST among 16 agents exactly as the
# paper's experiments do (Dirichlet alpha 0.01, seed 123) and show each
# agent's class mix.
set -euo pipefail
BIN=${CCL_BIN:-$(dirname "$0")/../build/bin}
OUT=${1:-out/demo}

"$BIN/ccl-partition" --agents 16 --alpha 0.01 --seed 123 -o "$OUT/shards"
