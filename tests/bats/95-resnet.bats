#!/usr/bin/env bats
# ResNet-20 (EvoNorm-S0 and GroupNorm) end to end: ccl-init, the PyTorch
# peer check, training on CIFAR-layout data with augmentation, and the
# tools that read its artifacts.

load helpers

PEER=$BATS_TEST_DIRNAME/../peer/resnet20_torch.py
STEPS=$BATS_TEST_DIRNAME/../peer/resnet20_steps_torch.py
FIXTURE=$BATS_TEST_DIRNAME/../../${BUILD:-build}/tests/fixture_resnet

setup_file() {
	export C=$BATS_FILE_TMPDIR/c
	make_cifar10 "$C"
	ccl-partition --dataset cifar10 --data "$C/cifar-10-binary.tar.gz" -n 2 --alpha 1 -o "$C/p" > /dev/null
}

setup() { T=$BATS_TEST_TMPDIR; }

# params FILE: the length of a model's parameter vector.
params() { ccl-info "$1" | awk '$2 == "params" {gsub(/[][]/, "", $4); print $4}'; }

@test "ccl-init --arch resnet20 makes the network of PyTorch's parameter count" {
	# 272,474 for 3x32x32 and 10 classes (ALGORITHM.md: about 0.27 M); one
	# input channel has 16 x 2 x 9 = 288 fewer; 100 classes 90 x 65 more.
	ccl-init --arch resnet20 --classes 10 --input 3x32x32 -o "$T/a.ccl"
	[ "$(params "$T/a.ccl")" = 272474 ]
	run ccl-info --format yaml "$T/a.ccl"
	assert_output --partial 'arch: "resnet20-evonorm"'
	ccl-init --arch resnet20 --norm groupnorm --classes 100 --input 1x28x28 -o "$T/b.ccl"
	[ "$(params "$T/b.ccl")" = $((272474 - 288 + 90 * 65)) ]
	run ccl-info --format yaml "$T/b.ccl"
	assert_output --partial 'arch: "resnet20-groupnorm"'
}

@test "ccl-init refuses resnet20 options that do not fit" {
	run ccl-init --norm groupnorm --classes 10 --input 1x28x28 -o "$T/x.ccl"
	assert_failure 2
	assert_output --partial "--norm is for --arch resnet20"
	run ccl-init --arch resnet20 --norm batchnorm --classes 10 --input 3x32x32 -o "$T/x.ccl"
	assert_failure 2
	run ccl-init --arch resnet20 --classes 10 --input 3x6x6 -o "$T/x.ccl"
	assert_failure 3
	assert_output --partial "resnet20 takes images of at least 8x8, not 6x6"
	assert_file_not_exists "$T/x.ccl"
}

@test "ResNet-20 agrees with PyTorch: logits, features and every gradient, both norms, 1 and 3 channels" {
	/usr/bin/python3 -c 'import torch' 2> /dev/null || skip "python3-torch is not installed: the peer check did not run"
	for norm in evonorm groupnorm; do
		for input in 3x32x32 1x28x28; do
			ccl-init --arch resnet20 --norm "$norm" --classes 10 --input "$input" --seed 5 -o "$T/s.ccl" -m "$T/m.ccl"
			mkdir -p "$T/$norm-$input"
			"$FIXTURE" "$T/m.ccl" "$T/$norm-$input" 3
			run /usr/bin/python3 "$PEER" "$T/$norm-$input"
			assert_success
			assert_line "peer check: 67 compared, 0 failed"
		done
	done
}

@test "the peer check fails on a gradient that is off" {
	/usr/bin/python3 -c 'import torch' 2> /dev/null || skip "python3-torch is not installed: the peer check did not run"
	ccl-init --arch resnet20 --classes 10 --input 3x32x32 -o "$T/s.ccl" -m "$T/m.ccl"
	"$FIXTURE" "$T/m.ccl" "$T" 2
	# Scale the first conv's gradient (its first 432 floats) by 1.001.
	/usr/bin/python3 -c "
import struct, sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
for i in range(432):
    v, = struct.unpack_from('<f', b, 4 * i); struct.pack_into('<f', b, 4 * i, v * 1.001)
open(p, 'wb').write(b)" "$T/grad.f32"
	run /usr/bin/python3 "$PEER" "$T"
	assert_failure 1
	assert_output --regexp 'grad conv1\.weight .*FAIL'
	assert_line "peer check: 67 compared, 1 failed"
}

