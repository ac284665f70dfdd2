#!/usr/bin/env bats
# examples/experiment.sh end to end on a small data set in the IDX layout:
# every method runs, the CSV has a line per epoch, only CCL sends feature
# statistics, and a rerun gives byte-identical models.

load helpers

EXAMPLES=$BATS_TEST_DIRNAME/../../examples
EXPERIMENT=$EXAMPLES/experiment.sh

setup_file() {
	export D=$BATS_FILE_TMPDIR/d
	make_idx "$D" train 256
	make_idx "$D" t10k 40
}

run_experiment() {
	CCL_BIN=$CCL_BIN "$EXPERIMENT" --data "$D" --agents 4 --alpha 0.5 --epochs 2 --batch 16 --jobs 2 "$@"
}

@test "every method runs and writes one CSV line per epoch" {
	for m in dsgdm qgm ccl; do
		run run_experiment --method "$m" --out "$BATS_TEST_TMPDIR/$m"
		assert_success
		[ "$(wc -l < "$BATS_TEST_TMPDIR/$m/results.csv")" -eq 3 ]
	done
	# Parameters go over every edge; only CCL sends feature statistics.
	run awk -F, 'END {print $7, $8}' "$BATS_TEST_TMPDIR/dsgdm/results.csv"
	assert_output --regexp '^[1-9][0-9]* 0$'
	run awk -F, 'END {print ($8 > 0)}' "$BATS_TEST_TMPDIR/ccl/results.csv"
	assert_output 1
	# The rate each epoch ran at, as the states record it: 2 epochs put both
	# milestones at epoch 1.
	run awk -F, 'NR > 1 {print $2}' "$BATS_TEST_TMPDIR/ccl/results.csv"
	assert_line --index 0 0.01
	assert_line --index 1 0.0001
}

@test "the same run twice gives byte-identical models" {
	run_experiment --method ccl --out "$BATS_TEST_TMPDIR/a" > /dev/null
	run_experiment --method ccl --out "$BATS_TEST_TMPDIR/b" --jobs 1 > /dev/null
	last=$("$EXAMPLES/last-iteration.sh" "$BATS_TEST_TMPDIR/a")
	[ "$last" -eq 8 ] # 2 epochs of 64 samples in batches of 16
	[ "$("$EXAMPLES/last-iteration.sh" "$BATS_TEST_TMPDIR/b")" -eq 8 ]
	for i in 0 1 2 3; do
		cmp "$BATS_TEST_TMPDIR/a/iter/000008/model-$i.ccl" "$BATS_TEST_TMPDIR/b/iter/000008/model-$i.ccl"
	done
	# Older iterations were pruned as the run went.
	[ ! -e "$BATS_TEST_TMPDIR/a/iter/000007" ]
}

@test "a failed step stops the experiment with its message" {
	run run_experiment --method ccl --lr 1e300 --out "$BATS_TEST_TMPDIR/x"
	assert_failure
	assert_output --partial "ccl-train-step"
}

@test "a seed study tables every run; a diverged run is a row saying where, not an error" {
	export CCL_BIN
	run "$EXAMPLES/seed-study.sh" --seeds 1,2 --epochs 2 --out "$BATS_TEST_TMPDIR/s" qgm 'boom=--method ccl --lr 900' \
		-- --data "$D" --agents 4 --alpha 0.5 --batch 16 --milestones none
	assert_success
	csv=$BATS_TEST_TMPDIR/s/study.csv
	assert_equal "$(grep -c '^qgm,[12],finished,2,0\.[0-9]*,' "$csv")" 2
	# lr 900 blows up within the first iterations: epoch 0, some step, some agent.
	assert_equal "$(grep -cE '^boom,[12],diverged,0,+0,[0-3],[0-3]$' "$csv")" 2
	run cat "$BATS_TEST_TMPDIR/s/summary.md"
	assert_line --partial "| qgm | 2 | 2 | 0 | "
	assert_line --regexp '^\| boom \| 2 \| 0 \| 2 \| n/a \| n/a \| seed 1: epoch 0 step [0-3] agent [0-3]; seed 2: '
	# A rerun resumes: nothing is run again.
	run "$EXAMPLES/seed-study.sh" --seeds 1,2 --epochs 2 --out "$BATS_TEST_TMPDIR/s" qgm 'boom=--method ccl --lr 900' \
		-- --data "$D" --agents 4 --alpha 0.5 --batch 16 --milestones none
	assert_success
	[ "$(grep -c '(earlier)' <<<"$output")" -eq 4 ]
}

@test "the seed study refuses nonsense" {
	run "$EXAMPLES/seed-study.sh" --seeds 1,x qgm
	assert_failure 2
	assert_output "seed-study.sh: --seeds is a comma-separated list of integers"
	run "$EXAMPLES/seed-study.sh" sgd
	assert_failure 2
	assert_output "seed-study.sh: 'sgd' is not a method; write NAME=OPTIONS for a variant"
	run "$EXAMPLES/seed-study.sh" --epochs 0 qgm
	assert_failure 2
	run "$EXAMPLES/seed-study.sh"
	assert_failure 2
	assert_output "seed-study.sh: name at least one method or NAME=OPTIONS"
}

