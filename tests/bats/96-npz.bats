#!/usr/bin/env bats
# ccl-npz: models as NumPy .npz files and back.

load helpers

setup_file() {
	export P=$BATS_FILE_TMPDIR/p
	make_trained_agents "$P"
	ccl-init --arch resnet20 --classes 10 --input 3x32x32 --seed 4 -o "$P/r.ccl" -m "$P/rm.ccl"
}

setup() { T=$BATS_TEST_TMPDIR; }

have_numpy() { /usr/bin/python3 -c 'import numpy' 2> /dev/null; }

# npz_edit IN OUT PYTHON: rewrites the members of IN into OUT with PYTHON
# run on `m`, a dict from member name to bytes (stdlib zipfile only).
npz_edit() {
	/usr/bin/python3 -c "
import sys, zipfile
m = {i.filename: zipfile.ZipFile(sys.argv[1]).read(i) for i in zipfile.ZipFile(sys.argv[1]).infolist()}
$3
with zipfile.ZipFile(sys.argv[2], 'w') as z:
    for k, v in m.items(): z.writestr(k, v)" "$1" "$2"
}

@test "ccl-npz answers --help and --version" {
	run ccl-npz --help
	assert_success
	assert_output --partial "Usage: ccl-npz"
	run ccl-npz --version
	assert_success
}

@test "a model goes to .npz and back byte for byte, LeNet-5 and ResNet-20; the export is reproducible" {
	for m in m1 rm; do
		ccl-npz -o "$T/$m.npz" "$P/$m.ccl"
		ccl-npz -o "$T/$m-again.npz" "$P/$m.ccl"
		cmp "$T/$m.npz" "$T/$m-again.npz"
		ccl-npz --like "$P/$m.ccl" -o "$T/$m.ccl" "$T/$m.npz"
		cmp "$P/$m.ccl" "$T/$m.ccl"
	done
	# A state exports its parameters, and imports as a model like it.
	ccl-npz -o "$T/s1.npz" "$P/s1.ccl"
	cmp "$T/s1.npz" "$T/m1.npz"
}

@test "numpy.load reads the export with each tensor's real shape; numpy's own files import" {
	have_numpy || skip "python3-numpy is not installed"
	ccl-npz -o "$T/m.npz" "$P/m1.ccl"
	run /usr/bin/python3 -c 'import numpy; d = numpy.load("'"$T/m.npz"'"); print(d["conv1.weight"].shape, d["fc3.weight"].shape, d["fc3.bias"].dtype, len(d.files))'
	assert_output "(6, 1, 5, 5) (10, 84) float32 10"
	ccl-npz -o "$T/r.npz" "$P/rm.ccl"
	run /usr/bin/python3 -c 'import numpy; d = numpy.load("'"$T/r.npz"'"); print(d["conv1.weight"].shape, d["layer2.0.shortcut.conv.weight"].shape, len(d.files))'
	assert_output "(16, 3, 3, 3) (32, 16, 1, 1) 65"
	# Changed in NumPy and saved compressed, then imported: the change is there.
	/usr/bin/python3 -c 'import numpy
d = dict(numpy.load("'"$T/m.npz"'")); d["fc3.bias"] = d["fc3.bias"] * 0 + 0.25
numpy.savez_compressed("'"$T/changed.npz"'", **d)'
	ccl-npz --like "$P/m1.ccl" -o "$T/changed.ccl" "$T/changed.npz"
	ccl-npz -o "$T/back.npz" "$T/changed.ccl"
	run /usr/bin/python3 -c 'import numpy; print(set(numpy.load("'"$T/back.npz"'")["fc3.bias"].tolist()))'
	assert_output "{0.25}"
}

