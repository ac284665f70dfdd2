#!/usr/bin/env bash
# Prints the last iteration of an experiment directory whose models and
# states are all there (0 right after examples/plan.sh): where a rerun
# resumes, and where the final models are.  (A step writes its model just
# before its state, so a step killed in between left no state: not done.)
#
#   examples/last-iteration.sh DIR
set -euo pipefail

dir=$1
# shellcheck source=/dev/null
. "$dir/plan.env"
for it in $(ls -r "$dir/iter"); do
	complete=1
	for ((i = 0; i < AGENTS; i++)); do
		[ -e "$dir/iter/$it/model-$i.ccl" ] && [ -e "$dir/iter/$it/state-$i.ccl" ] || { complete=; break; }
	done
	if [ -n "$complete" ]; then
		echo $((10#$it))
		exit 0
	fi
done
echo "last-iteration.sh: $dir: no complete iteration" >&2
exit 1
