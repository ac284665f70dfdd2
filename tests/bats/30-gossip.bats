#!/usr/bin/env bats
# ccl-featstat, ccl-merge, ccl-eval, ccl-topology and ccl-info.

load helpers

setup_file() {
	export P=$BATS_FILE_TMPDIR/p
	make_trained_agents "$P"
	ccl-init --arch mlp --shard "$P/shard-000.ccl" -o "$P/mlp.ccl" -m "$P/mlp-model.ccl"
	ccl-init --classes 7 --input 1x28x28 -o "$P/k7.ccl" -m "$P/k7-model.ccl"
}

setup() { T=$BATS_TEST_TMPDIR; }

@test "the new tools answer --help and --version" {
	for t in ccl-featstat ccl-merge ccl-eval ccl-topology ccl-info; do
		run $t --help
		assert_success
		assert_output --partial "Usage: $t"
		run $t --version
		assert_success
	done
}

@test "ccl-featstat writes class sums and counts of the step's batch" {
	run ccl-featstat -d "$P/shard-000.ccl" -S "$P/s0.ccl" -M "$P/m1.ccl" -o "$T/fs.ccl" -v
	assert_success
	assert_output --partial "10 x 84 statistic"
	run ccl-info --format yaml "$T/fs.ccl"
	assert_output --partial 'data_agent: "0"'
	assert_output --partial 'model_agent: "1"'
	assert_output --partial 'samples: "32"'
	# The counts add up to the batch size.
	total=$(tar -xOf "$T/fs.ccl" counts.bin | od -An -v -td4 | tr -s ' ' '\n' | awk '{s += $1} END {print s}')
	[ "$total" -eq 32 ]
}

@test "ccl-featstat --whole counts every sample" {
	ccl-featstat -d "$P/shard-001.ccl" --whole -M "$P/m1.ccl" -o "$T/fs.ccl"
	total=$(tar -xOf "$T/fs.ccl" counts.bin | od -An -v -td4 | tr -s ' ' '\n' | awk '{s += $1} END {print s}')
	[ "$total" -eq 15000 ]
}

@test "ccl-featstat needs one output per model" {
	run ccl-featstat -d "$P/shard-000.ccl" -S "$P/s0.ccl" -M "$P/m1.ccl" -M "$P/m2.ccl" -o "$T/fs.ccl"
	assert_failure 2
	assert_output --partial "2 --model but 1 -o/--output"
}

@test "ccl-featstat refuses a model of another class count" {
	run ccl-featstat -d "$P/shard-000.ccl" --whole -M "$P/k7-model.ccl" -o "$T/fs.ccl"
	assert_failure 3
	assert_output --partial "shard has 10 classes, the model 7"
}

@test "ccl-train-step refuses a statistic of another class count or feature size" {
	ccl-featstat -d "$P/shard-001.ccl" --whole -M "$P/mlp-model.ccl" -o "$T/mlp-fs.ccl"
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -f "$T/mlp-fs.ccl" --lambda-d 0.1 --lr 0.01 -o "$T/n.ccl"
	assert_failure 3
	assert_output --partial "statistic of 10 classes x 200 features; the model has 10 x 84"
}

@test "ccl-train-step refuses a statistic computed with another agent's model" {
	ccl-featstat -d "$P/shard-001.ccl" -S "$P/s1.ccl" -M "$P/m2.ccl" -o "$T/fs.ccl"
	run ccl-train-step -S "$P/s0.ccl" -d "$P/shard-000.ccl" -f "$T/fs.ccl" --lambda-d 0.1 --lr 0.01 -o "$T/n.ccl"
	assert_failure 3
	assert_output --partial "was computed with agent 2's model, not agent 0's"
}

