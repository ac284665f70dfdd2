# Many agents on two cores: CCL, LeNet-5, batch 32, Fashion-MNIST split over
# 16, 64, 256 and 1,024 agents (1,024 have about 58 samples each, so an
# epoch is 2 iterations), on the ring and on the +-1/+-4 torus.  The engine
# is the one examples/experiment.sh uses (run-bash.sh --batch, two workers).
# Each size runs max(2, 512 / agents) iterations, at lambda_m 0.01 (the
# same computation as 0.1, which diverges after about 100 iterations).  Prints per size: planning time, wall time per iteration, time per
# agent-step and per (agent x (degree + 1)), the disk one iteration's files
# take, and the peak resident size of the run; for 1,024 agents, the wall
# time of a whole epoch of training.  The iteration directories are on the
# filesystem of $TMPDIR (default /tmp), whose type is printed: on ext4 a
# file's creation pays for the deletions before it, on tmpfs it does not.
#
#   SCALE_AGENTS="16 64 256 1024" tests/bench/scale.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ex=$here/examples
export OPENBLAS_NUM_THREADS=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

echo "scale: CCL, LeNet-5, batch 32, run-bash.sh --batch --jobs 2;" \
	"iteration files on $(df --output=fstype "$dir" | tail -1) ($dir)"
printf '  %-6s %6s %6s %9s %12s %12s %15s %12s %10s\n' topology agents degree "plan s" "s/iteration" \
	"ms/agent-step" "us/(agent x deg+1)" "MB/iteration" "peak RSS"
for topology in ring torus; do
	for n in ${SCALE_AGENTS:-16 64 256 1024}; do
		d=$dir/$topology-$n ITERS=$((512 / n > 2 ? 512 / n : 2))
		start=$(date +%s%N)
		"$ex/plan.sh" --agents "$n" --topology "$topology" --iterations $ITERS --method ccl --lambda-m 0.01 --milestones none \
			--out "$d" > /dev/null 2>&1 || { echo "  $topology $n: planning failed"; continue; }
		plan_ms=$(ms_since "$start")
		degree=$(awk -F"'" '/^NEIGHBOURS\[0\]=/ {print split($2, a, " ")}' "$d/plan.env")
		start=$(date +%s%N)
		/usr/bin/time -o "$d.rss" -f '%M' "$ex/run-bash.sh" "$d" --batch --jobs 2 > /dev/null 2> "$d.err" ||
			{ echo "  $topology $n: the run failed"; tail -2 "$d.err"; continue; }
		rss=$(tail -1 "$d.rss")
		run_ms=$(ms_since "$start")
		mb=$(du -sm "$d/iter/000001" | cut -f1)
		[ -n "${kernel:-}" ] || kernel=$("${CCL_BIN:-$here/build/bin}/ccl-info" --format yaml "$d/iter/000001/model-0.ccl" |
			awk -F'"' '/blas_kernel:/ {print $2}')
		awk -v t="$topology" -v n="$n" -v k="$degree" -v p="$plan_ms" -v r="$run_ms" -v it=$ITERS -v mb="$mb" -v rss="$rss" \
			'BEGIN {printf "  %-6s %6d %6d %9.1f %12.2f %12.2f %15.1f %12d %7.1f MB\n", t, n, k, p / 1000, r / 1000 / it,
				r / it / n, 1000 * r / it / (n * (k + 1)), mb, rss / 1024}'
		if [ "$n" -ge 1024 ]; then
			spe=$(grep -o 'STEPS_PER_EPOCH=[0-9]*' "$d/plan.env" | cut -d= -f2)
			echo "    1,024 agents on the $topology: an epoch is $spe iterations," \
				"$(awk -v r="$run_ms" -v it=$ITERS -v s="$spe" 'BEGIN {printf "%.1f", r / 1000 / it * s}') s of training"
		fi
		rm -rf "$d"
	done
done
echo "  (OpenBLAS kernel ${kernel:-unknown})"
