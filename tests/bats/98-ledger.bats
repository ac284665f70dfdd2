#!/usr/bin/env bats
# The byte ledger: what each tool read from another agent, summed per agent
# and per edge by examples/ledger.sh, checked against the files themselves.

load helpers

EXAMPLES=$BATS_TEST_DIRNAME/../../examples

setup_file() {
	export D=$BATS_FILE_TMPDIR/d P=$BATS_FILE_TMPDIR/p
	make_idx "$D" train 256
	make_idx "$D" t10k 40
	make_trained_agents "$P"
	# CCL on a chain of 4 (degrees 1, 2, 2, 1), 3 iterations, every file kept.
	export X=$BATS_FILE_TMPDIR/chain
	CCL_BIN=$CCL_BIN "$EXAMPLES/plan.sh" --data "$D" --agents 4 --topology chain --alpha 0.5 --epochs 1 \
		--iterations 3 --batch 16 --method ccl --out "$X" > /dev/null
	CCL_BIN=$CCL_BIN "$EXAMPLES/run-bash.sh" "$X" --batch
}

setup() { T=$BATS_TEST_TMPDIR; }

# sent_by_files DIR J: the bytes of the files agent J's neighbours read from
# it, from the iteration directories: its model of T-1 and its statistic
# for that neighbour of T, for every iteration T and every neighbour.
sent_by_files() {
	local dir=$1 j=$2 t i total=0
	for t in 1 2 3; do
		for i in $(awk -v j="$j" -F"'" '$0 ~ "^NEIGHBOURS\\[" j "\\]=" {print $2}' "$dir/plan.env"); do
			total=$((total + $(stat -c %s "$(printf '%s/iter/%06d' "$dir" $((t - 1)))/model-$j.ccl")))
			total=$((total + $(stat -c %s "$(printf '%s/iter/%06d' "$dir" "$t")/fs-$j-$i.ccl")))
		done
	done
	echo "$total"
}

@test "on a chain the bytes each agent sent follow its degree and equal the files its neighbours read" {
	run "$EXAMPLES/ledger.sh" "$X"
	assert_success
	for j in 0 1 2 3; do
		run awk -F, -v j="$j" '$1 == j {print $4 + $5}' "$X/bytes-agents.csv"
		assert_output "$(sent_by_files "$X" "$j")"
	done
	# Payload: a model's parameters (4 bytes each) per neighbour and iteration.
	params=$(ccl-info --format yaml "$X/iter/000000/model-0.ccl" | sed -n 's/.*name: "params".*shape: \[\([0-9]*\)\].*/\1/p')
	[ "$params" -gt 0 ]
	run awk -F, 'NR > 1 {print $1, $2}' "$X/bytes-agents.csv"
	assert_line --index 0 "0 $((3 * 1 * 4 * params))"
	assert_line --index 1 "1 $((3 * 2 * 4 * params))"
	assert_line --index 2 "2 $((3 * 2 * 4 * params))"
	assert_line --index 3 "3 $((3 * 1 * 4 * params))"
	# Every edge of the chain, both ways, and nothing else.
	run cut -d, -f1,2 "$X/bytes-edges.csv"
	assert_output "$(printf 'sender,receiver\n0,1\n1,0\n1,2\n2,1\n2,3\n3,2')"
}

