#!/usr/bin/env bash
# Sums the ledgers of an experiment (DIR/ledger/agent-NNN.tsv, written by
# the tools through agent-step.sh; ccl(7)) into what each agent sent and
# received and what crossed each edge, counting every file once per
# receiver however many of its tools read it:
#
#   examples/ledger.sh DIR
#
# writes DIR/bytes-agents.csv (one line per agent: parameter and statistic
# bytes sent and received, payload and whole files) and DIR/bytes-edges.csv
# (one line per sender, receiver pair), and prints one line: the mean over
# agents of the bytes sent, "PARAM_PAYLOAD FEATSTAT_PAYLOAD PARAM_FILE
# FEATSTAT_FILE".
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: ledger.sh DIR" >&2; exit 2; }
dir=$1
[ -f "$dir/plan.env" ] || { echo "ledger.sh: $dir: no plan.env (not an experiment directory)" >&2; exit 2; }
[ -d "$dir/ledger" ] || { echo "ledger.sh: $dir: no ledger directory (planned before ledgers existed)" >&2; exit 2; }
agents=$(grep -o '^AGENTS=[0-9]*' "$dir/plan.env" | cut -d= -f2)
shopt -s nullglob
ledgers=("$dir"/ledger/agent-*.tsv)
trap 'rm -f "$dir/bytes-agents.csv.tmp" "$dir/bytes-edges.csv.tmp"' EXIT
# An empty input still gives every agent its line of zeros.
: > "$dir/bytes-edges.csv.tmp"
cat -- "${ledgers[@]}" /dev/null | awk -F'\t' -v agents="$agents" -v by_agent="$dir/bytes-agents.csv.tmp" \
	-v by_edge="$dir/bytes-edges.csv.tmp" '
	NF != 6 || $3 !~ /^(model|featstat)$/ { printf "ledger.sh: malformed ledger line %d: %s\n", NR, $0 > "/dev/stderr"; bad = 1; exit 1 }
	# A file is known by its name below the experiment directory, however
	# the directory was spelled (engines differ); others by the whole name.
	{ key = $6; sub(/.*\/iter\//, "iter/", key) }
	seen[$1, key]++ { next }    # this receiver has counted this file already
	{
		k = ($3 == "model") ? "param" : "featstat"
		sent[$2, k] += $4; sent_file[$2, k] += $5
		got[$1, k] += $4; got_file[$1, k] += $5
		edge[$2, $1] = 1
		e[$2, $1, k] += $4; e_file[$2, $1, k] += $5
	}
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
		printf "%.0f %.0f %.0f %.0f\n", tp / agents, tf / agents, tpf / agents, tff / agents
	}'
{
	echo sender,receiver,param_bytes,featstat_bytes,param_file_bytes,featstat_file_bytes
	sort -t, -k1,1n -k2,2n "$dir/bytes-edges.csv.tmp"
} > "$dir/bytes-edges.csv"
rm "$dir/bytes-edges.csv.tmp"
mv "$dir/bytes-agents.csv.tmp" "$dir/bytes-agents.csv"
