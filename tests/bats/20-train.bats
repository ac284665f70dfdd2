#!/usr/bin/env bats
# ccl-init and ccl-train-step: argument checks, bad input, then behaviour.

load helpers

setup_file() {
	export P=$BATS_FILE_TMPDIR/p
	ccl-partition -n 4 --alpha 0.5 --seed 3 -o "$P" > /dev/null
	ccl-init --shard "$P/shard-000.ccl" --seed 9 -o "$P/s0.ccl" -m "$P/m0.ccl"
	ccl-init --arch mlp --shard "$P/shard-000.ccl" --seed 9 -o "$P/mlp.ccl"
	ccl-init --classes 7 --input 1x28x28 --seed 9 -o "$P/k7.ccl"
}

setup() { T=$BATS_TEST_TMPDIR; }

@test "ccl-init and ccl-train-step answer --help and --version" {
	for t in ccl-init ccl-train-step; do
		run $t --help
		assert_success
		assert_output --partial "Usage: $t"
		run $t --version
		assert_success
		assert_output --regexp "^$t \(ccl\) "
	done
}

@test "ccl-init refuses an unknown architecture and a bad input shape" {
	run ccl-init --arch resnet5 --shard "$P/shard-000.ccl" -o "$T/s.ccl"
	assert_failure 2
	assert_output --partial "unknown value 'resnet5'"
	run ccl-init --classes 10 --input 28x28 -o "$T/s.ccl"
	assert_failure 2
	assert_output --partial "--input: '28x28' is not CxHxW"
}

@test "the same seed gives every agent the same initial parameters" {
	ccl-init --shard "$P/shard-001.ccl" --seed 9 -o "$T/s1.ccl" -m "$T/m1.ccl"
	cmp <(tar -xOf "$P/s0.ccl" params.bin) <(tar -xOf "$T/s1.ccl" params.bin)
	ccl-init --shard "$P/shard-001.ccl" --seed 10 -o "$T/s2.ccl"
	run cmp -s <(tar -xOf "$P/s0.ccl" params.bin) <(tar -xOf "$T/s2.ccl" params.bin)
	assert_failure 1
	run ccl-info "$P/s0.ccl"
	assert_output --partial "tensor params     f32 [61706]"
}

@test "--lr is required and nonsense values are refused" {
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -o "$T/n.ccl"
	assert_failure 2
	assert_output --partial -- "--lr is required"
	for bad in "--lr 0" "--lr -1" "--lr x" "--batch 0" "--batch -2" "--steps 0" "--momentum 1" "--lambda-m -1"; do
		run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -o "$T/n.ccl" --lr 0.01 $bad
		assert_failure 2
	done
	assert_not_exist "$T/n.ccl"
}

@test "a batch larger than the shard is refused" {
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -o "$T/n.ccl" --lr 0.01 --batch 20000
	assert_failure 3
	assert_output --partial "batch 20000 is larger than the shard's 15000 samples"
}

@test "a missing shard is named" {
	run ccl-train-step -S "$P/s0.ccl" -d "$T/none.ccl" -o "$T/n.ccl" --lr 0.01
	assert_failure 3
	assert_output "ccl-train-step: $T/none.ccl: cannot open: No such file or directory"
}

@test "a model given where a state is expected is refused" {
	run ccl-train-step -S "$P/m0.ccl" -d "$P/shard-000.ccl" -o "$T/n.ccl" --lr 0.01
	assert_failure 3
	assert_output --partial "is a model artifact, expected a state"
}

@test "a shard given where a state is expected is refused" {
	run ccl-train-step -S "$P/shard-001.ccl" -d "$P/shard-000.ccl" -o "$T/n.ccl" --lr 0.01
	assert_failure 3
	assert_output --partial "is a shard artifact, expected a state"
}

