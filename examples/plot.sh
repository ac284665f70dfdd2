#!/usr/bin/env bash
# Pictures of an experiment, drawn by gnuplot(1) as PNG and SVG.
#
#   examples/plot.sh partition DIR|SHARD... -o PREFIX
#   examples/plot.sh run [--label NAME]... RESULTS.csv|DIR... -o PREFIX
#
# partition: a heatmap of each agent's samples per class, for the shards of
# an experiment directory (DIR/shards/shard-NNN.ccl, or DIR/shard-NNN.ccl
# as ccl-partition -o DIR writes them; the test split is left out) or the
# shard files given, all of one partition.  Writes PREFIX.png and
# PREFIX.svg.  The counts are each shard's own, counted from its labels by
# ccl-info(1) (its class_counts), so the data set is not needed.
#
# run: for one or several runs of examples/experiment.sh (DIR/results.csv,
# or the CSV file itself, columns found by their names in the header),
# PREFIX.png and PREFIX.svg: per epoch, the agents' local accuracy (mean,
# with a band of one standard deviation over agents) and the averaged
# model's accuracy (dashed, same colour) above the consensus distance (log
# scale); and PREFIX-bytes.png and PREFIX-bytes.svg: the mean local
# accuracy against the megabytes each agent has sent (parameters and
# feature statistics).  Each run is labelled by its directory's name (a
# CSV not named results.csv: by its file name), or by the --label options,
# one per run in order.  Epochs whose values are not finite (a run that
# diverged) are left out, and said so on the standard error.
#
# The paths of the files written are printed, one per line.  Exit status:
# 0 success, 1 gnuplot failed or is missing (or ccl-info is older than this
# script), 2 usage error, 3 bad input.
set -euo pipefail

here=$(dirname "$0")
# shellcheck source=ccl-bin.sh
. "$here/ccl-bin.sh"
BIN=$(ccl_bin "$here")

die() { local status=$1; shift; echo "plot.sh: $*" >&2; exit "$status"; }
# The comment at the top of this file, without its #.
help() { awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0; }
usage() { die 2 "$*; see plot.sh --help"; }

[ $# -gt 0 ] || usage "a subcommand is required: partition or run"
case $1 in
-h | --help) help ;;
partition | run) command=$1; shift ;;
*) usage "unknown subcommand '$1' (partition or run)" ;;
esac
prefix= labels=() operands=()
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) help ;;
	-o | --output | --label)
		[ $# -ge 2 ] || usage "option '$1' needs a value"
		case $1 in
		--label) [ "$command" = run ] || usage "--label is for run"; labels+=("$2") ;;
		*) prefix=$2 ;;
		esac
		shift 2 ;;
	--) shift; operands+=("$@"); break ;;
	-?*) usage "unknown option '$1'" ;;
	*) operands+=("$1"); shift ;;
	esac
