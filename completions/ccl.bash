# bash completion for the ccl tools.  Options come from each tool's own
# --help, so they never drift; values with a fixed set of choices are listed
# here.
_ccl_tool()
{
	local cur prev words cword
	_init_completion || return

	case $prev in
	--format)
		if [ "$1" = ccl-topology ]; then COMPREPLY=($(compgen -W 'table lines yaml json' -- "$cur"))
		else COMPREPLY=($(compgen -W 'table yaml json' -- "$cur")); fi
		return ;;
	--weighting) COMPREPLY=($(compgen -W 'auto uniform metropolis' -- "$cur")); return ;;
	--scheme) COMPREPLY=($(compgen -W 'paper dirichlet iid shards' -- "$cur")); return ;;
	--dataset) COMPREPLY=($(compgen -W 'fashion-mnist mnist cifar10 cifar100' -- "$cur")); return ;;
	--arch) COMPREPLY=($(compgen -W 'lenet5 mlp resnet20' -- "$cur")); return ;;
	--norm) COMPREPLY=($(compgen -W 'evonorm groupnorm' -- "$cur")); return ;;
	--augment) COMPREPLY=($(compgen -W 'paper none' -- "$cur")); return ;;
	--normalize) COMPREPLY=($(compgen -W 'paper data' -- "$cur")); return ;;
	--batch-order) COMPREPLY=($(compgen -W 'shared independent' -- "$cur")); return ;;
	--topology) COMPREPLY=($(compgen -W 'ring torus torus2d petersen dyck full chain' -- "$cur")); return ;;
	-o | --output | --data | --noise-key | --like | --ledger)
		_filedir
		return
		;;
	--config) _filedir '@(yaml|yml)'; return ;;
	--help | --version) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$("$1" --help 2>/dev/null | grep -oE -- '--[a-z0-9-]+' | sort -u)" -- "$cur"))
		return
	fi
	_filedir
}
complete -F _ccl_tool ccl-batch ccl-partition ccl-info ccl-init ccl-train-step ccl-eval ccl-featstat ccl-merge ccl-npz ccl-privacy ccl-topology
