#!/usr/bin/env bash
# A whole epoch, scripted with the tools against PyTorch in one process:
# 16 agents on a ring, Fashion-MNIST at alpha 0.01, LeNet-5, batch 32 (118
# iterations), for DSGDm-N, QGM and CCL.  The scripted side is
# examples/experiment.sh --jobs 2 (one ccl-batch per worker and phase): its
# training time, then one ccl-eval of the 16 models and their average.  The
# reference is tests/bench/torch_epoch.py, the same agents and method
# simulated by PyTorch in one process and one thread, in the same run.  The
# ratio is scripted time over PyTorch time (below 1: the tools are faster).
# Needs Debian's python3-torch for the reference; prints what it measured.
#
#   tests/bench/epoch.sh [METHOD...]      (default: dsgdm qgm ccl)
set -u
here=$(cd "$(dirname "$0")" && pwd)
BIN=${CCL_BIN:-$here/../../build/bin}
methods=("${@:-dsgdm}")
[ $# -gt 0 ] || methods=(dsgdm qgm ccl)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
torch=
/usr/bin/python3 -c 'import torch' 2> /dev/null && torch=1

echo "epoch: 16 agents on a ring, LeNet-5, batch 32, 118 iterations; tools with --jobs 2 against PyTorch in one thread"
for m in "${methods[@]}"; do
	CCL_BIN=$BIN "$here/../../examples/experiment.sh" --method "$m" --epochs 1 --milestones none --jobs 2 \
		--out "$work/$m" > "$work/$m.log" 2>&1 || { echo "epoch $m: the scripted run failed"; tail -3 "$work/$m.log"; continue; }
	train=$(awk -F, 'NR == 2 {print $9}' "$work/$m/results.csv")
	models=("$work/$m"/iter/000118/model-*.ccl)
	start=$(date +%s%N)
	"$BIN/ccl-eval" -t "$work/$m/shards/test.ccl" --format yaml "${models[@]}" > /dev/null
	eval_s=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN {printf "%.2f", ns / 1e9}')
	line="epoch $m: tools train ${train} s, evaluate ${eval_s} s (16 models and their average)"
	if [ -n "$torch" ]; then
		read -r torch_train torch_eval < <(/usr/bin/python3 "$here/torch_epoch.py" "$work/$m/shards" "$m" |
			awk '/^torch train:/ {t = $3} /^torch eval:/ {e = $3} END {print t, e}')
		line+="; PyTorch train ${torch_train} s, evaluate ${torch_eval} s"
		line+=$(awk -v a="$train" -v b="$torch_train" -v c="$eval_s" -v d="$torch_eval" \
			'BEGIN {printf "; ratio train %.2f, evaluate %.2f", a / b, c / d}')
	else
		line+="; no PyTorch reference (apt-get install python3-torch)"
	fi
	echo "$line"
done
