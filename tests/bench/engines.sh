# Engines on the same steps.  Fashion-MNIST, LeNet-5, CCL on a ring, batch
# 32, two workers (the machine's cores) for every engine.
#
# 1. Wall time per iteration with make -j2 for 8, 16, 32 and 64 agents.
# 2. For 8 agents and ITERS iterations, each engine's wall time against the
#    same tool calls run directly (from one shell, two at a time per phase
#    with xargs -P2): overhead per agent-step = (engine - direct) * 2 / steps,
#    an agent-step being one gossip (merge + featstat) or one local step.
#    GNU parallel over ssh runs against a private sshd on 127.0.0.1, and
#    Slurm when this is root and slurm-wlm is installed (a private cluster);
#    both are started and stopped here.  bash-batch is the bash engine's
#    fast path (run-bash.sh --batch: one ccl-batch per worker and phase),
#    whose overhead is below the reference's, hence negative.
#    ENGINES="bash make" runs only those named.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ex=$here/examples
ITERS=${ITERS:-6}
dir=$(mktemp -d)
export OPENBLAS_NUM_THREADS=1 HOME=$dir/home
mkdir -p "$HOME"
trap 'rm -rf "$dir"' EXIT

plan() { "$ex/plan.sh" --agents "$1" --iterations "$2" --method ccl --out "$3" > /dev/null; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b - a) / 1e9}'; }

echo "engines: make -j2, wall time per iteration (CCL, ring, LeNet-5, batch 32, $ITERS iterations)"
for n in 8 16 32 64; do
	plan "$n" "$ITERS" "$dir/s$n"
	start=$(date +%s%N)
	make -s -f "$ex/experiment.mk" DIR="$dir/s$n" -j2
	end=$(date +%s%N)
	echo "  $n agents: $(awk -v s="$(seconds "$start" "$end")" -v k="$ITERS" 'BEGIN {printf "%.3f", s / k}') s per iteration"
	rm -rf "$dir/s$n"
done

agents=8 steps=$((8 * ITERS * 2))
# One plan, copied afresh for every run.
plan $agents "$ITERS" "$dir/template"
fresh() { rm -rf "$1" && cp -r "$dir/template" "$1"; }
# The direct reference: the tool calls agent-step.sh would make, phase by
# phase, each agent-step's calls joined by && for one sh.
fresh "$dir/direct"
for ((t = 1; t <= ITERS; t++)); do
	for phase in gossip train; do
		for ((i = 0; i < agents; i++)); do
			CCL_PRINT=1 "$ex/agent-step.sh" "$dir/direct" "$phase" "$t" "$i" | paste -sd'&' | sed 's/&/ \&\& /g'
		done > "$dir/calls-$t-$phase"
	done
done
run_direct() {
	local t phase
	fresh "$dir/direct"
	for ((t = 1; t <= ITERS; t++)); do
		mkdir -p "$(printf '%s/iter/%06d' "$dir/direct" "$t")"
		for phase in gossip train; do xargs -P2 -d '\n' -n1 sh -c < "$dir/calls-$t-$phase"; done
	done
}
start=$(date +%s%N)
run_direct
direct=$(seconds "$start" "$(date +%s%N)")

declare -A engine=(
	[bash]='"$ex/run-bash.sh" "$d" --jobs 2'
	[bash-batch]='"$ex/run-bash.sh" "$d" --jobs 2 --batch'
	[make]='make -s -f "$ex/experiment.mk" DIR="$d" -j2'
	[parallel]='"$ex/run-parallel.sh" "$d" --jobs 2'
)
order=(bash bash-batch make parallel)
if [ -x /usr/sbin/sshd ]; then
	sshd_dir=$(mktemp -d /tmp/ccl-bench-sshd.XXXXXX)
	if "$here/tests/engines/sshd.sh" start "$sshd_dir"; then
		engine[parallel-ssh]='"$ex/run-parallel.sh" "$d" --ssh "ssh -F $sshd_dir/ssh_config" --sshlogin 2/ccl-test-host'
		order+=(parallel-ssh)
	else
		rm -rf "$sshd_dir"
		sshd_dir=
	fi
fi
if [ "$(id -u)" -eq 0 ] && command -v slurmctld > /dev/null; then
	cluster=$(mktemp -d /tmp/ccl-bench-slurm.XXXXXX)
	if "$here/tests/engines/slurm-cluster.sh" start "$cluster" > /dev/null; then
		export SLURM_CONF=$cluster/slurm.conf
		engine[slurm-sbatch]='"$ex/run-slurm.sh" "$d" --mode arrays --wait > /dev/null'
		engine[slurm-srun]='"$ex/run-slurm.sh" "$d" --mode allocation --tasks 2 --wait > /dev/null'
		order+=(slurm-sbatch slurm-srun)
	else
		rm -rf "$cluster"
		cluster=
	fi
fi
echo "engines: $agents agents, $ITERS iterations, $steps agent-steps, 2 workers; direct tool calls $direct s;" \
	"each engine run ${ROUNDS:-5} times (Slurm and ssh once), each run just after a run of the direct calls;" \
	"medians"
median() { sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for name in "${order[@]}"; do
	[[ " ${ENGINES:-${order[*]}} " == *" $name "* ]] || continue
	d=$dir/$name rounds=${ROUNDS:-5} walls=() overheads=()
	[[ $name != slurm* && $name != parallel-ssh ]] || rounds=1
	for ((r = 0; r < rounds; r++)); do
		start=$(date +%s%N)
		run_direct
		reference=$(seconds "$start" "$(date +%s%N)")
		fresh "$d"
		start=$(date +%s%N)
		eval "${engine[$name]}"
		wall=$(seconds "$start" "$(date +%s%N)")
		walls+=("$wall")
		overheads+=("$(awk -v w="$wall" -v r="$reference" -v s="$steps" 'BEGIN {print (w - r) * 2 / s * 1000}')")
	done
	wall=$(printf '%s\n' "${walls[@]}" | median)
	same=identical
	for ((i = 0; i < agents; i++)); do
		cmp -s "$(printf '%s/iter/%06d/model-%d.ccl' "$d" "$ITERS" "$i")" \
			"$(printf '%s/iter/%06d/model-%d.ccl' "$dir/direct" "$ITERS" "$i")" || same=DIFFERENT
	done
	printf '  %-13s %7.3f s, %6.3f s per iteration, overhead %6.1f ms per agent-step; models %s\n' "$name" "$wall" \
		"$(awk -v w="$wall" -v k="$ITERS" 'BEGIN {print w / k}')" "$(printf '%s\n' "${overheads[@]}" | median)" "$same"
	rm -rf "$d"
done
[ -z "${cluster:-}" ] || { "$here/tests/engines/slurm-cluster.sh" stop "$cluster" && rm -rf "$cluster"; }
[ -z "${sshd_dir:-}" ] || { "$here/tests/engines/sshd.sh" stop "$sshd_dir" && rm -rf "$sshd_dir"; }
