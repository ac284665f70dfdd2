#!/usr/bin/env bash
# A seed study: each method or named variant run under each of several
# seeds, to the end or to its divergence, then a table of mean and standard
# deviation over seeds with the diverged runs counted and located.
#
#   examples/seed-study.sh [--seeds 123,1,2,3,4] [--epochs 20] [--jobs 2]
#       [--out DIR] SPEC... [-- EXPERIMENT_OPTION...]
#
# A SPEC is a method (dsgdm, qgm or ccl) or NAME=OPTIONS, a named variant
# and its examples/experiment.sh options, for example
#   'ccl-lm0.01=--method ccl --lambda-m 0.01'
# Options after -- go to every run (--agents, --alpha, --batch-order...).
# Each run is examples/experiment.sh --seed S --epochs E, in
# DIR/runs/NAME/seed-S (its log next to it, as seed-S.log).  A run that
# diverges (a local step whose parameters, or a model whose features, are
# no longer finite) is a result, not an error: its row says where (the
# epoch, the step within it and the agent of the first model that went
# non-finite) and the study goes on.  Rerunning the study skips the runs that have a result.
#
# Results: DIR/study.csv (one row per run) and DIR/summary.md (one row per
# SPEC: the final local-model accuracy, mean over agents, then mean and
# standard deviation of that over the seeds that finished; the same for the
# averaged model; the diverged runs; then every run's figures by seed),
# which is also printed.  The status is
# non-zero only if a run failed for another reason than divergence.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
seeds=123,1,2,3,4 epochs=20 jobs=2 out=study specs=() common=()
while [ $# -gt 0 ]; do
	case $1 in
	--seeds | --epochs | --jobs | --out)
		[ $# -ge 2 ] || { echo "seed-study.sh: option '$1' needs a value" >&2; exit 2; }
		declare "${1#--}=$2"
		shift 2 ;;
	-h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; common=("$@"); break ;;
	-*) echo "seed-study.sh: unknown option '$1'" >&2; exit 2 ;;
	*) specs+=("$1"); shift ;;
	esac
