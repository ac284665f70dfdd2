#!/usr/bin/env bash
# The bash engine: runs iterations of an experiment prepared by
# examples/plan.sh in lockstep, the agents of each phase --jobs at a time.
#
#   examples/run-bash.sh DIR [--jobs 2] [--first T] [--last T] [--prune] [--batch]
#
# --first defaults to the iteration after the last one complete in DIR (so
# a rerun resumes), --last to the plan's last iteration.  --prune deletes
# the files of finished iterations as the run goes (every few iterations,
# and at the end), keeping the newest complete one.  The first failing
# step stops the run with its message and a non-zero status.
#
# --batch runs the same tool calls without a process per call: each worker
# of a phase is one ccl-batch process fed its agents' calls as lines
# (agent-step.sh prints them), so a phase costs --jobs process starts
# instead of three or four per agent.  The files written are the same, byte
# for byte.
set -euo pipefail

here=$(dirname "$0")
[ $# -ge 1 ] || { echo "usage: run-bash.sh DIR [--jobs N] [--first T] [--last T] [--prune] [--batch]" >&2; exit 2; }
dir=$1 jobs=2 first= last= prune= batch=
shift
while [ $# -gt 0 ]; do
	case $1 in
	--jobs) jobs=$2; shift ;;
	--first) first=$2; shift ;;
	--last) last=$2; shift ;;
	--prune) prune=1 ;;
	--batch) batch=1 ;;
	*) echo "run-bash.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
# shellcheck source=/dev/null
. "$here/agent-step.sh"
export CCL_BIN=$BIN # found once, not by every agent-step
load_plan "$dir"
[ -z "$batch" ] || use_plan_blas_kernel
first=${first:-$(($("$here/last-iteration.sh" "$dir") + 1))}
last=${last:-$ITERATIONS}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "${0##*/}: --jobs must be a positive integer" >&2; exit 2; }

# Runs one phase of iteration t for every agent, `jobs` workers each taking
# every jobs-th agent; fails if any agent failed, saying which.
phase() {
	local name=$1 t=$2 w i pids=() status=0
	for ((w = 0; w < jobs; w++)); do
		if [ -n "$batch" ]; then
			(for ((i = w; i < AGENTS; i += jobs)); do CCL_PRINT=1 agent_step "$dir" "$name" "$t" "$i"; done |
				"$BIN/ccl-batch" ||
				{ echo "run-bash.sh: $dir: $name of iteration $t failed (see the line above)" >&2; exit 1; }) &
		else
			# agent-step.sh's function, in this worker's shell: the
			# tools are its only processes.
			(for ((i = w; i < AGENTS; i += jobs)); do
				agent_step "$dir" "$name" "$t" "$i" ||
					{ echo "run-bash.sh: $dir: $name of iteration $t failed for agent $i" >&2; exit 1; }
			done) &
		fi
		pids+=($!)
	done
	for w in "${pids[@]}"; do wait "$w" || status=1; done
	return $status
}

# In batch mode the tools do not create the iteration directories
# (agent-step.sh does, one process per call): make them all at once.
if [ -n "$batch" ] && ((first <= last)); then
	dirs=()
	for ((t = first; t <= last; t++)); do printf -v d '%s/iter/%06d' "$dir" "$t"; dirs+=("$d"); done
	mkdir -p "${dirs[@]}"
fi
# Iterations whose files --prune deletes, a batch at a time: one rm for
# every few iterations costs less than one each.
finished=()
prune_finished() {
	if [ -n "$prune" ] && [ ${#finished[@]} -gt 0 ]; then rm -rf "${finished[@]}"; fi
	finished=()
}
for ((t = first; t <= last; t++)); do
	phase gossip "$t"
	phase train "$t"
	if ((t > 1)); then printf -v d '%s/iter/%06d' "$dir" $((t - 1)); finished+=("$d"); fi
	# Up to 16 finished iterations wait for one rm, fewer with many agents:
	# at most 256 agents' worth of files (about 320 MB for LeNet-5), so the
	# disk a run takes stays bounded whatever the number of agents.
	((${#finished[@]} < 16 && ${#finished[@]} * AGENTS < 256)) || prune_finished
done
prune_finished
