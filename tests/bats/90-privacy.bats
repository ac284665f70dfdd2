#!/usr/bin/env bats
# Private feature statistics: ccl-featstat --clip/--noise/--min-count, the
# noise key, ccl-privacy's accounting, and plan.sh/experiment.sh with
# --epsilon.  (The mechanism's numbers are checked in tests/unit/test_privacy.c.)

load helpers

EXAMPLES=$BATS_TEST_DIRNAME/../../examples

setup_file() {
	export P=$BATS_FILE_TMPDIR/p
	make_trained_agents "$P"
	(umask 077 && head -c 32 /dev/urandom > "$P/key" && head -c 32 /dev/urandom > "$P/key2")
}

setup() { T=$BATS_TEST_TMPDIR; }

# featstat OUT [OPTION...]: agent 0's next batch under agent 1's model.
featstat() {
	local out=$1
	shift
	ccl-featstat -d "$P/shard-000.ccl" -S "$P/s0.ccl" -M "$P/m1.ccl" -o "$out" "$@"
}

# f32 FILE NAME: one decimal per line from an f32 tensor member.
tensor_f32() { tar -xOf "$1" "$2.bin" | od -An -v -tf4 -w4 | tr -d ' '; }

@test "ccl-privacy answers --help and --version" {
	run ccl-privacy --help
	assert_success
	assert_output --partial "Usage: ccl-privacy"
	run ccl-privacy --version
	assert_success
}

@test "clipped statistics: every class sum is within count x C of zero" {
	# With C far below the features' norms every row is clipped to norm C,
	# so |S_c| <= n_c C, and close to it (the rows point alike after ReLU).
	featstat "$T/fs.ccl" --clip 0.001
	mapfile -t counts < <(tensor_i32 "$T/fs.ccl" counts)
	run bash -c "tar -xOf '$T/fs.ccl' sums.bin | od -An -v -tf4 -w336 |
		awk '{s = 0; for (i = 1; i <= NF; i++) s += \$i * \$i; print sqrt(s)}'"
	assert_success
	mapfile -t norms <<<"$output"
	clipped=0
	for c in "${!counts[@]}"; do
		awk -v n="${norms[c]}" -v k="${counts[c]}" 'BEGIN {exit !(n <= k * 0.001 * (1 + 1e-5))}'
		awk -v n="${norms[c]}" -v k="${counts[c]}" 'BEGIN {exit !(n >= k * 0.001 * 0.5)}'
		clipped=$((clipped + counts[c]))
	done
	[ "$clipped" -eq 32 ]
	run ccl-info --format yaml "$T/fs.ccl"
	assert_output --partial 'clip: "0.001"'
	refute_output --partial privacy_rho
}

@test "a private statistic replays bit for bit with its key, and only with it" {
	featstat "$T/a.ccl" --clip 5 --noise 2 --noise-key "$P/key"
	featstat "$T/b.ccl" --clip 5 --noise 2 --noise-key "$P/key"
	featstat "$T/c.ccl" --clip 5 --noise 2 --noise-key "$P/key2"
	featstat "$T/plain.ccl"
	cmp "$T/a.ccl" "$T/b.ccl"
	run cmp -s "$T/a.ccl" "$T/c.ccl"
	assert_failure
	# The noise is there: the sums differ from the clipped, noiseless ones.
	featstat "$T/clipped.ccl" --clip 5
	run cmp -s <(tensor_f32 "$T/a.ccl" sums) <(tensor_f32 "$T/clipped.ccl" sums)
	assert_failure
	run ccl-info --format yaml "$T/a.ccl"
	assert_output --partial 'noise: "2"'
	assert_output --partial 'privacy_rho: "0.25"'
	# Counts stay whole and non-negative.
	for n in $(tensor_i32 "$T/a.ccl" counts); do [ "$n" -ge 0 ]; done
}

@test "a private statistic from a neighbour trains the receiver" {
	ccl-featstat -d "$P/shard-001.ccl" -S "$P/s1.ccl" -M "$P/m0.ccl" -o "$T/fs-1-0.ccl" \
		--clip 5 --noise 2 --noise-key "$P/key" --min-count 2
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" --lr 0.05 --lambda-d 0.1 -f "$T/fs-1-0.ccl" -o "$T/s0.ccl"
	assert_success
	# Suppressed classes carry neither sum nor count; kept ones at least 2.
	mapfile -t counts < <(tensor_i32 "$T/fs-1-0.ccl" counts)
	for n in "${counts[@]}"; do [ "$n" -eq 0 ] || [ "$n" -ge 2 ]; done
}

