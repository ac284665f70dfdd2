#!/usr/bin/env bats
# examples/plot.sh: the partition heatmap and the run figures, drawn by
# gnuplot from small experiments on a small data set in the IDX layout.

load helpers

bats_require_minimum_version 1.5.0

EXAMPLES=$BATS_TEST_DIRNAME/../../examples
PLOT=$EXAMPLES/plot.sh
HEADER=epoch,lr,mean_accuracy,std_accuracy,average_model_accuracy,consensus_distance,param_bytes_per_agent,featstat_bytes_per_agent,seconds,epsilon

setup_file() {
	export D=$BATS_FILE_TMPDIR/d R=$BATS_FILE_TMPDIR/runs
	make_idx "$D" train 256
	make_idx "$D" t10k 40
	# Two real runs of two epochs each: an experiment directory and its
	# results.csv for both figures.
	for m in qgm dsgdm; do
		CCL_BIN=$CCL_BIN "$EXAMPLES/experiment.sh" --data "$D" --agents 4 --alpha 0.5 --epochs 2 --batch 16 \
			--milestones none --method "$m" --out "$R/$m" > /dev/null
	done
}

setup() {
	T=$BATS_TEST_TMPDIR
	export CCL_BIN
	# Whatever a broken plot.sh writes by a relative name lands here.
	cd "$T"
}

need_gnuplot() { command -v gnuplot > /dev/null || skip "gnuplot is not installed (apt-get install gnuplot-nox)"; }

# png FILE: FILE starts with the PNG signature.
png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

# png_width FILE: the width in pixels a PNG's header gives.
png_width() { od -An -tu1 -j16 -N4 "$1" | awk '{print (($1 * 256 + $2) * 256 + $3) * 256 + $4}'; }

# svg FILE: FILE is well-formed XML whose root is an svg element.
svg() { /usr/bin/python3 -c 'import sys, xml.dom.minidom
assert xml.dom.minidom.parse(sys.argv[1]).documentElement.tagName == "svg"' "$1"; }

# svg_text FILE [SIZE]: the text of FILE, one element per line; with SIZE,
# only the text drawn at that font size (the counts in the heatmap's cells
# are at 9).
svg_text() {
	/usr/bin/python3 -c 'import sys, xml.dom.minidom
def text(n): return "".join(c.data if c.nodeType == c.TEXT_NODE else text(c) for c in n.childNodes)
for t in xml.dom.minidom.parse(sys.argv[1]).getElementsByTagName("text"):
    g = t.parentNode
    if len(sys.argv) < 3 or g.getAttribute("font-size") == sys.argv[2] + ".00": print(text(t))' "$@"
}

# counts FILE: the numbers written in the heatmap's cells, sorted.
counts() { svg_text "$1" 9 | sort -n; }

# cells FILE: where the heatmap's numbers are, as lines "row column count"
# in reading order.  Rows and columns are counted from the topmost and the
# leftmost number in steps of the smallest gap between two of them: right
# when the first row and the first column hold a number, and so do two
# neighbouring rows and two neighbouring columns, as in the pictures here.
cells() {
	/usr/bin/python3 -c 'import re, sys, xml.dom.minidom
def text(n): return "".join(c.data if c.nodeType == c.TEXT_NODE else text(c) for c in n.childNodes)
cells = []
for g in xml.dom.minidom.parse(sys.argv[1]).getElementsByTagName("g"):
    if g.getAttribute("font-size") == "9.00":
        x, y = map(float, re.match(r"translate\(([-0-9.]+),([-0-9.]+)\)", g.getAttribute("transform")).groups())
        cells.append((y, x, text(g).strip()))
def places(values):
    v = sorted(set(values))
    step = min([b - a for a, b in zip(v, v[1:])] or [1])
    return lambda a: round((a - v[0]) / step)
row, col = places(c[0] for c in cells), places(c[1] for c in cells)
for y, x, t in sorted(cells): print(row(y), col(x), t)' "$1"
}

# histogram_counts FILE [AGENT...]: the non-zero counts of a table
# ccl-partition printed (10 classes), of every agent or of those given,
# sorted.
histogram_counts() {
	local f=$1
	shift
	awk -v only=" $* " 'NR > 1 && (only == "  " || index(only, " " $1 " ")) {
		for (c = 3; c <= 12; c++) if ($c > 0) print $c
	}' "$f" | sort -n
}

