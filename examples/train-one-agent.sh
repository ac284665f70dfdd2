#!/usr/bin/env bash
# One agent learns Fashion-MNIST alone: the whole training set as one shard,
# SGD with Nesterov momentum 0.9 and weight decay 1e-4, driven only by
# repeated ccl-train-step calls.  Prints the test accuracy after every epoch.
#
#   examples/train-one-agent.sh [EPOCHS] [STEPS_PER_CALL] [OUTDIR]
#
# LeNet-5, batch 64 and learning rate 0.05 unless the environment says
# otherwise: ARCH (lenet5 or resnet20), NORM (resnet20's: evonorm or
# groupnorm), BATCH, LR, SEED (of the initial values and the batch order;
# default 1).
set -euo pipefail
# shellcheck source=ccl-bin.sh
. "$(dirname "$0")/ccl-bin.sh"
BIN=$(ccl_bin "$(dirname "$0")")
EPOCHS=${1:-3}
PER_CALL=${2:-10}
OUT=${3:-out/one-agent}
ARCH=${ARCH:-lenet5} BATCH=${BATCH:-64} LR=${LR:-0.05} SEED=${SEED:-1}
arch=(--arch "$ARCH")
[ -z "${NORM:-}" ] || arch+=(--norm "$NORM")

mkdir -p "$OUT"
"$BIN/ccl-partition" --agents 1 --scheme iid --seed "$SEED" -o "$OUT" > /dev/null
"$BIN/ccl-init" "${arch[@]}" --shard "$OUT/shard-000.ccl" --seed "$SEED" -o "$OUT/state.ccl"
samples=$("$BIN/ccl-info" --format yaml "$OUT/shard-000.ccl" | awk -F'"' '/samples:/ {print $2}')
steps_per_epoch=$(((samples + BATCH - 1) / BATCH))

echo "epoch,test_accuracy,test_loss,seconds"
for ((epoch = 1; epoch <= EPOCHS; epoch++)); do
	start=$(date +%s%N)
	for ((done = 0; done < steps_per_epoch; done += PER_CALL)); do
		k=$((steps_per_epoch - done < PER_CALL ? steps_per_epoch - done : PER_CALL))
		"$BIN/ccl-train-step" --state "$OUT/state.ccl" --shard "$OUT/shard-000.ccl" -o "$OUT/state.ccl" \
			--batch "$BATCH" --lr "$LR" --momentum 0.9 --weight-decay 1e-4 --steps "$k"
	done
	end=$(date +%s%N)
	"$BIN/ccl-eval" --test "$OUT/test.ccl" --format yaml "$OUT/state.ccl" |
		awk -v e="$epoch" -v s="$(((end - start) / 1000000))" \
			'/accuracy:/ {a=$2} /loss:/ {l=$2} END {printf "%d,%.4f,%.4f,%.1f\n", e, a, l, s / 1000}'
done
