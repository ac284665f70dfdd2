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
