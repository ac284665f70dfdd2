# One whole ccl-train-step invocation (LeNet-5, one batch-32 step, reading
# the state and the shard, writing the next state and the model) against the
# compute of a step, both measured here: the per-step time of a 201-step
# call minus a 1-step call, divided by 200.  Also the peak resident size.
dir=$(mktemp -d)
"$CCL_BIN/ccl-partition" --agents 16 --alpha 0.01 --seed 123 -o "$dir" > /dev/null
"$CCL_BIN/ccl-init" --shard "$dir/shard-000.ccl" -o "$dir/s.ccl"

# median_ms CMD...: the median wall time of 31 runs, in milliseconds.
median_ms() {
	local runs=() i start end
	for i in $(seq 31); do
		start=$(date +%s%N)
		"$@" > /dev/null
		end=$(date +%s%N)
		runs+=($(((end - start) / 1000)))
	done
	printf '%s\n' "${runs[@]}" | sort -n | sed -n 16p | awk '{printf "%.3f", $1 / 1000}'
}

step() {
	"$CCL_BIN/ccl-train-step" -S "$dir/s.ccl" -d "$dir/shard-000.ccl" -o "$dir/n.ccl" -m "$dir/m.ccl" \
		--lr 0.01 --batch 32 --steps "$1"
}
one=$(median_ms step 1)
many=$(median_ms step 201)
compute=$(awk -v a="$one" -v b="$many" 'BEGIN {printf "%.3f", (b - a) / 200}')
echo "ccl-train-step, one batch-32 step with artifacts in and out: $one ms; compute of a step $compute ms;" \
	"overhead $(awk -v a="$one" -v c="$compute" 'BEGIN {printf "%.3f", a - c}') ms"

if [ -x /usr/bin/time ]; then
	rss=$( { /usr/bin/time -f %M "$CCL_BIN/ccl-train-step" -S "$dir/s.ccl" -d "$dir/shard-000.ccl" \
		-o "$dir/n.ccl" -m "$dir/m.ccl" --lr 0.01 --batch 32 > /dev/null; } 2>&1)
	echo "ccl-train-step peak resident size: $rss KiB ($(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}') MiB)"
else
	echo "ccl-train-step peak resident size: not measured (install GNU time: apt-get install time)"
fi
rm -rf "$dir"
