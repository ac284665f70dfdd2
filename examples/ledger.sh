#!/usr/bin/env bash
# Sums the ledgers of an experiment (DIR/ledger/agent-NNN.tsv, written by
# the tools through agent-step.sh; ccl(7)) into what each agent sent and
# received and what crossed each edge, counting every file once per
# receiver however many of its tools read it:
#
#   examples/ledger.sh [--fold-before T] DIR
#
# writes DIR/bytes-agents.csv (one line per agent: parameter and statistic
# bytes sent and received, payload and whole files) and DIR/bytes-edges.csv
# (one line per sender, receiver pair), and prints one line: the mean over
# agents of the bytes sent, "PARAM_PAYLOAD FEATSTAT_PAYLOAD PARAM_FILE
# FEATSTAT_FILE".
#
# --fold-before T then folds the lines of files of iterations before T,
# which no step reads again once iteration T is complete, into
# DIR/ledger/folded.tsv (their sums per receiver, sender and kind) and
# removes them from the agents' ledgers, so that the ledgers of a long run
# stay as small as one iteration's.  examples/experiment.sh does this after
# every epoch.  No tool may be running on DIR meanwhile.
set -euo pipefail
usage() { echo "usage: ledger.sh [--fold-before T] DIR" >&2; exit 2; }
fold=
if [ "${1:-}" = --fold-before ]; then
	[ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || usage
	fold=$2
	shift 2
fi
[ $# -eq 1 ] || usage
dir=$1
[ -f "$dir/plan.env" ] || { echo "ledger.sh: $dir: no plan.env (not an experiment directory)" >&2; exit 2; }
[ -d "$dir/ledger" ] || { echo "ledger.sh: $dir: no ledger directory (planned before ledgers existed)" >&2; exit 2; }
agents=$(grep -o '^AGENTS=[0-9]*' "$dir/plan.env" | cut -d= -f2)
shopt -s nullglob
ledgers=("$dir"/ledger/agent-*.tsv)
folded=$dir/ledger/folded.tsv
trap 'rm -f "$dir/bytes-agents.csv.tmp" "$dir/bytes-edges.csv.tmp" "$folded.tmp" "$dir"/ledger/agent-*.tsv.tmp' EXIT
# An empty input still gives every agent its line of zeros.
: > "$dir/bytes-edges.csv.tmp"
# The folded sums come first: their first line says before which iteration
# they hold everything, and ledger lines of those iterations (left behind
# by a fold that was cut short) are skipped.
inputs=()
[ ! -f "$folded" ] || inputs+=("$folded")
cat -- "${inputs[@]}" "${ledgers[@]}" /dev/null | awk -F'\t' -v agents="$agents" \
	-v by_agent="$dir/bytes-agents.csv.tmp" -v by_edge="$dir/bytes-edges.csv.tmp" -v fold="$fold" \
	-v folded_out="$folded.tmp" '
	function add(receiver, sender, kind, payload, file_bytes,   k) {
		k = (kind == "model") ? "param" : "featstat"
		sent[sender, k] += payload; sent_file[sender, k] += file_bytes
		got[receiver, k] += payload; got_file[receiver, k] += file_bytes
		edge[sender, receiver] = 1
		e[sender, receiver, k] += payload; e_file[sender, receiver, k] += file_bytes
		if (fold != "" && iteration < fold) {
			f[receiver, sender, kind] += payload; f_file[receiver, sender, kind] += file_bytes
		}
	}
	NR == 1 && /^# folded before iteration [0-9]+$/ { folded_before = $0; sub(/.* /, "", folded_before); in_folded = 1; next }
	in_folded && /^# end$/ { in_folded = 0; next }
	in_folded {
		if (NF != 5) { printf "ledger.sh: malformed folded line: %s\n", $0 > "/dev/stderr"; bad = 1; exit 1 }
		iteration = -1
		add($1, $2, $3, $4, $5)
		next
	}
	NF != 6 || $3 !~ /^(model|featstat)$/ { printf "ledger.sh: malformed ledger line: %s\n", $0 > "/dev/stderr"; bad = 1; exit 1 }
	{
		# A file is known by its name below the experiment directory,
		# however the directory was spelled (engines differ); others by the
		# whole name, and they are never folded.
		key = $6; iteration = 1e18
		if (match(key, /\/iter\/[0-9]+\//)) {
			iteration = substr(key, RSTART + 6, RLENGTH - 7) + 0
			key = substr(key, RSTART + 1)
		}
	}
	folded_before != "" && iteration < folded_before + 0 { next }
	seen[$1, key]++ { next }    # this receiver has counted this file already
	{ add($1, $2, $3, $4, $5) }
	END {
		if (bad) exit 1
		print "agent,param_bytes_sent,featstat_bytes_sent,param_file_bytes_sent,featstat_file_bytes_sent," \
			"param_bytes_received,featstat_bytes_received,param_file_bytes_received,featstat_file_bytes_received" > by_agent
		for (i = 0; i < agents; i++) {
			printf "%d,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f\n", i, sent[i, "param"], sent[i, "featstat"],
				sent_file[i, "param"], sent_file[i, "featstat"], got[i, "param"], got[i, "featstat"],
				got_file[i, "param"], got_file[i, "featstat"] > by_agent
			tp += sent[i, "param"]; tf += sent[i, "featstat"]
			tpf += sent_file[i, "param"]; tff += sent_file[i, "featstat"]
		}
		for (pair in edge) {
			split(pair, p, SUBSEP)
			printf "%d,%d,%.0f,%.0f,%.0f,%.0f\n", p[1], p[2], e[p[1], p[2], "param"], e[p[1], p[2], "featstat"],
				e_file[p[1], p[2], "param"], e_file[p[1], p[2], "featstat"] > by_edge
		}
		if (fold != "") {
			printf "# folded before iteration %d\n", fold > folded_out
			for (t in f) {
				split(t, p, SUBSEP)
				printf "%d\t%d\t%s\t%.0f\t%.0f\n", p[1], p[2], p[3], f[t], f_file[t] > folded_out
			}
			print "# end" > folded_out
		}
		printf "%.0f %.0f %.0f %.0f\n", tp / agents, tf / agents, tpf / agents, tff / agents
	}'
{
	echo sender,receiver,param_bytes,featstat_bytes,param_file_bytes,featstat_file_bytes
	sort -t, -k1,1n -k2,2n "$dir/bytes-edges.csv.tmp"
} > "$dir/bytes-edges.csv"
mv "$dir/bytes-agents.csv.tmp" "$dir/bytes-agents.csv"
[ -n "$fold" ] || exit 0
# The folded sums replace the old ones first; only then do the ledgers lose
# those lines (until they do, the iteration mark above skips them).
mv "$folded.tmp" "$folded"
for l in "${ledgers[@]}"; do
	awk -F'\t' -v fold="$fold" '!match($6, /\/iter\/[0-9]+\//) || substr($6, RSTART + 6, RLENGTH - 7) + 0 >= fold' \
		"$l" > "$l.tmp"
	mv "$l.tmp" "$l"
done
