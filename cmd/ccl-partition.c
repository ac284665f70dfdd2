/*
 * ccl-partition - split a training set among agents and write their shards.
 *
 * Reads a data set once, partitions its training split (partition.h), writes
 * shard-NNN.ccl per agent and test.ccl (the whole test split) into the output
 * directory, and prints every agent's class histogram.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dataset.h"
#include "error.h"
#include "partition.h"
#include "report.h"
#include "shard.h"

enum {
	OPT_DATASET, OPT_DATA, OPT_COARSE, OPT_AGENTS, OPT_SCHEME, OPT_ALPHA, OPT_SEED, OPT_NORMALIZE, OPT_AUGMENT,
	OPT_OUTPUT, OPT_FORMAT
};

static const struct ccl_option options[] = {
	[OPT_DATASET] = {"dataset", 0, "NAME", "fashion-mnist (default), mnist, cifar10 or cifar100"},
	[OPT_DATA] = {"data", 0, "PATH", "IDX directory or CIFAR archive (fashion-mnist: Debian's copy)"},
	[OPT_COARSE] = {"coarse", 0, NULL, "CIFAR-100: use the 20 coarse labels"},
	[OPT_AGENTS] = {"agents", 'n', "N", "number of agents (required)"},
	[OPT_SCHEME] = {"scheme", 0, "NAME", "paper (default), dirichlet, iid or shards"},
	[OPT_ALPHA] = {"alpha", 'a', "A", "Dirichlet concentration, > 0 (default 0.01)"},
	[OPT_SEED] = {"seed", 's', "S", "random seed (default 123)"},
	[OPT_NORMALIZE] = {"normalize", 0, "HOW", "inputs: paper (default, the published constants) or data (own mean, std)"},
	[OPT_AUGMENT] = {"augment", 0, "HOW", "training batches: paper (default: CIFAR flipped and cropped) or none"},
	[OPT_OUTPUT] = {"output", 'o', "DIR", "directory for the shards (required; created if missing)"},
	[OPT_FORMAT] = {"format", 0, "FMT", "histogram as table (default), yaml or json"},
	{0},
};

struct args {
	const char *dataset, *data, *output;
	int coarse, agents, format, no_augment;
	enum ccl_scheme scheme;
	enum ccl_normalize normalize;
	double alpha;
	uint64_t seed;
};

static void handle(int opt, const char *v, void *ctx)
{
	struct args *a = ctx;
	static const char *const schemes[] = {"paper", "dirichlet", "iid", "shards", NULL};
	static const char *const datasets[] = {"fashion-mnist", "mnist", "cifar10", "cifar100", NULL};

	switch (opt) {
	case OPT_DATASET: a->dataset = datasets[ccl_parse_choice("dataset", v, datasets)]; break;
	case OPT_DATA: a->data = v; break;
	case OPT_COARSE: a->coarse = 1; break;
	case OPT_AGENTS: a->agents = (int)ccl_parse_long("agents", v, 1, 100000); break;
	case OPT_SCHEME: a->scheme = (enum ccl_scheme)ccl_parse_choice("scheme", v, schemes); break;
	case OPT_ALPHA: a->alpha = ccl_parse_double("alpha", v, 0, 1e6, 1); break;
	case OPT_SEED: a->seed = ccl_parse_seed("seed", v); break;
	case OPT_NORMALIZE: a->normalize = (enum ccl_normalize)ccl_parse_choice("normalize", v, ccl_normalize_names); break;
	case OPT_AUGMENT: a->no_augment = ccl_parse_choice("augment", v, (const char *const[]){"paper", "none", NULL});
		break;
	case OPT_OUTPUT: a->output = v; break;
	case OPT_FORMAT: a->format = ccl_parse_choice("format", v, ccl_format_names); break;
	}
}

/* One character per class, darker for a larger share of the agent's data. */
static void print_mix(const size_t *hist, int classes, size_t total)
{
	static const char shades[] = " .:-=+*#%@";
	putchar('|');
	for (int c = 0; c < classes; c++) {
		int level = total ? (int)((hist[c] * 9 + total - 1) / total) : 0;
		putchar(shades[level]);
	}
	putchar('|');
}

static void print_histogram(const struct args *a, size_t *hist, const size_t *counts, int classes)
{
	int columns = classes <= 20;

	if (a->format == CCL_FORMAT_TABLE) {
		printf("%5s %8s", "agent", "samples");
		for (int c = 0; columns && c < classes; c++)
			printf(" %5d", c);
		printf("  class mix\n");
		for (int k = 0; k < a->agents; k++) {
			printf("%5d %8zu", k, counts[k]);
			for (int c = 0; columns && c < classes; c++)
				printf(" %5zu", hist[(size_t)k * classes + c]);
			printf("  ");
			print_mix(hist + (size_t)k * classes, classes, counts[k]);
			putchar('\n');
		}
		return;
	}
	ccl_report *r = ccl_report_begin(a->format);
	ccl_report_map(r, 0);
	ccl_report_key(r, "dataset");
	ccl_report_str(r, a->dataset);
	ccl_report_key(r, "scheme");
	ccl_report_str(r, ccl_scheme_name(a->scheme));
	ccl_report_key(r, "alpha");
	ccl_report_num(r, a->alpha, 17);
	ccl_report_key(r, "seed");
	ccl_report_int(r, (long long)a->seed);
	ccl_report_key(r, "classes");
	ccl_report_int(r, classes);
	ccl_report_key(r, "agents");
	ccl_report_list(r, 0);
	for (int k = 0; k < a->agents; k++) {
		ccl_report_map(r, 0);
		ccl_report_key(r, "agent");
		ccl_report_int(r, k);
		ccl_report_key(r, "samples");
		ccl_report_int(r, (long long)counts[k]);
		ccl_report_key(r, "histogram");
		ccl_report_list(r, 1);
		for (int c = 0; c < classes; c++)
			ccl_report_int(r, (long long)hist[(size_t)k * classes + c]);
		ccl_report_end(r);
		ccl_report_end(r);
	}
	ccl_report_finish(r);
}

