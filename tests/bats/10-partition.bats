#!/usr/bin/env bats
# ccl-partition: argument checks first, then bad data, then behaviour.

load helpers

setup() {
	T=$BATS_TEST_TMPDIR
}

@test "ccl-partition --help shows usage and exits 0" {
	run ccl-partition --help
	assert_success
	assert_output --partial "Usage: ccl-partition --agents N -o DIR"
}

@test "ccl-partition --version names the tool" {
	run ccl-partition --version
	assert_success
	assert_output --regexp '^ccl-partition \(ccl\) [0-9]+\.[0-9]+'
}

@test "missing --agents is a usage error" {
	run ccl-partition -o "$T/out"
	assert_failure 2
	assert_output --partial "--agents is required"
}

@test "--alpha zero, negative and non-numeric are refused" {
	for a in 0 -0.5 abc 1e999 ''; do
		run ccl-partition -n 4 --alpha "$a" -o "$T/out"
		assert_failure 2
		assert_output --partial -- "--alpha"
	done
	assert_not_exist "$T/out"
}

@test "an unknown scheme is refused with the list of schemes" {
	run ccl-partition -n 4 --scheme bananas -o "$T/out"
	assert_failure 2
	assert_output --partial "unknown value 'bananas' (one of paper, dirichlet, iid, shards)"
}

@test "nonsense --agents values are refused" {
	for n in 0 -3 four 2.5; do
		run ccl-partition -n "$n" -o "$T/out"
		assert_failure 2
		assert_output --partial -- "--agents"
	done
}

@test "an unknown option is a usage error" {
	run ccl-partition --agnets 4 -o "$T/out"
	assert_failure 2
	assert_output --partial "unknown"
}

@test "a missing data path is named" {
	run ccl-partition -n 4 --data "$T/nowhere" -o "$T/out"
	assert_failure 3
	assert_output --partial "$T/nowhere"
	[ "${#lines[@]}" -eq 1 ]
}