@test "a file read by several tools, or again by a step run twice, counts once" {
	before=$("$EXAMPLES/ledger.sh" "$X")
	read_before=$(cat "$X"/ledger/*.tsv | wc -l)
	# Each of agent 1's neighbour models is read by three tools per iteration.
	run awk -F'\t' '$6 ~ /000001\/model-0.ccl$/' "$X/ledger/agent-001.tsv"
	[ "${#lines[@]}" -eq 3 ]
	# Agent 1's gossip and train steps of iteration 2, run again by hand
	# (they write the same bytes again), the directory spelled otherwise, as
	# another engine may.
	CCL_BIN=$CCL_BIN "$EXAMPLES/agent-step.sh" "$X/" gossip 2 1
	CCL_BIN=$CCL_BIN "$EXAMPLES/agent-step.sh" "$X/../chain" train 2 1
	[ "$(cat "$X"/ledger/*.tsv | wc -l)" -eq $((read_before + 8)) ]
	run "$EXAMPLES/ledger.sh" "$X"
	assert_success
	assert_output "$before"
}

@test "each tool notes what it read from others, and nothing of its own" {
	ccl-merge -S "$P/s1.ccl" -N "$P/m0.ccl" -N "$P/m2.ccl" -o "$T/merged.ccl" --ledger "$T/l.tsv"
	run cut -f1-4 "$T/l.tsv"
	assert_line --index 0 --regexp $'^1\t0\tmodel\t[0-9]+$'
	assert_line --index 1 --regexp $'^1\t2\tmodel\t[0-9]+$'
	run cut -f5,6 "$T/l.tsv"
	assert_line --index 0 "$(stat -c %s "$P/m0.ccl")	$P/m0.ccl"
	# ccl-featstat: the neighbour's model is noted, the agent's own is not.
	ccl-featstat -d "$P/shard-001.ccl" -S "$T/merged.ccl" -M "$P/m0.ccl" -o "$T/fs-1-0.ccl" \
		-M "$P/m1.ccl" -o "$T/fs-1-1.ccl" --ledger "$T/f.tsv"
	run cut -f1-3,6 "$T/f.tsv"
	assert_output "1	0	model	$P/m0.ccl"
	# ccl-train-step: agent 0 reads agent 1's statistic (payload: 10 x 84
	# sums and 10 counts, 4 bytes each) and model.
	ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -N "$P/m1.ccl" -f "$T/fs-1-0.ccl" --lambda-m 0.1 \
		--lambda-d 0.1 --lr 0.01 -o "$T/s0.ccl" --ledger "$T/t.tsv"
	run cut -f1-4 "$T/t.tsv"
	assert_line --index 0 --regexp $'^0\t1\tmodel\t'
	assert_line --index 1 $'0\t1\tfeatstat\t3400'
	# A state given in a model's place counts as a model: its parameters.
	ccl-merge -S "$P/s1.ccl" -N "$P/s0.ccl" -o "$T/m3.ccl" --ledger "$T/s.tsv"
	params=$(awk -F'\t' '{print $4}' "$T/l.tsv" | head -1)
	run cut -f1-4 "$T/s.tsv"
	assert_output "1	0	model	$params"
	# A name with a tab and a newline stays one line of six fields.
	cp "$P/m2.ccl" "$T/odd	name
.ccl"
	ccl-merge -S "$P/s1.ccl" -N "$T/odd	name
.ccl" -o "$T/m2.ccl" --ledger "$T/odd.tsv"
	run awk -F'\t' '{print NF}' "$T/odd.tsv"
	assert_output 6
}

@test "a ledger that cannot be written fails the step before any output" {
	run ccl-merge -S "$P/s1.ccl" -N "$P/m0.ccl" -o "$T/merged.ccl" --ledger "$T/no/such/dir/l.tsv"
	assert_failure 1
	assert_output --partial "$T/no/such/dir/l.tsv: cannot open the ledger"
	assert_file_not_exists "$T/merged.ccl"
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -N "$P/m1.ccl" --lambda-m 0.1 --lr 0.01 \
		-o "$T/s0.ccl" --ledger "$T"
	assert_failure 1
	assert_output --partial "cannot open the ledger"
	assert_file_not_exists "$T/s0.ccl"
	# Averaging models has no receiver.
	run ccl-merge -o "$T/avg.ccl" --ledger "$T/l.tsv" "$P/m0.ccl" "$P/m1.ccl"
	assert_failure 2
	assert_output --partial "--ledger need --state"
}

@test "a ledger write cut short is taken back whole: no half line is left" {
	head -c 2000 /dev/zero | tr '\0' x > "$T/full.tsv"
	echo >> "$T/full.tsv"
	# Files may grow to 2 KiB: the ledger's line does not fit.
	run bash -c "trap '' XFSZ; ulimit -f 2; ccl-merge -S '$P/s1.ccl' -N '$P/m0.ccl' -o '$T/merged.ccl' --ledger '$T/full.tsv'"
	assert_failure 1
	assert_output --partial "$T/full.tsv: cannot append to the ledger: short write"
	assert_file_not_exists "$T/merged.ccl"
	[ "$(stat -c %s "$T/full.tsv")" -eq 2001 ]
}

@test "folding the ledgers keeps the sums and keeps them small; a step run again still counts once" {
	cp -r "$X" "$T/x"
	before=$("$EXAMPLES/ledger.sh" "$T/x")
	run "$EXAMPLES/ledger.sh" --fold-before 2 "$T/x"
	assert_success
	assert_output "$before"
	# Only files of iterations 2 and 3 are left in the ledgers.
	run bash -c "cut -f6 '$T/x'/ledger/agent-*.tsv | grep -o 'iter/00000[0-9]' | sort -u"
	assert_output "$(printf 'iter/000002\niter/000003')"
	run head -1 "$T/x/ledger/folded.tsv"
	assert_output "# folded before iteration 2"
	cp "$T/x/bytes-edges.csv" "$T/edges-before"
	# Again, folding more; and a step of iteration 3 run again.
	CCL_BIN=$CCL_BIN "$EXAMPLES/agent-step.sh" "$T/x" train 3 2
	run "$EXAMPLES/ledger.sh" --fold-before 3 "$T/x"
	assert_output "$before"
	run "$EXAMPLES/ledger.sh" "$T/x"
	assert_output "$before"
	cmp "$T/edges-before" "$T/x/bytes-edges.csv"
	# Lines of folded iterations left behind (a fold cut short) are skipped.
	cat "$X"/ledger/agent-001.tsv >> "$T/x/ledger/agent-001.tsv"
	run "$EXAMPLES/ledger.sh" "$T/x"
	assert_output "$before"
}

@test "ledger.sh refuses what is not an experiment or not a ledger" {
	run "$EXAMPLES/ledger.sh" "$T"
	assert_failure 2
	assert_output "ledger.sh: $T: no plan.env (not an experiment directory)"
	cp -r "$X" "$T/x"
	printf 'garbage\n' >> "$T/x/ledger/agent-002.tsv"
	run "$EXAMPLES/ledger.sh" "$T/x"
	assert_failure
	assert_output --partial "malformed ledger line"
}

@test "experiment.sh reports the ledger's bytes per agent, exactly, on an irregular graph" {
	CCL_BIN=$CCL_BIN "$EXAMPLES/experiment.sh" --data "$D" --agents 4 --topology chain --alpha 0.5 --epochs 1 \
		--batch 16 --method ccl --out "$T/e" > /dev/null
	run "$EXAMPLES/ledger.sh" "$T/e"
	read -r pb fb pfb ffb <<<"$output"
	run awk -F, 'NR == 2 {print $7, $8, $11, $12}' "$T/e/results.csv"
	assert_output "$pb $fb $pfb $ffb"
	# The mean over agents of degrees 1, 2, 2, 1: 1.5 edges' worth.
	sent1=$(awk -F, '$1 == 1 {print $2}' "$T/e/bytes-agents.csv")
	[ "$((4 * pb))" -eq "$((3 * sent1))" ]
}
