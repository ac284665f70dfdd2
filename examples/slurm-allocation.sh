#!/usr/bin/env bash
# The batch script of `examples/run-slurm.sh --mode allocation`: runs
# iterations FIRST to LAST inside one Slurm allocation, every agent-step an
# `srun` step of one CPU; Slurm packs the steps onto the allocated CPUs.
#
#   CCL_EXAMPLES=$PWD/examples sbatch --ntasks=N examples/slurm-allocation.sh DIR FIRST LAST JOB_NAME
#
# (sbatch runs a copy of the script from its spool directory, so it finds
# agent-step.sh through CCL_EXAMPLES, which run-slurm.sh exports.)
# The first failed step ends the job with its message in DIR/slurm/FAILED.
set -euo pipefail

here=${CCL_EXAMPLES:?CCL_EXAMPLES must name the examples directory}
dir=$1 first=$2 last=$3 name=$4
# shellcheck source=/dev/null
. "$dir/plan.env"

phase() {
	local t=$2 i pids=() status=0
	for ((i = 0; i < AGENTS; i++)); do
		srun --quiet --exact --ntasks=1 --cpus-per-task=1 --job-name="$name" \
			"$here/agent-step.sh" "$dir" "$1" "$t" "$i" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[i]}" || { echo "$1 of iteration $t failed for agent $i (job $SLURM_JOB_ID)" >> "$dir/slurm/FAILED"; status=1; }
	done
	return $status
}

for ((t = first; t <= last; t++)); do
	phase gossip "$t"
	phase train "$t"
done
