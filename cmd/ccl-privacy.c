/*
 * ccl-privacy - the privacy loss of private feature statistics
 * (privacy.h): accounted from the released files, or planned ahead.
 *
 *   ccl-privacy [--delta D] FEATSTAT...            what these releases cost, per data agent
 *   ccl-privacy --noise SIGMA --releases N         what N releases per sample will cost
 *   ccl-privacy --epsilon E --releases N           the noise multiplier that keeps them within E
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "artifact.h"
#include "cli.h"
#include "error.h"
#include "privacy.h"
#include "report.h"

enum { OPT_DELTA, OPT_NOISE, OPT_EPSILON, OPT_RELEASES, OPT_FORMAT };

static const struct ccl_option options[] = {
	[OPT_DELTA] = {"delta", 0, "D", "the delta of (epsilon, delta)-DP (default 1e-5)"},
	[OPT_NOISE] = {"noise", 0, "SIGMA", "plan: the noise multiplier given to ccl-featstat --noise"},
	[OPT_EPSILON] = {"epsilon", 0, "E", "plan: the epsilon to stay within; prints the noise multiplier"},
	[OPT_RELEASES] = {"releases", 0, "N", "plan: releases per sample (epochs x neighbours in an experiment)"},
	[OPT_FORMAT] = {"format", 0, "FMT", "table (default), yaml or json"},
	{0},
};

struct args {
	double delta, noise, epsilon;
	long releases;
	enum ccl_format format;
};

static void handle(int opt, const char *v, void *ctx)
{
	struct args *a = ctx;
	switch (opt) {
	case OPT_DELTA: a->delta = ccl_parse_double("delta", v, 0, 0.5, 1); break;
	case OPT_NOISE: a->noise = ccl_parse_double("noise", v, 0, 1e6, 1); break;
	case OPT_EPSILON: a->epsilon = ccl_parse_double("epsilon", v, 0, 1e6, 1); break;
	case OPT_RELEASES: a->releases = ccl_parse_long("releases", v, 1, 1000000000); break;
	case OPT_FORMAT: a->format = (enum ccl_format)ccl_parse_choice("format", v, ccl_format_names); break;
	}
}

/* One release read from its file; fails unless it was released with noise. */
static int read_release(const char *path, struct ccl_release_record *r)
{
	ccl_artifact *a = ccl_artifact_read(path, "featstat");
	int rc = -1;
	if (!a)
		return -1;
	if (!ccl_artifact_get(a, "privacy_rho"))
		ccl_fail(CCL_EXIT_INPUT, path, "released without noise: it has no privacy guarantee to account");
	else if (!ccl_artifact_get_long(a, path, "data_agent", &r->data_agent) &&
	         !ccl_artifact_get_double(a, path, "privacy_rho", &r->rho)) {
		r->epoch = r->step = -1;
		r->batch = 0;
		if (!ccl_artifact_get(a, "epoch") || (!ccl_artifact_get_long(a, path, "epoch", &r->epoch) &&
		                                      !ccl_artifact_get_long(a, path, "step", &r->step) &&
		                                      !ccl_artifact_get_long(a, path, "batch", &r->batch)))
			rc = 0;
		if (!rc && !(r->rho > 0 && isfinite(r->rho)))
			rc = ccl_fail(CCL_EXIT_INPUT, path, "privacy_rho must be a positive number");
	}
	ccl_artifact_free(a);
	return rc;
}

static void print_plan(const struct args *a, double noise, double rho)
{
	double epsilon = ccl_privacy_epsilon(rho, a->delta);
	if (a->format == CCL_FORMAT_TABLE) {
		printf("noise multiplier  %.10g\nreleases          %ld\nrho (zCDP)        %.6g\nepsilon           %.6g\n"
		       "delta             %g\n", noise, a->releases, rho, epsilon, a->delta);
		return;
	}
	ccl_report *r = ccl_report_begin(a->format);
	ccl_report_map(r, 0);
	ccl_report_key(r, "noise");
	ccl_report_num(r, noise, 17); /* exact: a script passes it on to ccl-featstat */
	ccl_report_key(r, "releases");
	ccl_report_int(r, a->releases);
	ccl_report_key(r, "rho");
	ccl_report_num(r, rho, 6);
	ccl_report_key(r, "epsilon");
	ccl_report_num(r, epsilon, 6);
	ccl_report_key(r, "delta");
	ccl_report_num(r, a->delta, 6);
	ccl_report_end(r);
	ccl_report_finish(r);
}