@test "a PyTorch ResNet-20 takes the export as its state_dict, strictly" {
	/usr/bin/python3 -c 'import torch' 2> /dev/null || skip "python3-torch is not installed"
	ccl-npz -o "$T/r.npz" "$P/rm.ccl"
	run /usr/bin/python3 -c '
import importlib.util, sys, numpy, torch
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location("r", "'"$BATS_TEST_DIRNAME"'/../peer/resnet20_torch.py")
r = importlib.util.module_from_spec(spec); spec.loader.exec_module(r)
net = r.ResNet20(norm="evonorm", classes=10, in_c=3)
net.load_state_dict({k: torch.from_numpy(v) for k, v in numpy.load("'"$T/r.npz"'").items()}, strict=True)
print("loaded", sum(p.numel() for p in net.parameters()))'
	assert_success
	assert_output "loaded 272474"
}

@test "ccl-npz refuses bad input without writing" {
	ccl-npz -o "$T/m.npz" "$P/m1.ccl"
	cp "$P/m0.ccl" "$T/keep.ccl"
	run ccl-npz -o "$T/x.npz" "$T/none.ccl"
	assert_failure 3
	assert_output --partial "$T/none.ccl"
	run ccl-npz -o "$T/x.npz" "$P/shard-000.ccl"
	assert_failure 3
	assert_output --partial "$P/shard-000.ccl"
	run ccl-npz -o "$T/keep.ccl" "$T/m.npz"
	assert_failure 2
	assert_output --partial "needs --like"
	run ccl-npz --like "$P/rm.ccl" -o "$T/keep.ccl" "$T/m.npz"
	assert_failure 3
	assert_output --partial "conv1.weight.npy: shape does not match the architecture's conv1.weight"
	head -c 20000 "$T/m.npz" > "$T/cut.npz"
	run ccl-npz --like "$P/m1.ccl" -o "$T/keep.ccl" "$T/cut.npz"
	assert_failure 3
	assert_output --partial "$T/cut.npz"
	run ccl-npz --like "$P/shard-000.ccl" -o "$T/keep.ccl" "$T/m.npz"
	assert_failure 3
	run ccl-npz -o "$T/x.npz"
	assert_failure 2
	run ccl-npz "$P/m1.ccl"
	assert_failure 2
	run ccl-npz -o "$T/x.npz" "$P/m1.ccl" "$P/m2.ccl"
	assert_failure 2
	cmp "$P/m0.ccl" "$T/keep.ccl"
	assert_file_not_exists "$T/x.npz"
}

@test "ccl-npz refuses arrays that are not the architecture's" {
	/usr/bin/python3 -c 'import zipfile' 2> /dev/null || skip "python3 is not installed"
	ccl-npz -o "$T/m.npz" "$P/m1.ccl"
	cp "$P/m0.ccl" "$T/keep.ccl"
	npz_edit "$T/m.npz" "$T/missing.npz" 'del m["fc3.bias.npy"]'
	npz_edit "$T/m.npz" "$T/extra.npz" 'm["extra.npy"] = m["fc3.bias.npy"]'
	npz_edit "$T/m.npz" "$T/f8.npz" 'm["fc3.bias.npy"] = m["fc3.bias.npy"].replace(b"<f4", b"<f8")'
	npz_edit "$T/m.npz" "$T/fortran.npz" 'm["fc3.bias.npy"] = m["fc3.bias.npy"].replace(b"False", b"True ")'
	npz_edit "$T/m.npz" "$T/shape.npz" 'm["fc3.bias.npy"] = m["fc3.bias.npy"].replace(b"(10,)", b"(5,) ")'
	npz_edit "$T/m.npz" "$T/short.npz" 'm["fc3.bias.npy"] = m["fc3.bias.npy"][:-4]'
	npz_edit "$T/m.npz" "$T/magic.npz" 'm["fc3.bias.npy"] = b"x" + m["fc3.bias.npy"][1:]'
	for bad in missing:"lacks fc3.bias.npy" extra:"extra.npy is no tensor of lenet5" f8:"not a C-order" \
		fortran:"not a C-order" shape:"shape does not match" short:"bytes of data for 10 floats" \
		magic:"not an NPY file"; do
		run ccl-npz --like "$P/m1.ccl" -o "$T/keep.ccl" "$T/${bad%%:*}.npz"
		assert_failure 3
		assert_output --partial "${bad#*:}"
	done
	cmp "$P/m0.ccl" "$T/keep.ccl"
}