# histogram_cells FILE AGENT...: the non-zero counts of the agents given
# (in increasing order) in a table ccl-partition printed, as lines "row
# class count", the agents' rows numbered from 0.
histogram_cells() {
	local f=$1
	shift
	awk -v only=" $* " 'NR > 1 && index(only, " " $1 " ") {
		for (c = 3; c <= 12; c++) if ($c > 0) print row + 0, c - 3, $c
		row++
	}' "$f"
}

# pictures PREFIX SUFFIX...: PREFIX{SUFFIX}.png and .svg exist and are
# well formed, for every SUFFIX.
pictures() {
	local prefix=$1 s
	shift
	for s in "$@"; do
		png "$prefix$s.png" || { echo "not a PNG: $prefix$s.png"; return 1; }
		svg "$prefix$s.svg" || { echo "not an SVG: $prefix$s.svg"; return 1; }
	done
}

# csv FILE LINE...: a results.csv with the current header and LINEs.
csv() { local f=$1; shift; printf '%s\n' "$HEADER" "$@" > "$f"; }

@test "partition: an experiment directory's heatmap, written as PNG and SVG, with every agent's counts in its cells" {
	need_gnuplot
	run --separate-stderr "$PLOT" partition "$R/qgm" -o "$T/pics/p"
	assert_success
	assert_output "$T/pics/p.png
$T/pics/p.svg"
	[ -z "$stderr" ]
	pictures "$T/pics/p" ""
	# The numbers in the cells are the non-zero counts of the histogram
	# ccl-partition printed when the experiment was planned.
	expected=$(histogram_counts "$R/qgm/histogram.txt")
	[ "$(wc -l <<<"$expected")" -gt 4 ]
	run counts "$T/pics/p.svg"
	assert_output "$expected"
	# Each in its agent's row and its class's column.
	run cells "$T/pics/p.svg"
	assert_output "$(histogram_cells "$R/qgm/histogram.txt" 0 1 2 3)"
	run svg_text "$T/pics/p.svg"
	assert_line "Fashion-MNIST among 4 agents: Dirichlet α = 0.5 (paper scheme), seed 123"
	assert_line "9 Ankle boot"
}

@test "partition: shard files given alone, from a directory ccl-partition wrote; only those agents shown" {
	need_gnuplot
	# Shards of this file's small data set, not of the real Fashion-MNIST,
	# drawn without the data set: the counts are the shards' own.
	ccl-partition --data "$D" -n 5 --alpha 0.1 --seed 7 --scheme dirichlet -o "$T/s" > "$T/hist.txt"
	run "$PLOT" partition "$T/s/shard-003.ccl" "$T/s/shard-001.ccl" -o "$T/sub"
	assert_success
	pictures "$T/sub" ""
	run svg_text "$T/sub.svg"
	assert_line "Fashion-MNIST among 5 agents: Dirichlet α = 0.1, seed 7 (2 agents shown)"
	# The counts of agents 1 and 3, and no other's.
	run counts "$T/sub.svg"
	assert_output "$(histogram_counts "$T/hist.txt" 1 3)"
	[ "$output" != "$(histogram_counts "$T/hist.txt")" ]
	run cells "$T/sub.svg"
	assert_output "$(histogram_cells "$T/hist.txt" 1 3)"
	# The directory itself: all five.
	run "$PLOT" partition "$T/s" -o "$T/all"
	assert_success
	run counts "$T/all.svg"
	assert_output "$(histogram_counts "$T/hist.txt")"
}