@test "a CIFAR shard is augmented for training and replays; its test set is not" {
	run ccl-info --format yaml "$C/p/shard-000.ccl"
	assert_output --partial 'augment: "flip-crop4"'
	run ccl-info --format yaml "$C/p/test.ccl"
	assert_output --partial 'augment: "none"'
	ccl-partition --dataset cifar10 --data "$C/cifar-10-binary.tar.gz" -n 2 --alpha 1 --augment none -o "$T/plain" > /dev/null
	run ccl-info --format yaml "$T/plain/shard-000.ccl"
	assert_output --partial 'augment: "none"'
	ccl-init --arch resnet20 -d "$C/p/shard-000.ccl" -o "$T/s0.ccl" -m "$T/m0.ccl"
	for out in a b; do
		ccl-train-step -S "$T/s0.ccl" -d "$C/p/shard-000.ccl" --lr 0.05 --batch 8 --steps 2 -o "$T/$out.ccl"
	done
	cmp "$T/a.ccl" "$T/b.ccl"
	# The same rows without augmentation train differently.
	ccl-train-step -S "$T/s0.ccl" -d "$T/plain/shard-000.ccl" --lr 0.05 --batch 8 --steps 2 -o "$T/c.ccl"
	run cmp -s "$T/a.ccl" "$T/c.ccl"
	assert_failure
	# ccl-featstat sees the step's augmented batch: unlike the plain shard's
	# statistic, same counts, other sums.
	ccl-featstat -d "$C/p/shard-000.ccl" -S "$T/s0.ccl" --batch 8 -M "$T/m0.ccl" -o "$T/fa.ccl"
	ccl-featstat -d "$T/plain/shard-000.ccl" -S "$T/s0.ccl" --batch 8 -M "$T/m0.ccl" -o "$T/fp.ccl"
	[ "$(tensor_i32 "$T/fa.ccl" counts | paste -sd,)" = "$(tensor_i32 "$T/fp.ccl" counts | paste -sd,)" ]
	run cmp -s <(tar -xOf "$T/fa.ccl" sums.bin) <(tar -xOf "$T/fp.ccl" sums.bin)
	assert_failure
	run ccl-eval -t "$C/p/test.ccl" --format yaml "$T/a.ccl"
	assert_success
	assert_output --partial "samples: 10"
}

@test "one CCL step of ResNet-20 with a neighbour's model and statistic" {
	ccl-init --arch resnet20 --norm groupnorm -d "$C/p/shard-000.ccl" -o "$T/s0.ccl" -m "$T/m0.ccl"
	ccl-init --arch resnet20 --norm groupnorm -d "$C/p/shard-001.ccl" --seed 7 -o "$T/s1.ccl" -m "$T/m1.ccl"
	ccl-featstat -d "$C/p/shard-001.ccl" -S "$T/s1.ccl" --batch 8 -M "$T/m0.ccl" -o "$T/fs-1-0.ccl" -v
	run ccl-info --format yaml "$T/fs-1-0.ccl"
	assert_output --partial 'features: "64"'
	run ccl-train-step -S "$T/s0.ccl" -d "$C/p/shard-000.ccl" --lr 0.05 --batch 8 -N "$T/m1.ccl" -f "$T/fs-1-0.ccl" \
		--lambda-m 0.1 --lambda-d 0.1 -o "$T/s0b.ccl" -v
	assert_success
	assert_output --regexp 'model-variant [0-9.]*[1-9]'
	# An EvoNorm model is another architecture.
	ccl-init --arch resnet20 -d "$C/p/shard-001.ccl" -o "$T/e1.ccl" -m "$T/e1m.ccl"
	run ccl-train-step -S "$T/s0.ccl" -d "$C/p/shard-000.ccl" --lr 0.05 --batch 8 -N "$T/e1m.ccl" -o "$T/x.ccl"
	assert_failure 3
	assert_output --partial "e1m.ccl: architecture resnet20-evonorm does not match resnet20-groupnorm"
}

@test "CIFAR's Python archive gets an error naming the binary one" {
	mkdir -p "$T/src/cifar-10-batches-py"
	for f in data_batch_1 data_batch_2 test_batch batches.meta; do printf 'pickle' > "$T/src/cifar-10-batches-py/$f"; done
	tar -C "$T/src" -czf "$T/cifar-10-python.tar.gz" cifar-10-batches-py
	run ccl-partition --dataset cifar10 --data "$T/cifar-10-python.tar.gz" -n 2 -o "$T/p"
	assert_failure 3
	assert_output "ccl-partition: $T/cifar-10-python.tar.gz: is the Python (pickle) version of CIFAR-10; use the binary version, cifar-10-binary.tar.gz"
}

