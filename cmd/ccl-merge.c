/*
 * ccl-merge - the gossip step, and averages of models.
 *
 * With --state: x_i <- x_i + gamma * sum_j w_j (x_j - x_i) over the
 * neighbour models given, optionally followed by the quasi-global momentum
 * correction m_i <- m_i - (x_after - x_before) / lr_prev; writes the merged
 * state.  Without --state: the plain or weighted average of the MODEL
 * operands, written as a model.
 *
 * A neighbour that is late or gone must not wedge a round: --wait gives
 * missing inputs time to appear, and --allow-missing then goes on with
 * those present, the weights of the rest scaled to sum to one again.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cli.h"
#include "error.h"
#include "gossip.h"
#include "ledger.h"

#define MAX_INPUTS 256

enum {
	OPT_STATE, OPT_NEIGHBOUR, OPT_WEIGHTS, OPT_GAMMA, OPT_QGM, OPT_QGM_SCALE, OPT_WAIT, OPT_ALLOW_MISSING, OPT_OUTPUT, OPT_LEDGER,
	OPT_VERBOSE
};

static const struct ccl_option options[] = {
	[OPT_STATE] = {"state", 'S', "FILE", "the agent's state: gossip mode"},
	[OPT_NEIGHBOUR] = {"neighbor-model", 'N', "FILE", "a neighbour's published model (repeatable)"},
	[OPT_WEIGHTS] = {"weights", 'w', "W0,W1,...", "gossip: self then neighbour weights; average: one per model; sum 1"},
	[OPT_GAMMA] = {"gamma", 'g', "G", "averaging rate in (0, 1] (default 1)"},
	[OPT_QGM] = {"qgm", 0, NULL, "apply the quasi-global momentum correction"},
	[OPT_QGM_SCALE] = {"qgm-scale", 0, "S", "variant: scale the correction by S in (0, 1] (default 1)"},
	[OPT_WAIT] = {"wait", 0, "SECONDS", "wait up to SECONDS for missing inputs to appear (default 0)"},
	[OPT_ALLOW_MISSING] = {"allow-missing", 0, NULL, "go on without inputs still missing, weights renormalised"},
	[OPT_OUTPUT] = {"output", 'o', "FILE", "merged state or averaged model (required)"},
	[OPT_LEDGER] = {"ledger", 0, "FILE", "gossip: append a line per neighbour model read to FILE (see ccl(7))"},
	[OPT_VERBOSE] = {"verbose", 'v', NULL, "print what was merged and the parameter bytes received on stderr"},
	{0},
};

struct args {
	const char *state, *output, *ledger, *neighbours[MAX_INPUTS];
	int n_neighbours, qgm, qgm_scale_given, verbose, n_weights, allow_missing;
	double gamma, qgm_scale, wait, weights[MAX_INPUTS + 1];
};

static void handle(int opt, const char *v, void *ctx)
{
	struct args *a = ctx;
	switch (opt) {
	case OPT_STATE: a->state = v; break;
	case OPT_NEIGHBOUR: ccl_cli_append(a->neighbours, &a->n_neighbours, MAX_INPUTS, "neighbor-model", v); break;
	case OPT_WEIGHTS: {
		char *copy = ccl_xstrdup(v), *save = NULL;
		a->n_weights = 0;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (a->n_weights == MAX_INPUTS + 1)
				ccl_usage_error("--weights: too many weights");
			a->weights[a->n_weights++] = ccl_parse_double("weights", tok, 0, 1, 0);
		}
		free(copy);
		break;
	}
	case OPT_GAMMA: a->gamma = ccl_parse_double("gamma", v, 0, 1, 1); break;
	case OPT_QGM: a->qgm = 1; break;
	case OPT_QGM_SCALE:
		a->qgm_scale = ccl_parse_double("qgm-scale", v, 0, 1, 1);
		a->qgm_scale_given = 1;
		break;
	case OPT_WAIT: a->wait = ccl_parse_double("wait", v, 0, 86400, 0); break;
	case OPT_ALLOW_MISSING: a->allow_missing = 1; break;
	case OPT_OUTPUT: a->output = v; break;
	case OPT_LEDGER: a->ledger = v; break;
	case OPT_VERBOSE: a->verbose = 1; break;
	}
}

static void check_weights(const struct args *a, int expected, const char *what)
{
	double sum = 0;
	if (a->n_weights != expected)
		ccl_usage_error("--weights: %d given, %d expected (%s)", a->n_weights, expected, what);
	for (int i = 0; i < a->n_weights; i++)
		sum += a->weights[i];
	if (fabs(sum - 1.0) > 1e-6)
		ccl_usage_error("--weights: they sum to %.9g, not 1", sum);
}

/* Prints the weights actually used after inputs went missing. */
static void report_renormalised(int kept, int given, double self, const double *w)
{
	fprintf(stderr, "%s: merged %d of %d inputs; weights renormalised to ", ccl_progname(), kept, given);
	if (self >= 0)
		fprintf(stderr, "%.6g%s", self, kept ? "," : "");
	for (int i = 0; i < kept; i++)
		fprintf(stderr, "%.6g%s", w[i], i + 1 < kept ? "," : "");
	fputc('\n', stderr);
}

/* Loads models and checks them against `ref` (or the first one), noting
 * them in `ledger` (which may be NULL). */
static ccl_agent *load_models(const char *const *paths, int n, const ccl_agent *ref, ccl_ledger *ledger, long *bytes)
{
	ccl_agent *models = ccl_xcalloc((size_t)n, sizeof *models);
	*bytes = 0;
	for (int j = 0; j < n; j++) {
		if (ccl_agent_load(&models[j], paths[j], NULL) ||
		    ccl_agent_check_compatible(ref ? ref : &models[0], &models[j], paths[j]))
			ccl_die();
		ccl_ledger_note(ledger, paths[j], models[j].artifact);
		*bytes += (long)(ccl_net_param_count(models[j].net) * sizeof(float));
	}
	return models;
}

