#!/usr/bin/env bash
# Prepares an experiment directory that any engine can run: partitions the
# data, initialises every agent, and writes the plan (graph, method,
# hyper-parameters) that examples/agent-step.sh reads.
#
#   examples/plan.sh [--agents 16] [--topology ring] [--alpha 0.01]
#       [--method dsgdm|qgm|ccl] [--epochs 40] [--iterations T] [--lr 0.01]
#       [--batch 32] [--seed 123] [--milestones E1,E2|none] [--lambda-m 0.1]
#       [--lambda-d 0.1] [--qgm on|off] [--qgm-scale S] [--batch-order shared|independent]
#       [--normalize paper|data] [--clip C [--noise SIGMA | --epsilon E] [--delta D]]
#       [--min-count K] [--dataset fashion-mnist|mnist|cifar10|cifar100] [--data PATH]
#       [--arch lenet5|resnet20] [--norm evonorm|groupnorm] --out DIR
#
# --dataset and --data say what ccl-partition(1) reads (CIFAR from its
# binary archive, augmented for training); --arch and --norm what network
# every agent trains (ccl-init(1); the default lenet5, or resnet20 with its
# norm).  The torus and the Dyck graph of 32 agents run with gamma 0.9,
# as ccl-topology(1) gives it.  --iterations stops the run after T iterations instead of --epochs whole
# epochs.  --batch-order independent (a variant) gives every agent its own
# permutation of its data each epoch instead of the one all agents share;
# --normalize data (a variant) normalises inputs with the data's own mean
# and standard deviation instead of the published constants.  --qgm-scale S (a variant, not ALGORITHM.md) scales the QGM
# momentum correction by S; see ccl-merge(1).  --clip, --noise and --min-count
# make CCL's feature statistics private (ccl-featstat(1)); --epsilon E
# instead of --noise picks the noise that keeps the whole run within
# (E, D)-DP (D from --delta, default 1e-5) for the statistics, accounted as
# ccl-privacy(1) does: every epoch, each sample's batch is released once to
# each neighbour.  Each agent's noise key is DIR/keys/agent-NNN.key, made
# from /dev/urandom once and kept when the directory is planned again.
# The directory afterwards:
#
#   DIR/plan.env, DIR/plan.mk   the plan, for bash and for make
#   DIR/shards/                 shard-NNN.ccl per agent, test.ccl
#   DIR/histogram.txt           each agent's class mix
#   DIR/iter/000000/            state-I.ccl and model-I.ccl of every agent
#
# Iteration T (from 1) then fills DIR/iter/<T, six digits>/ with, per agent
# I: merged-I.ccl (after gossip), fs-I-J.ccl (CCL only: I's batch under
# neighbour J's model, sent to J), state-I.ccl and model-I.ccl (after the
# local step).  Iteration T reads only iteration T-1 and itself.  Planning
# an existing DIR again deletes its iterations.
set -euo pipefail

# shellcheck source=ccl-bin.sh
. "$(dirname "$0")/ccl-bin.sh"
BIN=$(ccl_bin "$(dirname "$0")")
agents=16 topology=ring alpha=0.01 method=ccl epochs=40 iterations= lr=0.01 batch=32 seed=123 out= milestones=
data=() qgm_choice= qgm_scale= lambda_m=0.1 lambda_d=0.1 batch_order=shared normalize=paper
clip= noise= epsilon= delta=1e-5 min_count= dataset=fashion-mnist arch=lenet5 norm=
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || [[ $1 = -h || $1 = --help ]] || { echo "plan.sh: option '$1' needs a value" >&2; exit 2; }
	case $1 in
	--agents) agents=$2 ;;
	--topology) topology=$2 ;;
	--alpha) alpha=$2 ;;
	--method) method=$2 ;;
	--epochs) epochs=$2 ;;
	--iterations) iterations=$2 ;;
	--lr) lr=$2 ;;
	--batch) batch=$2 ;;
	--seed) seed=$2 ;;
	--milestones) milestones=$2 ;;
	--lambda-m) lambda_m=$2 ;;
	--lambda-d) lambda_d=$2 ;;
	--data) data=(--data "$2") ;;
	--dataset) dataset=$2 ;;
	--arch) arch=$2 ;;
	--norm) norm=$2 ;;
	--qgm) qgm_choice=$2 ;;
	--qgm-scale) qgm_scale=$2 ;;
	--batch-order) batch_order=$2 ;;
	--normalize) normalize=$2 ;;
	--clip) clip=$2 ;;
	--noise) noise=$2 ;;
	--epsilon) epsilon=$2 ;;
	--delta) delta=$2 ;;
	--min-count) min_count=$2 ;;
	--out) out=$2 ;;
	-h | --help) sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "plan.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift 2