@test "partition: what is not an agent's shard of one partition is refused, naming the file" {
	need_gnuplot
	last=$("$EXAMPLES/last-iteration.sh" "$R/qgm")
	model=$(printf '%s/iter/%06d/model-0.ccl' "$R/qgm" "$last")
	run "$PLOT" partition "$model" -o "$T/x"
	assert_failure 3
	assert_output "plot.sh: $model: a model artifact, not an agent's shard"
	run "$PLOT" partition "$R/qgm/shards/test.ccl" -o "$T/x"
	assert_failure 3
	assert_output "plot.sh: $R/qgm/shards/test.ccl: the test split, not an agent's shard"
	run "$PLOT" partition "$R/qgm/results.csv" -o "$T/x"
	assert_failure 3
	assert_output --regexp "^plot.sh: $R/qgm/results.csv: .*not a ccl artifact"
	run "$PLOT" partition "$T/nothere.ccl" -o "$T/x"
	assert_failure 3
	assert_output "plot.sh: $T/nothere.ccl: no such file or directory"
	mkdir "$T/empty"
	run "$PLOT" partition "$T/empty" -o "$T/x"
	assert_failure 3
	assert_output --partial "plot.sh: $T/empty: no shards in it"
	# Shards of two partitions, and one shard twice.
	ccl-partition --data "$D" -n 4 --alpha 0.1 -o "$T/other" > /dev/null
	run "$PLOT" partition "$R/qgm/shards/shard-000.ccl" "$T/other/shard-001.ccl" -o "$T/x"
	assert_failure 3
	assert_output "plot.sh: $T/other/shard-001.ccl: from another partition than $R/qgm/shards/shard-000.ccl (alpha 0.1 against 0.5)"
	run "$PLOT" partition "$R/qgm/shards/shard-002.ccl" "$R/qgm/shards/shard-002.ccl" -o "$T/x"
	assert_failure 3
	assert_output --partial "shard-002.ccl: agent 2 again"
	# Nothing drawn by any of them.
	run ls "$T"
	refute_output --partial x.
}

