#!/usr/bin/env bats
# The same experiment on every engine: the bash driver, make -j2 (with an
# interrupted run that resumes), GNU parallel over ssh to an sshd started
# here, and a single-node Slurm cluster started here (job arrays, and srun
# steps in one allocation).  Each must give the bash driver's final models
# byte for byte.  CCL, so that every kind of step and exchange takes part.

load helpers

EXAMPLES=$(cd "$BATS_TEST_DIRNAME/../../examples" && pwd)
ENGINES=$(cd "$BATS_TEST_DIRNAME/../engines" && pwd)

setup_file() {
	export D=$BATS_FILE_TMPDIR/d REF=$BATS_FILE_TMPDIR/ref
	make_idx "$D" train 256
	make_idx "$D" t10k 40
	export OPENBLAS_NUM_THREADS=1
	plan "$REF"
	"$EXAMPLES/run-bash.sh" "$REF" --jobs 2
}

# Two iterations of 4 agents on a ring.
plan() {
	CCL_BIN=$CCL_BIN "$EXAMPLES/plan.sh" --data "$D" --agents 4 --alpha 0.5 --epochs 1 --iterations 2 --batch 16 \
		--method ccl --out "$1" > /dev/null
}

same_as_bash() {
	[ "$("$EXAMPLES/last-iteration.sh" "$1")" -eq 2 ]
	for i in 0 1 2 3; do cmp "$REF/iter/000002/model-$i.ccl" "$1/iter/000002/model-$i.ccl"; done
}

setup() {
	T=$BATS_TEST_TMPDIR
	export CCL_BIN
	# GNU parallel keeps a cache under $HOME.
	export HOME=$T/home
	mkdir -p "$HOME"
}

teardown() {
	if [ -n "${SSHD_DIR:-}" ]; then "$ENGINES/sshd.sh" stop "$SSHD_DIR" && rm -rf "$SSHD_DIR"; fi
	if [ -n "${SLURM_DIR:-}" ]; then "$ENGINES/slurm-cluster.sh" stop "$SLURM_DIR" && rm -rf "$SLURM_DIR"; fi
}

@test "the bash driver ran both iterations" {
	[ "$("$EXAMPLES/last-iteration.sh" "$REF")" -eq 2 ]
	run ccl-info "$REF/iter/000002/fs-0-1.ccl"
	assert_success
}

@test "make -j2 gives the bash driver's models and has nothing left to do" {
	plan "$T/x"
	make -s -f "$EXAMPLES/experiment.mk" DIR="$T/x" -j2
	same_as_bash "$T/x"
	run make -f "$EXAMPLES/experiment.mk" DIR="$T/x" -j2
	assert_output --partial "Nothing to be done"
}

@test "run-make.sh runs make a chunk at a time, keeping only the newest iteration, and resumes" {
	plan "$T/x"
	"$EXAMPLES/run-make.sh" "$T/x" --chunk 1 --last 1
	run ls "$T/x/iter"
	assert_output 000001
	# Iteration 2 with one step cut short between its model and its state:
	# the iteration is not whole, so iteration 1 stays, and the rerun redoes
	# that step before deleting anything.
	make -s -f "$EXAMPLES/experiment.mk" DIR="$T/x" FIRST=2 LAST=2
	rm "$T/x/iter/000002/state-1.ccl"
	"$EXAMPLES/run-make.sh" "$T/x" --chunk 1
	run ls "$T/x/iter"
	assert_output 000002
	same_as_bash "$T/x"
	cmp "$REF/iter/000002/state-1.ccl" "$T/x/iter/000002/state-1.ccl"
	# The default chunk, from the start.
	plan "$T/y"
	"$EXAMPLES/run-make.sh" "$T/y" --jobs 2
	same_as_bash "$T/y"
	run ls "$T/y/iter"
	assert_output 000002
}