@test "a state whose class count differs from the shard's is refused" {
	run ccl-train-step -S "$P/k7.ccl" -d "$P/shard-000.ccl" -o "$T/n.ccl" --lr 0.01
	assert_failure 3
	assert_output --partial "shard has 10 classes, the model 7"
}

@test "a neighbour model of another architecture is refused" {
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -o "$T/n.ccl" --lr 0.01 \
		-N "$P/mlp.ccl" --lambda-m 0.1
	assert_failure 3
	assert_output --partial "$P/mlp.ccl: architecture mlp does not match lenet5"
}

@test "NaN in a parameter is refused with its index" {
	# A state with valid checksums whose parameter 100 is NaN.
	"$CCL_BIN/../tests/fixture_nan" "$P/s0.ccl" params 100 "$T/nan.ccl"
	run ccl-train-step -S "$T/nan.ccl" -d "$P/shard-000.ccl" -o "$T/n.ccl" --lr 0.01
	assert_failure 3
	assert_output "ccl-train-step: $T/nan.ccl: tensor 'params' holds NaN at index 100"
	run ccl-merge -S "$P/s0.ccl" -N "$T/nan.ccl" -o "$T/n.ccl"
	assert_failure 3
	assert_not_exist "$T/n.ccl"
}

@test "a truncated state is refused and the output is not created" {
	head -c 100000 "$P/s0.ccl" > "$T/cut.ccl"
	run ccl-train-step -S "$T/cut.ccl" -d "$P/shard-000.ccl" -o "$T/n.ccl" --lr 0.01
	assert_failure 3
	assert_output --partial "truncated"
	assert_not_exist "$T/n.ccl"
}

@test "a failed step leaves an existing output untouched" {
	cp "$P/s0.ccl" "$T/n.ccl"
	run ccl-train-step -S "$P/s0.ccl" -d "$T/none.ccl" -o "$T/n.ccl" --lr 0.01
	assert_failure 3
	cmp "$P/s0.ccl" "$T/n.ccl"
	[ -z "$(ls "$T" | grep tmp)" ]
}

@test "a step advances the counters and is deterministic" {
	ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -o "$T/a.ccl" -m "$T/am.ccl" --lr 0.01 --steps 3
	ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -o "$T/b.ccl" --lr 0.01 --steps 3
	cmp "$T/a.ccl" "$T/b.ccl"
	run ccl-info "$T/a.ccl"
	assert_output --partial "iteration    3"
	assert_output --partial "step         3"
	run ccl-info "$T/am.ccl"
	assert_output --partial "model artifact"
	refute_output --partial "momentum"
	# Three calls of one step equal one call of three steps.
	ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -o "$T/c.ccl" --lr 0.01
	ccl-train-step -S "$T/c.ccl" -d "$P/shard-000.ccl" -o "$T/c.ccl" --lr 0.01
	ccl-train-step -S "$T/c.ccl" -d "$P/shard-000.ccl" -o "$T/c.ccl" --lr 0.01
	cmp "$T/a.ccl" "$T/c.ccl"
}

@test "an epoch wraps after ceil(N / B) steps and the schedule divides the rate" {
	ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -o "$T/a.ccl" --lr 0.01 --batch 5000 --steps 3 \
		--milestones 1 --lr-factor 0.5
	run ccl-info "$T/a.ccl"
	assert_output --partial "epoch        1"
	assert_output --partial "lr           0.01"
	ccl-train-step -S "$T/a.ccl" -d "$P/shard-000.ccl" -o "$T/a.ccl" --lr 0.01 --batch 5000 --milestones 1 --lr-factor 0.5
	run ccl-info "$T/a.ccl"
	assert_output --partial "lr           0.005"
}

@test "states and models stream through pipes" {
	ccl-train-step -S - -d "$P/shard-000.ccl" -o - --lr 0.01 < "$P/s0.ccl" > "$T/p.ccl"
	ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -o "$T/f.ccl" --lr 0.01
	cmp "$T/p.ccl" "$T/f.ccl"
}

