#!/usr/bin/env bash
# The whole decentralized experiment, partition to final evaluation, with
# nothing but the ccl tools: DSGDm-N, QGM or CCL on a graph of agents.
#
#   examples/experiment.sh [--agents 16] [--topology ring] [--alpha 0.01]
#       [--method dsgdm|qgm|ccl] [--epochs 40] [--lr 0.01] [--batch 32]
#       [--seed 123] [--jobs 2] [--milestones E1,E2|none] [--lambda-m 0.1]
#       [--lambda-d 0.1] [--qgm on|off] [--qgm-scale S] [--clip C] [--noise SIGMA]
#       [--epsilon E] [--delta D] [--min-count K] [--dataset NAME] [--data PATH]
#       [--arch lenet5|resnet20] [--norm evonorm|groupnorm] [--out DIR] [--fresh]
#
# Per iteration, in lockstep: every agent merges its neighbours' published
# models into its state (QGM-corrected for qgm and ccl) and, for ccl, sends
# each neighbour the feature statistic of its own batch under that
# neighbour's model; then every agent runs one local step (with the two CCL
# terms for ccl) and publishes its model.  The agents of a phase run --jobs
# at a time.  After every epoch a CSV line is appended to DIR/results.csv:
# local-model accuracy (mean, standard deviation), the averaged model's
# accuracy, consensus distance, bytes sent so far per agent (the mean over
# agents of the payload of parameters and of feature statistics), wall
# time, the epsilon the feature statistics have cost so far (at the plan's
# delta; 0 when none are sent, inf when they are sent without noise;
# ccl-privacy(1)), and the same bytes as whole files.  They come from the
# tools' ledgers (examples/ledger.sh), which also give DIR/bytes-agents.csv
# and DIR/bytes-edges.csv: bytes per agent and per edge.
#
# This is examples/plan.sh followed by the bash engine (examples/run-bash.sh)
# one epoch at a time, keeping only the newest iteration's files.  The final
# models are in DIR/iter/<last iteration>/model-I.ccl.
#
# Run again on the same DIR with the same options, it resumes where it
# stopped (interrupted or killed anywhere), keeping results.csv: the final
# models and results are those of an uninterrupted run.  Other options are
# refused, unless --fresh, which plans DIR afresh (deleting its iterations
# and results).
set -euo pipefail

