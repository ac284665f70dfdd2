/*
 * ccl-eval - accuracy and loss of models on a test set, and what the
 * experiments report about a set of agents: mean and standard deviation of
 * their accuracy, the accuracy of their parameter average, and the consensus
 * distance (mean over agents of ||x_i - x_mean||^2).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "error.h"
#include "report.h"
#include "gossip.h"
#include "progress.h"
#include "train.h"

enum { OPT_TEST, OPT_PER_CLASS, OPT_FORMAT, OPT_THREADS };

static const struct ccl_option options[] = {
	[OPT_TEST] = {"test", 't', "FILE", "test set shard (required; ccl-partition writes test.ccl)"},
	[OPT_PER_CLASS] = {"per-class", 0, NULL, "also report accuracy per class"},
	[OPT_FORMAT] = {"format", 0, "FMT", "table (default), yaml or json"},
	[OPT_THREADS] = {"threads", 'j', "N", "OpenBLAS threads (default 1)"},
	{0},
};

struct args {
	const char *test;
	int per_class, format, threads;
};

static void handle(int opt, const char *v, void *ctx)
{
	struct args *a = ctx;
	switch (opt) {
	case OPT_TEST: a->test = v; break;
	case OPT_PER_CLASS: a->per_class = 1; break;
	case OPT_FORMAT: a->format = ccl_parse_choice("format", v, ccl_format_names); break;
	case OPT_THREADS: a->threads = (int)ccl_parse_long("threads", v, 1, 256); break;
	}
}

/* The accuracy of each class, in the table or the report. */
static void print_classes(const struct args *a, ccl_report *report, const struct ccl_eval_result *r, int classes)
{
	if (!a->per_class)
		return;
	if (report) {
		ccl_report_key(report, "per_class");
		ccl_report_list(report, 1);
	} else {
		printf("   per class:");
	}
	for (int c = 0; c < classes; c++) {
		double acc = r->class_total[c] ? (double)r->class_correct[c] / r->class_total[c] : 0;
		if (report)
			ccl_report_num(report, acc, 6);
		else
			printf(" %d:%.1f%%", c, 100 * acc);
	}
	if (report)
		ccl_report_end(report);
	else
		putchar('\n');
}

int main(int argc, char **argv)
{
	struct args a = {.threads = 1};
	ccl_shard test;

	int first = ccl_cli_parse(argc, argv, options,
	                          "ccl-eval -t TEST [--per-class] [--format table|yaml|json] MODEL...",
	                          "Evaluate each MODEL (a model or a state) on the test set; with two or more,\n"
	                          "also the mean and standard deviation of their accuracy, the accuracy of their\n"
	                          "parameter average and their consensus distance.",
	                          handle, &a);
	int n = argc - first;
	if (!a.test)
		ccl_usage_error("-t/--test is required");
	if (n < 1)
		ccl_usage_error("no MODEL given");
	ccl_set_threads(a.threads);
	if (ccl_shard_load(&test, a.test) || ccl_shard_check_test(&test, a.test))
		ccl_die();

	ccl_agent *models = ccl_xcalloc((size_t)n, sizeof *models);
	const float **vecs = ccl_xmalloc((size_t)n * sizeof *vecs);
	for (int j = 0; j < n; j++) {
		if (ccl_agent_load(&models[j], argv[first + j], NULL) ||
		    (j && ccl_agent_check_compatible(&models[0], &models[j], argv[first + j])) ||
		    ccl_agent_check_shard(&models[j], &test, a.test))
			ccl_die();
		vecs[j] = models[j].params;
	}
	int classes = ccl_net_classes(models[0].net);
	double sum = 0, sum2 = 0;
	char shown[1024];
	ccl_report *report = a.format == CCL_FORMAT_TABLE ? NULL : ccl_report_begin(a.format);

	if (report) {
		ccl_report_map(report, 0);
		ccl_report_key(report, "test");
		ccl_report_str(report, a.test);
		ccl_report_key(report, "samples");
		ccl_report_int(report, test.n);
		ccl_report_key(report, "models");
		ccl_report_list(report, 0);
	} else {
		printf("%-40s %9s %8s\n", "model", "accuracy", "loss");
	}
	struct ccl_progress progress;
	ccl_progress_begin(&progress, "model", n);
	for (int j = 0; j < n; j++) {
		struct ccl_eval_result r;
		ccl_progress_update(&progress, j);
		ccl_evaluate(models[0].net, models[j].params, &test, &r);
		ccl_progress_clear(&progress);
		sum += r.accuracy;
		sum2 += r.accuracy * r.accuracy;
		if (report) {
			ccl_report_map(report, 0);
			ccl_report_key(report, "file");
			ccl_report_str(report, argv[first + j]);
			ccl_report_key(report, "agent");
			ccl_report_int(report, models[j].agent);
			ccl_report_key(report, "accuracy");
			ccl_report_num(report, r.accuracy, 6);
			ccl_report_key(report, "loss");
			ccl_report_num(report, r.loss, 6);
		} else {
			printf("%-40s %8.2f%% %8.4f\n", ccl_table_text(argv[first + j], shown, sizeof shown), 100 * r.accuracy,
			       r.loss);
		}
		print_classes(&a, report, &r, classes);
		if (report)
			ccl_report_end(report);
		ccl_eval_result_free(&r);
	}
	ccl_progress_end(&progress);
	if (report)
		ccl_report_end(report);
	if (n > 1) {
		/* Population standard deviation over the models. */
		double mean = sum / n, std = sqrt(fmax(0, sum2 / n - mean * mean));
		size_t np = ccl_net_param_count(models[0].net);
		float *avg = ccl_xmalloc(np * sizeof *avg);
		struct ccl_eval_result r;
		ccl_average(avg, vecs, NULL, n, np);
		ccl_evaluate(models[0].net, avg, &test, &r);
		double consensus = ccl_consensus_distance(vecs, n, np);
		if (report) {
			const char *keys[] = {"mean_accuracy", "std_accuracy", "average_model_accuracy", "average_model_loss",
			                      "consensus_distance"};
			double values[] = {mean, std, r.accuracy, r.loss, consensus};
			for (int k = 0; k < 5; k++) {
				ccl_report_key(report, keys[k]);
				ccl_report_num(report, values[k], k < 4 ? 6 : 9);
			}
		} else {
			printf("%-40s %8.2f%% (std %.2f)\n%-40s %8.2f%% %8.4f\n%-40s %.6g\n", "mean over models", 100 * mean,
			       100 * std, "average of the models", 100 * r.accuracy, r.loss, "consensus distance", consensus);
		}
		ccl_eval_result_free(&r);
		free(avg);
	}
	if (report)
		ccl_report_finish(report);
	ccl_finish_stdout();
	for (int j = 0; j < n; j++)
		ccl_agent_free(&models[j]);
	free(models);
	free(vecs);
	ccl_shard_free(&test);
	return 0;
}