@test "a LeNet-5 statistic is about 1.4% of a model in payload" {
	ccl-featstat -d "$P/shard-000.ccl" -S "$P/s0.ccl" -M "$P/m1.ccl" -o "$T/fs.ccl"
	fs=$(($(tar -xOf "$T/fs.ccl" sums.bin | wc -c) + $(tar -xOf "$T/fs.ccl" counts.bin | wc -c)))
	model=$(tar -xOf "$P/m1.ccl" params.bin | wc -c)
	[ "$fs" -eq 3400 ]
	[ "$model" -eq 246824 ]
}

@test "ccl-merge with no neighbour is refused" {
	run ccl-merge -S "$P/s0.ccl" -o "$T/x.ccl"
	assert_failure 2
	assert_output --partial "gossip needs at least one --neighbor-model"
}

@test "ccl-merge refuses weights that do not sum to one" {
	run ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" -N "$P/m2.ccl" --weights 0.5,0.3,0.3 -o "$T/x.ccl"
	assert_failure 2
	assert_output --partial "they sum to 1.1, not 1"
	run ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" --weights 0.5,0.25,0.25 -o "$T/x.ccl"
	assert_failure 2
	assert_output --partial "3 given, 2 expected"
	assert_not_exist "$T/x.ccl"
}

@test "ccl-merge refuses a neighbour of another architecture" {
	run ccl-merge -S "$P/s0.ccl" -N "$P/mlp-model.ccl" -o "$T/x.ccl"
	assert_failure 3
	assert_output --partial "architecture mlp does not match lenet5"
}

@test "ccl-merge refuses --gamma outside (0, 1]" {
	for g in 0 1.5 -1 nan; do
		run ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" --gamma $g -o "$T/x.ccl"
		assert_failure 2
	done
}

@test "ccl-merge --qgm-scale 1 is the specified correction, a smaller scale another" {
	ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" --qgm -o "$T/full.ccl"
	ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" --qgm --qgm-scale 1 -o "$T/one.ccl"
	cmp "$T/full.ccl" "$T/one.ccl"
	ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" --qgm --qgm-scale 0.1 -o "$T/damped.ccl"
	run cmp -s "$T/full.ccl" "$T/damped.ccl"
	assert_failure 1
	ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" -o "$T/none.ccl"
	run cmp -s "$T/none.ccl" "$T/damped.ccl"
	assert_failure 1
}

@test "ccl-merge refuses a nonsense --qgm-scale, or one without --qgm" {
	for s in 0 1.5 -0.1 nan abc; do
		run ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" --qgm --qgm-scale "$s" -o "$T/x.ccl"
		assert_failure 2
		assert_output --partial "--qgm-scale"
		assert_equal "${#lines[@]}" 1
	done
	run ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" --qgm-scale 0.1 -o "$T/x.ccl"
	assert_failure 2
	assert_output --partial "--qgm-scale needs --qgm"
	assert_not_exists "$T/x.ccl"
}

@test "uniform gossip with explicit weights equals the default" {
	ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" -o "$T/a.ccl"
	ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" -w 0.5,0.5 -o "$T/b.ccl"
	cmp "$T/a.ccl" "$T/b.ccl"
	ccl-merge -S "$P/s0.ccl" -N "$P/m1.ccl" -w 0.75,0.25 -o "$T/c.ccl"
	run cmp -s "$T/a.ccl" "$T/c.ccl"
	assert_failure 1
}

@test "averaging a model with itself gives the model back" {
	ccl-merge -o "$T/avg.ccl" "$P/m1.ccl" "$P/m1.ccl"
	cmp <(tar -xOf "$T/avg.ccl" params.bin) <(tar -xOf "$P/m1.ccl" params.bin)
}

@test "ccl-eval reports models, their mean, their average and consensus distance" {
	run ccl-eval -t "$P/test.ccl" --format yaml "$P/m0.ccl" "$P/m1.ccl" "$P/s2.ccl"
	assert_success
	assert_output --partial "mean_accuracy:"
	assert_output --partial "average_model_accuracy:"
	assert_output --partial "consensus_distance:"
	run ccl-eval -t "$P/test.ccl" --format json --per-class "$P/m0.ccl"
	assert_success
	assert_output --partial '"per_class": ['
	# Identical models: consensus distance zero.
	run ccl-eval -t "$P/test.ccl" --format yaml "$P/i0.ccl" "$P/i1.ccl"
	assert_output --partial "consensus_distance: 0"
}