@test "--min-count without noise withholds exactly the classes below k" {
	featstat "$T/all.ccl"
	featstat "$T/k.ccl" --min-count 5
	mapfile -t all < <(tensor_i32 "$T/all.ccl" counts)
	mapfile -t kept < <(tensor_i32 "$T/k.ccl" counts)
	mapfile -t all_sums < <(tar -xOf "$T/all.ccl" sums.bin | od -An -v -tx4 -w336)
	mapfile -t kept_sums < <(tar -xOf "$T/k.ccl" sums.bin | od -An -v -tx4 -w336)
	zero=$(printf ' 00000000%.0s' $(seq 84))
	withheld=0
	for c in "${!all[@]}"; do
		if [ "${all[c]}" -lt 5 ]; then
			[ "${kept[c]}" -eq 0 ]
			[ "${kept_sums[c]}" = "$zero" ]
			withheld=$((withheld + 1))
		else
			[ "${kept[c]}" -eq "${all[c]}" ]
			[ "${kept_sums[c]}" = "${all_sums[c]}" ]
		fi
	done
	[ "$withheld" -gt 0 ]
}

@test "ccl-featstat refuses privacy options that would not protect" {
	run featstat "$T/x.ccl" --noise 2 --noise-key "$P/key"
	assert_failure 2
	assert_output --partial "--noise needs --clip"
	run featstat "$T/x.ccl" --clip 1 --noise 2
	assert_failure 2
	assert_output --partial "--noise needs --noise-key"
	run featstat "$T/x.ccl" --clip 1 --noise-key "$P/key"
	assert_failure 2
	for bad in "--clip 0" "--clip -1" "--clip abc" "--noise 0 --clip 1" "--noise nan --clip 1" "--min-count -1" \
		"--min-count 2x"; do
		read -ra opts <<<"$bad"
		run featstat "$T/x.ccl" "${opts[@]}"
		assert_failure 2
	done
	run featstat "$T/x.ccl" --clip 1 --noise 2 --noise-key "$T/none"
	assert_failure 3
	assert_output --partial "$T/none: cannot open the noise key"
	head -c 32 /dev/urandom > "$T/open" && chmod 644 "$T/open"
	run featstat "$T/x.ccl" --clip 1 --noise 2 --noise-key "$T/open"
	assert_failure 3
	assert_output "ccl-featstat: $T/open: the noise key is readable by others (mode 644): chmod 600 it, and make a new one if others may have read it"
	(umask 077 && head -c 8 /dev/urandom > "$T/short")
	run featstat "$T/x.ccl" --clip 1 --noise 2 --noise-key "$T/short"
	assert_failure 3
	assert_output --partial "has 8 bytes; it needs at least 16"
	mkdir -m 700 "$T/dir"
	run featstat "$T/x.ccl" --clip 1 --noise 2 --noise-key "$T/dir"
	assert_failure 3
	assert_output --partial "must be a regular file"
	assert_file_not_exists "$T/x.ccl"
}

@test "ccl-privacy plans: the noise for a target epsilon, and the epsilon of a noise" {
	run ccl-privacy --epsilon 4 --releases 40 --format yaml
	assert_success
	assert_line --regexp '^noise: 11\.5924598'
	assert_line "epsilon: 4"
	# sigma 2, one release: rho 1/4, epsilon 0.25 + 2 sqrt(0.25 log 1e5).
	run ccl-privacy --noise 2 --releases 1 --format json
	assert_success
	assert_output --regexp '"rho": 0\.25[,0]'
	assert_output --regexp '"epsilon": 3\.6430702'
}

@test "ccl-privacy accounts files: a sample pays for its own batch's releases" {
	# Agent 0's batch of step (0, 2) released to agents 1 and 2; agent 1's
	# once.  Agent 0 pays 2 x 1/4 = 0.5, agent 1 pays 0.25.
	featstat "$T/0-1.ccl" --clip 5 --noise 2 --noise-key "$P/key"
	ccl-featstat -d "$P/shard-000.ccl" -S "$P/s0.ccl" -M "$P/m2.ccl" -o "$T/0-2.ccl" --clip 5 --noise 2 \
		--noise-key "$P/key"
	ccl-featstat -d "$P/shard-001.ccl" -S "$P/s1.ccl" -M "$P/m0.ccl" -o "$T/1-0.ccl" --clip 5 --noise 2 \
		--noise-key "$P/key"
	run ccl-privacy --format yaml "$T/0-1.ccl" "$T/0-2.ccl" "$T/1-0.ccl"
	assert_success
	assert_output --partial "- {agent: 0, releases: 2, epochs: 1, rho: 0.5, epsilon: 5.29853"
	assert_output --partial "- {agent: 1, releases: 1, epochs: 1, rho: 0.25, epsilon: 3.64307"
	run ccl-privacy "$T/0-1.ccl"
	assert_success
	assert_line --index 1 --regexp '^ +0 +1 +1 +0\.25 +3\.64307$'
}