@test "experiment.sh runs CCL with ResNet-20 on CIFAR-layout data" {
	run env CCL_BIN="$CCL_BIN" "$BATS_TEST_DIRNAME/../../examples/experiment.sh" --dataset cifar10 \
		--data "$C/cifar-10-binary.tar.gz" --arch resnet20 --norm groupnorm --agents 2 --alpha 1 --epochs 2 \
		--batch 10 --milestones none --out "$T/run"
	assert_success
	[ "$(wc -l < "$T/run/results.csv")" -eq 3 ]
	run ccl-info --format yaml "$T/run/iter/000010/model-1.ccl"
	assert_output --partial 'arch: "resnet20-groupnorm"'
	run ccl-info --format yaml "$T/run/shards/shard-000.ccl"
	assert_output --partial 'augment: "flip-crop4"'
	run "$BATS_TEST_DIRNAME/../../examples/plan.sh" --norm groupnorm --out "$T/x"
	assert_failure 2
	assert_output --partial "--norm is for --arch resnet20"
	run "$BATS_TEST_DIRNAME/../../examples/plan.sh" --arch vgg --out "$T/x"
	assert_failure 2
}

# fmnist32 DIR: the first 32 Fashion-MNIST training images and labels in
# DIR (IDX, uncompressed), and 10 test ones: one batch is the whole set.
fmnist32() {
	mkdir -p "$1"
	/usr/bin/python3 -c "
import gzip, struct, sys
for name, n in (('train-images-idx3-ubyte', 32), ('train-labels-idx1-ubyte', 32),
                ('t10k-images-idx3-ubyte', 10), ('t10k-labels-idx1-ubyte', 10)):
    data = gzip.open('$FMNIST/' + name + '.gz', 'rb').read()
    ndim = data[3]
    shape = struct.unpack('>%dI' % ndim, data[4:4 + 4 * ndim])
    per = 1
    for s in shape[1:]:
        per *= s
    head = data[:4] + struct.pack('>I', n) + data[8:4 + 4 * ndim]
    open(sys.argv[1] + '/' + name, 'wb').write(head + data[4 + 4 * ndim:4 + 4 * ndim + n * per])" "$1"
}

@test "five training steps of ResNet-20 end where PyTorch's SGD with Nesterov momentum and weight decay does" {
	/usr/bin/python3 -c 'import torch, numpy' 2> /dev/null || skip "python3-torch is not installed: the peer check did not run"
	[ -f "$FMNIST/train-images-idx3-ubyte.gz" ] || skip "dataset-fashion-mnist is not installed"
	fmnist32 "$T/d"
	ccl-partition -n 1 --scheme iid --data "$T/d" -o "$T/p" > /dev/null
	ccl-init --arch resnet20 --shard "$T/p/shard-000.ccl" --seed 2 -o "$T/init.ccl"
	# A weight decay large enough to show: 0.01 x 0.05 of every value a step.
	ccl-train-step -S "$T/init.ccl" -d "$T/p/shard-000.ccl" --batch 32 --steps 5 --lr 0.01 --weight-decay 0.05 \
		-o "$T/after.ccl"
	ccl-npz -o "$T/init.npz" "$T/init.ccl"
	ccl-npz -o "$T/after.npz" "$T/after.ccl"
	run /usr/bin/python3 "$STEPS" "$T/d" "$T/init.npz" "$T/after.npz" 5 0.01 0.05
	assert_success
	assert_output "steps check: 65 compared, 0 failed"
	# The check sees a weight decay left out, and heavy-ball momentum.
	run /usr/bin/python3 "$STEPS" "$T/d" "$T/init.npz" "$T/after.npz" 5 0.01 0
	assert_failure 1
	ccl-train-step -S "$T/init.ccl" -d "$T/p/shard-000.ccl" --batch 32 --steps 5 --lr 0.01 --weight-decay 0.05 \
		--no-nesterov -o "$T/heavy.ccl"
	ccl-npz -o "$T/heavy.npz" "$T/heavy.ccl"
	run /usr/bin/python3 "$STEPS" "$T/d" "$T/init.npz" "$T/heavy.npz" 5 0.01 0.05
	assert_failure 1
}
