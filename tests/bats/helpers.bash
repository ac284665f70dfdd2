# Shared setup for the bats tests: the tools under test, assertion
# libraries, and small data sets written in the published file layouts.

bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

: "${CCL_BIN:=$BATS_TEST_DIRNAME/../../build/bin}"
PATH="$CCL_BIN:$PATH"
FMNIST=/usr/share/datasets/fashion-mnist

# be32 N: four big-endian bytes.
be32() {
	printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))"
	printf "\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"
}

# byte N: one byte.
byte() { printf "\\x$(printf %02x "$1")"; }

# make_idx DIR PREFIX N [LABEL_COUNT]: IDX images (N of 28x28, pixel value
# i % 256 for sample i) and labels (i % 10); LABEL_COUNT overrides the
# label header's count.
make_idx() {
	local dir=$1 prefix=$2 n=$3 nl=${4:-$3} i
	mkdir -p "$dir"
	{
		printf '\x00\x00\x08\x03'; be32 "$n"; be32 28; be32 28
		for ((i = 0; i < n; i++)); do head -c 784 /dev/zero | tr '\0' "\\$(printf %03o $((i % 256)))"; done
	} > "$dir/$prefix-images-idx3-ubyte"
	{
		printf '\x00\x00\x08\x01'; be32 "$nl"
		for ((i = 0; i < n; i++)); do byte $((i % 10)); done
	} > "$dir/$prefix-labels-idx1-ubyte"
}

# make_cifar_records N LABEL_BYTES CLASSES: N records of the binary CIFAR
# layout; the coarse label (when there are two label bytes) is fine / 5.
make_cifar_records() {
	local n=$1 lb=$2 classes=$3 i
	for ((i = 0; i < n; i++)); do
		if [ "$lb" = 2 ]; then byte $(((i % classes) / 5)); fi
		byte $((i % classes))
		head -c 3072 /dev/zero | tr '\0' "\\$(printf %03o $((i % 256)))"
	done
}

# make_cifar10 DIR: DIR/cifar-10-binary.tar.gz with 5 training batches of
# 20 records and a test batch of 10, as published.
make_cifar10() {
	local root=$1/src/cifar-10-batches-bin b
	mkdir -p "$root"
	for b in 1 2 3 4 5; do make_cifar_records 20 1 10 > "$root/data_batch_$b.bin"; done
	make_cifar_records 10 1 10 > "$root/test_batch.bin"
	printf 'airplane\n' > "$root/batches.meta.txt"
	tar -C "$1/src" -czf "$1/cifar-10-binary.tar.gz" cifar-10-batches-bin
}

# make_cifar100 DIR: DIR/cifar-100-binary.tar.gz, 200 training and 100 test records.
make_cifar100() {
	local root=$1/src/cifar-100-binary
	mkdir -p "$root"
	make_cifar_records 200 2 100 > "$root/train.bin"
	make_cifar_records 100 2 100 > "$root/test.bin"
	tar -C "$1/src" -czf "$1/cifar-100-binary.tar.gz" cifar-100-binary
}

# flip_byte FILE OFFSET: invert one byte in place.
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	byte $((255 - b)) | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# tensor_values FILE NAME: one decimal per line from an i32 tensor member.
tensor_i32() { tar -xOf "$1" "$2.bin" | od -An -v -td4 -w4 | tr -d ' '; }

# Three agents of a 4-agent partition in DIR, two steps into training:
# states s0..s2 and published models m0..m2 (i0..i2 their initial states).
make_trained_agents() {
	local dir=$1 i
	ccl-partition -n 4 --alpha 0.5 --seed 3 -o "$dir" > /dev/null
	for i in 0 1 2; do
		ccl-init --shard "$dir/shard-00$i.ccl" --seed 9 -o "$dir/i$i.ccl"
		ccl-train-step -S "$dir/i$i.ccl" -d "$dir/shard-00$i.ccl" --lr 0.05 --steps 2 -o "$dir/s$i.ccl" \
			-m "$dir/m$i.ccl"
	done
}
