#!/usr/bin/env bash
# The make engine with bounded disk: runs examples/experiment.mk over an
# experiment prepared by examples/plan.sh a few iterations at a time, and
# deletes the iterations before each chunk's last one as it goes.  A plain
# `make -f experiment.mk` keeps every iteration of its range; this keeps at
# most a chunk and the one before it.
#
#   examples/run-make.sh DIR [--jobs 2] [--chunk K] [--last T]
#
# Each chunk starts after the last complete iteration in DIR (so a rerun
# resumes) and is K iterations long (default: up to 16, fewer with many
# agents, at most 256 agents' worth of iteration files, as run-bash.sh
# --prune keeps).  Within a chunk make runs whatever is ready, --jobs at a
# time; the first failing step stops the run with make's message.
set -euo pipefail

here=$(dirname "$0")
[ $# -ge 1 ] || { echo "usage: run-make.sh DIR [--jobs N] [--chunk K] [--last T]" >&2; exit 2; }
dir=$1 jobs=2 chunk= last=
shift
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || { echo "run-make.sh: option '$1' needs a value" >&2; exit 2; }
	case $1 in
	--jobs) jobs=$2 ;;
	--chunk) chunk=$2 ;;
	--last) last=$2 ;;
	*) echo "run-make.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift 2
done
for v in "$jobs" ${chunk:+"$chunk"}; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "run-make.sh: --jobs and --chunk must be positive integers" >&2; exit 2; }
done
[ -f "$dir/plan.env" ] || { echo "run-make.sh: $dir: no plan.env (run examples/plan.sh first)" >&2; exit 2; }
# shellcheck source=/dev/null
. "$dir/plan.env"
last=${last:-$ITERATIONS}
[[ $last =~ ^[0-9]+$ ]] || { echo "run-make.sh: --last must be an iteration number" >&2; exit 2; }
chunk=${chunk:-$((AGENTS >= 256 ? 1 : (256 / AGENTS < 16 ? 256 / AGENTS : 16)))}

done_to=$("$here/last-iteration.sh" "$dir")
while ((done_to < last)); do
	to=$((done_to + chunk < last ? done_to + chunk : last))
	make -s --no-print-directory -f "$here/experiment.mk" DIR="$dir" FIRST=$((done_to + 1)) LAST="$to" -j "$jobs"
	# Nothing is deleted unless the chunk's last iteration is whole.
	reached=$("$here/last-iteration.sh" "$dir")
	((reached >= to)) || { echo "run-make.sh: $dir: iteration $to is not complete after make" >&2; exit 1; }
	# Only the newest complete iteration is read again (by the next chunk,
	# or by a resumption).
	old=()
	for ((t = done_to; t < to; t++)); do printf -v d '%s/iter/%06d' "$dir" "$t"; old+=("$d"); done
	rm -rf "${old[@]}"
	done_to=$to
done