@test "ccl-eval refuses a test set of another class count" {
	run ccl-eval -t "$P/test.ccl" "$P/k7-model.ccl"
	assert_failure 3
	assert_output --partial "shard has 10 classes, the model 7"
	run ccl-eval -t "$P/m0.ccl" "$P/m0.ccl"
	assert_failure 3
	assert_output --partial "is a model artifact, expected a shard"
}

@test "ccl-topology prints rings, tori, Petersen, Dyck, full and chain graphs" {
	run ccl-topology -n 16 --topology ring --format lines
	assert_success
	assert_line --index 0 "0 0.33333333333333337 1:0.33333333333333331 15:0.33333333333333331"
	run ccl-topology -n 16 --topology torus --agent 0 --format lines
	assert_output --regexp '^0 0\.(2|19)[0-9]* 1:0\.2[0-9]* 4:0\.2[0-9]* 12:0\.2[0-9]* 15:0\.2[0-9]*$'
	run ccl-topology -n 10 --topology petersen --format yaml
	assert_success
	[ "$(grep -c 'neighbours: \[[0-9]*, [0-9]*, [0-9]*\]' <<<"$output")" -eq 10 ]
	run ccl-topology -n 32 --topology dyck --agent 0 --format lines
	assert_output --regexp '^0 0.25 1:0.25 5:0.25 31:0.25$'
	run ccl-topology -n 3 --topology chain --format lines
	assert_line --index 0 --regexp '^0 0.66666666666666674 1:0.33333333333333331$'
	run ccl-topology -n 4 --topology full --format json
	assert_output --partial '"neighbours": [0, 1, 2]'
}

@test "ccl-topology refuses impossible graphs clearly" {
	run ccl-topology -n 12 --topology petersen
	assert_failure 2
	assert_output "ccl-topology: the Petersen graph has exactly 10 agents, not 12"
	run ccl-topology -n 31 --topology dyck
	assert_failure 2
	run ccl-topology -n 7 --topology torus2d
	assert_failure 2
	assert_output --partial "rows x columns"
	run ccl-topology -n 5 --topology star
	assert_failure 2
}

@test "ccl-info reports each bad file and goes on" {
	head -c 3000 "$P/m0.ccl" > "$T/cut.ccl"
	run ccl-info "$P/m0.ccl" "$T/cut.ccl" "$T/none.ccl"
	assert_failure 3
	assert_output --partial "$P/m0.ccl: model artifact"
	assert_output --partial "$T/cut.ccl: truncated"
	assert_output --partial "$T/none.ccl: cannot open"
}

