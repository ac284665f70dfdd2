#!/usr/bin/env bash
# The Slurm engine: submits iterations of an experiment prepared by
# examples/plan.sh to a Slurm cluster, in one of two modes.
#
#   examples/run-slurm.sh DIR [--mode arrays|allocation] [--tasks N]
#       [--first T] [--last T] [--wait] [-- SBATCH_OPTION...]
#
# arrays      two job arrays per iteration, one task per agent: gossip, then
#             train.  Gossip of T waits for all of train T-1 (afterok: it
#             reads every neighbour's model); train of T waits for gossip of T,
#             task by task (aftercorr) for dsgdm and qgm, whole (afterok) for
#             ccl, which reads its neighbours' statistics.  Suits coarse
#             rounds, where a step is long against the scheduler's ~1 s per
#             job.
# allocation  one job of --tasks CPUs (default 2) that runs every iteration
#             inside its allocation with `srun` steps (~50 ms each): for short
#             steps, where per-job scheduling would dominate.
#
# All jobs share a job name derived from DIR.  A failed step writes its
# message to DIR/slurm/FAILED and cancels every job of the experiment, so
# nothing is left pending; --wait then reports it and exits non-zero.
# Without --wait the script prints the job ids and returns.  Options after
# -- go to every sbatch (partition, account, time limit...).  DIR must be
# on a file system every node sees, at the same path.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: run-slurm.sh DIR [--mode arrays|allocation] [--wait]" >&2; exit 2; }
dir=$(cd "$1" && pwd) mode=arrays tasks=2 first= last= wait= extra=()
shift
while [ $# -gt 0 ]; do
	case $1 in
	--mode) mode=$2; shift ;;
	--tasks) tasks=$2; shift ;;
	--first) first=$2; shift ;;
	--last) last=$2; shift ;;
	--wait) wait=1 ;;
	--) shift; extra=("$@"); break ;;
	*) echo "run-slurm.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
[[ $tasks =~ ^[1-9][0-9]*$ ]] || { echo "run-slurm.sh: --tasks must be a positive integer" >&2; exit 2; }
case $mode in arrays | allocation) ;; *) echo "run-slurm.sh: --mode is arrays or allocation" >&2; exit 2 ;; esac
# shellcheck source=/dev/null
. "$dir/plan.env"
first=${first:-$(($("$here/last-iteration.sh" "$dir") + 1))}
last=${last:-$ITERATIONS}
((first <= last)) || { echo "run-slurm.sh: $dir: nothing to run (iterations $first to $last)" >&2; exit 0; }
# shellcheck source=ccl-bin.sh
. "$here/ccl-bin.sh"
CCL_BIN=$(ccl_bin "$here")
export CCL_BIN
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} CCL_EXAMPLES=$here
name=ccl-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
mkdir -p "$dir/slurm"
rm -f "$dir/slurm/FAILED"

submit() { sbatch --parsable --job-name="$name" --ntasks=1 --cpus-per-task=1 "${extra[@]}" "$@"; }

if [ "$mode" = arrays ]; then
	# Each task runs one agent-step; on failure it records why and cancels
	# the whole chain, so no dependent is left pending.
	step='"$0"/agent-step.sh "$1" "$2" "$3" "$SLURM_ARRAY_TASK_ID" ||
		{ echo "$2 of iteration $3 failed for agent $SLURM_ARRAY_TASK_ID (job $SLURM_JOB_ID)" >> "$1/slurm/FAILED";
		  scancel --jobname="$4"; exit 1; }'
	after= ids=()
	for ((t = first; t <= last; t++)); do
		g=$(submit --array=0-$((AGENTS - 1)) ${after:+--dependency=afterok:$after} \
			--output="$dir/slurm/gossip-$t-%a.out" --wrap "bash -c '$step' '$here' '$dir' gossip $t '$name'")
		link=aftercorr; [ "$METHOD" = ccl ] && link=afterok
		after=$(submit --array=0-$((AGENTS - 1)) --dependency=$link:"$g" \
			--output="$dir/slurm/train-$t-%a.out" --wrap "bash -c '$step' '$here' '$dir' train $t '$name'")
		ids+=("$g" "$after")
	done
	echo "submitted ${#ids[@]} job arrays for iterations $first to $last as '$name': ${ids[*]}"
else
	id=$(submit --ntasks="$tasks" --output="$dir/slurm/allocation-%j.out" \
		"$here/slurm-allocation.sh" "$dir" "$first" "$last" "$name")
	echo "submitted job $id for iterations $first to $last as '$name'"
fi

[ -n "$wait" ] || exit 0
while [ -n "$(squeue -h --name="$name" -o %i)" ]; do sleep 0.2; done
if [ -e "$dir/slurm/FAILED" ]; then
	echo "run-slurm.sh: $dir: $(head -1 "$dir/slurm/FAILED"); the rest was cancelled (see $dir/slurm/)" >&2
	exit 1
fi
done_to=$("$here/last-iteration.sh" "$dir")
((done_to >= last)) || { echo "run-slurm.sh: $dir: jobs ended at iteration $done_to of $last" >&2; exit 1; }