int main(int argc, char **argv)
{
	struct args a = {.gamma = 1.0, .qgm_scale = 1.0};
	long received, written;

	int first = ccl_cli_parse(argc, argv, options,
	                          "ccl-merge -S STATE -N MODEL [-N MODEL]... [--weights W0,W1,...] [--gamma G]\n"
	                          "                 [--qgm [--qgm-scale S]] [--wait SECONDS] [--allow-missing] -o OUT\n"
	                          "       ccl-merge [--weights W1,...] [--wait SECONDS] [--allow-missing] -o OUT MODEL...",
	                          "Gossip: mix an agent's parameters with its neighbours' models (uniform weights\n"
	                          "1/(deg+1) unless given), optionally correct its momentum (QGM), write the state.\n"
	                          "Average: the plain or weighted average of the MODEL operands, written as a model.",
	                          handle, &a);
	if (!a.output)
		ccl_usage_error("-o/--output is required");
	if (a.qgm_scale_given && !a.qgm)
		ccl_usage_error("--qgm-scale needs --qgm");

	if (!a.state) {
		int n = argc - first;
		if (a.n_neighbours || a.qgm || a.ledger)
			ccl_usage_error("--neighbor-model, --qgm and --ledger need --state; to average models give them as "
			                "operands");
		if (n < 1)
			ccl_usage_error("give --state for gossip, or models to average");
		if (a.n_weights)
			check_weights(&a, n, "one per model");
		const char **paths = (const char **)argv + first;
		int present[MAX_INPUTS], given = n;
		if (n > MAX_INPUTS)
			ccl_usage_error("at most %d models may be averaged", MAX_INPUTS);
		n = ccl_cli_await_inputs(paths, n, a.wait, a.allow_missing, present);
		if (n == 0) {
			ccl_fail(CCL_EXIT_INPUT, paths[0], "no model to average is present");
			ccl_die();
		}
		if (n < given) {
			if (!a.n_weights)
				for (int j = 0; j < given; j++)
					a.weights[j] = 1.0 / given;
			ccl_renormalise_weights(a.weights, present, given, 0);
			a.n_weights = n;
			report_renormalised(n, given, -1, a.weights);
		}
		ccl_agent *models = load_models(paths, n, NULL, NULL, &received);
		const float **vecs = ccl_xmalloc((size_t)n * sizeof *vecs);
		for (int j = 0; j < n; j++)
			vecs[j] = models[j].params;
		ccl_agent avg = models[0];
		avg.params = ccl_xmalloc(ccl_net_param_count(avg.net) * sizeof(float));
		avg.agent = -1;
		ccl_average(avg.params, vecs, a.n_weights ? a.weights : NULL, n, ccl_net_param_count(avg.net));
		if ((written = ccl_agent_write(&avg, "model", a.output)) < 0)
			ccl_die();
		if (a.verbose)
			fprintf(stderr, "%s: averaged %d models into %s (%ld bytes)\n", ccl_progname(), n, a.output, written);
		free(avg.params);
		free(vecs);
		for (int j = 0; j < n; j++)
			ccl_agent_free(&models[j]);
		free(models);
		return 0;
	}

	if (first < argc)
		ccl_usage_error("unexpected argument '%s' (gossip takes neighbours with --neighbor-model)", argv[first]);
	if (!a.n_neighbours)
		ccl_usage_error("gossip needs at least one --neighbor-model");
	double self_weight = 1.0 / (a.n_neighbours + 1), *w = ccl_xmalloc((size_t)a.n_neighbours * sizeof *w);
	if (a.n_weights) {
		check_weights(&a, a.n_neighbours + 1, "the agent's own, then one per neighbour");
		self_weight = a.weights[0];
	}
	for (int j = 0; j < a.n_neighbours; j++)
		w[j] = a.n_weights ? a.weights[j + 1] : self_weight;
	int present[MAX_INPUTS], given = a.n_neighbours;
	a.n_neighbours = ccl_cli_await_inputs(a.neighbours, given, a.wait, a.allow_missing, present);
	if (a.n_neighbours < given) {
		self_weight *= ccl_renormalise_weights(w, present, given, self_weight);
		report_renormalised(a.n_neighbours, given, self_weight, w);
	}

	ccl_agent state;
	if (ccl_agent_load(&state, a.state, "state"))
		ccl_die();
	ccl_ledger *ledger = ccl_ledger_open(a.ledger, state.agent);
	ccl_agent *models = load_models(a.neighbours, a.n_neighbours, &state, ledger, &received);
	if (ccl_ledger_flush(ledger))
		ccl_die();
	ccl_ledger_free(ledger);
	int corrected = ccl_gossip_step(&state, models, w, a.n_neighbours, a.gamma, a.qgm, a.qgm_scale);
	if ((written = ccl_agent_write(&state, "state", a.output)) < 0)
		ccl_die();
	if (a.verbose)
		fprintf(stderr, "%s: agent %ld mixed with %d neighbours (gamma %g)%s; received %ld parameter bytes\n",
		        ccl_progname(), state.agent, a.n_neighbours, a.gamma,
		        corrected ? ", momentum corrected" : "", received);
	for (int j = 0; j < a.n_neighbours; j++)
		ccl_agent_free(&models[j]);
	free(models);
	free(w);
	ccl_agent_free(&state);
	return 0;
}
