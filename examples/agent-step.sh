#!/usr/bin/env bash
# One agent's share of one iteration of an experiment prepared by
# examples/plan.sh.  Every engine (bash, make, GNU parallel, Slurm) runs the
# experiment through this script, so they all issue the same tool calls.
#
#   examples/agent-step.sh DIR PHASE T I
#
# PHASE is one of
#   merge     gossip: I's state of T-1 and its neighbours' models of T-1
#             give DIR/iter/T/merged-I.ccl (QGM-corrected for qgm and ccl)
#   featstat  CCL only: I's batch of iteration T under each neighbour J's
#             model of T-1, written as DIR/iter/T/fs-I-J.ccl for J
#   gossip    merge, then featstat
#   train     the local step (with both CCL terms for ccl) from merged-I.ccl
#             to DIR/iter/T/state-I.ccl and the published model-I.ccl
#
# Iteration T's gossip of every agent must finish before any agent's train
# (CCL reads its neighbours' statistics); iteration T's train needs only
# neighbours' models of T-1.  CCL_INPUT_OPTS, if set, is added to every
# tool that reads a neighbour's file (for example "--wait 60
# --allow-missing", see ccl-merge(1)).  With CCL_PRINT=1 the tool calls
# are printed, one per line, instead of run: the lines ccl-batch(1) reads.
#
# Sourced instead of run, the script only defines agent_step DIR PHASE T I,
# which does the same in the calling shell; run-bash.sh --batch uses it to
# print a whole phase's calls without a shell per agent.
# The plan's variables, read once per experiment directory in this shell.
load_plan() {
	[ "${PLAN_DIR:-}" = "$1" ] && return 0
	# shellcheck source=/dev/null
	. "$1/plan.env"
	PLAN_DIR=$1
}

# Run the OpenBLAS kernel the plan was made with, whatever this host's
# environment says (plan.sh), so that every engine writes the same bytes.
# (No processes: every engine pays this at every agent-step.)
use_plan_blas_kernel() {
	local var setting
	for var in "${!OPENBLAS_@}"; do [ "$var" = OPENBLAS_NUM_THREADS ] || unset "$var"; done
	for setting in $BLAS_ENV; do export "${setting?}"; done
}

# Runs a tool call, or prints it (quoted for the shell) under CCL_PRINT.
# (No command substitutions or pipes: run-bash.sh --batch prints every
# agent's calls from one shell, and a fork per call would cost more than
# the calls it saves.)
run() {
	local line
	if [ -n "${CCL_PRINT:-}" ]; then
		# Words of plain characters as they are, others in single quotes:
		# ccl-batch reads sh quoting, not the $'...' printf %q gives names
		# with control characters.
		local w q
		for w in "$@"; do
			if [[ $w =~ ^[A-Za-z0-9_./,:=+@%-]+$ ]]; then line+="$w "; else q=${w//\'/\'\\\'\'}; line+="'$q' "; fi
		done
		echo "${line% }"
	else
		"$@"
	fi
}

merge() {
	local args=() qgm j
	for j in ${NEIGHBOURS[i]}; do args+=(-N "$prev/model-$j.ccl"); done
	# The plan holds QGM's options joined by commas (plan.env lines are
	# assignments, without spaces): "", "--qgm" or "--qgm,--qgm-scale,S".
	IFS=, read -ra qgm <<<"$QGM"
	run "$BIN/ccl-merge" -S "$prev/state-$i.ccl" "${args[@]}" --weights "${WEIGHTS[i]}" --gamma "$GAMMA" "${qgm[@]}" \
		"${input_opts[@]}" "${ledger[@]}" -o "$now/merged-$i.ccl"
}

featstat() {
	local args=() j
	[ "$METHOD" = ccl ] || return 0
	# Private statistics: the plan's options (joined by commas) and, with
	# noise, this agent's secret key.
	IFS=, read -ra args <<<"${PRIVACY:-}"
	[[ ${PRIVACY:-} != *--noise* ]] || printf -v key '%s/keys/agent-%03d.key' "$dir" "$i"
	[[ ${PRIVACY:-} != *--noise* ]] || args+=(--noise-key "$key")
	for j in ${NEIGHBOURS[i]}; do args+=(-M "$prev/model-$j.ccl" -o "$now/fs-$i-$j.ccl"); done
	run "$BIN/ccl-featstat" -d "$shard" -S "$now/merged-$i.ccl" --batch "$BATCH" "${input_opts[@]}" "${ledger[@]}" \
		"${args[@]}"
}

train() {
	local args=() j
	if [ "$METHOD" = ccl ]; then
		for j in ${NEIGHBOURS[i]}; do args+=(-N "$prev/model-$j.ccl" -f "$now/fs-$j-$i.ccl"); done
		args+=(--lambda-m "$LAMBDA_M" --lambda-d "$LAMBDA_D" "${input_opts[@]}" "${ledger[@]}")
	fi
	[ -z "$MILESTONES" ] || args+=(--milestones "$MILESTONES")
	run "$BIN/ccl-train-step" -S "$now/merged-$i.ccl" -d "$shard" -o "$now/state-$i.ccl" -m "$now/model-$i.ccl" \
		--lr "$LR" --batch "$BATCH" "${args[@]}"
}

# agent_step DIR PHASE T I: agent I's share of phase PHASE of iteration T.
agent_step() {
	local dir=$1 phase=$2 t=$3 i=$4 now prev shard key ledger_file input_opts=() ledger=()
	load_plan "$dir"
	[[ $t =~ ^[0-9]+$ ]] && t=$((10#$t)) # make passes names with leading zeros
	[[ $t -ge 1 && $t -le ITERATIONS ]] || { echo "agent-step.sh: no iteration '$t' in $dir" >&2; return 2; }
	[[ $i =~ ^[0-9]+$ && $i -lt AGENTS ]] || { echo "agent-step.sh: no agent '$i' in $dir" >&2; return 2; }
	printf -v now '%s/iter/%06d' "$dir" "$t"
	printf -v prev '%s/iter/%06d' "$dir" $((t - 1))
	printf -v shard '%s/shards/shard-%03d.ccl' "$dir" "$i"
	read -ra input_opts <<<"${CCL_INPUT_OPTS:-}"
	# What crossed which edge, one ledger per receiving agent (ccl(7));
	# directories planned before ledgers existed go without.
	if [ -d "$dir/ledger" ]; then printf -v ledger_file '%s/ledger/agent-%03d.tsv' "$dir" "$i"; ledger=(--ledger "$ledger_file"); fi
	# Printed calls run in the engine's process, which sets the kernel.
	[ -n "${CCL_PRINT:-}" ] || { use_plan_blas_kernel; [ -d "$now" ] || mkdir -p "$now"; }
	case $phase in
	merge | featstat | train) $phase ;;
	gossip) merge && featstat ;;
	*) echo "agent-step.sh: unknown phase '$phase'" >&2; return 2 ;;
	esac
}

# Where the tools are: $CCL_BIN as the engines set it, else found once
# (ccl-bin.sh).
if [ -n "${CCL_BIN:-}" ]; then
	BIN=$CCL_BIN
else
	# shellcheck source=ccl-bin.sh
	. "$(dirname "${BASH_SOURCE[0]}")/ccl-bin.sh"
	BIN=$(ccl_bin "$(dirname "${BASH_SOURCE[0]}")")
fi
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	[ $# -eq 4 ] || { echo "usage: agent-step.sh DIR merge|featstat|gossip|train T I" >&2; exit 2; }
	agent_step "$@"
fi