@test "make -j2 interrupted with Ctrl-C resumes without redoing finished steps" {
	plan "$T/x"
	# The local steps of iteration 2 are held back (the real tool runs
	# after a long pause), so the interrupt lands while they are running.
	mkdir "$T/slow"
	for tool in "$CCL_BIN"/*; do ln -s "$tool" "$T/slow/"; done
	rm "$T/slow/ccl-train-step"
	printf '#!/bin/sh\ncase "$*" in *iter/000002/*) sleep 60 ;; esac\nexec %s/ccl-train-step "$@"\n' "$CCL_BIN" \
		> "$T/slow/ccl-train-step"
	chmod +x "$T/slow/ccl-train-step"
	# Its own process group, as a terminal's foreground job has, and SIGINT
	# at its default even where the test runs in the background of a
	# non-interactive shell (which starts it ignored, and bash cannot undo).
	set -m
	CCL_BIN=$T/slow env --default-signal=INT make -f "$EXAMPLES/experiment.mk" DIR="$T/x" -j2 > "$T/first.log" 2>&1 &
	pid=$!
	set +m
	# Interrupt once iteration 2's gossip is all done and a local step runs.
	for ((n = 0; n < 600; n++)); do
		[ "$(ls "$T/x/iter/000002" 2> /dev/null | grep -c '^fs-')" -eq 8 ] && grep -q "train 000002" "$T/first.log" &&
			break
		sleep 0.1
	done
	kill -INT -- -"$pid"
	# (Not `run wait`: run's subshell cannot wait for this shell's job.)
	status=0
	wait "$pid" || status=$?
	[ "$status" -ne 0 ]
	[ "$("$EXAMPLES/last-iteration.sh" "$T/x")" -eq 1 ]
	[ ! -e "$T/x/iter/000002/model-0.ccl" ]
	ls -l --time-style=full-iso "$T/x/iter/000001" > "$T/before"

	run make -f "$EXAMPLES/experiment.mk" DIR="$T/x" -j2
	assert_success
	# Only iteration 2's local steps ran again; iteration 1 was left alone.
	[ "$(grep -c "agent-step.sh.* train 000002 " <<<"$output")" -eq 4 ]
	refute_output --partial " 000001 "
	refute_output --partial "merge 000002"
	ls -l --time-style=full-iso "$T/x/iter/000001" | diff "$T/before" -
	same_as_bash "$T/x"
}

@test "GNU parallel over ssh gives the bash driver's models" {
	SSHD_DIR=$(mktemp -d /tmp/ccl-sshd.XXXXXX)
	"$ENGINES/sshd.sh" start "$SSHD_DIR"
	plan "$T/x"
	"$EXAMPLES/run-parallel.sh" "$T/x" --ssh "ssh -F $SSHD_DIR/ssh_config" --sshlogin 2/ccl-test-host
	same_as_bash "$T/x"
	# The jobs did run through ssh: sshd logged the logins.
	grep -q "Accepted publickey" "$SSHD_DIR/sshd.log"

	# A plan made under a forced kernel runs it on the remote side too,
	# though ssh does not pass the variable on; and a local run whose
	# environment says otherwise runs the plan's kernel as well.
	OPENBLAS_CORETYPE=Haswell plan "$T/h"
	"$EXAMPLES/run-parallel.sh" "$T/h" --ssh "ssh -F $SSHD_DIR/ssh_config" --sshlogin 2/ccl-test-host
	OPENBLAS_CORETYPE=Haswell plan "$T/h-bash"
	OPENBLAS_CORETYPE=SkylakeX "$EXAMPLES/run-bash.sh" "$T/h-bash"
	for i in 0 1 2 3; do
		run ccl-info --format yaml "$T/h/iter/000002/model-$i.ccl" "$T/h/iter/000002/fs-$i-$(((i + 1) % 4)).ccl"
		assert_success
		[ "$(grep -c 'blas_kernel: "Haswell"' <<<"$output")" -eq 2 ]
		cmp "$T/h-bash/iter/000002/model-$i.ccl" "$T/h/iter/000002/model-$i.ccl"
	done
}

@test "the bash driver with --batch (one ccl-batch per worker) gives the bash driver's models" {
	plan "$T/x"
	"$EXAMPLES/run-bash.sh" "$T/x" --jobs 2 --batch
	same_as_bash "$T/x"
	for f in "$REF"/iter/000002/*.ccl; do cmp "$f" "$T/x/iter/000002/${f##*/}"; done
	# A failing call stops the run and says which line of which phase.
	plan "$T/bad"
	truncate -s 1000 "$T/bad/iter/000000/model-2.ccl"
	run "$EXAMPLES/run-bash.sh" "$T/bad" --batch
	assert_failure
	assert_output --partial "model-2.ccl: "
	assert_output --regexp "ccl-batch: <stdin>: stopped at line 1: .*ccl-merge -S .*/iter/000000/state-[13].ccl"
	assert_output --partial "gossip of iteration 1 failed"
}

@test "GNU parallel locally gives the bash driver's models" {
	plan "$T/x"
	"$EXAMPLES/run-parallel.sh" "$T/x" --jobs 2
	same_as_bash "$T/x"
}

