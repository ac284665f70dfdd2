# Wall time of ccl-partition on Fashion-MNIST: read the 60,000 training
# images from the .gz, partition for 16 agents, write 16 shards and the test set.
out=$(mktemp -d)
times=()
for run in 1 2 3 4 5; do
	start=$(date +%s%N)
	"$CCL_BIN/ccl-partition" --agents 16 --alpha 0.01 --seed 123 -o "$out" > /dev/null
	end=$(date +%s%N)
	times+=($(((end - start) / 1000000)))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
echo "ccl-partition fashion-mnist 16 agents: median $(echo $sorted | cut -d' ' -f3) ms (runs: $sorted)"
rm -rf "$out"