static void print_accounts(const struct args *a, const struct ccl_privacy_account *acc, int n)
{
	if (a->format == CCL_FORMAT_TABLE) {
		printf("%5s %9s %7s %12s %12s\n", "agent", "releases", "epochs", "rho", "epsilon");
		for (int i = 0; i < n; i++)
			printf("%5ld %9ld %7ld %12.6g %12.6g\n", acc[i].data_agent, acc[i].releases, acc[i].epochs,
			       acc[i].rho, ccl_privacy_epsilon(acc[i].rho, a->delta));
		printf("(epsilon at delta %g)\n", a->delta);
		return;
	}
	ccl_report *r = ccl_report_begin(a->format);
	ccl_report_map(r, 0);
	ccl_report_key(r, "delta");
	ccl_report_num(r, a->delta, 6);
	ccl_report_key(r, "agents");
	ccl_report_list(r, 0);
	for (int i = 0; i < n; i++) {
		ccl_report_map(r, 1);
		ccl_report_key(r, "agent");
		ccl_report_int(r, acc[i].data_agent);
		ccl_report_key(r, "releases");
		ccl_report_int(r, acc[i].releases);
		ccl_report_key(r, "epochs");
		ccl_report_int(r, acc[i].epochs);
		ccl_report_key(r, "rho");
		ccl_report_num(r, acc[i].rho, 6);
		ccl_report_key(r, "epsilon");
		ccl_report_num(r, ccl_privacy_epsilon(acc[i].rho, a->delta), 6);
		ccl_report_end(r);
	}
	ccl_report_end(r);
	ccl_report_end(r);
	ccl_report_finish(r);
}

int main(int argc, char **argv)
{
	struct args a = {.delta = 1e-5};
	int first = ccl_cli_parse(argc, argv, options,
	                          "ccl-privacy [--delta D] [--format table|yaml|json] FEATSTAT...\n"
	                          "       ccl-privacy (--noise SIGMA | --epsilon E) --releases N [--delta D]",
	                          "Account the privacy loss of feature statistics released with noise\n"
	                          "(ccl-featstat --noise), per agent whose data they summarise, as zCDP and\n"
	                          "as (epsilon, delta)-DP; or plan one: the loss of N releases per sample at\n"
	                          "a noise multiplier, or the multiplier that keeps them within epsilon.",
	                          handle, &a);
	int planning = a.noise > 0 || a.epsilon > 0;
	if (planning) {
		if (first < argc)
			ccl_usage_error("give files or a plan (--noise or --epsilon), not both");
		if (a.noise > 0 && a.epsilon > 0)
			ccl_usage_error("give one of --noise and --epsilon");
		if (!a.releases)
			ccl_usage_error("a plan needs --releases");
		double noise = a.noise > 0 ? a.noise : ccl_privacy_noise_for(a.epsilon, a.delta, (double)a.releases);
		print_plan(&a, noise, (double)a.releases * ccl_privacy_rho(noise));
		ccl_finish_stdout();
		return 0;
	}
	if (a.releases)
		ccl_usage_error("--releases is for a plan (with --noise or --epsilon)");
	if (first == argc)
		ccl_usage_error("name the feature statistics to account, or plan with --noise or --epsilon");

	int n = argc - first;
	struct ccl_release_record *records = ccl_xmalloc((size_t)n * sizeof *records);
	struct ccl_privacy_account *accounts = ccl_xmalloc((size_t)n * sizeof *accounts);
	for (int i = 0; i < n; i++)
		if (read_release(argv[first + i], &records[i])) {
			free(records);
			free(accounts);
			ccl_die();
		}
	long bad;
	int agents = ccl_privacy_account(records, n, accounts, &bad);
	if (agents < 0) {
		free(records);
		free(accounts);
		ccl_fail(CCL_EXIT_INPUT, NULL, "agent %ld's statistics come from batches of different sizes, which "
		         "overlap: the accountant cannot bound them", bad);
		ccl_die();
	}
	print_accounts(&a, accounts, agents);
	free(records);
	free(accounts);
	ccl_finish_stdout();
	return 0;
}