@test "a truncated .gz is reported, not crashed on" {
	cp "$FMNIST"/*.gz "$T/"
	head -c 1000000 "$FMNIST/train-images-idx3-ubyte.gz" > "$T/train-images-idx3-ubyte.gz"
	run ccl-partition -n 4 --data "$T" -o "$T/out"
	assert_failure 3
	assert_output --partial "train-images-idx3-ubyte.gz: truncated or corrupted"
	[ "${#lines[@]}" -eq 1 ]
}

@test "an IDX .gz that decompresses to far more than any real file is refused early, in little memory" {
	make_idx "$T/d" t10k 10
	# A valid header for 10^6 images, then 600 MB of zeros: 600 kB of gzip.
	{ printf '\x00\x00\x08\x03'; be32 1000000; be32 28; be32 28; head -c 600000000 /dev/zero; } | gzip -1 \
		> "$T/d/train-images-idx3-ubyte.gz"
	cp "$T/d/t10k-labels-idx1-ubyte" "$T/d/train-labels-idx1-ubyte"
	run /usr/bin/time -f 'max-rss-kb %M' ccl-partition -n 2 --data "$T/d" -o "$T/out"
	assert_failure 3
	assert_line --index 0 --partial "train-images-idx3-ubyte.gz: decompresses to more than 47040016 bytes"
	rss=$(sed -n 's/^max-rss-kb //p' <<<"$output")
	[ "$rss" -lt 200000 ]
}

@test "a wrong IDX magic number is reported" {
	make_idx "$T/d" train 50
	make_idx "$T/d" t10k 10
	printf '\x00\x00\x08\x07' | dd of="$T/d/train-images-idx3-ubyte" conv=notrunc status=none
	run ccl-partition -n 4 --data "$T/d" -o "$T/out"
	assert_failure 3
	assert_output --partial "train-images-idx3-ubyte: not an IDX image file (wrong magic number)"
}

@test "image and label counts that disagree are reported" {
	make_idx "$T/d" train 50
	make_idx "$T/d" t10k 10
	make_idx "$T/e" train 49
	cp "$T/e/train-labels-idx1-ubyte" "$T/d/"
	run ccl-partition -n 4 --data "$T/d" -o "$T/out"
	assert_failure 3
	assert_output --partial "49 labels for 50 images"
}

@test "a label header that disagrees with the file size is reported" {
	make_idx "$T/d" train 50 60
	make_idx "$T/d" t10k 10
	run ccl-partition -n 4 --data "$T/d" -o "$T/out"
	assert_failure 3
	assert_output --partial "says 60 labels but the file holds 58 bytes"
}

@test "--agents larger than the data is refused" {
	make_idx "$T/d" train 50
	make_idx "$T/d" t10k 10
	run ccl-partition -n 51 --data "$T/d" -o "$T/out"
	assert_failure 2
	assert_output --partial "more than the 50 training samples"
}

@test "an output path that is a file is reported" {
	make_idx "$T/d" train 50
	make_idx "$T/d" t10k 10
	touch "$T/file"
	run ccl-partition -n 2 --data "$T/d" -o "$T/file"
	assert_failure 1
	assert_output --partial "$T/file"
}

@test "uncompressed IDX files partition; iid gives equal class-balanced shards" {
	make_idx "$T/d" train 100
	make_idx "$T/d" t10k 10
	run ccl-partition -n 5 --scheme iid --data "$T/d" -o "$T/out" --format yaml
	assert_success
	assert_output --partial "samples: 20"
	assert_file_exist "$T/out/shard-004.ccl"
	assert_file_exist "$T/out/test.ccl"
	run ccl-info "$T/out/test.ccl"
	assert_output --partial "samples      10"
}

@test "Fashion-MNIST, 16 agents, alpha 0.01, seed 123: 3,750 each, disjoint, covering" {
	run ccl-partition -n 16 --alpha 0.01 --seed 123 -o "$T/a" --format json
	assert_success
	[ "$(grep -o '"samples": 3750' <<<"$output" | wc -l)" -eq 16 ]
	for k in $(seq -f %03g 0 15); do tensor_i32 "$T/a/shard-$k.ccl" index; done > "$T/all"
	[ "$(wc -l < "$T/all")" -eq 60000 ]
	[ "$(sort -n -u "$T/all" | wc -l)" -eq 60000 ]
	[ "$(sort -n -u "$T/all" | head -1)" -eq 0 ]
	[ "$(sort -n -u "$T/all" | tail -1)" -eq 59999 ]
}

@test "the same seed gives byte-identical shards, another seed different ones" {
	ccl-partition -n 16 --seed 123 -o "$T/a" > /dev/null
	ccl-partition -n 16 --seed 123 -o "$T/b" > /dev/null
	ccl-partition -n 16 --seed 124 -o "$T/c" > /dev/null
	for k in $(seq -f %03g 0 15); do
		cmp "$T/a/shard-$k.ccl" "$T/b/shard-$k.ccl"
		run cmp -s "$T/a/shard-$k.ccl" "$T/c/shard-$k.ccl"
		assert_failure 1
	done
	cmp "$T/a/test.ccl" "$T/c/test.ccl"
}

@test "the table shows every agent with its class mix" {
	run ccl-partition -n 16 -o "$T/a"
	assert_success
	[ "${#lines[@]}" -eq 17 ]
	assert_line --index 0 --regexp '^agent +samples +0 +1 .* 9  class mix$'
	assert_line --index 16 --regexp '^ +15 +3750 .*\|.{10}\|$'
}

@test "a shard with one flipped byte fails its checksum" {
	ccl-partition -n 4 -o "$T/a" > /dev/null
	flip_byte "$T/a/shard-002.ccl" 5000
	run ccl-info "$T/a/shard-002.ccl"
	assert_failure 3
	assert_output "ccl-info: $T/a/shard-002.ccl: tensor 'images' fails its CRC-32C check: the file is corrupted"
}

@test "--config supplies options and the command line wins" {
	printf 'agents: 8\nscheme: iid\nseed: 5\n' > "$T/c.yaml"
	run ccl-partition --config "$T/c.yaml" -n 4 -o "$T/a" --format yaml
	assert_success
	assert_output --partial 'scheme: "iid"'
	assert_output --partial "samples: 15000"
	printf 'agents: [1\n' > "$T/bad.yaml"
	run ccl-partition --config "$T/bad.yaml" -o "$T/a"
	assert_failure 3
	assert_output --partial "bad.yaml: not valid YAML"
	printf 'agnets: 3\n' > "$T/bad.yaml"
	run ccl-partition --config "$T/bad.yaml" -o "$T/a"
	assert_failure 2
	assert_output --partial "unknown option 'agnets'"
}

@test "CIFAR-10 is read straight from the distributed archive" {
	make_cifar10 "$T"
	run ccl-partition --dataset cifar10 --data "$T/cifar-10-binary.tar.gz" -n 4 --scheme iid -o "$T/a" --format yaml
	assert_success
	assert_output --partial "samples: 25"
	run ccl-info "$T/a/test.ccl"
	assert_output --partial "[10 x 3 x 32 x 32]"
	# Record r of data_batch_b is training sample 20 (b - 1) + r, its
	# pixels all r: batches are read in order, records in file order.
	idx=$(tensor_i32 "$T/a/shard-000.ccl" index | head -1)
	pixel=$(tar -xOf "$T/a/shard-000.ccl" images.bin | od -An -tu1 -j 3000 -N1 | tr -d ' ')
	[ "$pixel" -eq $((idx % 20)) ]
}

@test "inputs are normalised with the published constants by default, the data's own statistics on request" {
	run ccl-partition -n 2 --scheme iid -o "$T/paper"
	assert_success
	run ccl-info --format yaml "$T/paper/shard-001.ccl" "$T/paper/test.ccl"
	assert_success
	[ "$(grep -c '^  normalize: "paper"$' <<<"$output")" -eq 2 ]
	[ "$(grep -c '^  mean: "0.5"$' <<<"$output")" -eq 2 ]
	[ "$(grep -c '^  std: "0.5"$' <<<"$output")" -eq 2 ]
	# The training split's own statistics: pixel mean 0.286, std 0.353.
	run ccl-partition -n 2 --scheme iid --normalize data -o "$T/data"
	assert_success
	run ccl-info --format yaml "$T/data/shard-000.ccl"
	assert_output --partial 'normalize: "data"'
	assert_output --regexp 'mean: "0\.2860[0-9]*"'
	assert_output --regexp 'std: "0\.3530[0-9]*"'
	# The same pixels, other inputs: the images differ only in how they are read.
	cmp <(tar -xOf "$T/paper/shard-000.ccl" images.bin) <(tar -xOf "$T/data/shard-000.ccl" images.bin)
	run ccl-partition -n 2 --normalize mine -o "$T/x"
	assert_failure 2
	assert_output --partial "unknown value 'mine' (one of paper, data)"
}

@test "partitioning a directory again with fewer agents removes the old extra shards" {
	ccl-partition -n 5 --scheme iid -o "$T/a" > /dev/null
	ccl-partition -n 3 --scheme iid -o "$T/a" > /dev/null
	run ls "$T/a"
	assert_output "shard-000.ccl
shard-001.ccl
shard-002.ccl
test.ccl"
}

@test "CIFAR shards carry the published CIFAR constants" {
	make_cifar10 "$T"
	ccl-partition --dataset cifar10 --data "$T/cifar-10-binary.tar.gz" -n 2 --scheme iid -o "$T/a" > /dev/null
	run ccl-info --format yaml "$T/a/shard-000.ccl"
	assert_output --partial 'mean: "0.4914,0.4822,0.4465"'
	assert_output --partial 'std: "0.2023,0.1994,0.201"'
	make_cifar100 "$T"
	ccl-partition --dataset cifar100 --data "$T/cifar-100-binary.tar.gz" -n 2 --scheme iid -o "$T/b" > /dev/null
	run ccl-info --format yaml "$T/b/test.ccl"
	assert_output --partial 'mean: "0.5071,0.4867,0.4408"'
	assert_output --partial 'std: "0.2675,0.2565,0.2761"'
}

@test "CIFAR-100 gives fine labels, coarse on request" {
	make_cifar100 "$T"
	run ccl-partition --dataset cifar100 --data "$T/cifar-100-binary.tar.gz" -n 2 --scheme iid -o "$T/a" --format yaml
	assert_success
	assert_output --partial "classes: 100"
	run ccl-partition --dataset cifar100 --coarse --data "$T/cifar-100-binary.tar.gz" -n 2 --scheme iid -o "$T/b" --format yaml
	assert_success
	assert_output --partial "classes: 20"
}

@test "a CIFAR archive without the training batches is reported" {
	make_cifar10 "$T"
	tar -C "$T/src" -czf "$T/partial.tar.gz" cifar-10-batches-bin/test_batch.bin
	run ccl-partition --dataset cifar10 --data "$T/partial.tar.gz" -n 2 -o "$T/a"
	assert_failure 3
	assert_output --partial "archive lacks the cifar10 training batches"
}

# class_labels FILE: a shard's samples per class, counted from its labels
# member directly (10 classes), space-separated.
class_labels() {
	tar -xOf "$1" labels.bin | od -An -v -tu1 -w1 |
		awk '{n[$1]++} END {for (c = 0; c < 10; c++) printf "%s%d", c ? " " : "", n[c]; print ""}'
}

@test "ccl-info gives a shard's samples per class, in class order, in every format" {
	# Labels are i % 10: the 23 test samples hold 3 of classes 0 to 2 and 2
	# of each other class, so the order of the counts shows.
	make_idx "$T/d" train 100
	make_idx "$T/d" t10k 23
	ccl-partition -n 2 --scheme iid --data "$T/d" -o "$T/a" > /dev/null
	[ "$(class_labels "$T/a/test.ccl")" = "3 3 3 2 2 2 2 2 2 2" ]
	run ccl-info "$T/a/test.ccl"
	assert_success
	assert_line "  class_counts 3 3 3 2 2 2 2 2 2 2"
	run ccl-info --format yaml "$T/a/test.ccl"
	assert_success
	assert_line "  class_counts: [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]"
	run ccl-info --format json "$T/a/test.ccl"
	assert_success
	run /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["class_counts"])' <<<"$output"
	assert_output "[3, 3, 3, 2, 2, 2, 2, 2, 2, 2]"
}

@test "ccl-info's class counts of each agent's shard are the histogram ccl-partition printed" {
	make_idx "$T/d" train 256
	make_idx "$T/d" t10k 10
	ccl-partition -n 4 --alpha 0.5 --seed 3 --data "$T/d" -o "$T/a" > "$T/hist.txt"
	# The table's rows: agent, samples, then one column per class.
	expected=$(awk 'NR > 1 {for (c = 3; c <= 12; c++) printf "%s%s", (c > 3 ? " " : ""), $c; print ""}' "$T/hist.txt")
	[ "$(wc -l <<<"$expected")" -eq 4 ]
	[ "$(sort -u <<<"$expected" | wc -l)" -eq 4 ]
	for k in 0 1 2 3; do class_labels "$T/a/shard-00$k.ccl"; done > "$T/labels.txt"
	[ "$(cat "$T/labels.txt")" = "$expected" ]
	# Every file of one call gets its own counts.
	run ccl-info --format yaml "$T"/a/shard-00{0,1,2,3}.ccl
	assert_success
	run sed -n 's/^  class_counts: \[\(.*\)\]$/\1/p' <<<"$output"
	assert_output "${expected// /, }"
	run ccl-info "$T/a/shard-002.ccl"
	assert_line "  class_counts $(sed -n 3p <<<"$expected")"
}

@test "ccl-info's class counts have one entry per class of the shard; other kinds have none" {
	make_cifar100 "$T"
	ccl-partition --dataset cifar100 --data "$T/cifar-100-binary.tar.gz" -n 2 --scheme iid -o "$T/fine" > /dev/null
	ccl-partition --dataset cifar100 --coarse --data "$T/cifar-100-binary.tar.gz" -n 2 --scheme iid -o "$T/coarse" \
		> /dev/null
	# The 100 test records: fine label i, coarse label i / 5.
	run ccl-info --format json "$T/fine/test.ccl" "$T/coarse/test.ccl"
	assert_success
	run /usr/bin/python3 -c 'import json, sys
for e in json.load(sys.stdin): print(*e["class_counts"])' <<<"$output"
	assert_line --index 0 "$(printf '1%.0s ' {1..100} | sed 's/ $//')"
	assert_line --index 1 "$(printf '5%.0s ' {1..20} | sed 's/ $//')"
	ccl-init --shard "$T/fine/shard-000.ccl" --arch mlp -o "$T/s.ccl" -m "$T/m.ccl"
	for format in table yaml json; do
		run ccl-info --format "$format" "$T/s.ccl" "$T/m.ccl"
		assert_success
		refute_output --partial class_counts
	done
}

@test "ccl-info refuses a shard with a label not below its class count rather than count it" {
	make_idx "$T/d" train 40
	make_idx "$T/d" t10k 10
	ccl-partition -n 2 --scheme iid --data "$T/d" -o "$T/a" > /dev/null
	"$CCL_BIN/../tests/fixture_rewrite" "$T/a/test.ccl" "$T/bad.ccl" manifest "classes: 10" "classes: 9"
	run ccl-info "$T/bad.ccl"
	assert_failure 3
	assert_output "ccl-info: $T/bad.ccl: label 9 of sample 9 is not below 9"
}

@test "ccl-info leaves out a manifest key that would clash with its own" {
	make_idx "$T/d" train 40
	make_idx "$T/d" t10k 10
	ccl-partition -n 2 --scheme iid --data "$T/d" -o "$T/a" > /dev/null
	"$CCL_BIN/../tests/fixture_rewrite" "$T/a/test.ccl" "$T/odd.ccl" manifest "classes: 10" \
		'classes: 10\nclass_counts: "1 2 3"\nfile: "elsewhere"'
	for format in yaml json; do
		run ccl-info --format "$format" "$T/odd.ccl"
		assert_success
		[ "$(grep -c 'class_counts' <<<"$output")" -eq 1 ]
		refute_output --partial elsewhere
		refute_output --partial '1 2 3'
	done
}
