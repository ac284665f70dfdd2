#!/usr/bin/env bats
# The corruption matrix: every kind of artifact (shard, model, state,
# feature statistic) damaged in more than 30 ways, each variant given to
# every tool that reads that kind, in the place it reads it.  Each call must
# exit with the bad-input status (3), print exactly one line naming the
# file, finish within a time and memory bound, and leave the output it was
# asked to write as it was.

load helpers

setup_file() {
	export D=$BATS_FILE_TMPDIR/d P=$BATS_FILE_TMPDIR/p
	make_idx "$D" train 256
	make_idx "$D" t10k 40
	ccl-partition -n 2 --alpha 0.5 --data "$D" -o "$P" > /dev/null
	for i in 0 1; do
		ccl-init --shard "$P/shard-00$i.ccl" -o "$P/init-$i.ccl"
		ccl-train-step -S "$P/init-$i.ccl" -d "$P/shard-00$i.ccl" --lr 0.01 --batch 16 -o "$P/s$i.ccl" -m "$P/m$i.ccl"
	done
	ccl-featstat -d "$P/shard-001.ccl" -S "$P/s1.ccl" --batch 16 -M "$P/m0.ccl" -o "$P/fs.ccl"
}

setup() { T=$BATS_TEST_TMPDIR; }

REWRITE() { "$CCL_BIN/../tests/fixture_rewrite" "$@"; }

# variants SRC KIND FIRST_TENSOR DIR: writes the damaged copies of SRC into
# DIR, one file per variant, and prints their paths.
variants() {
	local src=$1 kind=$2 first=$3 dir=$4 size other
	size=$(stat -c %s "$src")
	other=model; [ "$kind" = model ] && other=state
	mkdir -p "$dir"
	: > "$dir/empty"
	for cut in 100 511 512 1024 $((size / 2)) $((size - 1024)) $((size - 1)); do
		head -c "$cut" "$src" > "$dir/cut-$cut"
	done
	for at in 148 600 $((size / 2)) $((size - 1100)); do
		cp "$src" "$dir/flip-$at"
		flip_byte "$dir/flip-$at" "$at"
	done
	{ cat "$src"; echo junk; } > "$dir/garbage-after"
	{ cat "$src"; head -c 512 /dev/zero; } > "$dir/zeros-after"
	REWRITE "$src" "$dir/shape-lies" manifest "shape: [" "shape: [2, "
	REWRITE "$src" "$dir/bytes-lie" manifest "bytes: " "bytes: 1"
	REWRITE "$src" "$dir/two-shapes" manifest "    shape: [" "    shape: [4, 1, 1073741824, 1073741824]\n    shape_was: ["
	REWRITE "$src" "$dir/duplicate-name" manifest "tensors:\n" \
		"tensors:\n  - name: $first\n    dtype: u8\n    shape: [1]\n    bytes: 1\n    crc32c: 0x00000000\n"
	REWRITE "$src" "$dir/extra-tensor" manifest "tensors:\n" \
		"tensors:\n  - name: extra\n    dtype: u8\n    shape: [1]\n    bytes: 1\n    crc32c: 0x00000000\n"
	REWRITE "$src" "$dir/manifest-twice" duplicate manifest.yaml
	REWRITE "$src" "$dir/member-twice" duplicate "$first.bin"
	REWRITE "$src" "$dir/dotdot-name" rename "$first.bin" "../$first.bin"
	REWRITE "$src" "$dir/symlink" symlink "$first.bin"
	REWRITE "$src" "$dir/wrong-kind" manifest "kind: $kind" "kind: $other"
	REWRITE "$src" "$dir/unknown-kind" manifest "kind: $kind" "kind: banana"
	REWRITE "$src" "$dir/long-kind" manifest "kind: $kind" "kind: ${kind}${kind}${kind}${kind}"
	REWRITE "$src" "$dir/version-2" manifest "version: 1" "version: 2"
	REWRITE "$src" "$dir/other-format" manifest "format: ccl-artifact" "format: ccl-artefact"
	REWRITE "$src" "$dir/yaml-alias" manifest "tensors:" "x: &a [1]\ny: *a\ntensors:"
	REWRITE "$src" "$dir/yaml-self" manifest "tensors:" "x: &a [*a]\ntensors:"
	REWRITE "$src" "$dir/yaml-deep" manifest "tensors:" "x: $(printf '[%.0s' {1..3000})$(printf ']%.0s' {1..3000})\ntensors:"
	REWRITE "$src" "$dir/second-document" manifest "manifest_crc32c: " "---\nz: 1\nmanifest_crc32c: "
	REWRITE "$src" "$dir/nul-in-value" manifest "kind: $kind\n" "kind: $kind\nnote: \"a\\x00b\"\n"
	REWRITE "$src" "$dir/value-too-long" manifest "kind: $kind\n" "kind: $kind\nnote: $(printf 'x%.0s' {1..300})\n"
	REWRITE "$src" "$dir/key-twice" manifest "kind: $kind\n" "kind: $kind\nkind: $kind\n"
	mkdir "$dir/a-directory"
	mkfifo "$dir/a-fifo"
	head -c 4096 /dev/urandom | gzip > "$dir/gzip-of-noise"
	gzip -c "$src" > "$dir/gzipped"
	head -c $(($(stat -c %s "$dir/gzipped") / 2)) "$dir/gzipped" > "$dir/gzip-cut"
	rm "$dir/gzipped"
	if [ "$kind" != shard ]; then "$CCL_BIN/../tests/fixture_nan" "$src" "$first" 3 "$dir/nan"; fi
	ls -d "$dir"/* /dev/zero
}

# check TOOL ARG...: runs a tool that must refuse $bad (the variant being
# tried) and must not touch $T/out.ccl; records what went wrong in $T/fails.
check() {
	local status=0 out limit=
	printf 'previous output\n' > "$T/out.ccl"
	# ASan reserves terabytes of address space: bound memory only without it.
	[[ $CCL_BIN == *asan* ]] || limit="ulimit -v 1048576;"
	out=$(bash -c "$limit"' exec timeout 20 "$@"' _ "$@" 2>&1 < /dev/null) || status=$?
	local name="$1 on ${bad##*/}"
	if [ "$status" -ne 3 ]; then
		echo "$name: exit status $status, expected 3: $out" >> "$T/fails"
	elif [ "$(wc -l <<<"$out")" -ne 1 ] || [[ $out != *"$bad"* ]]; then
		echo "$name: expected one line naming the file, got: $out" >> "$T/fails"
	elif [ "$(cat "$T/out.ccl")" != "previous output" ]; then
		echo "$name: the output file was changed" >> "$T/fails"
	fi
	return 0
}

