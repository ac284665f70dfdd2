#!/usr/bin/env bats
# ccl-batch: argument checks and bad input first, then behaviour: tool calls
# read as lines give the same bytes as the tools run one by one.

load helpers

setup_file() {
	export P=$BATS_FILE_TMPDIR/p
	ccl-partition -n 3 --alpha 0.5 --seed 3 -o "$P" > /dev/null
	for i in 0 1 2; do
		ccl-init --shard "$P/shard-00$i.ccl" --seed 9 -o "$P/s$i.ccl" -m "$P/m$i.ccl"
	done
}

setup() { T=$BATS_TEST_TMPDIR; }

# The calls of one CCL iteration of agent 0 with neighbour 1, into DIR: a
# comment, a tool named by its path, an empty line.
iteration_calls() {
	cat <<-CALLS
		# agent 0's iteration
		ccl-merge -S $P/s0.ccl -N $P/m1.ccl -N $P/m2.ccl --qgm -o $1/merged-0.ccl
		$CCL_BIN/ccl-featstat -d $P/shard-001.ccl -S $P/s1.ccl -M $P/m0.ccl -o $1/fs-1-0.ccl

		ccl-train-step -S $1/merged-0.ccl -d $P/shard-000.ccl --lr 0.01 -N $P/m1.ccl -f $1/fs-1-0.ccl --lambda-m 0.1 --lambda-d 0.1 -o $1/state-0.ccl -m $1/model-0.ccl
	CALLS
}

@test "ccl-batch answers --help and --version" {
	run ccl-batch --help
	assert_success
	assert_output --partial "Usage: ccl-batch [FILE]..."
	run ccl-batch --version
	assert_success
	assert_output --regexp '^ccl-batch \(ccl\) '
}

@test "a missing input file is named" {
	run ccl-batch "$T/nowhere.txt"
	assert_failure 3
	assert_output "ccl-batch: $T/nowhere.txt: cannot open: No such file or directory"
}

@test "a line that is not a ccl tool call is refused with its number" {
	printf 'ccl-info -q %s\nrm -rf %s\n' "$P/m0.ccl" "$T" > "$T/calls"
	run ccl-batch "$T/calls"
	assert_failure 3
	assert_output "ccl-batch: $T/calls: line 2: 'rm' is not a ccl tool"
	assert_dir_exist "$T"
}

@test "unterminated quotes, \$'...' quoting and NUL bytes are refused" {
	run ccl-batch <<<"ccl-info 'unfinished"
	assert_failure 3
	assert_output "ccl-batch: <stdin>: line 1: unterminated quote"
	run ccl-batch <<<'ccl-info "unfinished'
	assert_failure 3
	assert_output "ccl-batch: <stdin>: line 1: unterminated quote"
	run ccl-batch <<<"ccl-info \$'a\\tb'"
	assert_failure 3
	assert_output --partial "\$'...' quoting is not supported"
	printf 'ccl-info -q %s\0junk\n' "$P/m0.ccl" > "$T/nul"
	run ccl-batch "$T/nul"
	assert_failure 3
	assert_output "ccl-batch: $T/nul: line 1 holds a NUL byte"
}

@test "the first failing call stops the batch with its status; later lines do not run" {
	head -c 1000 "$P/m1.ccl" > "$T/cut.ccl"
	printf '%s\n' "ccl-merge -S $P/s0.ccl -N $P/m1.ccl -o $T/a.ccl" \
		"ccl-merge -S $P/s0.ccl -N $T/cut.ccl -o $T/b.ccl" \
		"ccl-merge -S $P/s0.ccl -N $P/m2.ccl -o $T/c.ccl" > "$T/calls"
	run ccl-batch "$T/calls"
	assert_failure 3
	assert_line --index 0 --partial "ccl-merge: $T/cut.ccl: truncated"
	assert_line --index 1 "ccl-batch: $T/calls: stopped at line 2: ccl-merge -S $P/s0.ccl -N $T/cut.ccl -o $T/b.ccl"
	[ "${#lines[@]}" -eq 2 ]
	assert_file_exist "$T/a.ccl"
	assert_file_not_exist "$T/b.ccl"
	assert_file_not_exist "$T/c.ccl"
	# A usage error inside a line is the tool's usage error.
	run ccl-batch <<<"ccl-train-step -S $P/s0.ccl -d $P/shard-000.ccl --lr -1 -o $T/x.ccl"
	assert_failure 2
	assert_line --index 0 --partial "ccl-train-step: --lr"
}

@test "calls read as lines write the same bytes as the tools run one by one" {
	mkdir "$T/direct" "$T/batch"
	iteration_calls "$T/direct" | grep -v '^#' | while read -r line; do [ -z "$line" ] || $line; done
	iteration_calls "$T/batch" | ccl-batch
	for f in merged-0 fs-1-0 state-0 model-0; do cmp "$T/direct/$f.ccl" "$T/batch/$f.ccl"; done
	# Files on the command line run in order, "-" being standard input.
	mkdir "$T/files"
	iteration_calls "$T/files" | head -3 > "$T/first"
	iteration_calls "$T/files" | tail -n +4 | ccl-batch "$T/first" -
	cmp "$T/direct/model-0.ccl" "$T/files/model-0.ccl"
}

@test "quoting works as in sh, and a tool's output goes to standard output" {
	mkdir "$T/a dir"
	cp "$P/m0.ccl" "$T/a dir/it's.ccl"
	run ccl-batch <<<"ccl-info --format yaml \"$T/a dir/it's.ccl\" '$P/m1.ccl'
ccl-info --format yaml $(printf '%q' "$T/a dir/it's.ccl")"
	assert_success
	[ "$(grep -c '^- file: ' <<<"$output")" -eq 3 ]
	assert_output --partial "$T/a dir/it's.ccl"
}

@test "with CCL_PROFILE, ccl-batch appends where its time went" {
	iteration_calls "$T" > "$T/calls"
	CCL_PROFILE=$T/profile ccl-batch "$T/calls"
	CCL_PROFILE=$T/profile ccl-batch "$T/calls"
	run awk '{print NF, $1, $7, $8}' "$T/profile"
	# Two lines of 8 fields; 3 calls reading 3 + 3 + 4 artifacts (the
	# shards included) and writing 1 + 1 + 2.
	assert_output "$(printf '8 3 10 4\n8 3 10 4')"
	# Seconds: main >= the tools >= reading + writing, reading >= verifying.
	run awk '$2 >= $3 && $3 >= $4 + $6 && $4 >= $5 && $5 > 0 {ok++} END {print ok}' "$T/profile"
	assert_output 2
	# Without it, nothing is written.
	ccl-batch "$T/calls"
	[ "$(wc -l < "$T/profile")" -eq 2 ]
}
