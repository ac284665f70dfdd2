#!/usr/bin/env bash
# Seed corpora for the fuzz harnesses, made with the real tools from small
# data sets in the published layouts (tests/bats/helpers.bash):
#
#   tests/fuzz/seeds.sh DIR      (CCL_BIN: the tools, default build/bin)
#
# DIR/artifact: a shard, the test set, a state, a model, a feature
# statistic, and a gzipped shard; DIR/manifest: their manifests;
# DIR/idx: the harness's length-prefixed pair of IDX files, plain and gzip;
# DIR/cifar: CIFAR-10 and CIFAR-100 archives behind their selector byte;
# DIR/npz: a LeNet-5 model exported by ccl-npz.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
CCL_BIN=${CCL_BIN:-$here/../../build/bin}
bats_load_library() { :; }
# shellcheck source=../bats/helpers.bash
. "$here/../bats/helpers.bash"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"/{artifact,manifest,idx,cifar,npz}

make_idx "$work/d" train 64
make_idx "$work/d" t10k 16
"$CCL_BIN/ccl-partition" -n 2 --alpha 0.5 --data "$work/d" -o "$work/p" > /dev/null
"$CCL_BIN/ccl-init" --shard "$work/p/shard-000.ccl" -o "$work/s.ccl" -m "$work/m.ccl"
"$CCL_BIN/ccl-featstat" -d "$work/p/shard-000.ccl" -S "$work/s.ccl" --batch 8 -M "$work/m.ccl" -o "$work/fs.ccl"
"$CCL_BIN/ccl-npz" -o "$out/npz/lenet5.npz" "$work/m.ccl"
cp "$work/p/shard-000.ccl" "$work/p/test.ccl" "$work/s.ccl" "$work/m.ccl" "$work/fs.ccl" "$out/artifact/"
gzip -c "$work/p/shard-001.ccl" > "$out/artifact/shard-001.ccl.gz"
for f in "$out"/artifact/*.ccl; do tar -xOf "$f" manifest.yaml > "$out/manifest/$(basename "$f" .ccl).yaml"; done

# le32 N: four little-endian bytes.
le32() { byte $(($1 & 255)); byte $(($1 >> 8 & 255)); byte $(($1 >> 16 & 255)); byte $(($1 >> 24 & 255)); }
images=$work/d/train-images-idx3-ubyte labels=$work/d/train-labels-idx1-ubyte
{ le32 "$(stat -c %s "$images")"; cat "$images" "$labels"; } > "$out/idx/plain"
gzip -c "$images" > "$work/i.gz"
gzip -c "$labels" > "$work/l.gz"
{ le32 "$(stat -c %s "$work/i.gz")"; cat "$work/i.gz" "$work/l.gz"; } > "$out/idx/gzip"

make_cifar10 "$work/c10"
make_cifar100 "$work/c100"
{ byte 0; cat "$work/c10/cifar-10-binary.tar.gz"; } > "$out/cifar/cifar10"
{ byte 1; cat "$work/c100/cifar-100-binary.tar.gz"; } > "$out/cifar/cifar100"