done
[ -n "$out" ] || { echo "plan.sh: --out DIR is required" >&2; exit 2; }
case $method in dsgdm | qgm | ccl) ;; *) echo "plan.sh: --method is dsgdm, qgm or ccl" >&2; exit 2 ;; esac
case $batch_order in shared | independent) ;; *) echo "plan.sh: --batch-order is shared or independent" >&2; exit 2 ;; esac
case $arch in lenet5 | resnet20) ;; *) echo "plan.sh: --arch is lenet5 or resnet20" >&2; exit 2 ;; esac
init_arch=(--arch "$arch")
if [ -n "$norm" ]; then
	[ "$arch" = resnet20 ] || { echo "plan.sh: --norm is for --arch resnet20" >&2; exit 2; }
	init_arch+=(--norm "$norm")
fi
[[ $epochs =~ ^[1-9][0-9]*$ ]] || { echo "plan.sh: --epochs must be a positive integer" >&2; exit 2; }
[[ -z $iterations || $iterations =~ ^[1-9][0-9]*$ ]] || { echo "plan.sh: --iterations must be a positive integer" >&2; exit 2; }

if [ -n "$clip$noise$epsilon$min_count" ]; then
	[ "$method" = ccl ] || { echo "plan.sh: --clip, --noise, --epsilon and --min-count are for --method ccl" >&2; exit 2; }
	[ -z "$noise" ] || [ -z "$epsilon" ] || { echo "plan.sh: give --noise or --epsilon, not both" >&2; exit 2; }
	# Every value checked now, before anything in DIR is touched.
	number='^[0-9]*[.]?[0-9]+([eE][-+]?[0-9]+)?$'
	for v in "$clip" "$noise" "$epsilon"; do
		[[ -z $v || ($v =~ $number && ! $v =~ ^[0.]*([eE].*)?$) ]] ||
			{ echo "plan.sh: --clip, --noise and --epsilon must be positive numbers" >&2; exit 2; }
	done
	[[ $delta =~ $number ]] || { echo "plan.sh: --delta must be a number in (0, 0.5]" >&2; exit 2; }
	# ccl-privacy says what is wrong with a value out of its range.
	"$BIN/ccl-privacy" --noise "${noise:-1}" --delta "$delta" --releases 1 > /dev/null || exit 2
	[ -z "$epsilon" ] || "$BIN/ccl-privacy" --epsilon "$epsilon" --delta "$delta" --releases 1 > /dev/null || exit 2
	[[ -z $min_count || $min_count =~ ^[0-9]+$ ]] || { echo "plan.sh: --min-count must be a count" >&2; exit 2; }
	[ -z "$noise$epsilon" ] || [ -n "$clip" ] || { echo "plan.sh: --noise and --epsilon need --clip" >&2; exit 2; }
fi

# Learning rate divided by 10 at epochs floor(0.5 E) and floor(0.75 E)
# unless other milestones (or none) are given.
milestones=${milestones:-$((epochs / 2)),$((epochs * 3 / 4))}
[ "$milestones" != 0,0 ] || echo "plan.sh: with --epochs 1 both milestones fall at epoch 0 (the authors' rule):" \
	"the learning rate is $lr / 100 from the start; --milestones none keeps it" >&2
[ "$milestones" = none ] && milestones=
# QGM is part of qgm and ccl; --qgm on|off overrides that for variants.
qgm=; [ "$method" = dsgdm ] || qgm=--qgm
case $qgm_choice in on) qgm=--qgm ;; off) qgm= ;; "") ;; *) echo "plan.sh: --qgm is on or off" >&2; exit 2 ;; esac
if [ -n "$qgm_scale" ]; then
	[ -n "$qgm" ] || { echo "plan.sh: --qgm-scale needs QGM (method qgm or ccl, or --qgm on)" >&2; exit 2; }
	[[ $qgm_scale =~ ^(0?\.[0-9]*[1-9][0-9]*|1(\.0*)?)$ ]] || { echo "plan.sh: --qgm-scale must be in (0, 1]" >&2; exit 2; }
	qgm="--qgm,--qgm-scale,$qgm_scale"
fi

# Planning a directory again starts it afresh: iterations of an earlier plan
# would otherwise look like progress to the engines' resumption.
rm -rf "$out/iter" "$out/slurm" "$out/plan.env" "$out/ledger"
mkdir -p "$out/iter/000000" "$out/ledger"
"$BIN/ccl-partition" --dataset "$dataset" --agents "$agents" --alpha "$alpha" --seed "$seed" --normalize "$normalize" "${data[@]}" \
	-o "$out/shards" > "$out/histogram.txt"
