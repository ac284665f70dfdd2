#!/usr/bin/env bash
# Summarises experiment runs as a Markdown table: for each run directory
# (examples/experiment.sh --out DIR), the last epoch's local-model accuracy
# (mean and standard deviation over agents), the averaged model's accuracy,
# the consensus distance, and the mean wall time per epoch.
#
#   examples/summarize.sh NAME=DIR [NAME=DIR]...   (DIR or its results.csv)
set -euo pipefail
echo "| method | epochs | local accuracy (mean ± std) | averaged model | consensus distance | s/epoch |"
echo "|---|---|---|---|---|---|"
for arg in "$@"; do
	name=${arg%%=*} dir=${arg#*=}
	csv=$dir; [ -d "$dir" ] && csv=$dir/results.csv
	awk -F, -v name="$name" 'NR > 1 {n++; s += $9; last = $0}
		END {
			if (!n) { printf "| %s | 0 | | | | |\n", name; exit }
			split(last, f, ",")
			printf "| %s | %d | %.2f%% ± %.2f | %.2f%% | %.3g | %.0f |\n", name, n, 100 * f[3], 100 * f[4], 100 * f[5], f[6], s / n
		}' "$csv"
done
