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
# CCL runs at lambda_m 0.01: the same computation as the specified 0.1,
# which diverges within the first epoch (docs/RESULTS.md).
#
# Then the scripted epoch broken down, in seconds of the two workers'
# time (twice the wall time), from the counters ccl-batch keeps under
# CCL_PROFILE: the tools' computation, reading artifacts, verifying them
# (CRC-32C and finiteness; a mapped file's pages are first touched here),
# writing them, the ccl-batch processes' starts
# (their number times the median start and exit of one, timed apart), the
# reading of the call lines, and what is left: the bash engine printing the
# calls, making and pruning directories, and workers idle at the barrier
# between phases.
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

echo "epoch: 16 agents on a ring, LeNet-5, batch 32, 118 iterations; tools with --jobs 2 against PyTorch in one thread;" \
	"files on $(df --output=fstype "$work" | tail -1)"
for m in "${methods[@]}"; do
	extra=()
	[ "$m" != ccl ] || extra=(--lambda-m 0.01)
	CCL_PROFILE=$work/$m.profile CCL_BIN=$BIN "$here/../../examples/experiment.sh" --method "$m" --epochs 1 \
		--milestones none --jobs 2 "${extra[@]}" --out "$work/$m" > "$work/$m.log" 2>&1 ||
		{ echo "epoch $m: the scripted run failed"; tail -3 "$work/$m.log"; continue; }
	train=$(awk -F, 'NR == 2 {print $9}' "$work/$m/results.csv")
	models=("$work/$m"/iter/000118/model-*.ccl)
	start=$(date +%s%N)
	"$BIN/ccl-eval" -t "$work/$m/shards/test.ccl" --format yaml "${models[@]}" > /dev/null
	eval_s=$(awk -v ns=$(($(date +%s%N) - start)) 'BEGIN {printf "%.2f", ns / 1e9}')
	kernel=$("$BIN/ccl-info" --format yaml "${models[0]}" | awk -F'"' '/blas_kernel:/ {print $2}')
	line="epoch $m (OpenBLAS kernel $kernel): tools train ${train} s, evaluate ${eval_s} s (16 models and their average)"
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
	# The breakdown.  One ccl-batch start and exit, with nothing to do:
	timecmd=$here/../../${BUILD:-build}/bench/timecmd start_ms=0
	[ ! -x "$timecmd" ] || start_ms=$("$timecmd" 21 "$BIN/ccl-batch" /dev/null | cut -d' ' -f1)
	awk -v wall="$train" -v start_ms="$start_ms" '
		{procs++; main += $2; tools += $3; read += $4; verify += $5; write += $6; files_in += $7; files_out += $8}
		END {
			cap = 2 * wall; starts = procs * start_ms / 1000
			compute = tools - read - write; lines = main - tools
			rest = cap - tools - lines - starts
			printf "  breakdown (of %.1f s, two workers): compute %.2f s (%.0f%%), reading %.2f s, verifying %.2f s," \
				" writing %.2f s (%d files read, %d written), %d ccl-batch starts %.2f s, call lines %.2f s," \
				" engine and idle %.2f s (%.0f%%)\n", cap, compute, 100 * compute / cap, read - verify, verify, write,
				files_in, files_out, procs, starts, lines, rest, 100 * rest / cap
		}' "$work/$m.profile"
done