# A call's cost beyond its compute is mostly the kernel's: each fresh 4 KiB
# page it faults in costs about 1.5 us.  Tools keep their working memory in
# a heap of transparent huge pages and copy a state out of its file mapping
# rather than write to it page by page (lib/cli.c, lib/agent.c); without
# either, a one-step call faults in 340 or 680 pages instead of about 210.
# Counting needs the static build (the sanitizers' builds are dynamic) and
# huge pages not switched off.
@test "a one-step call faults in few pages" {
	[ -x /usr/bin/time ] || skip "GNU time is not installed"
	grep -q '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled 2> /dev/null &&
		skip "transparent huge pages are off"
	ldd "$CCL_BIN/ccl-train-step" > /dev/null 2>&1 && skip "a dynamically linked build"
	faults=$(/usr/bin/time -f %R ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -o "$T/a.ccl" \
		-m "$T/m.ccl" --lr 0.01 --batch 32 2>&1 > /dev/null)
	echo "minor page faults: $faults"
	[ "$faults" -lt 280 ]
}

@test "the batch order is recorded in the state; shared unless asked, and the tools follow it" {
	# The rows themselves are checked in test_batch: equal for two agents
	# under the shared order, different under the independent one.  Here:
	# the order a state records is the one ccl-featstat takes its batch from.
	for order in shared independent; do
		for k in 0 1; do
			ccl-init --shard "$P/shard-00$k.ccl" --seed 9 --batch-order $order -o "$T/$order-$k.ccl"
			ccl-featstat -d "$P/shard-00$k.ccl" -S "$T/$order-$k.ccl" -M "$P/m0.ccl" -o "$T/fs-$order-$k.ccl"
		done
		run ccl-info --format yaml "$T/$order-1.ccl"
		assert_output --partial "batch_order: \"$order\""
	done
	for k in 0 1; do
		run cmp -s "$T/fs-shared-$k.ccl" "$T/fs-independent-$k.ccl"
		assert_failure 1
	done
	run ccl-info --format yaml "$P/s0.ccl"
	assert_output --partial 'batch_order: "shared"'
	run ccl-init --shard "$P/shard-000.ccl" --batch-order random -o "$T/x.ccl"
	assert_failure 2
	assert_output --partial "unknown value 'random' (one of shared, independent)"
	assert_file_not_exist "$T/x.ccl"
}

@test "ccl-train-step refuses the test set and another agent's shard" {
	run ccl-train-step -S "$P/s0.ccl" -d "$P/test.ccl" --lr 0.01 -o "$T/x.ccl"
	assert_failure 3
	assert_output "ccl-train-step: $P/test.ccl: is the test set, not agent 0's training shard"
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-001.ccl" --lr 0.01 -o "$T/x.ccl"
	assert_failure 3
	assert_output "ccl-train-step: $P/shard-001.ccl: is agent 1's shard; the state is agent 0's"
	assert_file_not_exist "$T/x.ccl"
}

@test "--lambda-d without any received statistic is a usage error, unless inputs may be missing" {
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.01 --lambda-d 0.1 -o "$T/x.ccl"
	assert_failure 2
	assert_output --partial "--lambda-d needs at least one --featstat (or --allow-missing)"
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.01 --lambda-d 0.1 --allow-missing -o "$T/x.ccl"
	assert_success
}

@test "an output that is a FIFO or a device is written to, never replaced" {
	mkfifo "$T/fifo"
	cat "$T/fifo" > "$T/from-fifo" &
	reader=$!
	ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.01 -o "$T/next.ccl" -m "$T/fifo"
	wait "$reader"
	ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.01 -o "$T/next.ccl" -m "$T/model.ccl"
	cmp "$T/from-fifo" "$T/model.ccl"
	[ -p "$T/fifo" ]
	# No reader: refused at once, not waited for.
	run timeout 10 ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.01 -o "$T/next.ccl" -m "$T/fifo"
	assert_failure 1
	assert_output "ccl-train-step: $T/fifo: cannot open: a FIFO with no reader"
	[ -p "$T/fifo" ]
	[ "$(id -u)" -eq 0 ] || skip "making a device node needs root"
	mknod "$T/null" c 1 3
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.01 -o "$T/next.ccl" -m "$T/null"
	assert_success
	[ -c "$T/null" ]
	run ccl-init --shard "$P/shard-000.ccl" -o "$T"
	assert_failure 1
	assert_output "ccl-init: $T: is a directory"
}

