#!/usr/bin/env bats
# A neighbour's artifact that is missing or late: --wait and --allow-missing
# of ccl-merge, ccl-featstat and ccl-train-step.

load helpers

setup_file() {
	export P=$BATS_FILE_TMPDIR/p
	make_trained_agents "$P"
}

setup() { T=$BATS_TEST_TMPDIR; }

@test "without --allow-missing a missing neighbour fails the merge, naming it" {
	run ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" -N "$T/gone.ccl" -o "$T/out.ccl"
	assert_failure
	assert_output --partial "$T/gone.ccl"
	[ ! -e "$T/out.ccl" ]
}

@test "--allow-missing renormalises the weights of the neighbours present" {
	# Weights 0.25 (self), 0.25, 0.5 without the third become 0.5, 0.5.
	run ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" -N "$T/gone.ccl" --weights 0.25,0.25,0.5 --qgm --allow-missing \
		-o "$T/renormalised.ccl"
	assert_success
	assert_output --partial "$T/gone.ccl: missing; going on without it"
	assert_output --partial "merged 1 of 2 inputs; weights renormalised to 0.5,0.5"
	ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" --weights 0.5,0.5 --qgm -o "$T/explicit.ccl"
	cmp "$T/renormalised.ccl" "$T/explicit.ccl"
}

@test "uniform weights stay uniform over the neighbours present" {
	ccl-merge -S "$P/s0.ccl" -N "$T/gone.ccl" -N "$P/m1.ccl" -N "$P/m2.ccl" --allow-missing -o "$T/a.ccl" 2> /dev/null
	ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" -N "$P/m2.ccl" -o "$T/b.ccl"
	cmp "$T/a.ccl" "$T/b.ccl"
}

@test "with every neighbour missing the state goes on unmixed" {
	run ccl-merge -S "$P/s0.ccl" -N "$T/gone1.ccl" -N "$T/gone2.ccl" --qgm --allow-missing -o "$T/alone.ccl"
	assert_success
	assert_output --partial "merged 0 of 2 inputs; weights renormalised to 1"
	cmp "$T/alone.ccl" "$P/s0.ccl"
}

@test "--wait takes a neighbour that arrives late" {
	(sleep 0.4 && cp "$P/m2.ccl" "$T/late.tmp" && mv "$T/late.tmp" "$T/late.ccl") &
	run ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" -N "$T/late.ccl" --wait 30 -o "$T/waited.ccl"
	assert_success
	refute_output --partial missing
	ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" -N "$P/m2.ccl" -o "$T/direct.ccl"
	cmp "$T/waited.ccl" "$T/direct.ccl"
}

@test "--wait gives up after its time and --allow-missing goes on" {
	run ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" -N "$T/never.ccl" --wait 0.3 --allow-missing -o "$T/out.ccl"
	assert_success
	assert_output --partial "$T/never.ccl: missing after waiting; going on without it"
}

@test "a corrupt neighbour still fails even with --allow-missing" {
	head -c 2000 "$P/m1.ccl" > "$T/cut.ccl"
	run ccl-merge -S "$P/s0.ccl" -N "$T/cut.ccl" --allow-missing -o "$T/out.ccl"
	assert_failure
	assert_output --partial "$T/cut.ccl"
}

@test "ccl-merge refuses a nonsense --wait" {
	run ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" --wait -1 -o "$T/out.ccl"
	assert_failure 2
	assert_output --partial "--wait"
	run ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" --wait soon -o "$T/out.ccl"
	assert_failure 2
}

@test "averaging with --allow-missing averages the models present" {
	run ccl-merge --allow-missing -o "$T/avg.ccl" "$P/m1.ccl" "$T/gone.ccl" "$P/m2.ccl"
	assert_success
	assert_output --partial "merged 2 of 3 inputs; weights renormalised to 0.5,0.5"
	ccl-merge -o "$T/avg2.ccl" "$P/m1.ccl" "$P/m2.ccl"
	cmp "$T/avg.ccl" "$T/avg2.ccl"
}

@test "ccl-featstat skips a missing model and writes the others" {
	run ccl-featstat -d "$P/shard-000.ccl" -S "$P/s0.ccl" -M "$T/gone.ccl" -o "$T/fs-gone.ccl" \
		-M "$P/m1.ccl" -o "$T/fs-1.ccl" --allow-missing
	assert_success
	[ ! -e "$T/fs-gone.ccl" ]
	ccl-featstat -d "$P/shard-000.ccl" -S "$P/s0.ccl" -M "$P/m1.ccl" -o "$T/fs-direct.ccl"
	cmp "$T/fs-1.ccl" "$T/fs-direct.ccl"
}

@test "ccl-train-step leaves out missing neighbour inputs of the CCL terms" {
	ccl-featstat -d "$P/shard-001.ccl" -S "$P/s1.ccl" -M "$P/m0.ccl" -o "$T/fs-1-0.ccl"
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.01 --lambda-m 0.1 --lambda-d 0.1 \
		-N "$P/m1.ccl" -f "$T/fs-1-0.ccl" -N "$T/gone.ccl" -f "$T/fs-gone.ccl" --allow-missing -o "$T/a.ccl"
	assert_success
	ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.01 --lambda-m 0.1 --lambda-d 0.1 \
		-N "$P/m1.ccl" -f "$T/fs-1-0.ccl" -o "$T/b.ccl"
	cmp "$T/a.ccl" "$T/b.ccl"
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.01 --lambda-m 0.1 -N "$T/gone.ccl" -o "$T/c.ccl"
	assert_failure
	assert_output --partial "$T/gone.ccl"
}