@test "the stable CCL variant (lambda_m 0.01) runs, with both terms, in either batch order" {
	for order in shared independent; do
		run run_experiment --method ccl --lambda-m 0.01 --batch-order "$order" --epochs 1 --milestones none \
			--out "$BATS_TEST_TMPDIR/$order"
		assert_success
		[ "$(wc -l < "$BATS_TEST_TMPDIR/$order/results.csv")" -eq 2 ]
		# Its steps carry both terms, the model-variant one at 0.01.
		run env CCL_PRINT=1 "$EXAMPLES/agent-step.sh" "$BATS_TEST_TMPDIR/$order" train 4 1
		assert_output --partial " --lambda-m 0.01 --lambda-d 0.1"
		assert_output --regexp "-N [^ ]*/model-0.ccl -f [^ ]*/fs-0-1.ccl"
		run ccl-info --format yaml "$BATS_TEST_TMPDIR/$order/iter/000004/model-1.ccl"
		assert_output --partial "batch_order: \"$order\""
	done
}

@test "a one-epoch plan says that both milestones fall at epoch 0" {
	run env CCL_BIN="$CCL_BIN" "$EXAMPLES/plan.sh" --data "$D" --agents 4 --alpha 0.5 --epochs 1 --batch 16 \
		--out "$BATS_TEST_TMPDIR/p"
	assert_success
	assert_output --partial "plan.sh: with --epochs 1 both milestones fall at epoch 0 (the authors' rule)"
	grep -q "MILESTONES=0,0 " "$BATS_TEST_TMPDIR/p/plan.env"
	run env CCL_BIN="$CCL_BIN" "$EXAMPLES/plan.sh" --data "$D" --agents 4 --alpha 0.5 --epochs 1 --batch 16 \
		--milestones none --out "$BATS_TEST_TMPDIR/p"
	refute_output --partial "milestones fall"
}

@test "an interrupted experiment resumes: same final models and results as an uninterrupted run" {
	make_idx "$BATS_TEST_TMPDIR/big" train 1024
	make_idx "$BATS_TEST_TMPDIR/big" t10k 40
	opts=(--data "$BATS_TEST_TMPDIR/big" --agents 4 --alpha 0.5 --epochs 3 --batch 16 --method ccl)
	CCL_BIN=$CCL_BIN "$EXPERIMENT" "${opts[@]}" --out "$BATS_TEST_TMPDIR/a" > /dev/null
	# Killed, with everything it started, once epoch 0 is recorded: where
	# in epoch 1 it stops does not matter.
	setsid env CCL_BIN="$CCL_BIN" "$EXPERIMENT" "${opts[@]}" --out "$BATS_TEST_TMPDIR/b" > /dev/null 2>&1 &
	pid=$!
	until [ "$(wc -l 2> /dev/null < "$BATS_TEST_TMPDIR/b/results.csv" || echo 0)" -ge 2 ]; do
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.02
	done
	kill -KILL -- -"$pid" 2> /dev/null || true
	wait "$pid" || true
	[ "$(wc -l < "$BATS_TEST_TMPDIR/b/results.csv")" -lt 4 ] # it did stop before the end
	run env CCL_BIN="$CCL_BIN" "$EXPERIMENT" "${opts[@]}" --out "$BATS_TEST_TMPDIR/b"
	assert_success
	last=$("$EXAMPLES/last-iteration.sh" "$BATS_TEST_TMPDIR/a")
	[ "$("$EXAMPLES/last-iteration.sh" "$BATS_TEST_TMPDIR/b")" -eq "$last" ]
	for i in 0 1 2 3; do cmp "$BATS_TEST_TMPDIR/a/iter/$(printf %06d "$last")/model-$i.ccl" \
		"$BATS_TEST_TMPDIR/b/iter/$(printf %06d "$last")/model-$i.ccl"; done
	# Every column but the wall time.
	cmp <(cut -d, -f1-8,10 "$BATS_TEST_TMPDIR/a/results.csv") <(cut -d, -f1-8,10 "$BATS_TEST_TMPDIR/b/results.csv")
	# Other options are refused, and --fresh starts afresh.
	run env CCL_BIN="$CCL_BIN" "$EXPERIMENT" "${opts[@]}" --seed 9 --out "$BATS_TEST_TMPDIR/b"
	assert_failure 2
	assert_output --partial "holds another plan"
	run env CCL_BIN="$CCL_BIN" "$EXPERIMENT" "${opts[@]}" --epochs 1 --fresh --out "$BATS_TEST_TMPDIR/b"
	assert_success
	[ "$(wc -l < "$BATS_TEST_TMPDIR/b/results.csv")" -eq 2 ]
}

@test "make install puts the examples under share/ccl, and they find the installed tools" {
	inst=$BATS_TEST_TMPDIR/inst
	make -s -C "$BATS_TEST_DIRNAME/../.." install DESTDIR="$inst" PREFIX=/usr BUILD="${BUILD:-build}" > /dev/null
	ex=$inst/usr/share/ccl/examples
	[ -x "$ex/experiment.sh" ] && [ -x "$ex/agent-step.sh" ] && [ -f "$ex/experiment.mk" ]
	[ -f "$inst/usr/share/man/man1/ccl-npz.1" ] && [ -x "$inst/usr/bin/ccl-privacy" ]
	# Only the installed tools on PATH, no CCL_BIN.
	run env -u CCL_BIN PATH="$inst/usr/bin:/usr/bin:/bin" "$ex/experiment.sh" --data "$D" --agents 4 --alpha 0.5 \
		--epochs 1 --batch 16 --method qgm --out "$BATS_TEST_TMPDIR/x"
	assert_success
	[ "$(wc -l < "$BATS_TEST_TMPDIR/x/results.csv")" -eq 2 ]
}
