#!/usr/bin/env bats
# One scripted CCL iteration of 3 agents on a ring, run with the real tools
# exactly as ccl(7) describes it, then checked against the equations of
# ALGORITHM.md by an independent checker (tests/unit/verify_iteration.c).

load helpers

@test "one CCL iteration of 3 agents on a ring matches the equations" {
	T=$BATS_TEST_TMPDIR
	ccl-partition -n 3 --alpha 0.5 --seed 7 -o "$T/p" > /dev/null
	for i in 0 1 2; do
		cp "$T/p/shard-00$i.ccl" "$T/shard-$i.ccl"
		ccl-init --shard "$T/shard-$i.ccl" --seed 11 -o "$T/s-$i.ccl"
		# A few local steps first, so models differ and momentum is not zero.
		ccl-train-step -S "$T/s-$i.ccl" -d "$T/shard-$i.ccl" --lr 0.05 --steps 3 --batch 16 \
			-o "$T/state-$i.ccl" -m "$T/model-$i.ccl"
	done
	for i in 0 1 2; do
		l=$(((i + 2) % 3)) r=$(((i + 1) % 3))
		ccl-merge -S "$T/state-$i.ccl" -N "$T/model-$l.ccl" -N "$T/model-$r.ccl" --qgm -o "$T/merged-$i.ccl"
		ccl-featstat -d "$T/shard-$i.ccl" -S "$T/merged-$i.ccl" --batch 16 \
			-M "$T/model-$l.ccl" -o "$T/fs-$i-$l.ccl" -M "$T/model-$r.ccl" -o "$T/fs-$i-$r.ccl"
	done
	for i in 0 1 2; do
		l=$(((i + 2) % 3)) r=$(((i + 1) % 3))
		ccl-train-step -S "$T/merged-$i.ccl" -d "$T/shard-$i.ccl" --lr 0.05 --batch 16 \
			-N "$T/model-$l.ccl" -N "$T/model-$r.ccl" -f "$T/fs-$l-$i.ccl" -f "$T/fs-$r-$i.ccl" \
			--lambda-m 10 --lambda-d 10 -o "$T/next-$i.ccl"
	done
	run "$CCL_BIN/../tests/verify_iteration" "$T" 3 0.05 10 10 1 16
	assert_success
	assert_output --partial "0 failed"
}