int main(int argc, char **argv)
{
	struct args a = {.dataset = "fashion-mnist", .scheme = CCL_SCHEME_PAPER, .alpha = 0.01, .seed = 123};
	ccl_dataset train, test;
	struct ccl_partition part;
	struct ccl_transform transform;
	char path[4096];

	int first = ccl_cli_parse(argc, argv, options,
	                          "ccl-partition --agents N -o DIR [--dataset NAME] [--data PATH] [--scheme NAME]\n"
	                          "                     [--coarse] [--alpha A] [--seed S] [--normalize paper|data]\n"
	                          "                     [--augment paper|none] [--format table|yaml|json]",
	                          "Split a data set's training split among N agents, write one shard artifact per\n"
	                          "agent (DIR/shard-NNN.ccl) and the test split (DIR/test.ccl), and print each\n"
	                          "agent's class histogram.",
	                          handle, &a);
	if (first < argc)
		ccl_usage_error("unexpected argument '%s'", argv[first]);
	if (!a.agents)
		ccl_usage_error("--agents is required");
	if (!a.output)
		ccl_usage_error("-o/--output is required");
	if (!a.data && !(a.data = ccl_dataset_default_path(a.dataset)))
		ccl_usage_error("--data is required for %s", a.dataset);

	if (ccl_dataset_load(&train, a.dataset, a.data, CCL_TRAIN, a.coarse) ||
	    ccl_dataset_load(&test, a.dataset, a.data, CCL_TEST, a.coarse))
		ccl_die();
	if (a.agents > train.n)
		ccl_usage_error("--agents %d is more than the %d training samples", a.agents, train.n);
	if (ccl_partition_make(&part, train.labels, (size_t)train.n, train.classes, a.agents, a.scheme, a.alpha, a.seed))
		ccl_die();
	if (ccl_transform_make(&transform, &train, a.normalize) || ccl_make_dirs(a.output))
		ccl_die();
	if (a.no_augment)
		transform.augment = 0;
	for (int k = 0; k < a.agents; k++)
		if (part.counts[k] == 0)
			ccl_usage_error("agent %d would get no samples (scheme %s, alpha %g); try another seed or scheme", k,
			                ccl_scheme_name(a.scheme), a.alpha);

	size_t *hist = ccl_xcalloc((size_t)a.agents * train.classes, sizeof *hist);
	for (int k = 0; k < a.agents; k++) {
		ccl_artifact *shard = ccl_shard_build(&train, part.indices[k], part.counts[k], k, &transform);
		ccl_artifact_set(shard, "agents", "%d", a.agents);
		ccl_artifact_set(shard, "scheme", "%s", ccl_scheme_name(a.scheme));
		ccl_artifact_set(shard, "alpha", "%.17g", a.alpha);
		ccl_artifact_set(shard, "seed", "%llu", (unsigned long long)a.seed);
		snprintf(path, sizeof path, "%s/shard-%03d.ccl", a.output, k);
		if (ccl_artifact_write(shard, path) < 0)
			ccl_die();
		ccl_artifact_free(shard);
		for (size_t i = 0; i < part.counts[k]; i++)
			hist[(size_t)k * train.classes + train.labels[part.indices[k][i]]]++;
	}
	/* Shards of an earlier run with more agents would otherwise pass for
	 * agents of this one. */
	for (int k = a.agents;; k++) {
		snprintf(path, sizeof path, "%s/shard-%03d.ccl", a.output, k);
		if (unlink(path) != 0)
			break;
	}
	uint32_t *all = ccl_xmalloc((size_t)test.n * sizeof *all);
	for (int i = 0; i < test.n; i++)
		all[i] = (uint32_t)i;
	ccl_artifact *test_shard = ccl_shard_build(&test, all, (size_t)test.n, -1, &transform);
	snprintf(path, sizeof path, "%s/test.ccl", a.output);
	if (ccl_artifact_write(test_shard, path) < 0)
		ccl_die();

	print_histogram(&a, hist, part.counts, train.classes);
	ccl_finish_stdout();
	ccl_artifact_free(test_shard);
	free(all);
	free(hist);
	ccl_partition_free(&part);
	ccl_dataset_free(&train);
	ccl_dataset_free(&test);
	return 0;
}
