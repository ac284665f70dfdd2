/*
 * ccl-init - create an agent's initial state (and the model it publishes).
 *
 * Every agent given the same seed starts from the same parameters, as the
 * method assumes.  The agent number names the agent; with the independent
 * batch order (a variant) it also selects the agent's own permutation.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "cli.h"
#include "error.h"

enum { OPT_ARCH, OPT_NORM, OPT_SHARD, OPT_CLASSES, OPT_INPUT, OPT_SEED, OPT_AGENT, OPT_BATCH_ORDER, OPT_OUTPUT, OPT_MODEL };

static const struct ccl_option options[] = {
	[OPT_ARCH] = {"arch", 0, "NAME", "lenet5 (default), mlp or resnet20"},
	[OPT_NORM] = {"norm", 0, "KIND", "resnet20's norm: evonorm (default) or groupnorm"},
	[OPT_SHARD] = {"shard", 'd', "FILE", "take the class count and input shape from this shard"},
	[OPT_CLASSES] = {"classes", 0, "K", "class count (without --shard)"},
	[OPT_INPUT] = {"input", 0, "CxHxW", "input shape (without --shard), e.g. 1x28x28"},
	[OPT_SEED] = {"seed", 's', "S", "seed of the initial parameters and of the batch order (default 123)"},
	[OPT_AGENT] = {"agent", 'k', "K", "agent number (default: the shard's)"},
	[OPT_BATCH_ORDER] = {"batch-order", 0, "KIND", "shared (default: every agent the same permutation) or independent"},
	[OPT_OUTPUT] = {"output", 'o', "FILE", "state to write (required)"},
	[OPT_MODEL] = {"model-out", 'm', "FILE", "also write the model to publish"},
	{0},
};

struct args {
	const char *arch, *norm, *shard, *output, *model;
	long classes, agent;
	int c, h, w;
	uint64_t seed;
	enum ccl_batch_order order;
};

static void handle(int opt, const char *v, void *ctx)
{
	static const char *const archs[] = {"lenet5", "mlp", "resnet20", NULL};
	static const char *const norms[] = {"evonorm", "groupnorm", NULL};
	struct args *a = ctx;
	switch (opt) {
	case OPT_ARCH: a->arch = archs[ccl_parse_choice("arch", v, archs)]; break;
	case OPT_NORM: a->norm = norms[ccl_parse_choice("norm", v, norms)]; break;
	case OPT_SHARD: a->shard = v; break;
	case OPT_CLASSES: a->classes = ccl_parse_long("classes", v, 2, 256); break;
	case OPT_INPUT:
		if (sscanf(v, "%dx%dx%d", &a->c, &a->h, &a->w) != 3 || a->c < 1 || a->h < 1 || a->w < 1 || a->c > 16 ||
		    a->h > 4096 || a->w > 4096)
			ccl_usage_error("--input: '%s' is not CxHxW", v);
		break;
	case OPT_SEED: a->seed = ccl_parse_seed("seed", v); break;
	case OPT_AGENT: a->agent = ccl_parse_long("agent", v, 0, 1000000); break;
	case OPT_BATCH_ORDER: a->order = (enum ccl_batch_order)ccl_parse_choice("batch-order", v, ccl_batch_order_names); break;
	case OPT_OUTPUT: a->output = v; break;
	case OPT_MODEL: a->model = v; break;
	}
}

int main(int argc, char **argv)
{
	struct args a = {.arch = "lenet5", .seed = 123, .agent = -1};
	ccl_agent state;

	int first = ccl_cli_parse(argc, argv, options,
	                          "ccl-init [--arch NAME [--norm KIND]] (--shard FILE | --classes K --input CxHxW)\n"
	                          "                [--seed S]"
	                          " [--agent K] [--batch-order shared|independent] -o STATE [-m MODEL]",
	                          "Create an agent's initial state: parameters drawn from the seed (the same for\n"
	                          "every agent), zero momentum, counters at zero.",
	                          handle, &a);
	if (first < argc)
		ccl_usage_error("unexpected argument '%s'", argv[first]);
	if (!a.output)
		ccl_usage_error("-o/--output is required");
	if (a.shard) {
		ccl_shard s;
		if (ccl_shard_load(&s, a.shard))
			ccl_die();
		a.classes = a.classes ? a.classes : s.classes;
		if (!a.c)
			a.c = s.c, a.h = s.h, a.w = s.w;
		if (a.agent < 0)
			a.agent = s.agent < 0 ? 0 : s.agent;
		ccl_shard_free(&s);
	}
	if (!a.classes || !a.c)
		ccl_usage_error("give --shard, or --classes and --input");
	/* A ResNet-20's norm is part of its architecture's name, so that every
	 * tool that compares architectures compares norms too. */
	char arch[32];
	if (a.norm && strcmp(a.arch, "resnet20"))
		ccl_usage_error("--norm is for --arch resnet20");
	if (!strcmp(a.arch, "resnet20"))
		snprintf(arch, sizeof arch, "resnet20-%s", a.norm ? a.norm : "evonorm");
	else
		snprintf(arch, sizeof arch, "%s", a.arch);
	if (ccl_agent_init(&state, arch, (int)a.classes, a.c, a.h, a.w, a.seed, a.agent < 0 ? 0 : a.agent,
	                   a.order) ||
	    ccl_agent_write(&state, "state", a.output) < 0 || (a.model && ccl_agent_write(&state, "model", a.model) < 0))
		ccl_die();
	ccl_agent_free(&state);
	return 0;
}
