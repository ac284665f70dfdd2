/*
 * ccl-featstat - class-wise feature sums and counts of a shard's batch under
 * given models: the statistics CCL agents send each other.
 *
 * Agent i runs it with each neighbour j's model as received: the result is
 * what i sends to j (j's data-variant cross-features).  The batch is the one
 * i's next ccl-train-step uses (read from i's state), or the whole shard.
 * With --allow-missing a model that is not there (after --wait) gives no
 * statistic; its receiver's ccl-train-step --allow-missing goes on without.
 * --clip, --noise, --noise-key and --min-count release the statistic
 * privately (featstat.h); each file then records its privacy loss.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "error.h"
#include "privacy.h"
#include "train.h"

#define MAX_MODELS 64

enum {
	OPT_SHARD, OPT_STATE, OPT_WHOLE, OPT_BATCH, OPT_MODEL, OPT_OUTPUT, OPT_WAIT, OPT_ALLOW_MISSING, OPT_THREADS,
	OPT_VERBOSE, OPT_CLIP, OPT_NOISE, OPT_NOISE_KEY, OPT_MIN_COUNT, OPT_LEDGER
};

static const struct ccl_option options[] = {
	[OPT_SHARD] = {"shard", 'd', "FILE", "the data (required)"},
	[OPT_STATE] = {"state", 'S', "FILE", "use the batch of this state's next step (seed, agent, epoch, step)"},
	[OPT_WHOLE] = {"whole", 0, NULL, "use the whole shard instead of one batch"},
	[OPT_BATCH] = {"batch", 'b', "B", "mini-batch size, as given to ccl-train-step (default 32)"},
	[OPT_MODEL] = {"model", 'M', "FILE", "model whose features to summarise (repeatable)"},
	[OPT_OUTPUT] = {"output", 'o', "FILE", "statistic to write, one per --model, in order (repeatable)"},
	[OPT_WAIT] = {"wait", 0, "SECONDS", "wait up to SECONDS for missing models (default 0)"},
	[OPT_ALLOW_MISSING] = {"allow-missing", 0, NULL, "skip models still missing (their output is not written)"},
	[OPT_THREADS] = {"threads", 'j', "N", "OpenBLAS threads (default 1)"},
	[OPT_VERBOSE] = {"verbose", 'v', NULL, "print the bytes written (and the privacy loss) on stderr"},
	[OPT_CLIP] = {"clip", 0, "C", "scale every feature vector to L2 norm at most C"},
	[OPT_NOISE] = {"noise", 0, "SIGMA", "Gaussian noise: sigma C on each sum, sigma on each count (needs --clip)"},
	[OPT_NOISE_KEY] = {"noise-key", 0, "FILE", "the sender's secret the noise is drawn with (needed with --noise)"},
	[OPT_MIN_COUNT] = {"min-count", 0, "K", "withhold the classes whose released count is below K"},
	[OPT_LEDGER] = {"ledger", 0, "FILE", "append a line per neighbour model read to FILE (see ccl(7))"},
	{0},
};

struct args {
	const char *shard, *state, *models[MAX_MODELS], *outputs[MAX_MODELS], *noise_key, *ledger;
	struct ccl_privacy privacy;
	int whole, batch, n_models, n_outputs, threads, verbose, allow_missing;
	double wait;
};

static void handle(int opt, const char *v, void *ctx)
{
	struct args *a = ctx;
	switch (opt) {
	case OPT_SHARD: a->shard = v; break;
	case OPT_STATE: a->state = v; break;
	case OPT_WHOLE: a->whole = 1; break;
	case OPT_BATCH: a->batch = (int)ccl_parse_long("batch", v, 1, 1000000); break;
	case OPT_MODEL: ccl_cli_append(a->models, &a->n_models, MAX_MODELS, "model", v); break;
	case OPT_OUTPUT: ccl_cli_append(a->outputs, &a->n_outputs, MAX_MODELS, "output", v); break;
	case OPT_WAIT: a->wait = ccl_parse_double("wait", v, 0, 86400, 0); break;
	case OPT_ALLOW_MISSING: a->allow_missing = 1; break;
	case OPT_THREADS: a->threads = (int)ccl_parse_long("threads", v, 1, 256); break;
	case OPT_VERBOSE: a->verbose = 1; break;
	case OPT_CLIP: a->privacy.clip = ccl_parse_double("clip", v, 0, 1e9, 1); break;
	case OPT_NOISE: a->privacy.noise = ccl_parse_double("noise", v, 0, 1e6, 1); break;
	case OPT_NOISE_KEY: a->noise_key = v; break;
	case OPT_MIN_COUNT: a->privacy.min_count = (int)ccl_parse_long("min-count", v, 0, 1000000); break;
	case OPT_LEDGER: a->ledger = v; break;
	}
}

int main(int argc, char **argv)
{
	struct args a = {.batch = 32, .threads = 1};
	ccl_shard shard;
	ccl_agent state = {0};
	uint32_t *rows = NULL;
	float *images = NULL;
	int32_t *labels = NULL;
	int count;

	int first = ccl_cli_parse(argc, argv, options,
	                          "ccl-featstat -d SHARD (-S STATE | --whole) [--batch B] -M MODEL -o OUT\n"
	                          "                    [-M MODEL -o OUT]... [--wait SECONDS] [--allow-missing]\n"
	                          "                    [--clip C [--noise SIGMA --noise-key FILE]] [--min-count K]",
	                          "Compute the class-wise sums and counts of the features of a shard's batch (the\n"
	                          "one the state's next training step uses) or of the whole shard, under each\n"
	                          "model given, and write one feature statistic artifact per model.",
	                          handle, &a);
	if (first < argc)
		ccl_usage_error("unexpected argument '%s'", argv[first]);
	if (!a.shard || !a.n_models)
		ccl_usage_error("--shard and at least one --model are required");
	if (a.n_outputs != a.n_models)
		ccl_usage_error("%d --model but %d -o/--output: give one output per model", a.n_models, a.n_outputs);
	if (!a.state == !a.whole)
		ccl_usage_error("give exactly one of --state and --whole");
	if (a.privacy.noise > 0 && !a.privacy.clip)
		ccl_usage_error("--noise needs --clip: the noise is sigma times the clipping bound");
	if (a.privacy.noise > 0 && !a.noise_key)
		ccl_usage_error("--noise needs --noise-key: noise drawn from the shared seed could be "
		                "regenerated and subtracted by any neighbour");
	if (a.noise_key && !a.privacy.noise)
		ccl_usage_error("--noise-key is only used with --noise");
	if (a.noise_key && ccl_privacy_read_key(&a.privacy.key, a.noise_key))
		ccl_die();
	ccl_set_threads(a.threads);
	int present[MAX_MODELS], kept = 0;
	a.n_models = ccl_cli_await_inputs(a.models, a.n_models, a.wait, a.allow_missing, present);
	for (int m = 0; m < a.n_outputs; m++)
		if (present[m])
			a.outputs[kept++] = a.outputs[m];

	if (ccl_shard_load(&shard, a.shard))
		ccl_die();
	if (a.whole) {
		rows = ccl_xmalloc((size_t)shard.n * sizeof *rows);
		for (int i = 0; i < shard.n; i++)
			rows[i] = (uint32_t)i;
		count = shard.n;
	} else {
		/* The batch exactly as ccl-train-step will see it, augmented
		 * where the shard says so. */
		if (ccl_agent_load(&state, a.state, "state") || ccl_agent_check_shard(&state, &shard, a.shard) ||
		    ccl_shard_check_owner(&shard, a.shard, state.agent))
			ccl_die();
		if (ccl_shard_check_batch(&shard, a.shard, a.batch))
			ccl_die();
		images = ccl_xmalloc((size_t)a.batch * shard.c * shard.h * shard.w * sizeof *images);
		labels = ccl_xmalloc((size_t)a.batch * sizeof *labels);
		rows = ccl_xmalloc((size_t)a.batch * sizeof *rows);
		count = ccl_training_batch(&state, &shard, a.batch, NULL, rows, images, labels);
	}

	ccl_ledger *ledger = ccl_ledger_open(a.ledger, shard.agent);
	for (int m = 0; m < a.n_models; m++) {
		ccl_agent model;
		struct ccl_featstat fs;
		if (ccl_agent_load(&model, a.models[m], NULL) || ccl_agent_check_shard(&model, &shard, a.shard) ||
		    (state.net && ccl_agent_check_compatible(&state, &model, a.models[m])))
			ccl_die();
		ccl_ledger_note(ledger, a.models[m], model.artifact);
		struct ccl_release release = {.data_agent = shard.agent, .epoch = -1, .step = -1, .model = &model};
		size_t image = (size_t)shard.c * shard.h * shard.w;
		if (state.net) {
			ccl_next_batch_position(&state, shard.n, a.batch, &release.epoch, &release.step);
			release.batch = a.batch;
			release.data_crc = ccl_data_checksum(images, (size_t)count * image * sizeof *images, labels,
			                                     (size_t)count * sizeof *labels);
		} else {
			release.data_crc = ccl_data_checksum(shard.images, (size_t)shard.n * image, shard.labels,
			                                     (size_t)shard.n);
		}
		ccl_featstat_init(&fs, ccl_net_classes(model.net), ccl_net_feature_dim(model.net));
		if (a.whole)
			ccl_featstat_add_rows(&fs, model.net, model.params, &shard, rows, count, a.privacy.clip);
		else
			ccl_featstat_add_images(&fs, model.net, model.params, images, labels, count, a.privacy.clip);
		if (ccl_featstat_check_finite(&fs, a.models[m]))
			ccl_die();
		ccl_featstat_privatize(&fs, &a.privacy, &release);
		ccl_artifact *out = ccl_featstat_to_artifact(&fs, &release, count, &a.privacy);
		/* A statistic on disk implies its model is in the ledger. */
		long bytes = ccl_ledger_flush(ledger) ? -1 : ccl_artifact_write(out, a.outputs[m]);
		if (bytes < 0)
			ccl_die();
		if (a.verbose)
			fprintf(stderr, "%s: %s: %d x %d statistic, %ld bytes (payload %ld)\n", ccl_progname(), a.outputs[m],
			        fs.classes, fs.dim, bytes, (long)((fs.dim + 1) * fs.classes * 4));
		if (a.verbose && a.privacy.noise > 0)
			fprintf(stderr, "%s: %s: released with rho %.6g (zCDP; epsilon %.4g at delta 1e-5 alone)\n",
			        ccl_progname(), a.outputs[m], ccl_privacy_rho(a.privacy.noise),
			        ccl_privacy_epsilon(ccl_privacy_rho(a.privacy.noise), 1e-5));
		ccl_artifact_free(out);
		ccl_featstat_free(&fs);
		ccl_agent_free(&model);
	}
	ccl_ledger_free(ledger);
	free(rows);
	free(images);
	free(labels);
	ccl_agent_free(&state);
	ccl_shard_free(&shard);
	return 0;
}