@test "ccl-privacy refuses what it cannot account" {
	featstat "$T/plain.ccl"
	run ccl-privacy "$T/plain.ccl"
	assert_failure 3
	assert_output "ccl-privacy: $T/plain.ccl: released without noise: it has no privacy guarantee to account"
	run ccl-privacy "$P/m0.ccl"
	assert_failure 3
	assert_output --partial "$P/m0.ccl"
	run ccl-privacy "$T/none.ccl"
	assert_failure 3
	featstat "$T/p.ccl" --clip 5 --noise 2 --noise-key "$P/key"
	head -c 3000 "$T/p.ccl" > "$T/cut.ccl"
	run ccl-privacy "$T/cut.ccl"
	assert_failure 3
	assert_output --partial "$T/cut.ccl"
	cp "$T/p.ccl" "$T/flip.ccl"
	flip_byte "$T/flip.ccl" 1200
	run ccl-privacy "$T/flip.ccl"
	assert_failure 3
	run ccl-privacy
	assert_failure 2
	run ccl-privacy --noise 2
	assert_failure 2
	assert_output --partial "needs --releases"
	run ccl-privacy --noise 2 --epsilon 1 --releases 3
	assert_failure 2
	run ccl-privacy --noise 2 --releases 3 "$T/p.ccl"
	assert_failure 2
	for bad in "--delta 0" "--delta 1" "--noise -1" "--epsilon 0" "--releases 0" "--format xml"; do
		read -ra opts <<<"$bad"
		run ccl-privacy "${opts[@]}" --releases 1 --noise 1
		assert_failure 2
	done
}

@test "a private experiment: the run's files account to the epsilon the plan promised" {
	make_idx "$T/d" train 256
	make_idx "$T/d" t10k 40
	run env CCL_BIN="$CCL_BIN" "$EXAMPLES/plan.sh" --data "$T/d" --agents 4 --alpha 0.5 --epochs 2 --batch 16 \
		--method ccl --clip 5 --epsilon 8 --min-count 2 --out "$T/run"
	assert_success
	[ "$(stat -c %a "$T/run/keys")" = 700 ]
	[ "$(stat -c %a "$T/run/keys/agent-003.key")" = 600 ]
	# Two epochs of 4 iterations, kept whole (no pruning).
	CCL_BIN=$CCL_BIN "$EXAMPLES/run-bash.sh" "$T/run" --jobs 2
	run ccl-privacy --format yaml "$T"/run/iter/*/fs-*.ccl
	assert_success
	# Each agent: 2 epochs x 2 neighbours releases on a ring of 4, epsilon 8.
	for i in 0 1 2 3; do assert_output --partial "- {agent: $i, releases: 16, epochs: 2, rho: "; done
	[ "$(grep -c 'epsilon: 8[,}]' <<<"$output")" -eq 4 ] || [ "$(grep -c 'epsilon: 7\.99999' <<<"$output")" -eq 4 ]
	# experiment.sh writes the same epsilon in its last column.
	run env CCL_BIN="$CCL_BIN" "$EXAMPLES/experiment.sh" --data "$T/d" --agents 4 --alpha 0.5 --epochs 2 \
		--batch 16 --method ccl --clip 5 --epsilon 8 --out "$T/exp"
	assert_success
	run awk -F, 'NR > 1 {print $10}' "$T/exp/results.csv"
	assert_line --index 1 --regexp '^(8|7\.99999[0-9]*)$'
	# Without noise, or without statistics, the column says so.
	CCL_BIN=$CCL_BIN "$EXAMPLES/experiment.sh" --data "$T/d" --agents 4 --alpha 0.5 --epochs 1 --batch 16 \
		--method qgm --out "$T/q" > /dev/null
	[ "$(awk -F, 'NR == 2 {print $10}' "$T/q/results.csv")" = 0 ]
}

@test "plan.sh refuses privacy options that do not fit" {
	run "$EXAMPLES/plan.sh" --method qgm --clip 1 --out "$T/x"
	assert_failure 2
	assert_output --partial "for --method ccl"
	run "$EXAMPLES/plan.sh" --noise 3 --out "$T/x"
	assert_failure 2
	assert_output --partial "need --clip"
	run "$EXAMPLES/plan.sh" --clip 1 --noise 3 --epsilon 2 --out "$T/x"
	assert_failure 2
	run "$EXAMPLES/plan.sh" --clip x --out "$T/x"
	assert_failure 2
	assert_file_not_exists "$T/x/plan.env"
}

@test "statistics of one agent from batches of different sizes are refused by the accountant" {
	featstat "$T/b32.ccl" --clip 5 --noise 2 --noise-key "$P/key"
	featstat "$T/b16.ccl" --clip 5 --noise 2 --noise-key "$P/key" --batch 16
	run ccl-info --format yaml "$T/b16.ccl"
	assert_output --partial 'batch: "16"'
	# Different batches (and so different samples) draw different noise.
	run cmp -s <(tar -xOf "$T/b32.ccl" sums.bin) <(tar -xOf "$T/b16.ccl" sums.bin)
	assert_failure
	run ccl-privacy "$T/b32.ccl" "$T/b16.ccl"
	assert_failure 3
	assert_output --partial "agent 0's statistics come from batches of different sizes"
}

@test "plan.sh checks every privacy value before touching the directory" {
	for bad in "--clip 0" "--clip 1 --noise 0" "--clip 1 --noise ' 2'" "--clip 1 --noise 1e7" "--clip 1 --epsilon -1" \
		"--clip 1 --noise 2 --delta 0.7" "--clip 1 --noise 2 --delta x"; do
		eval "opts=($bad)"
		run "$EXAMPLES/plan.sh" --method ccl "${opts[@]}" --out "$T/x"
		assert_failure 2
		assert_file_not_exists "$T/x/plan.env"
	done
}