@test "bash completion offers each tool's options" {
	run bash -c "source /usr/share/bash-completion/bash_completion; source '$BATS_TEST_DIRNAME/../../completions/ccl.bash'
		COMP_LINE='ccl-merge --qg'; COMP_POINT=\${#COMP_LINE}; COMP_WORDS=(ccl-merge --qg); COMP_CWORD=1
		_ccl_tool ccl-merge --qg ccl-merge; echo \"\${COMPREPLY[@]}\"
		COMP_LINE='ccl-partition --scheme d'; COMP_POINT=\${#COMP_LINE}; COMP_WORDS=(ccl-partition --scheme d); COMP_CWORD=2
		_ccl_tool ccl-partition d --scheme; echo \"\${COMPREPLY[@]}\"
		COMP_LINE='ccl-init --batch-order i'; COMP_POINT=\${#COMP_LINE}; COMP_WORDS=(ccl-init --batch-order i); COMP_CWORD=2
		_ccl_tool ccl-init i --batch-order; echo \"\${COMPREPLY[@]}\"
		COMP_LINE='ccl-partition --normalize '; COMP_POINT=\${#COMP_LINE}; COMP_WORDS=(ccl-partition --normalize ''); COMP_CWORD=2
		_ccl_tool ccl-partition '' --normalize; echo \"\${COMPREPLY[@]}\"
		COMP_LINE='ccl-topology --format l'; COMP_POINT=\${#COMP_LINE}; COMP_WORDS=(ccl-topology --format l); COMP_CWORD=2
		_ccl_tool ccl-topology l --format; echo \"\${COMPREPLY[@]}\"
		COMP_LINE='ccl-topology --weighting m'; COMP_POINT=\${#COMP_LINE}; COMP_WORDS=(ccl-topology --weighting m); COMP_CWORD=2
		_ccl_tool ccl-topology m --weighting; echo \"\${COMPREPLY[@]}\"
		COMP_LINE='ccl-init --arch r'; COMP_POINT=\${#COMP_LINE}; COMP_WORDS=(ccl-init --arch r); COMP_CWORD=2
		_ccl_tool ccl-init r --arch; echo \"\${COMPREPLY[@]}\"
		COMP_LINE='ccl-init --norm g'; COMP_POINT=\${#COMP_LINE}; COMP_WORDS=(ccl-init --norm g); COMP_CWORD=2
		_ccl_tool ccl-init g --norm; echo \"\${COMPREPLY[@]}\""
	assert_line --index 0 "--qgm --qgm-scale"
	assert_line --index 1 "dirichlet"
	assert_line --index 2 "independent"
	assert_line --index 3 "paper data"
	assert_line --index 4 "lines"
	assert_line --index 5 "metropolis"
	assert_line --index 6 "resnet20"
	assert_line --index 7 "groupnorm"
	for t in ccl-batch ccl-partition ccl-info ccl-init ccl-train-step ccl-featstat ccl-merge ccl-eval ccl-npz ccl-privacy ccl-topology; do
		grep -q "$t" "$BATS_TEST_DIRNAME/../../completions/_ccl"
	done
}

@test "ccl-eval refuses a training shard as the test set" {
	run ccl-eval -t "$P/shard-000.ccl" "$P/m0.ccl"
	assert_failure 3
	assert_output "ccl-eval: $P/shard-000.ccl: is agent 0's training shard, not the test set"
}

@test "ccl-featstat refuses another agent's shard, as ccl-train-step does" {
	run ccl-featstat -d "$P/shard-001.ccl" -S "$P/s0.ccl" -M "$P/m1.ccl" -o "$T/fs.ccl"
	assert_failure 3
	assert_output "ccl-featstat: $P/shard-001.ccl: is agent 1's shard; the state is agent 0's"
	assert_file_not_exist "$T/fs.ccl"
}

@test "names with quotes, backslashes, tabs and escape sequences come out escaped in every format" {
	name=$T/$'evil"\\\t\e[2J.ccl'
	cp "$P/m0.ccl" "$name"
	run ccl-info --format json "$name"
	assert_success
	assert_output --partial '"file": "'"$T"'/evil\"\\\t\u001B[2J.ccl"'
	run ccl-info --format yaml "$name"
	assert_output --partial '- file: "'"$T"'/evil\"\\\t\e[2J.ccl"'
	run ccl-info "$name"
	assert_line --index 0 "$T/evil\"\\\\\\t\\x1b[2J.ccl: model artifact, 249856 bytes"
	run ccl-eval -t "$P/test.ccl" --format json "$name"
	assert_output --partial '"file": "'"$T"'/evil\"\\\t\u001B[2J.ccl"'
	run ccl-eval -t "$P/test.ccl" "$name"
	assert_line --index 1 --partial "$T/evil\"\\\\\\t\\x1b[2J.ccl"
	# No raw escape character reaches the terminal in any form.
	for format in table yaml json; do
		run ccl-info --format "$format" "$name"
		[[ $output != *$'\e'* && $output != *$'\t'* ]]
	done
}