report() {
	[ "$1" -ge 30 ] || { echo "only $1 variants"; return 1; }
	[ ! -s "$T/fails" ] || { cat "$T/fails"; return 1; }
}

@test "every tool refuses each of 30+ damaged shards" {
	n=0
	for bad in $(variants "$P/shard-000.ccl" shard images "$T/v"); do
		n=$((n + 1))
		check ccl-info "$bad"
		check ccl-init --shard "$bad" -o "$T/out.ccl"
		check ccl-train-step -S "$P/s0.ccl" -d "$bad" --lr 0.01 --batch 16 -o "$T/out.ccl"
		check ccl-featstat -d "$bad" -S "$P/s0.ccl" --batch 16 -M "$P/m1.ccl" -o "$T/out.ccl"
		check ccl-eval -t "$bad" "$P/m0.ccl"
	done
	report "$n"
}

@test "every tool refuses each of 30+ damaged models" {
	n=0
	for bad in $(variants "$P/m1.ccl" model params "$T/v"); do
		n=$((n + 1))
		check ccl-info "$bad"
		check ccl-merge -S "$P/s0.ccl" -N "$bad" -o "$T/out.ccl"
		check ccl-merge -o "$T/out.ccl" "$P/m0.ccl" "$bad"
		check ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.01 --batch 16 -N "$bad" -f "$P/fs.ccl" \
			--lambda-m 0.1 --lambda-d 0.1 -o "$T/out.ccl"
		check ccl-featstat -d "$P/shard-000.ccl" -S "$P/s0.ccl" --batch 16 -M "$bad" -o "$T/out.ccl"
		check ccl-eval -t "$P/test.ccl" "$P/m0.ccl" "$bad"
	done
	report "$n"
}

@test "every tool refuses each of 30+ damaged states" {
	n=0
	for bad in $(variants "$P/s0.ccl" state params "$T/v"); do
		n=$((n + 1))
		check ccl-info "$bad"
		check ccl-merge -S "$bad" -N "$P/m1.ccl" --qgm -o "$T/out.ccl"
		check ccl-train-step -S "$bad" -d "$P/shard-000.ccl" --lr 0.01 --batch 16 -o "$T/out.ccl"
		check ccl-featstat -d "$P/shard-000.ccl" -S "$bad" --batch 16 -M "$P/m1.ccl" -o "$T/out.ccl"
		check ccl-eval -t "$P/test.ccl" "$bad"
	done
	report "$n"
}

@test "ccl-train-step and ccl-info refuse each of 30+ damaged feature statistics" {
	n=0
	for bad in $(variants "$P/fs.ccl" featstat sums "$T/v"); do
		n=$((n + 1))
		check ccl-info "$bad"
		check ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.01 --batch 16 -f "$bad" --lambda-d 0.1 \
			-o "$T/out.ccl"
	done
	report "$n"
}