done
[ ${#specs[@]} -gt 0 ] || { echo "seed-study.sh: name at least one method or NAME=OPTIONS" >&2; exit 2; }
[[ $seeds =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "seed-study.sh: --seeds is a comma-separated list of integers" >&2; exit 2; }
[[ $epochs =~ ^[1-9][0-9]*$ ]] || { echo "seed-study.sh: --epochs must be a positive integer" >&2; exit 2; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "seed-study.sh: --jobs must be a positive integer" >&2; exit 2; }
for spec in "${specs[@]}"; do
	name=${spec%%=*}
	[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || { echo "seed-study.sh: '$name' is not a plain name" >&2; exit 2; }
	[[ $spec = *=* ]] || case $name in dsgdm | qgm | ccl) ;; *)
		echo "seed-study.sh: '$name' is not a method; write NAME=OPTIONS for a variant" >&2; exit 2 ;; esac
done
IFS=, read -ra seed_list <<<"$seeds"

# Runs one (spec, seed) and writes its status line: "finished", "diverged
# EPOCH STEP AGENT" or "failed".
run_one() {
	local name=$1 options=$2 seed=$3 dir log opts status
	dir=$out/runs/$name/seed-$seed log=$out/runs/$name/seed-$seed.log
	read -ra opts <<<"$options"
	mkdir -p "$out/runs/$name"
	if "$here/experiment.sh" "${opts[@]}" "${common[@]}" --seed "$seed" --epochs "$epochs" --jobs "$jobs" \
		--out "$dir" > "$log" 2>&1; then
		status=finished
	elif grep -q "diverged" "$log"; then
		# Where: the first model that went non-finite, as iteration T (from
		# 1) and agent I, read from the tools' messages: a local step that
		# diverged (the state it started from, merged-I of iteration T), or
		# a statistic under a neighbour's model that did (model-I of
		# iteration T).  T is step (T-1) mod S of epoch (T-1) div S.
		# shellcheck source=/dev/null
		status=$(. "$dir/plan.env"
			{
				grep -A1 'training diverged' "$log" |
					sed -n 's|.* -S [^ ]*/iter/0*\([0-9][0-9]*\)/merged-\([0-9]*\)\.ccl .*|\1 \2|p'
				sed -n 's|.*/iter/0*\([0-9][0-9]*\)/model-\([0-9]*\)\.ccl: features under this model are not finite.*|\1 \2|p' "$log"
				sed -n 's/.*train of iteration \([0-9]*\) failed for agent \([0-9]*\)$/\1 \2/p' "$log"
			} | sort -n -k1,1 -k2,2 | head -1 |
				while read -r t agent; do
					echo "diverged $(((t - 1) / STEPS_PER_EPOCH)) $(((t - 1) % STEPS_PER_EPOCH)) $agent"
				done)
		status=${status:-diverged ? ? ?}
	else
		status=failed
	fi
	echo "$status" > "$out/runs/$name/seed-$seed.status"
}

mkdir -p "$out"
for spec in "${specs[@]}"; do
	name=${spec%%=*} options=--method\ $spec
	[[ $spec = *=* ]] && options=${spec#*=}
	for seed in "${seed_list[@]}"; do
		if [ -s "$out/runs/$name/seed-$seed.status" ]; then
			echo "$name, seed $seed: $(cat "$out/runs/$name/seed-$seed.status") (earlier)" >&2
			continue
		fi
		start=$SECONDS
		run_one "$name" "$options" "$seed"
		echo "$name, seed $seed: $(cat "$out/runs/$name/seed-$seed.status") ($((SECONDS - start)) s)" >&2
	done
done

# One row per run: the last completed epoch's figures (of the whole run
# when it finished).
{
	echo "name,seed,status,epochs_done,local_mean_accuracy,local_std_accuracy,average_model_accuracy,consensus_distance,diverged_epoch,diverged_step,diverged_agent"
	for spec in "${specs[@]}"; do
		name=${spec%%=*}
		for seed in "${seed_list[@]}"; do
			read -r status e s a < "$out/runs/$name/seed-$seed.status"
			csv=$out/runs/$name/seed-$seed/results.csv
			last=$( [ -f "$csv" ] && awk -F, 'NR > 1 {n++; line = $3 "," $4 "," $5 "," $6} END {print n + 0 "," line}' "$csv" ||
				echo "0,")
			[ "${last#*,}" ] || last="${last%%,*},,,,"
			echo "$name,$seed,$status,$last,${e:-},${s:-},${a:-}"
		done
	done
} > "$out/study.csv"

# Mean and (population) standard deviation over the seeds that finished.
awk -F, -v epochs="$epochs" '
	NR == 1 { next }
	!($1 in seen) { seen[$1] = 1; order[++names] = $1 }
	{ runs[$1]++ }
	$3 == "finished" { n[$1]++; l[$1] += $5; l2[$1] += $5 * $5; g[$1] += $7; g2[$1] += $7 * $7 }
	$3 == "diverged" { d[$1]++; where[$1] = where[$1] (where[$1] ? "; " : "") sprintf("seed %s: epoch %s step %s agent %s", $2, $9, $10, $11) }
	$3 == "failed" { f[$1]++ }
	function sd(s, s2, k) { v = s2 / k - (s / k) ^ 2; return sqrt(v > 0 ? v : 0) }
	END {
		printf "| run | seeds | finished | diverged | local accuracy, mean ± std over seeds | averaged model | where runs diverged |\n"
		printf "|---|---|---|---|---|---|---|\n"
		for (i = 1; i <= names; i++) {
			k = order[i]; fin = n[k] + 0
			loc = fin ? sprintf("%.2f%% ± %.2f", 100 * l[k] / fin, 100 * sd(l[k], l2[k], fin)) : "n/a"
			avg = fin ? sprintf("%.2f%% ± %.2f", 100 * g[k] / fin, 100 * sd(g[k], g2[k], fin)) : "n/a"
			printf "| %s | %d | %d | %d%s | %s | %s | %s |\n", k, runs[k], fin, d[k] + 0,
			       f[k] ? sprintf(" (+%d failed)", f[k]) : "", loc, avg, where[k] ? where[k] : "-"
		}
		printf "\n%d epochs a run; epochs and steps counted from 0.\n", epochs
	}' "$out/study.csv" > "$out/summary.md"
# And every run: the final mean local accuracy (averaged model in brackets)
# per seed, or where it diverged.
awk -F, '
	NR == 1 { next }
	!($1 in seen) { seen[$1] = 1; order[++names] = $1 }
	!($2 in seed_seen) { seed_seen[$2] = 1; seeds[++nseeds] = $2 }
	{ cell[$1, $2] = $3 }
	$3 == "finished" { cell[$1, $2] = sprintf("%.2f (%.2f)", 100 * $5, 100 * $7) }
	$3 == "diverged" { cell[$1, $2] = sprintf("diverged: epoch %s step %s agent %s", $9, $10, $11) }
	END {
		printf "\n| run |"; for (s = 1; s <= nseeds; s++) printf " seed %s |", seeds[s]; printf "\n|---|"
		for (s = 1; s <= nseeds; s++) printf "---|"; printf "\n"
		for (i = 1; i <= names; i++) {
			printf "| %s |", order[i]
			for (s = 1; s <= nseeds; s++) printf " %s |", cell[order[i], seeds[s]]
			printf "\n"
		}
		printf "\nEach cell: mean local accuracy over the agents at the end, in %%, and the averaged model'"'"'s in brackets.\n"
	}' "$out/study.csv" >> "$out/summary.md"
cat "$out/summary.md"
! grep -q ',failed,' "$out/study.csv"