@test "Slurm job arrays and srun steps give the bash driver's models; a failure stops the chain" {
	[ "$(id -u)" -eq 0 ] || skip "a private Slurm cluster needs root"
	SLURM_DIR=$(mktemp -d /tmp/ccl-slurm.XXXXXX)
	"$ENGINES/slurm-cluster.sh" start "$SLURM_DIR" > /dev/null
	export SLURM_CONF=$SLURM_DIR/slurm.conf

	plan "$T/arrays"
	"$EXAMPLES/run-slurm.sh" "$T/arrays" --mode arrays --wait
	same_as_bash "$T/arrays"

	plan "$T/alloc"
	"$EXAMPLES/run-slurm.sh" "$T/alloc" --mode allocation --tasks 2 --wait
	same_as_bash "$T/alloc"

	# A corrupt model of agent 2: the gossip of agents 1 and 3 fails, the
	# rest of the chain is cancelled, and nothing stays queued.
	for mode in arrays allocation; do
		plan "$T/bad-$mode"
		truncate -s 1000 "$T/bad-$mode/iter/000000/model-2.ccl"
		run "$EXAMPLES/run-slurm.sh" "$T/bad-$mode" --mode "$mode" --wait
		assert_failure
		assert_output --partial "gossip of iteration 1 failed for agent"
		[ -z "$(squeue -h -o %i)" ]
		[ ! -e "$T/bad-$mode/iter/000002" ] || [ -z "$(ls "$T/bad-$mode/iter/000002")" ]
	done
}

@test "the engine scripts refuse nonsense options with one clear line" {
	run "$EXAMPLES/run-bash.sh" "$REF" --jobs 0
	assert_failure 2
	assert_output "run-bash.sh: --jobs must be a positive integer"
	run "$EXAMPLES/run-parallel.sh" "$REF" --jobs many
	assert_failure 2
	assert_output "run-parallel.sh: --jobs must be a positive integer"
	run "$EXAMPLES/run-make.sh" "$REF" --chunk 0
	assert_failure 2
	assert_output "run-make.sh: --jobs and --chunk must be positive integers"
	run "$EXAMPLES/run-make.sh" "$T/nothing"
	assert_failure 2
	assert_output "run-make.sh: $T/nothing: no plan.env (run examples/plan.sh first)"
	run "$EXAMPLES/run-slurm.sh" "$REF" --mode batch
	assert_failure 2
	assert_output --partial "--mode is arrays or allocation"
	run "$EXAMPLES/agent-step.sh" "$REF" dance 1 0
	assert_failure 2
	assert_output --partial "unknown phase 'dance'"
	run "$EXAMPLES/agent-step.sh" "$REF" train 3 0
	assert_failure 2
	assert_output --partial "no iteration '3'"
	run "$EXAMPLES/agent-step.sh" "$REF" train 1 4
	assert_failure 2
	assert_output --partial "no agent '4'"
	run "$EXAMPLES/plan.sh" --method dsgdm --qgm-scale 0.1 --out "$T/p"
	assert_failure 2
	assert_output "plan.sh: --qgm-scale needs QGM (method qgm or ccl, or --qgm on)"
	run "$EXAMPLES/plan.sh" --qgm-scale 1.5 --out "$T/p"
	assert_failure 2
	assert_output "plan.sh: --qgm-scale must be in (0, 1]"
}

@test "a plan with --qgm-scale passes it to every merge" {
	CCL_BIN=$CCL_BIN "$EXAMPLES/plan.sh" --data "$D" --agents 4 --alpha 0.5 --iterations 2 --batch 16 \
		--method qgm --qgm-scale 0.25 --out "$T/q" > /dev/null
	run env CCL_PRINT=1 "$EXAMPLES/agent-step.sh" "$T/q" merge 2 2
	assert_success
	assert_output --partial " --qgm --qgm-scale 0.25 "
	"$EXAMPLES/run-bash.sh" "$T/q"
	# Iteration 2: the first whose merge has a previous step to correct.
	ccl-merge -S "$T/q/iter/000001/state-2.ccl" -N "$T/q/iter/000001/model-1.ccl" \
		-N "$T/q/iter/000001/model-3.ccl" --qgm --qgm-scale 0.25 -o "$T/by-hand.ccl"
	cmp "$T/by-hand.ccl" "$T/q/iter/000002/merged-2.ccl"
	ccl-merge -S "$T/q/iter/000001/state-2.ccl" -N "$T/q/iter/000001/model-1.ccl" \
		-N "$T/q/iter/000001/model-3.ccl" --qgm -o "$T/full.ccl"
	run cmp -s "$T/full.ccl" "$T/q/iter/000002/merged-2.ccl"
	assert_failure 1
}

@test "planning a directory again starts it afresh, so nothing stale looks done" {
	plan "$T/x"
	"$EXAMPLES/run-bash.sh" "$T/x" --last 1
	[ "$("$EXAMPLES/last-iteration.sh" "$T/x")" -eq 1 ]
	plan "$T/x"
	[ "$("$EXAMPLES/last-iteration.sh" "$T/x")" -eq 0 ]
	[ ! -e "$T/x/iter/000001" ]
}

@test "a directory named with quotes, a tab and non-ASCII bytes plans and runs, batched too" {
	odd=$T/$'it\'s\tcaf\xc3\xa9'
	LC_ALL=C plan "$odd"
	LC_ALL=C "$EXAMPLES/run-bash.sh" "$odd" --jobs 2 --batch
	same_as_bash "$odd"
}
