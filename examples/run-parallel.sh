#!/usr/bin/env bash
# The GNU parallel engine: runs iterations of an experiment prepared by
# examples/plan.sh, each phase's agents as parallel jobs, on this machine or
# across hosts.
#
#   examples/run-parallel.sh DIR [--jobs 2] [--sshlogin LOGINS] [--ssh CMD]
#       [--first T] [--last T]
#
# --sshlogin is passed to parallel (for example "2/:,4/node1,4/node2": ":"
# is this machine, "N/" the jobs per host); --ssh the ssh command to use.
# Artifacts are staged through a shared directory: DIR and this checkout
# must be at the same absolute paths on every host (NFS or similar), since
# an agent-step reads its neighbours' files of the previous iteration,
# whichever host wrote them.  --first defaults to the iteration after the
# last complete one, so a rerun resumes.  A failed step stops the run: no
# new jobs start, and the status is non-zero.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: run-parallel.sh DIR [--jobs N] [--sshlogin LOGINS] [--ssh CMD]" >&2; exit 2; }
dir=$(cd "$1" && pwd) jobs=2 first= last= remote=()
shift
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || { echo "run-parallel.sh: option '$1' needs a value" >&2; exit 2; }
	case $1 in
	--jobs) jobs=$2 ;;
	--sshlogin) remote+=(--sshlogin "$2") ;;
	--ssh) remote+=(--ssh "$2") ;;
	--first) first=$2 ;;
	--last) last=$2 ;;
	*) echo "run-parallel.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift 2
done
# shellcheck source=/dev/null
. "$dir/plan.env"
first=${first:-$(($("$here/last-iteration.sh" "$dir") + 1))}
last=${last:-$ITERATIONS}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "${0##*/}: --jobs must be a positive integer" >&2; exit 2; }
# Remote jobs get the tools' location and one BLAS thread per process.
# shellcheck source=ccl-bin.sh
. "$here/ccl-bin.sh"
CCL_BIN=$(ccl_bin "$here")
export CCL_BIN
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

phase() {
	seq 0 $((AGENTS - 1)) |
		parallel --will-cite --halt now,fail=1 -j "$jobs" "${remote[@]}" \
			--env CCL_BIN --env OPENBLAS_NUM_THREADS --env CCL_INPUT_OPTS \
			"$here/agent-step.sh" "$dir" "$1" "$2" {}
}

for ((t = first; t <= last; t++)); do
	phase gossip "$t"
	phase train "$t"
done