@test "a failed write to standard output names the standard output" {
	[ -e /dev/full ] || skip "no /dev/full"
	run bash -c "ccl-init --shard '$P/shard-000.ccl' -o - > /dev/full"
	assert_failure 1
	assert_output --partial "ccl-init: <stdout>: cannot write"
}

@test "a step killed at any write or rename leaves files from which a rerun gives the same result" {
	command -v strace > /dev/null || skip "strace is not installed"
	# The README's in-place pattern: -S s -o s -m m.  Reference: one clean run.
	cp "$P/s0.ccl" "$T/ref-s.ccl"
	ccl-train-step -S "$T/ref-s.ccl" -d "$P/shard-000.ccl" --lr 0.01 -o "$T/ref-s.ccl" -m "$T/ref-m.ccl"
	kills=0
	for call in rename:1 rename:2 write:1 write:2 write:5 write:9 write:12 write:17; do
		cp "$P/s0.ccl" "$T/s.ccl"
		cp "$P/m0.ccl" "$T/m.ccl"
		run strace -f -o /dev/null -e trace="${call%:*}" -e inject="${call%:*}:signal=SIGKILL:when=${call#*:}" \
			ccl-train-step -S "$T/s.ccl" -d "$P/shard-000.ccl" --lr 0.01 -o "$T/s.ccl" -m "$T/m.ccl"
		[ "$status" -ne 0 ] && kills=$((kills + 1))
		# Whatever is under the final names is whole, and the state is
		# either the old one or the new one with its model beside it.
		ccl-info -q "$T/s.ccl" "$T/m.ccl"
		if cmp -s "$T/s.ccl" "$T/ref-s.ccl"; then
			cmp "$T/m.ccl" "$T/ref-m.ccl"
		else
			cmp "$T/s.ccl" "$P/s0.ccl"
			ccl-train-step -S "$T/s.ccl" -d "$P/shard-000.ccl" --lr 0.01 -o "$T/s.ccl" -m "$T/m.ccl"
			cmp "$T/s.ccl" "$T/ref-s.ccl"
			cmp "$T/m.ccl" "$T/ref-m.ccl"
		fi
		rm -f "$T"/*.tmp.*
	done
	# Every injection did kill the step (the calls exist where counted).
	[ "$kills" -eq 8 ]
}

@test "progress appears on a terminal and never in a pipe" {
	command -v script > /dev/null || skip "script(1) is not installed"
	# Under script(1) standard error is a terminal: the report is there,
	# rewritten in place, and the result is the same file.
	run script -qec "ccl-train-step -S '$P/s0.ccl' -d '$P/shard-000.ccl' --lr 0.05 --steps 40 -o '$T/tty.ccl'" /dev/null
	assert_success
	assert_output --regexp $'\rccl-train-step: step [0-9]+ of 40 \\([0-9]+%\\)'
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.05 --steps 40 -o "$T/pipe.ccl"
	assert_success
	assert_output ""
	cmp "$T/tty.ccl" "$T/pipe.ccl"
	run script -qec "ccl-eval -t '$P/test.ccl' '$P/s0.ccl' '$P/s0.ccl' 2>&1 >/dev/null" /dev/null
	assert_output --regexp "ccl-eval: model [01] of 2 \\([0-9]+%\\)"
	run bash -c "ccl-eval -t '$P/test.ccl' '$P/s0.ccl' '$P/s0.ccl' 2>&1 >/dev/null"
	assert_output ""
}
