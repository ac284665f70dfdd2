/*
 * ccl-train-step - run K local steps of one agent.
 *
 * Reads the agent's state and shard, optionally its neighbours' models (for
 * the model-variant term) and the feature statistics they sent (for the
 * data-variant term), runs the steps (train.h) and writes the next state and,
 * on request, the model to publish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "ledger.h"
#include "train.h"

#define MAX_INPUTS 64

enum {
	OPT_STATE, OPT_SHARD, OPT_OUTPUT, OPT_MODEL, OPT_STEPS, OPT_BATCH, OPT_LR, OPT_MILESTONES, OPT_LR_FACTOR,
	OPT_MOMENTUM, OPT_WD, OPT_NO_NESTEROV, OPT_NEIGHBOUR, OPT_FEATSTAT, OPT_LAMBDA_M, OPT_LAMBDA_D, OPT_THREADS,
	OPT_WAIT, OPT_ALLOW_MISSING, OPT_LEDGER, OPT_VERBOSE,
};

static const struct ccl_option options[] = {
	[OPT_STATE] = {"state", 'S', "FILE", "the agent's state (required)"},
	[OPT_SHARD] = {"shard", 'd', "FILE", "the agent's shard (required)"},
	[OPT_OUTPUT] = {"output", 'o', "FILE", "next state to write (required; may equal --state)"},
	[OPT_MODEL] = {"model-out", 'm', "FILE", "also write the model to publish"},
	[OPT_STEPS] = {"steps", 'K', "K", "local steps to run (default 1)"},
	[OPT_BATCH] = {"batch", 'b', "B", "mini-batch size (default 32)"},
	[OPT_LR] = {"lr", 0, "LR", "learning rate (required)"},
	[OPT_MILESTONES] = {"milestones", 0, "E1,E2,...", "multiply the learning rate by --lr-factor from these epochs on"},
	[OPT_LR_FACTOR] = {"lr-factor", 0, "F", "factor at each milestone (default 0.1)"},
	[OPT_MOMENTUM] = {"momentum", 0, "BETA", "momentum (default 0.9)"},
	[OPT_WD] = {"weight-decay", 0, "WD", "weight decay on every parameter (default 1e-4)"},
	[OPT_NO_NESTEROV] = {"no-nesterov", 0, NULL, "heavy-ball momentum instead of Nesterov"},
	[OPT_NEIGHBOUR] = {"neighbor-model", 'N', "FILE", "a neighbour's model as received (repeatable)"},
	[OPT_FEATSTAT] = {"featstat", 'f', "FILE", "a feature statistic received from a neighbour (repeatable)"},
	[OPT_LAMBDA_M] = {"lambda-m", 0, "L", "weight of the model-variant term (default 0)"},
	[OPT_LAMBDA_D] = {"lambda-d", 0, "L", "weight of the data-variant term (default 0)"},
	[OPT_THREADS] = {"threads", 'j', "N", "OpenBLAS threads (default 1)"},
	[OPT_WAIT] = {"wait", 0, "SECONDS", "wait up to SECONDS for missing neighbour inputs (default 0)"},
	[OPT_ALLOW_MISSING] = {"allow-missing", 0, NULL, "leave out neighbour inputs still missing"},
	[OPT_LEDGER] = {"ledger", 0, "FILE", "append a line per neighbour file read to FILE (see ccl(7))"},
	[OPT_VERBOSE] = {"verbose", 'v', NULL, "print losses, accuracy and bytes written on stderr"},
	{0},
};

struct args {
	const char *state, *shard, *output, *model, *ledger;
	const char *neighbours[MAX_INPUTS], *featstats[MAX_INPUTS];
	int n_neighbours, n_featstats, threads, verbose, have_lr, allow_missing;
	double wait;
	struct ccl_train_config cfg;
};

static void parse_milestones(struct ccl_train_config *cfg, const char *v)
{
	char *copy = ccl_xstrdup(v), *save = NULL;
	cfg->n_milestones = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (cfg->n_milestones == CCL_MAX_MILESTONES)
			ccl_usage_error("--milestones: at most %d epochs", CCL_MAX_MILESTONES);
		cfg->milestones[cfg->n_milestones++] = (int)ccl_parse_long("milestones", tok, 0, 1000000);
	}
	free(copy);
}

static void handle(int opt, const char *v, void *ctx)
{
	struct args *a = ctx;
	struct ccl_train_config *c = &a->cfg;
	switch (opt) {
	case OPT_STATE: a->state = v; break;
	case OPT_SHARD: a->shard = v; break;
	case OPT_OUTPUT: a->output = v; break;
	case OPT_MODEL: a->model = v; break;
	case OPT_STEPS: c->steps = ccl_parse_long("steps", v, 1, 100000000); break;
	case OPT_BATCH: c->batch = (int)ccl_parse_long("batch", v, 1, 1000000); break;
	case OPT_LR: c->lr = ccl_parse_double("lr", v, 0, 1e3, 1); a->have_lr = 1; break;
	case OPT_MILESTONES: parse_milestones(c, v); break;
	case OPT_LR_FACTOR: c->lr_factor = ccl_parse_double("lr-factor", v, 0, 1, 1); break;
	case OPT_MOMENTUM: c->momentum = ccl_parse_double("momentum", v, 0, 0.999999, 0); break;
	case OPT_WD: c->weight_decay = ccl_parse_double("weight-decay", v, 0, 1, 0); break;
	case OPT_NO_NESTEROV: c->nesterov = 0; break;
	case OPT_NEIGHBOUR: ccl_cli_append(a->neighbours, &a->n_neighbours, MAX_INPUTS, "neighbor-model", v); break;
	case OPT_FEATSTAT: ccl_cli_append(a->featstats, &a->n_featstats, MAX_INPUTS, "featstat", v); break;
	case OPT_LAMBDA_M: c->lambda_m = ccl_parse_double("lambda-m", v, 0, 1e6, 0); break;
	case OPT_LAMBDA_D: c->lambda_d = ccl_parse_double("lambda-d", v, 0, 1e6, 0); break;
	case OPT_THREADS: a->threads = (int)ccl_parse_long("threads", v, 1, 256); break;
	case OPT_WAIT: a->wait = ccl_parse_double("wait", v, 0, 86400, 0); break;
	case OPT_ALLOW_MISSING: a->allow_missing = 1; break;
	case OPT_LEDGER: a->ledger = v; break;
	case OPT_VERBOSE: a->verbose = 1; break;
	}
}

int main(int argc, char **argv)
{
	struct args a = {.threads = 1,
	                 .cfg = {.batch = 32, .steps = 1, .lr_factor = 0.1, .momentum = 0.9, .weight_decay = 1e-4,
	                         .nesterov = 1}};
	ccl_agent state, neighbours[MAX_INPUTS];
	struct ccl_featstat received[MAX_INPUTS];
	struct ccl_train_report report;
	ccl_shard shard;

	int first = ccl_cli_parse(argc, argv, options,
	                          "ccl-train-step -S STATE -d SHARD -o NEXT [-m MODEL] --lr LR [--steps K] [--batch B]\n"
	                          "                      [--neighbor-model FILE]... [--featstat FILE]...\n"
	                          "                      [--lambda-m L] [--lambda-d L] [--milestones E1,E2]",
	                          "Run K local SGD steps (Nesterov momentum, weight decay) of one agent on its\n"
	                          "shard, with the CCL model-variant term against the neighbour models given and\n"
	                          "the data-variant term against the feature statistics received.  With neither\n"
	                          "lambda it is plain local SGD.",
	                          handle, &a);
	if (first < argc)
		ccl_usage_error("unexpected argument '%s'", argv[first]);
	if (!a.state || !a.shard || !a.output)
		ccl_usage_error("--state, --shard and -o/--output are required");
	if (!a.have_lr)
		ccl_usage_error("--lr is required");
	if (a.cfg.lambda_m > 0 && !a.n_neighbours)
		ccl_usage_error("--lambda-m needs at least one --neighbor-model");
	/* Without received statistics the data-variant term would pull towards
	 * the batch's own class means only: almost surely a forgotten -f. */
	if (a.cfg.lambda_d > 0 && !a.n_featstats && !a.allow_missing)
		ccl_usage_error("--lambda-d needs at least one --featstat (or --allow-missing)");
	ccl_set_threads(a.threads);
	/* The terms take in only the neighbours whose inputs are here: the
	 * model-variant term sums over those models, the data-variant term pools
	 * those statistics. */
	a.n_neighbours = ccl_cli_await_inputs(a.neighbours, a.n_neighbours, a.wait, a.allow_missing, NULL);
	a.n_featstats = ccl_cli_await_inputs(a.featstats, a.n_featstats, a.wait, a.allow_missing, NULL);

	if (ccl_agent_load(&state, a.state, "state") || ccl_shard_load(&shard, a.shard) ||
	    ccl_agent_check_shard(&state, &shard, a.shard))
		ccl_die();
	if (ccl_shard_check_owner(&shard, a.shard, state.agent) || ccl_shard_check_batch(&shard, a.shard, a.cfg.batch))
		ccl_die();
	ccl_ledger *ledger = ccl_ledger_open(a.ledger, state.agent);
	for (int j = 0; j < a.n_neighbours; j++) {
		if (ccl_agent_load(&neighbours[j], a.neighbours[j], NULL) ||
		    ccl_agent_check_compatible(&state, &neighbours[j], a.neighbours[j]))
			ccl_die();
		ccl_ledger_note(ledger, a.neighbours[j], neighbours[j].artifact);
	}
	for (int j = 0; j < a.n_featstats; j++)
		if (ccl_featstat_load(&received[j], a.featstats[j], &state, ledger))
			ccl_die();
	if (ccl_ledger_flush(ledger))
		ccl_die();
	ccl_ledger_free(ledger);
	a.cfg.neighbours = neighbours;
	a.cfg.n_neighbours = a.n_neighbours;
	a.cfg.received = received;
	a.cfg.n_received = a.n_featstats;

	struct ccl_progress progress;
	ccl_progress_begin(&progress, "step", a.cfg.steps);
	a.cfg.progress = &progress;
	int failed = ccl_train(&state, &shard, &a.cfg, &report);
	ccl_progress_end(&progress);
	if (failed)
		ccl_die();
	long state_bytes, model_bytes;
	if (ccl_agent_write_step(&state, a.output, a.model, &state_bytes, &model_bytes))
		ccl_die();
	if (a.verbose)
		fprintf(stderr,
		        "%s: agent %ld now at epoch %ld step %ld: loss %.4f (ce %.4f, model-variant %.4f, data-variant "
		        "%.4f), batch accuracy %.1f%%, lr %g; wrote %ld bytes of state, %ld of model\n",
		        ccl_progname(), state.agent, state.epoch, state.step,
		        report.loss_ce + a.cfg.lambda_m * report.loss_m + a.cfg.lambda_d * report.loss_d, report.loss_ce,
		        report.loss_m, report.loss_d, 100.0 * (double)report.correct / (double)report.samples, report.lr,
		        state_bytes, model_bytes);

	for (int j = 0; j < a.n_featstats; j++)
		ccl_featstat_free(&received[j]);
	for (int j = 0; j < a.n_neighbours; j++)
		ccl_agent_free(&neighbours[j]);
	ccl_shard_free(&shard);
	ccl_agent_free(&state);
	return 0;
}