gamma=$("$BIN/ccl-topology" --agents "$agents" --topology "$topology" --format yaml | awk '/^gamma:/ {print $2}')
neighbours=() weights=()
# Each line is "I SELF_WEIGHT J:W J:W ...", split without a process per agent.
while read -r i self rest; do
	read -ra edges <<<"$rest"
	neighbours[i]= weights[i]=$self
	for e in "${edges[@]}"; do neighbours[i]+=" ${e%%:*}" weights[i]+=",${e#*:}"; done
	neighbours[i]=${neighbours[i]# }
done < <("$BIN/ccl-topology" --agents "$agents" --topology "$topology" --format lines)

# The initial states, all from one process (ccl-batch(1)): a thousand agents
# would otherwise cost a thousand process starts.  agent-step.sh's `run`
# prints each call as the line ccl-batch reads.
# shellcheck source=agent-step.sh
. "$(dirname "$0")/agent-step.sh"
for ((i = 0; i < agents; i++)); do
	CCL_PRINT=1 run ccl-init "${init_arch[@]}" --shard "$out/shards/shard-$(printf %03d $i).ccl" --seed "$seed" \
		--batch-order "$batch_order" -o "$out/iter/000000/state-$i.ccl" -m "$out/iter/000000/model-$i.ccl"
done | "$BIN/ccl-batch"
samples=$("$BIN/ccl-info" --format yaml "$out/shards/shard-000.ccl" | awk -F'"' '/samples:/ {print $2}')
steps=$(((samples + batch - 1) / batch))
iterations=${iterations:-$((epochs * steps))}

# Private statistics: ccl-featstat's options, joined by commas like QGM's.
# Every epoch each agent releases its batch's statistic to each of its
# neighbours, so a sample is in at most (epochs x largest degree) releases.
privacy=
if [ -n "$clip$noise$epsilon$min_count" ]; then
	max_degree=$(for ((i = 0; i < agents; i++)); do wc -w <<<"${neighbours[i]}"; done | sort -n | tail -1)
	releases=$(((iterations + steps - 1) / steps * max_degree))
	[ -z "$epsilon" ] || noise=$("$BIN/ccl-privacy" --epsilon "$epsilon" --delta "$delta" --releases "$releases" \
		--format yaml | awk '/^noise:/ {print $2}')
	[ -z "$clip" ] || privacy=--clip,$clip
	[ -z "$noise" ] || privacy=$privacy,--noise,$noise
	[ -z "$min_count" ] || privacy=$privacy,--min-count,$min_count
	privacy=${privacy#,}
	[ -z "$noise" ] || (
		umask 077 && mkdir -p "$out/keys"
		for ((i = 0; i < agents; i++)); do
			key=$out/keys/agent-$(printf %03d $i).key
			[ -s "$key" ] || head -c 32 /dev/urandom > "$key"
		done
	)
fi

# The OpenBLAS kernel settings of this environment (OPENBLAS_CORETYPE,
# OPENBLAS_L2_SIZE, ...; the thread count aside) become part of the plan:
# agent-step.sh applies them wherever it runs, since ssh and some schedulers
# do not pass the environment on, and another kernel rounds differently.
blas_env=$(env | grep '^OPENBLAS_' | grep -v '^OPENBLAS_NUM_THREADS=' | sort | paste -sd' ' || true)
[[ $blas_env =~ ^[A-Za-z0-9_=.,\ -]*$ ]] || { echo "plan.sh: OPENBLAS_* values must be plain words" >&2; exit 2; }

# The plan, once for bash (sourced by agent-step.sh) and once for make.
{
	printf 'AGENTS=%d METHOD=%s TOPOLOGY=%s ITERATIONS=%d STEPS_PER_EPOCH=%d BATCH_ORDER=%s\n' "$agents" "$method" \
		"$topology" "$iterations" "$steps" "$batch_order"
	printf 'LR=%s MILESTONES=%s BATCH=%d GAMMA=%s QGM=%s LAMBDA_M=%s LAMBDA_D=%s\n' "$lr" "$milestones" "$batch" \
		"$gamma" "$qgm" "$lambda_m" "$lambda_d"
	printf "BLAS_ENV='%s' PRIVACY=%q DELTA=%q\n" "$blas_env" "$privacy" "$delta"
	for ((i = 0; i < agents; i++)); do
		printf "NEIGHBOURS[%d]='%s' WEIGHTS[%d]=%s\n" "$i" "${neighbours[i]}" "$i" "${weights[i]}"
	done
} > "$out/plan.env.tmp"
mv "$out/plan.env.tmp" "$out/plan.env"
{
	printf 'AGENTS := %d\nMETHOD := %s\nITERATIONS := %d\n' "$agents" "$method" "$iterations"
	for ((i = 0; i < agents; i++)); do printf 'NEIGHBOURS_%d := %s\n' "$i" "${neighbours[i]}"; done
} > "$out/plan.mk"
