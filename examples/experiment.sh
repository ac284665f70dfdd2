#!/usr/bin/env bash
# The whole decentralized experiment, partition to final evaluation, with
# nothing but the ccl tools: DSGDm-N, QGM or CCL on a graph of agents.
#
#   examples/experiment.sh [--agents 16] [--topology ring] [--alpha 0.01]
#       [--method dsgdm|qgm|ccl] [--epochs 40] [--lr 0.01] [--batch 32]
#       [--seed 123] [--jobs 2] [--milestones E1,E2|none] [--lambda-m 0.1]
#       [--lambda-d 0.1] [--qgm on|off] [--data IDX_DIR] [--out DIR]
#
# Per iteration, in lockstep: every agent merges its neighbours' published
# models into its state (QGM-corrected for qgm and ccl) and, for ccl, sends
# each neighbour the feature statistic of its own batch under that
# neighbour's model; then every agent runs one local step (with the two CCL
# terms for ccl) and publishes its model.  The agents of a phase run --jobs
# at a time.  After every epoch a CSV line is appended to DIR/results.csv:
# local-model accuracy (mean, standard deviation), the averaged model's
# accuracy, consensus distance, bytes sent per agent (parameters, feature
# statistics) and wall time.
set -euo pipefail

BIN=${CCL_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/bin}
# One OpenBLAS thread per process: the agents of a phase already run in parallel.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
agents=16 topology=ring alpha=0.01 method=ccl epochs=40 lr=0.01 batch=32 seed=123 jobs=2 out= milestones=
data=() qgm_choice=
lambda_m=0.1 lambda_d=0.1
while [ $# -gt 0 ]; do
	case $1 in
	--agents) agents=$2 ;;
	--topology) topology=$2 ;;
	--alpha) alpha=$2 ;;
	--method) method=$2 ;;
	--epochs) epochs=$2 ;;
	--lr) lr=$2 ;;
	--batch) batch=$2 ;;
	--seed) seed=$2 ;;
	--jobs) jobs=$2 ;;
	--milestones) milestones=$2 ;;
	--lambda-m) lambda_m=$2 ;;
	--lambda-d) lambda_d=$2 ;;
	--data) data=(--data "$2") ;;
	--qgm) qgm_choice=$2 ;;
	--out) out=$2 ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "experiment.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift 2
done
case $method in dsgdm | qgm | ccl) ;; *) echo "experiment.sh: --method is dsgdm, qgm or ccl" >&2; exit 2 ;; esac
out=${out:-out/$method-$topology-$agents}
mkdir -p "$out/fs"

# Learning rate divided by 10 at epochs floor(0.5 E) and floor(0.75 E)
# unless other milestones (or none) are given.
milestones=${milestones:-$((epochs / 2)),$((epochs * 3 / 4))}
schedule=(--milestones "$milestones")
[ "$milestones" = none ] && schedule=() milestones=
# QGM is part of qgm and ccl; --qgm on|off overrides that for variants.
qgm=; [ "$method" = dsgdm ] || qgm=--qgm
case $qgm_choice in on) qgm=--qgm ;; off) qgm= ;; "") ;; *) echo "experiment.sh: --qgm is on or off" >&2; exit 2 ;; esac

"$BIN/ccl-partition" --agents "$agents" --alpha "$alpha" --seed "$seed" "${data[@]}" -o "$out/shards" \
	> "$out/histogram.txt"
topo=$("$BIN/ccl-topology" --agents "$agents" --topology "$topology" --format yaml)
gamma=$(awk '/^gamma:/ {print $2}' <<<"$topo")
declare -a neighbours weights
while read -r i self rest; do
	neighbours[i]=$(tr ' ' '\n' <<<"$rest" | cut -d: -f1 | tr '\n' ' ')
	weights[i]=$self,$(tr ' ' '\n' <<<"$rest" | cut -d: -f2 | paste -sd,)
done < <("$BIN/ccl-topology" --agents "$agents" --topology "$topology" --format lines)

for ((i = 0; i < agents; i++)); do
	"$BIN/ccl-init" --arch lenet5 --shard "$out/shards/shard-$(printf %03d $i).ccl" --seed "$seed" \
		-o "$out/state-$i.ccl" -m "$out/model-$i.ccl"