@test "partition: a ccl-info that does not count a shard's classes is said so, and nothing drawn" {
	need_gnuplot
	# The tools as they are, but a ccl-info without class_counts.
	mkdir "$T/bin"
	for t in "$CCL_BIN"/*; do ln -s "$t" "$T/bin/"; done
	rm "$T/bin/ccl-info"
	printf '#!/bin/sh\n"%s/ccl-info" "$@" | grep -v class_counts\n' "$CCL_BIN" > "$T/bin/ccl-info"
	chmod +x "$T/bin/ccl-info"
	run env CCL_BIN="$T/bin" "$PLOT" partition "$R/qgm" -o "$T/x"
	assert_failure 1
	assert_output "plot.sh: $R/qgm/shards/shard-000.ccl: $T/bin/ccl-info gives no class_counts (older than this script?)"
	[ ! -e "$T/x.png" ]
}

@test "run: a run's two figures, as PNG and SVG, the paths printed, labelled by the directory's name" {
	need_gnuplot
	run --separate-stderr "$PLOT" run "$R/qgm" -o "$T/a/run"
	assert_success
	assert_output "$T/a/run.png
$T/a/run.svg
$T/a/run-bytes.png
$T/a/run-bytes.svg"
	[ -z "$stderr" ]
	pictures "$T/a/run" "" -bytes
	for f in run run-bytes; do
		run svg_text "$T/a/$f.svg"
		assert_line qgm
	done
	# The same results.csv given as a file is labelled by its directory.
	run "$PLOT" run "$R/qgm/results.csv" -o "$T/b/run"
	assert_success
	cmp "$T/a/run.svg" "$T/b/run.svg"
}

@test "run: several runs on one figure, each in the key by its directory's name or its --label" {
	need_gnuplot
	run "$PLOT" run "$R/qgm" "$R/dsgdm" -o "$T/two"
	assert_success
	pictures "$T/two" "" -bytes
	for f in two two-bytes; do
		run svg_text "$T/$f.svg"
		assert_line qgm
		assert_line dsgdm
	done
	# Labels with a quote and gnuplot's markup characters are drawn as given.
	run "$PLOT" run --label "QGM's run_1" --label 'DSGDm-N ^{x}' "$R/qgm" "$R/dsgdm" -o "$T/labelled"
	assert_success
	run svg_text "$T/labelled.svg"
	assert_line "QGM's run_1"
	assert_line "DSGDm-N ^{x}"
	refute_line qgm
	[ "$(png_width "$T/labelled.png")" -eq 900 ]
	# A label too long for the key's usual room widens the figure instead
	# of being cut.
	run "$PLOT" run --label "a label of fifty characters, far too long for it" "$R/qgm" -o "$T/long"
	assert_success
	[ "$(png_width "$T/long.png")" -gt 1000 ]
	[ "$(png_width "$T/long-bytes.png")" -gt 1000 ]
	# A CSV not named results.csv is labelled by its file name.
	cp "$R/dsgdm/results.csv" "$T/baseline.csv"
	run "$PLOT" run "$R/qgm" "$T/baseline.csv" -o "$T/named"
	assert_success
	run svg_text "$T/named.svg"
	assert_line baseline
}

@test "run: columns are read by their names, in any order and among others" {
	need_gnuplot
	# The same results with the columns reversed and one more: the same picture.
	awk -F, -v OFS=, '{line = (NR == 1 ? "note" : "x"); for (i = NF; i >= 1; i--) line = line OFS $i; print line}' \
		"$R/qgm/results.csv" > "$T/reordered.csv"
	head -1 "$T/reordered.csv" | grep -q '^note,.*,epoch$'
	run "$PLOT" run --label qgm "$R/qgm/results.csv" -o "$T/a"
	assert_success
	run "$PLOT" run --label qgm "$T/reordered.csv" -o "$T/b"
	assert_success
	cmp "$T/a.svg" "$T/b.svg"
	cmp "$T/a-bytes.svg" "$T/b-bytes.svg"
}

@test "run: epochs counted from 1; bytes are parameters and statistics together, in MB" {
	need_gnuplot
	# Epochs 0 and 1 finished; 4 and 8 MB sent by the end of each.
	csv "$T/b.csv" 0,0.01,0.3,0.1,0.6,0.08,1000000,3000000,1,0 1,0.01,0.35,0.1,0.62,0.05,2000000,6000000,1,0
	run "$PLOT" run "$T/b.csv" -o "$T/b"
	assert_success
	# The epoch axis's tics: 1 and 2 only.
	run svg_text "$T/b.svg"
	assert_line 1
	assert_line 2
	refute_line 0
	refute_line 3
	assert_line epoch
	# The bytes axis ends at 8 MB.
	run svg_text "$T/b-bytes.svg"
	assert_line --regexp '^ *8$'
	refute_line --regexp '^ *9$'
	assert_line --partial 'MB sent per agent'
}

@test "run: a diverged run's non-finite values are left out, said so, and the figures drawn" {
	need_gnuplot
	csv "$T/diverged.csv" 0,0.01,0.3,0.1,0.6,0.08,1000000,0,1,0 1,0.01,0.35,0.1,0.62,0.05,2000000,0,1,0 \
		2,0.01,nan,nan,-nan,inf,3000000,0,1,0 3,0.01,NaN,-inf,nan,nan,4000000,0,1,0
	csv "$T/lost.csv" 0,0.01,nan,nan,nan,nan,1000000,0,1,0
	run --separate-stderr "$PLOT" run "$R/qgm" "$T/diverged.csv" "$T/lost.csv" -o "$T/d"
	assert_success
	assert_line --index 0 "$T/d.png"
	[ "${#lines[@]}" -eq 4 ]
	pictures "$T/d" "" -bytes
	[[ $stderr == *"plot.sh: $T/diverged.csv: 2 of 4 epochs have values that are not finite (diverged?); those points are left out"* ]]
	[[ $stderr == *"plot.sh: $T/lost.csv: 1 of 1 epochs"* ]]
	# A run without a finite accuracy keeps its key entry, saying so.
	run svg_text "$T/d.svg"
	assert_line diverged
	assert_line "lost (accuracy not finite)"
	# Only runs of which nothing is finite: still drawn, on default ranges.
	run "$PLOT" run "$T/lost.csv" -o "$T/l"
	assert_success
	pictures "$T/l" "" -bytes
	# A run that diverged before its first epoch ended has no line: left out.
	csv "$T/none.csv"
	run --separate-stderr "$PLOT" run "$R/qgm" "$T/none.csv" -o "$T/n"
	assert_success
	[ "$stderr" = "plot.sh: $T/none.csv: no epoch finished; left out of the figures" ]
	run "$PLOT" run "$T/none.csv" -o "$T/n2"
	assert_failure 3
	assert_output --partial "plot.sh: $T/none.csv: no epoch finished"
	assert_output --partial "plot.sh: no run has a finished epoch to plot"
}

@test "run: bad input is refused with one line naming the file and the problem, and nothing drawn" {
	need_gnuplot
	run "$PLOT" run "$T/missing.csv" -o "$T/x"
	assert_failure 3
	assert_output "plot.sh: $T/missing.csv: no such file or directory"
	mkdir "$T/dir"
	run "$PLOT" run "$T/dir" -o "$T/x"
	assert_failure 3
	assert_output "plot.sh: $T/dir: no results.csv in it"
	# Another CSV (the one-agent runs of docs/results/resnet20 look like this).
	printf 'epoch,test_accuracy,test_loss,seconds\n1,0.8575,0.3792,294.4\n' > "$T/other.csv"
	run "$PLOT" run "$T/other.csv" -o "$T/x"
	assert_failure 3
	assert_output "plot.sh: $T/other.csv: no column mean_accuracy, std_accuracy, average_model_accuracy, consensus_distance, param_bytes_per_agent, featstat_bytes_per_agent in its header (examples/experiment.sh writes them)"
	csv "$T/short.csv" 0,0.01,0.3,0.1,0.6,0.08,1000000,0,1,0 1,0.01,0.35
	run "$PLOT" run "$T/short.csv" -o "$T/x"
	assert_failure 3
	assert_output "plot.sh: $T/short.csv: line 3 has 3 fields, the header 10"
	csv "$T/word.csv" 0,0.01,0.3,0.1,high,0.08,1000000,0,1,0
	run "$PLOT" run "$T/word.csv" -o "$T/x"
	assert_failure 3
	assert_output "plot.sh: $T/word.csv: line 2: average_model_accuracy is \"high\", not a number"
	: > "$T/empty.csv"
	run "$PLOT" run "$T/empty.csv" -o "$T/x"
	assert_failure 3
	assert_output "plot.sh: $T/empty.csv: empty, not a results.csv"
	# A bad run among good ones stops everything.
	run "$PLOT" run "$R/qgm" "$T/word.csv" -o "$T/x"
	assert_failure 3
	run ls "$T"
	refute_output --partial x.
}

@test "usage errors: subcommand, options, -o, labels; --help" {
	run "$PLOT"
	assert_failure 2
	assert_output "plot.sh: a subcommand is required: partition or run; see plot.sh --help"
	run "$PLOT" draw "$R/qgm" -o "$T/x"
	assert_failure 2
	assert_output "plot.sh: unknown subcommand 'draw' (partition or run); see plot.sh --help"
	run "$PLOT" run --colour red "$R/qgm" -o "$T/x"
	assert_failure 2
	assert_output "plot.sh: unknown option '--colour'; see plot.sh --help"
	run "$PLOT" run "$R/qgm"
	assert_failure 2
	assert_output "plot.sh: -o PREFIX is required; see plot.sh --help"
	run "$PLOT" run "$R/qgm" -o
	assert_failure 2
	assert_output "plot.sh: option '-o' needs a value; see plot.sh --help"
	run "$PLOT" run "$R/qgm" -o "$T/"
	assert_failure 2
	assert_output --partial "not a directory"
	run "$PLOT" partition -o "$T/x"
	assert_failure 2
	assert_output "plot.sh: nothing to plot: give DIR or SHARD...; see plot.sh --help"
	run "$PLOT" run --label a --label b "$R/qgm" -o "$T/x"
	assert_failure 2
	assert_output "plot.sh: 2 --label for 1 runs: give one per run, or none; see plot.sh --help"
	run "$PLOT" partition --label a "$R/qgm" -o "$T/x"
	assert_failure 2
	assert_output "plot.sh: --label is for run; see plot.sh --help"
	run "$PLOT" --help
	assert_success
	assert_line --index 0 "Pictures of an experiment, drawn by gnuplot(1) as PNG and SVG."
	assert_output --partial "examples/plot.sh run [--label NAME]... RESULTS.csv|DIR... -o PREFIX"
}

@test "without gnuplot: one line saying so, and status 1" {
	# A PATH with the tools plot.sh needs before it looks for gnuplot.
	mkdir "$T/bin"
	for t in dirname awk sed; do ln -s "$(command -v $t)" "$T/bin/$t"; done
	run env PATH="$T/bin" /bin/bash "$PLOT" run "$R/qgm" -o "$T/x"
	assert_failure 1
	assert_output "plot.sh: gnuplot is not installed (apt-get install gnuplot-nox)"
}