here=$(dirname "$0")
# shellcheck source=ccl-bin.sh
. "$here/ccl-bin.sh"
BIN=$(ccl_bin "$here")
# One OpenBLAS thread per process: the agents of a phase already run in parallel.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
jobs=2 out= method=ccl topology=ring agents=16 plan_args=() fresh=
while [ $# -gt 0 ]; do
	case $1 in
	--fresh) fresh=1; shift; continue ;;
	--jobs) jobs=$2 ;;
	--out) out=$2 ;;
	--method) method=$2; plan_args+=("$1" "$2") ;;
	--topology) topology=$2; plan_args+=("$1" "$2") ;;
	--agents) agents=$2; plan_args+=("$1" "$2") ;;
	-h | --help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) [ $# -ge 2 ] || { echo "experiment.sh: option '$1' needs a value" >&2; exit 2; }
	   plan_args+=("$1" "$2") ;;
	esac
	shift 2
done
out=${out:-out/$method-$topology-$agents}
# The options that make the plan, as the shell quotes them: a rerun with the
# same ones resumes, with others it is refused.
printf -v args '%q ' "${plan_args[@]}"
if [ -z "$fresh" ] && [ -e "$out/plan.env" ]; then
	[ -d "$out/ledger" ] || {
		echo "experiment.sh: $out was planned without ledgers (an older plan.sh); --fresh starts it afresh" >&2
		exit 2
	}
	[ "$(cat "$out/experiment.args" 2> /dev/null)" = "$args" ] || {
		echo "experiment.sh: $out holds another plan; give the options it was made with to resume," \
			"or --fresh to start it afresh" >&2
		exit 2
	}
else
	# The options are recorded once the plan is made: a planning that
	# failed or was interrupted leaves no plan that looks like theirs.
	rm -f "$out/results.csv" "$out/experiment.args"
	"$here/plan.sh" "${plan_args[@]}" --out "$out"
	printf '%s\n' "$args" > "$out/experiment.args"
fi
# shellcheck source=/dev/null
. "$out/plan.env"

iter_dir() { printf '%s/iter/%06d' "$out" "$1"; }
# Private statistics: a sample is released once per epoch to each neighbour.
IFS=, read -ra privacy <<<"${PRIVACY:-}"
noise= max_degree=0
for ((k = 0; k < ${#privacy[@]}; k++)); do [ "${privacy[k]}" != --noise ] || noise=${privacy[k + 1]}; done
for ((i = 0; i < AGENTS; i++)); do d=$(wc -w <<<"${NEIGHBOURS[i]}"); ((d <= max_degree)) || max_degree=$d; done
[ -e "$out/results.csv" ] ||
	echo "epoch,lr,mean_accuracy,std_accuracy,average_model_accuracy,consensus_distance,param_bytes_per_agent,featstat_bytes_per_agent,seconds,epsilon,param_file_bytes_per_agent,featstat_file_bytes_per_agent" \
		> "$out/results.csv"
# Resuming: the epochs with a line are done; the engine goes on from the
# last complete iteration.
epochs_done=$(($(wc -l < "$out/results.csv") - 1))
epochs=$(((ITERATIONS + STEPS_PER_EPOCH - 1) / STEPS_PER_EPOCH)) began=$(date +%s)
for ((epoch = epochs_done; epoch * STEPS_PER_EPOCH < ITERATIONS; epoch++)); do
	# Progress on a terminal only (ccl(7)): the epoch and the time left at
	# this session's pace; cleared before the epoch's results line.
	if [ -t 2 ]; then
		left=
		((epoch == epochs_done)) || left=", about $((($(date +%s) - began) * (epochs - epoch) / (epoch - epochs_done))) s left"
		printf '\rexperiment.sh: epoch %d of %d%s\033[K' $((epoch + 1)) "$epochs" "$left" >&2
	fi
	start=$(date +%s%N)
	t=$((epoch * STEPS_PER_EPOCH))
	last=$((t + STEPS_PER_EPOCH < ITERATIONS ? t + STEPS_PER_EPOCH : ITERATIONS))
	"$here/run-bash.sh" "$out" --jobs "$jobs" --last "$last" --prune --batch
	end=$(date +%s%N)
	now=$(iter_dir "$last")
	# What crossed the edges so far, from the tools' own ledgers, whose
	# lines no step will repeat are then folded into sums.
	read -r param_bytes featstat_bytes param_file_bytes featstat_file_bytes < \
		<("$here/ledger.sh" --fold-before "$last" "$out")
	models=()
	for ((i = 0; i < AGENTS; i++)); do models+=("$now/model-$i.ccl"); done
	"$BIN/ccl-eval" -t "$out/shards/test.ccl" --format yaml "${models[@]}" > "$out/eval-$epoch.yaml"
	# The rate the epoch's last step used, as the state records it.
	epoch_lr=$("$BIN/ccl-info" --format yaml "$now/state-0.ccl" | awk -F'"' '/^  lr:/ {print $2}')
	epsilon=0
	[ "$METHOD" != ccl ] || epsilon=inf
	[ -z "$noise" ] || epsilon=$("$BIN/ccl-privacy" --noise "$noise" --releases $(((epoch + 1) * max_degree)) \
		--delta "$DELTA" --format yaml | awk '/^epsilon:/ {print $2}')
	[ ! -t 2 ] || printf '\r\033[K' >&2
	awk -v e="$epoch" -v lr="$epoch_lr" -v pb="$param_bytes" -v fb="$featstat_bytes" -v s="$(((end - start) / 1000000))" \
		-v eps="$epsilon" -v pfb="$param_file_bytes" -v ffb="$featstat_file_bytes" '
		/^mean_accuracy:/ {m = $2} /^std_accuracy:/ {sd = $2}
		/^average_model_accuracy:/ {a = $2} /^consensus_distance:/ {c = $2}
		END {printf "%d,%g,%.4f,%.4f,%.4f,%.6g,%.0f,%.0f,%.1f,%s,%.0f,%.0f\n", e, lr, m, sd, a, c, pb, fb, s / 1000, eps, pfb, ffb}' \
		"$out/eval-$epoch.yaml" | tee -a "$out/results.csv"
done