done
samples=$("$BIN/ccl-info" --format yaml "$out/shards/shard-000.ccl" | awk -F'"' '/samples:/ {print $2}')
steps=$(((samples + batch - 1) / batch))

# Phase A for agent i: gossip, then (ccl) the statistics it sends.
merge_and_send() {
	local i=$1 args=() fs=() j
	for j in ${neighbours[i]}; do
		args+=(-N "$out/model-$j.ccl")
		fs+=(-M "$out/model-$j.ccl" -o "$out/fs/$i-$j.ccl")
	done
	"$BIN/ccl-merge" -S "$out/state-$i.ccl" "${args[@]}" --weights "${weights[i]}" --gamma "$gamma" $qgm \
		-o "$out/state-$i.ccl"
	if [ "$method" = ccl ]; then
		"$BIN/ccl-featstat" -d "$out/shards/shard-$(printf %03d "$i").ccl" -S "$out/state-$i.ccl" \
			--batch "$batch" "${fs[@]}"
	fi
}

# Phase B for agent i: one local step; the new model is published after the
# phase, since neighbours still read the old one for their model-variant term.
local_step() {
	local i=$1 ccl=() j
	if [ "$method" = ccl ]; then
		for j in ${neighbours[i]}; do ccl+=(-N "$out/model-$j.ccl" -f "$out/fs/$j-$i.ccl"); done
		ccl+=(--lambda-m "$lambda_m" --lambda-d "$lambda_d")
	fi
	"$BIN/ccl-train-step" -S "$out/state-$i.ccl" -d "$out/shards/shard-$(printf %03d "$i").ccl" \
		-o "$out/state-$i.ccl" -m "$out/next-$i.ccl" --lr "$lr" "${schedule[@]}" \
		--batch "$batch" "${ccl[@]}"
}

# Runs a phase for every agent, --jobs workers at a time; fails if any agent failed.
run_phase() {
	local phase=$1 w pids=()
	for ((w = 0; w < jobs; w++)); do
		(for ((i = w; i < agents; i += jobs)); do $phase "$i"; done) &
		pids+=($!)
	done
	for w in "${pids[@]}"; do wait "$w"; done
}

bytes_of() { stat -c %s "$1"; }
param_bytes=0 featstat_bytes=0
degree=$(wc -w <<<"${neighbours[0]}")
echo "epoch,lr,mean_accuracy,std_accuracy,average_model_accuracy,consensus_distance,param_bytes_per_agent,featstat_bytes_per_agent,seconds" \
	> "$out/results.csv"
for ((epoch = 0; epoch < epochs; epoch++)); do
	start=$(date +%s%N)
	for ((t = 0; t < steps; t++)); do
		run_phase merge_and_send
		run_phase local_step
		for ((i = 0; i < agents; i++)); do mv "$out/next-$i.ccl" "$out/model-$i.ccl"; done
	done
	end=$(date +%s%N)
	param_bytes=$((param_bytes + steps * degree * $(bytes_of "$out/model-0.ccl")))
	[ "$method" = ccl ] && featstat_bytes=$((featstat_bytes + steps * degree * $(bytes_of "$out/fs/0-${neighbours[0]%% *}.ccl")))
	models=()
	for ((i = 0; i < agents; i++)); do models+=("$out/model-$i.ccl"); done
	"$BIN/ccl-eval" -t "$out/shards/test.ccl" --format yaml "${models[@]}" > "$out/eval-$epoch.yaml"
	epoch_lr=$(awk -v e="$epoch" -v m="$milestones" -v lr="$lr" \
		'BEGIN {n = split(m, ms, ","); for (k = 1; k <= n; k++) if (e >= ms[k]) lr /= 10; print lr}')
	awk -v e="$epoch" -v lr="$epoch_lr" -v pb="$param_bytes" -v fb="$featstat_bytes" -v s="$(((end - start) / 1000000))" '
		/^mean_accuracy:/ {m = $2} /^std_accuracy:/ {sd = $2}
		/^average_model_accuracy:/ {a = $2} /^consensus_distance:/ {c = $2}
		END {printf "%d,%g,%.4f,%.4f,%.4f,%.6g,%.0f,%.0f,%.1f\n", e, lr, m, sd, a, c, pb, fb, s / 1000}' \
		"$out/eval-$epoch.yaml" | tee -a "$out/results.csv"
done
