# One whole ccl-train-step invocation (LeNet-5, one batch-32 step, reading
# the state and the shard, writing the next state and the model) against the
# compute of a step, both measured here: the per-step time of a 201-step
# call minus a 1-step call, divided by 200.  Each call is timed by timecmd
# (spawn to exit, no shell in between).  Two cases: fresh output names, as
# the engines' per-iteration layout gives (DIR/iter/T/), and replacing the
# previous outputs, which on ext4 also pays for deleting the old files and
# for the flush ext4 starts when a rename replaces a file.  The speed of
# these virtual machines changes from one moment to the next (by half, for
# tens of milliseconds at a time), so the three kinds of call take turns, 31
# rounds, and the medians compared come from the same stretch of time.  For
# scale, the start and exit of a process that does nothing.  Also the peak
# resident size.
dir=$(mktemp -d)
timecmd="$BUILD/bench/timecmd"
"$CCL_BIN/ccl-partition" --agents 16 --alpha 0.01 --seed 123 -o "$dir" > /dev/null
"$CCL_BIN/ccl-init" --shard "$dir/shard-000.ccl" -o "$dir/s.ccl"

# call STEPS OUT_SUFFIX: the call's wall time in ms.
call() {
	local ms
	read -r ms _ < <("$timecmd" 1 "$CCL_BIN/ccl-train-step" -S "$dir/s.ccl" -d "$dir/shard-000.ccl" \
		-o "$dir/n$2.ccl" -m "$dir/m$2.ccl" --lr 0.01 --batch 32 --steps "$1")
	echo "$ms"
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

fresh=() replacing=() many=()
for ((round = 1; round <= 31; round++)); do
	fresh+=("$(call 1 "-$round")")
	replacing+=("$(call 1 '')")
	many+=("$(call 201 '')")
done
read -r nothing _ < <("$timecmd" 31 /bin/true)
fresh=$(median "${fresh[@]}") replacing=$(median "${replacing[@]}") many=$(median "${many[@]}")
compute=$(awk -v a="$replacing" -v b="$many" 'BEGIN {printf "%.3f", (b - a) / 200}')
overhead() { awk -v a="$1" -v c="$compute" 'BEGIN {printf "%.3f", a - c}'; }
echo "ccl-train-step, one batch-32 step with artifacts in and out (medians of 31 rounds): compute of a step $compute ms;"
echo "  fresh output names: $fresh ms, overhead $(overhead "$fresh") ms;" \
	"replacing the outputs: $replacing ms, overhead $(overhead "$replacing") ms;" \
	"for scale, /bin/true: $nothing ms"

if [ -x /usr/bin/time ]; then
	rss=$( { /usr/bin/time -f %M "$CCL_BIN/ccl-train-step" -S "$dir/s.ccl" -d "$dir/shard-000.ccl" \
		-o "$dir/n.ccl" -m "$dir/m.ccl" --lr 0.01 --batch 32 > /dev/null; } 2>&1)
	echo "ccl-train-step peak resident size: $rss KiB ($(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}') MiB)"
else
	echo "ccl-train-step peak resident size: not measured (install GNU time: apt-get install time)"
fi
rm -rf "$dir"