done
[ -n "$prefix" ] || usage "-o PREFIX is required"
[[ $prefix != */ ]] || usage "-o PREFIX names files (PREFIX.png...), not a directory: '$prefix'"
[ ${#operands[@]} -gt 0 ] || usage "nothing to plot: give $([ "$command" = run ] && echo 'RESULTS.csv or DIR' || echo 'DIR or SHARD')..."
[ ${#labels[@]} -eq 0 ] || [ ${#labels[@]} -eq ${#operands[@]} ] ||
	usage "${#labels[@]} --label for ${#operands[@]} runs: give one per run, or none"
command -v gnuplot > /dev/null || die 1 "gnuplot is not installed (apt-get install gnuplot-nox)"

# Everything is drawn in a private directory and moved to PREFIX.* only
# once gnuplot has succeeded, so a failure leaves no half-written picture.
work=$(mktemp -d "${TMPDIR:-/tmp}/plot.XXXXXX")
trap 'rm -rf "$work"' EXIT
outputs=()

# gq TEXT: TEXT as a gnuplot string, single-quoted (no escapes are
# interpreted; a quote is doubled).  Text from the user or the files is
# also marked noenhanced where it is used, so that _ or ^ in it stay
# themselves.
gq() { local s=${1//\'/\'\'}; printf "'%s'" "${s//$'\n'/ }"; }

# render NAME WIDTH HEIGHT: draws $work/NAME.gp (the plot commands alone)
# into $work/NAME.png and $work/NAME.svg, then moves them to
# PREFIX{suffix}.png/.svg, NAME's suffix being what follows "fig" in it.
render() {
	local name=$1 width=$2 height=$3 dest=$prefix${1#fig} ext
	{
		echo "set encoding utf8"
		for ext in png svg; do
			if [ $ext = png ]; then
				echo "set terminal pngcairo size $width,$height font 'DejaVu Sans,10' enhanced"
			else
				echo "set terminal svg size $width,$height font 'DejaVu Sans,10' enhanced background '#ffffff'"
			fi
			echo "set output $(gq "$work/$name.$ext")"
			# Each picture from gnuplot's defaults, whatever the last one set.
			echo "reset"
			echo "load $(gq "$work/$name.gp")"
			echo "unset output"
		done
	} > "$work/$name.main.gp"
	gnuplot "$work/$name.main.gp" 2> "$work/gnuplot.err" || {
		echo "plot.sh: gnuplot failed drawing $dest.png:" >&2
		cat "$work/gnuplot.err" >&2
		exit 1
	}
	mkdir -p "$(dirname "$dest")"
	for ext in png svg; do
		mv -f "$work/$name.$ext" "$dest.$ext"
		outputs+=("$dest.$ext")
	done
}

# ---------------------------------------------------------------- partition

# The names of the classes of the data sets that have names other than
# their numbers, for the axis.
class_names() {
	case $1 in
	fashion-mnist) echo "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot" ;;
	cifar10) echo "airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck" ;;
	esac
}

plot_partition() {
	local shards=() arg found f i
	for arg in "${operands[@]}"; do
		if [ -d "$arg" ]; then
			found=()
			for f in "$arg"/shards/shard-[0-9]*.ccl "$arg"/shard-[0-9]*.ccl; do [ -e "$f" ] && found+=("$f"); done
			[ ${#found[@]} -gt 0 ] || die 3 "$arg: no shards in it (DIR/shards/shard-NNN.ccl or DIR/shard-NNN.ccl)"
			shards+=("${found[@]}")
		elif [ -e "$arg" ]; then
			shards+=("$arg")
		else
			die 3 "$arg: no such file or directory"
		fi
	done

	# Each shard verified, its metadata read and its classes counted by
	# ccl-info; its messages already name the file and the problem.
	"$BIN/ccl-info" --format yaml "${shards[@]}" > "$work/info.yaml" 2> "$work/info.err" || {
		sed 's/^ccl-info: /plot.sh: /' "$work/info.err" >&2
		exit 3
	}
	# One line per file, in the order given: kind, split, then the keys that
	# say which partition it belongs to, then its agent, then its samples
	# per class separated by commas; "-" for a key it lacks, so that the
	# fields after it keep their places.
	local meta=()
	mapfile -t meta < <(awk '
		function value(line) { sub(/^[^:]*: */, "", line); gsub(/"/, "", line); return line }
		function flush(  i, line) {
			if (!n++) return
			for (i = 1; i <= nkeys; i++) line = line (i > 1 ? " " : "") (v[keys[i]] != "" ? v[keys[i]] : "-")
			print line
			delete v
		}
		BEGIN { nkeys = split("kind split dataset classes agents scheme alpha seed agent class_counts", keys, " ") }
		/^- file:/ { flush() }
		# A flow list on one line: [3, 0, 12].
		/^  class_counts: \[/ { c = value($0); gsub(/[][ ]/, "", c); v["class_counts"] = c; next }
		/^  [a-z_]+:/ { k = $1; sub(/:$/, "", k); v[k] = value($0) }
		END { flush() }' "$work/info.yaml")
	[ ${#meta[@]} -eq ${#shards[@]} ] || die 1 "ccl-info gave ${#meta[@]} entries for ${#shards[@]} files"

	local kind split dataset classes agents scheme alpha seed agent class_counts first= seen=() counts=()
	for i in "${!shards[@]}"; do
		read -r kind split dataset classes agents scheme alpha seed agent class_counts <<<"${meta[i]}"
		f=${shards[i]}
		[ "$kind" = shard ] || die 3 "$f: a $kind artifact, not an agent's shard"
		[ "$split" = train ] || die 3 "$f: the $split split, not an agent's shard"
		[[ $agent =~ ^[0-9]+$ ]] || die 3 "$f: a training shard without an agent number"
		[ "$class_counts" != - ] || die 1 "$f: $BIN/ccl-info gives no class_counts (older than this script?)"
		local partition="$dataset $classes $agents $scheme $alpha $seed"
		[ -n "$first" ] || first=$partition
		[ "$partition" = "$first" ] || die 3 "$f: from another partition than ${shards[0]} ($(
			paste -d' ' <(printf '%s\n' dataset classes agents scheme alpha seed) <(tr ' ' '\n' <<<"$partition") \
				<(tr ' ' '\n' <<<"$first") | awk '
				function show(v) { return v ~ /^[0-9.eE+-]+$/ ? sprintf("%g", v) : v }
				$2 != $3 {printf "%s%s %s against %s", n++ ? ", " : "", $1, show($2), show($3)}'))"
		[ -z "${seen[agent]:-}" ] || die 3 "$f: agent $agent again (also ${seen[agent]})"
		seen[agent]=$f counts[agent]=$class_counts
	done
	read -r dataset classes agents scheme alpha seed <<<"$first"

	local coarse=
	[ "$dataset" != cifar100 ] || [ "$classes" != 20 ] || coarse=1

	# cells.dat: row (the agents plotted, in increasing order from the
	# top), class, samples.
	local row=0 c n=()
	for agent in "${!seen[@]}"; do
		IFS=, read -ra n <<<"${counts[agent]}"
		for c in "${!n[@]}"; do echo "$row $c ${n[c]}"; done
		row=$((row + 1))
	done > "$work/cells.dat"
	local rows_n max
	rows_n=${#seen[@]}
	max=$(awk '$3 > m {m = $3} END {print m + 0}' "$work/cells.dat")

	# What the title says about the partition; alpha as a person writes it
	# (the shard keeps 17 significant digits).
	local name how
	alpha=$(awk -v a="$alpha" 'BEGIN {printf "%g", a}')
	case $dataset in
	fashion-mnist) name=Fashion-MNIST ;; mnist) name=MNIST ;; cifar10) name=CIFAR-10 ;;
	cifar100) name="CIFAR-100${coarse:+ (coarse classes)}" ;; *) name=$dataset ;;
	esac
	case $scheme in
	paper) how="Dirichlet α = $alpha (paper scheme), seed $seed" ;;
	dirichlet) how="Dirichlet α = $alpha, seed $seed" ;;
	iid) how="IID, seed $seed" ;;
	shards) how="two label shards each, seed $seed" ;;
	*) how="$scheme, seed $seed" ;;
	esac
	local title="$name among $agents agents: $how"
	[ "$rows_n" -eq "$agents" ] || title="$title ($rows_n agents shown)"

	# Tics: the agents' numbers; the classes' numbers, with their names
	# where the data set has them.
	local ytics xtics="" names=() c
	ytics=$(printf '%s\n' "${!seen[@]}" | awk '{printf "%s\"%s\" %d", (NR > 1 ? ", " : ""), $1, NR - 1}')
	IFS=, read -ra names <<<"$(class_names "$dataset")"
	if [ ${#names[@]} -eq "$classes" ]; then
		for ((c = 0; c < classes; c++)); do xtics+="${xtics:+, }$(gq "$c ${names[c]}") $c"; done
		xtics="set xtics ($xtics) rotate by 30 right"
	elif [ "$classes" -le 20 ]; then
		xtics="set xtics 1"
	fi

	# Counts are written in the cells while they fit: at most 40 rows and
	# 20 classes.  A cell's text is white where the colour is dark.
	local labels_plot= cells
	cells=$(gq "$work/cells.dat")
	if [ "$rows_n" -le 40 ] && [ "$classes" -le 20 ]; then
		labels_plot=", $cells using (column(3) > 0 && !dark(column(3)) ? column(2) : NaN):1:(sprintf('%d', column(3))) with labels font ',9' tc '#000000' notitle"
		labels_plot+=", $cells using (dark(column(3)) ? column(2) : NaN):1:(sprintf('%d', column(3))) with labels font ',9' tc '#ffffff' notitle"
	fi
	local height=$((170 + 24 * rows_n))
	((height >= 420)) || height=420
	((height <= 2000)) || height=2000
	cat > "$work/fig.gp" <<-EOF
		set title $(gq "$title") noenhanced font ',12'
		set xlabel 'class'
		set ylabel 'agent'
		set xrange [-0.5:$classes - 0.5]
		set yrange [$rows_n - 0.5:-0.5]
		set ytics ($ytics)
		$xtics
		set tics scale 0
		set border 0
		# A log colour scale: at small alpha most cells hold none or a
		# handful of samples and a few hold thousands.
		set logscale cb
		set cbrange [1:$((max > 10 ? max : 10))]
		set cblabel 'samples of the class (log scale; grey: none)'
		set palette defined (0 '#ffffd9', 0.2 '#c7e9b4', 0.4 '#7fcdbb', 0.6 '#41b6c4', 0.8 '#225ea8', 1 '#081d58')
		dark(n) = n > 0 && log(n) > 0.6 * log($((max > 10 ? max : 10)))
		# Every cell grey, then those with samples in colour.  The empty
		# ones are left out of the second plot by an undefined x: an
		# undefined colour would paint them white.
		plot $cells using 2:1:(0.5):(0.5) with boxxyerror fs solid 1 border lc '#ffffff' fc '#e8e8e8' notitle, \\
			$cells using (column(3) > 0 ? column(2) : NaN):1:(0.5):(0.5):3 with boxxyerror \\
				fs solid 1 border lc '#ffffff' fc palette notitle $labels_plot
	EOF
	render fig 900 "$height"
}

# ---------------------------------------------------------------------- run

# Colours of the runs, in order (cycled), distinguishable in print.
colours=('#1f77b4' '#d62728' '#2ca02c' '#ff7f0e' '#9467bd' '#8c564b' '#e377c2' '#17becf' '#7f7f7f' '#bcbd22')

plot_run() {
	local csvs=() names=() arg csv label i
	for arg in "${operands[@]}"; do
		if [ -d "$arg" ]; then
			csv=$arg/results.csv
			[ -e "$csv" ] || die 3 "$arg: no results.csv in it"
			label=$(basename "$(cd "$arg" && pwd)")
		elif [ -e "$arg" ]; then
			csv=$arg
			if [ "$(basename "$arg")" = results.csv ]; then
				label=$(basename "$(cd "$(dirname "$arg")" && pwd)")
			else
				label=$(basename "$arg" .csv)
			fi
		else
			die 3 "$arg: no such file or directory"
		fi
		[ -r "$csv" ] && [ -f "$csv" ] || die 3 "$csv: not a readable file"
		csvs+=("$csv") names+=("$label")
	done
	[ ${#labels[@]} -eq 0 ] || names=("${labels[@]}")

	# run-K.dat per run: epoch (from 1), mean and standard deviation of the
	# local accuracy and the averaged model's accuracy in %, consensus
	# distance, MB sent per agent.  A value that is not finite is written
	# '?', gnuplot's missing value: the point is left out and the line goes
	# on past it.  Columns are found by name; anything else than a number,
	# nan or inf where a number belongs is bad input.  Prints the number of
	# epochs, of those with a value left out, and of those with a finite
	# mean accuracy.
	local plotted=() counts lines skipped finite
	for i in "${!csvs[@]}"; do
		csv=${csvs[i]}
		counts=$(awk -F, -v file="$csv" -v out="$work/run-$i.dat" '
			function bad(msg) { printf "plot.sh: %s: %s\n", file, msg > "/dev/stderr"; failed = 1; exit 3 }
			function number(s) { return s ~ /^[ \t]*[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?[ \t]*$/ }
			function nonfinite(s) { return tolower(s) ~ /^[ \t]*[-+]?(nan|inf|infinity)[ \t]*$/ }
			# The value of column NAME on this line times SCALE, or "?".
			function get(name, scale) {
				if (number($col[name])) return $col[name] * scale
				if (nonfinite($col[name])) return "?"
				bad(sprintf("line %d: %s is \"%s\", not a number", NR, name, $col[name]))
			}
			{ sub(/\r$/, "") }
			NR == 1 {
				for (k = 1; k <= NF; k++) col[$k] = k
				n = split("epoch mean_accuracy std_accuracy average_model_accuracy consensus_distance " \
					"param_bytes_per_agent featstat_bytes_per_agent", need, " ")
				for (k = 1; k <= n; k++) if (!(need[k] in col)) missing = missing (missing ? ", " : "") need[k]
				if (missing) bad("no column " missing " in its header (examples/experiment.sh writes them)")
				fields = NF
				next
			}
			/^[ \t]*$/ { next }
			{
				if (NF != fields) bad(sprintf("line %d has %d fields, the header %d", NR, NF, fields))
				if ($col["epoch"] !~ /^[0-9]+$/) bad(sprintf("line %d: epoch is \"%s\", not a count", NR, $col["epoch"]))
				m = get("mean_accuracy", 100); s = get("std_accuracy", 100); a = get("average_model_accuracy", 100)
				c = get("consensus_distance", 1)
				pb = get("param_bytes_per_agent", 1); fb = get("featstat_bytes_per_agent", 1)
				mb = (pb == "?" || fb == "?") ? "?" : (pb + fb) / 1e6
				# A consensus distance of 0 has no place on a log scale.
				if (c != "?" && c <= 0) c = "?"
				if (m == "?" || s == "?" || a == "?" || c == "?" || mb == "?") skipped++
				if (m != "?") finite++
				print $col["epoch"] + 1, m, s, a, c, mb > out
				lines++
			}
			END {
				if (failed) exit 3
				if (NR == 0) bad("empty, not a results.csv")
				print lines + 0, skipped + 0, finite + 0
			}' "$csv") || exit 3
		read -r lines skipped finite <<<"$counts"
		if [ "$lines" -eq 0 ]; then
			echo "plot.sh: $csv: no epoch finished; left out of the figures" >&2
			continue
		fi
		[ "$skipped" -eq 0 ] ||
			echo "plot.sh: $csv: $skipped of $lines epochs have values that are not finite (diverged?); those points are left out" >&2
		# Such a run keeps its key entry, which says why no line is seen.
		[ "$finite" -gt 0 ] || names[i]="${names[i]} (accuracy not finite)"
		plotted+=("$i")
	done
	[ ${#plotted[@]} -gt 0 ] || die 3 "no run has a finished epoch to plot"

	# The axes' ranges over all runs, set rather than autoscaled: gnuplot
	# refuses to autoscale an axis on which no point is finite.  Accuracy
	# in steps of 10 points within [0, 100] (with the band and the averaged
	# model; for the bytes figure, of the mean alone); consensus distance
	# in whole decades.
	local files=() ranges last lo hi mlo mhi clo chi mbhi
	for i in "${plotted[@]}"; do files+=("$work/run-$i.dat"); done
	ranges=$(awk '
		function widen(key, v) {
			if (!((key "lo") in r) || v < r[key "lo"]) r[key "lo"] = v
			if (!((key "hi") in r) || v > r[key "hi"]) r[key "hi"] = v
		}
		# Whole tens of percent around the values, with at least 2 points to
		# spare; 0 to 100 when none is finite.
		function tens(key) {
			if (!((key "lo") in r)) return "0 100"
			lo = 10 * floor((r[key "lo"] - 2) / 10); hi = -10 * floor(-(r[key "hi"] + 2) / 10)
			if (lo < 0) lo = 0; if (hi > 100) hi = 100
			return lo " " hi
		}
		function floor(x) { return x == int(x) || x > 0 ? int(x) : int(x) - 1 }
		# The power of ten at or below V, or with UP at or above it.
		function decade(v, up) { e = log(v) / log(10); return 10 ^ (up ? -floor(-e) : floor(e)) }
		$1 > last { last = $1 }
		$2 != "?" && $3 != "?" { widen("acc", $2 - $3); widen("acc", $2 + $3) }
		$2 != "?" { widen("mean", $2) }
		$4 != "?" { widen("acc", $4) }
		$5 != "?" { widen("c", $5) }
		$6 != "?" { widen("mb", $6) }
		END {
			clo = ("clo" in r) ? decade(r["clo"], 0) : 1e-4
			chi = ("chi" in r) ? decade(r["chi"], 1) : 1
			if (chi <= clo) chi = clo * 10
			mbhi = ("mbhi" in r) && r["mbhi"] > 0 ? r["mbhi"] * 1.04 : 1
			print last, tens("acc"), tens("mean"), clo, chi, mbhi
		}' "${files[@]}")
	read -r last lo hi mlo mhi clo chi mbhi <<<"$ranges"

	# Points on the lines while they are few enough to tell apart.
	local style="lines" k
	[ "$last" -gt 12 ] || style="linespoints pt 7 ps 0.6"
	# The runs' key entries are drawn apart from their data, so that a run
	# without a finite point still has its entry.
	local acc="" band="" avg="" cons="" bytes="" keys="" colour title dat
	for k in "${!plotted[@]}"; do
		i=${plotted[k]} colour=${colours[k % ${#colours[@]}]} title=$(gq "${names[i]}") dat=$(gq "$work/run-$i.dat")
		band+="$dat using 1:(column(2) - column(3)):(column(2) + column(3)) with filledcurves fc '$colour' fs transparent solid 0.15 noborder notitle, "
		acc+="$dat using 1:2 with $style lw 2 lc '$colour' notitle, "
		avg+="$dat using 1:4 with $style lw 1.5 dt 2 lc '$colour' notitle, "
		cons+="$dat using 1:5 with $style lw 2 lc '$colour' notitle, "
		bytes+="$dat using 6:2 with $style lw 2 lc '$colour' notitle, "
		keys+="NaN with $style lw 2 lc '$colour' title $title noenhanced, "
	done
	# The key stands right of the plots, as wide as its longest entry
	# (about 7 pixels a character, after the line sample; the fixed entries
	# are 22 characters at most); the figure widens rather than cut one.
	local longest=22 width left right key
	for i in "${plotted[@]}"; do ((${#names[i]} <= longest)) || longest=${#names[i]}; done
	key=$((70 + 7 * longest))
	width=$((660 + key > 900 ? 660 + key : 900))
	left=$(awk -v w="$width" 'BEGIN {printf "%.4f", 80 / w}')
	right=$(awk -v w="$width" -v k="$key" 'BEGIN {printf "%.4f", (w - k - 20) / w}')
	key=$(awk -v w="$width" -v k="$key" 'BEGIN {printf "%.4f", (w - k) / w}')
	# The x axis: epoch 1 to the last, with room at both ends.
	local xrange="[0.5:$last + 0.5]"
	[ "$last" -le 10 ] || xrange="[0:$last + 0.5]"
	local xtics="set xtics 1"
	[ "$last" -le 12 ] || xtics="set xtics autofreq"

	cat > "$work/fig.gp" <<-EOF
		set datafile missing '?'
		set multiplot
		# The two panels share the x axis and a key on the right.
		set lmargin at screen $left
		set rmargin at screen $right
		set xrange $xrange
		$xtics
		set grid lc '#dddddd'
		set key at screen $key, 0.93 left top vertical Left reverse spacing 1.3 samplen 3
		set title 'Accuracy on the test set' font ',12'
		set tmargin at screen 0.93
		set bmargin at screen 0.45
		set format x ''
		set ylabel 'accuracy (%)'
		set yrange [$lo:$hi]
		plot $band $acc $avg $keys \\
			NaN with lines lc '#ffffff' title ' ', \\
			NaN with lines lw 2 lc '#000000' title 'local models (mean)', \\
			NaN with filledcurves fc '#000000' fs transparent solid 0.15 noborder title '± 1 std over agents', \\
			NaN with lines lw 1.5 dt 2 lc '#000000' title 'averaged model'
		unset title
		unset key
		set tmargin at screen 0.41
		set bmargin at screen 0.10
		set format x '%g'
		set xlabel 'epoch'
		set ylabel "consensus distance\n(mean squared distance to the average)"
		set yrange [$clo:$chi]
		set logscale y
		set format y '10^{%L}'
		plot ${cons%, }
		unset multiplot
	EOF
	render fig "$width" 620

	cat > "$work/fig-bytes.gp" <<-EOF
		set datafile missing '?'
		set title 'Mean local accuracy against communication' font ',12'
		set xlabel 'MB sent per agent (parameters and feature statistics, 1 MB = 10^6 bytes)'
		set ylabel 'accuracy (%), mean over agents'
		set xrange [0:$mbhi]
		set yrange [$mlo:$mhi]
		set grid lc '#dddddd'
		set lmargin at screen $left
		set rmargin at screen $right
		set key at screen $key, 0.9 left top vertical Left reverse spacing 1.3 samplen 3
		plot $bytes ${keys%, }
	EOF
	render fig-bytes "$width" 500
}

case $command in
partition) plot_partition ;;
run) plot_run ;;
esac
printf '%s\n' "${outputs[@]}"
