/*
 * verify_iteration DIR AGENTS LR LAMBDA_M LAMBDA_D GAMMA BATCH
 *
 * Checks one scripted CCL iteration on a ring, run with the real tools by
 * tests/bats/50-iteration.bats, against the equations of ALGORITHM.md
 * computed here independently of the tools' code paths:
 *   merge:    x' = x + gamma * sum_j w (x_j - x), w = 1/(deg+1);
 *             m' = m - (x' - x) / lr_prev
 *   featstat: S_c = sum of f(x_j; batch_i) over the samples of class c, n_c
 *   step:     the gradient g recovered from x'' = x' - lr (g + beta (beta m' + g))
 *             equals the gradient of
 *             L = CE + lambda_m sum_j MSE(z, z_ij) + lambda_d MSE(z, mu_y)
 *             plus wd x', with every target held constant, mu pooling the
 *             own batch's statistic and the received ones.
 * Files in DIR: shard-i.ccl, state-i.ccl, model-i.ccl (before), merged-i.ccl,
 * fs-i-j.ccl (i's data under j's model), next-i.ccl.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "error.h"
#include "shard.h"
#include "unit.h"

#define BETA 0.9
#define WD 1e-4

static char dir[1024];
static double lr, lambda_m, lambda_d, gamma_rate;
static int batch, agents;

static void load(ccl_agent *a, const char *fmt, int i, int j)
{
	char path[2048], name[64];
	snprintf(name, sizeof name, fmt, i, j);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (ccl_agent_load(a, path, NULL)) {
		fprintf(stderr, "%s\n", ccl_error_message());
		exit(2);
	}
}

/* Features (batch x dim) and logits of params on the batch. */
static void forward(ccl_net *net, const float *params, const float *x, int b, float *z, float *logits)
{
	ccl_net_forward(net, params, x, b);
	memcpy(z, ccl_net_features(net), (size_t)b * ccl_net_feature_dim(net) * sizeof *z);
	if (logits)
		memcpy(logits, ccl_net_logits(net), (size_t)b * ccl_net_classes(net) * sizeof *logits);
}

struct problem {
	ccl_net *net;
	const float *x;
	int32_t *labels;
	int b, dim, classes, k;
	float **cross; /* k x (b x dim) */
	double *mu;    /* classes x dim, held constant */
};

static void check_agent(int i)
{
	int left = (i + agents - 1) % agents, right = (i + 1) % agents, nbr[2] = {left, right};
	int k = left == right ? 1 : 2;
	ccl_agent state, merged, next, models[2];
	char path[2048];
	ccl_shard shard;

	load(&state, "state-%d.ccl", i, 0);
	load(&merged, "merged-%d.ccl", i, 0);
	load(&next, "next-%d.ccl", i, 0);
	for (int j = 0; j < k; j++)
		load(&models[j], "model-%d.ccl", nbr[j], 0);
	snprintf(path, sizeof path, "%s/shard-%d.ccl", dir, i);
	CHECK(ccl_shard_load(&shard, path) == 0);
	size_t np = ccl_net_param_count(state.net);

	/* Merge and momentum correction. */
	double worst_x = 0, worst_m = 0, w = 1.0 / (k + 1);
	for (size_t p = 0; p < np; p++) {
		double pull = 0;
		for (int j = 0; j < k; j++)
			pull += w * ((double)models[j].params[p] - state.params[p]);
		double x1 = state.params[p] + gamma_rate * pull;
		double m1 = state.momentum[p] - ((double)merged.params[p] - state.params[p]) / state.lr;
		worst_x = fmax(worst_x, fabs(x1 - merged.params[p]));
		worst_m = fmax(worst_m, fabs(m1 - merged.momentum[p]) / fmax(1, fabs(m1)));
	}
	CHECK_MSG(worst_x < 1e-6, "agent %d: merge off by %g", i, worst_x);
	CHECK_MSG(worst_m < 1e-4, "agent %d: QGM correction off by %g", i, worst_m);
	CHECK(merged.epoch == state.epoch && merged.step == state.step);

	/* The batch of agent i's step. */
	uint32_t *order = malloc((size_t)shard.n * sizeof *order);
	ccl_epoch_order(merged.seed, merged.order, merged.agent, merged.epoch, order, (size_t)shard.n);
	int b = shard.n - merged.step * batch < batch ? (int)(shard.n - merged.step * batch) : batch;
	size_t image = (size_t)shard.c * shard.h * shard.w;
	float *x = malloc((size_t)b * image * sizeof *x);
	int32_t *labels = malloc((size_t)b * sizeof *labels);
	ccl_shard_batch(&shard, order + merged.step * batch, b, x, labels);
	int dim = ccl_net_feature_dim(state.net), classes = ccl_net_classes(state.net);

	/* Feature statistics i sent to each neighbour j: f(x_j; batch_i). */
	struct problem pr = {state.net, x, labels, b, dim, classes, k, NULL, NULL};
	pr.cross = malloc((size_t)k * sizeof *pr.cross);
	for (int j = 0; j < k; j++) {
		pr.cross[j] = malloc((size_t)b * dim * sizeof(float));
		forward(state.net, models[j].params, x, b, pr.cross[j], NULL);
		snprintf(path, sizeof path, "%s/fs-%d-%d.ccl", dir, i, nbr[j]);
		ccl_artifact *fs = ccl_artifact_read(path, "featstat");
		CHECK(fs != NULL);
		if (!fs)
			continue;
		const float *sums = ccl_artifact_tensor(fs, NULL, "sums", CCL_F32)->data;
		const int32_t *counts = ccl_artifact_tensor(fs, NULL, "counts", CCL_I32)->data;
		double worst = 0;
		for (int c = 0; c < classes; c++) {
			int n = 0;
			for (int s = 0; s < b; s++)
				n += labels[s] == c;
			CHECK_MSG(counts[c] == n, "fs-%d-%d: class %d count %d, expected %d", i, nbr[j], c, counts[c], n);
			for (int f = 0; f < dim; f++) {
				double s = 0;
				for (int r = 0; r < b; r++)
					if (labels[r] == c)
						s += pr.cross[j][r * dim + f];
				worst = fmax(worst, fabs(s - sums[c * dim + f]) / fmax(1, fabs(s)));
			}
		}
		CHECK_MSG(worst < 1e-5, "fs-%d-%d: sums off by %g", i, nbr[j], worst);
		ccl_artifact_free(fs);
	}

	/* Class means: own statistic at the merged parameters plus what the
	 * neighbours sent (their data under i's model before mixing). */
	double *sums = calloc((size_t)classes * dim, sizeof *sums), *counts = calloc((size_t)classes, sizeof *counts);
	float *z = malloc((size_t)b * dim * sizeof *z);
	forward(state.net, merged.params, x, b, z, NULL);
	for (int r = 0; r < b; r++) {
		counts[labels[r]]++;
		for (int f = 0; f < dim; f++)
			sums[labels[r] * dim + f] += z[r * dim + f];
	}
	for (int j = 0; j < k; j++) {
		snprintf(path, sizeof path, "%s/fs-%d-%d.ccl", dir, nbr[j], i);
		ccl_artifact *fs = ccl_artifact_read(path, "featstat");
		CHECK(fs != NULL);
		if (!fs)
			continue;
		const float *s = ccl_artifact_tensor(fs, NULL, "sums", CCL_F32)->data;
		const int32_t *n = ccl_artifact_tensor(fs, NULL, "counts", CCL_I32)->data;
		for (int e = 0; e < classes * dim; e++)
			sums[e] += s[e];
		for (int c = 0; c < classes; c++)
			counts[c] += n[c];
		ccl_artifact_free(fs);
	}
	pr.mu = calloc((size_t)classes * dim, sizeof *pr.mu);
	for (int c = 0; c < classes; c++)
		for (int f = 0; f < dim; f++)
			pr.mu[c * dim + f] = counts[c] > 0 ? sums[c * dim + f] / counts[c] : 0;

	/* The gradient the step used, recovered from its update, against
	 * central differences of L on the output layer and a few others. */
	/* The gradient the step used, recovered from its update, against the
	 * gradient of L written out here: dL/dlogits of the mean cross-entropy,
	 * and dL/dz = lambda_m sum_j 2 (z - z_ij) / (B F) + lambda_d 2 (z - mu_y) / (B F),
	 * taken back through the network by its backward pass (which
	 * test_model checks against finite differences). */
	float *logits = malloc((size_t)b * classes * sizeof *logits);
	float *dlogits = malloc((size_t)b * classes * sizeof *dlogits), *dz = calloc((size_t)b * dim, sizeof *dz);
	float *g_full = malloc(np * sizeof *g_full), *g_ce = malloc(np * sizeof *g_ce);
	forward(state.net, merged.params, x, b, z, logits);
	for (int r = 0; r < b; r++) {
		double max = -INFINITY, sum = 0;
		for (int c = 0; c < classes; c++)
			max = fmax(max, logits[r * classes + c]);
		for (int c = 0; c < classes; c++)
			sum += exp(logits[r * classes + c] - max);
		for (int c = 0; c < classes; c++)
			dlogits[r * classes + c] = (float)((exp(logits[r * classes + c] - max) / sum - (c == labels[r])) / b);
		for (int f = 0; f < dim; f++) {
			double zf = z[r * dim + f], d = lambda_d * 2 * (zf - pr.mu[labels[r] * dim + f]);
			for (int j = 0; j < k; j++)
				d += lambda_m * 2 * (zf - pr.cross[j][r * dim + f]);
			dz[r * dim + f] = (float)(d / ((double)b * dim));
		}
	}
	ccl_net_backward(state.net, merged.params, dlogits, dz, g_full);
	ccl_net_backward(state.net, merged.params, dlogits, NULL, g_ce);
	size_t bad = 0, sensitive = 0;
	double worst = 0;
	for (size_t p = 0; p < np; p++) {
		double direction = ((double)merged.params[p] - next.params[p]) / lr;
		double g_tool = (direction - BETA * BETA * merged.momentum[p]) / (1 + BETA) - WD * merged.params[p];
		double tol = 1e-3 * fabs(g_full[p]) + 2e-5;
		if (fabs(g_tool - g_full[p]) > tol) {
			if (bad++ < 5)
				fprintf(stderr, "agent %d parameter %zu: step used %.7g, the equations give %.7g\n", i, p, g_tool,
				        g_full[p]);
		}
		worst = fmax(worst, fabs(g_tool - g_full[p]));
		sensitive += fabs(g_full[p] - g_ce[p]) > 10 * tol;
	}
	CHECK_MSG(bad == 0, "agent %d: %zu of %zu gradient coordinates disagree (worst %g)", i, bad, np, worst);
	/* The check must be able to tell the CCL terms from plain cross-entropy. */
	CHECK_MSG(lambda_m + lambda_d == 0 || sensitive > np / 20, "agent %d: only %zu coordinates feel the CCL terms",
	          i, sensitive);
	free(logits);
	free(dlogits);
	free(dz);
	free(g_full);
	free(g_ce);
	CHECK(next.iteration == merged.iteration + 1);

	free(pr.mu);
	free(z);
	free(sums);
	free(counts);
	for (int j = 0; j < k; j++)
		free(pr.cross[j]);
	free(pr.cross);
	free(labels);
	free(x);
	free(order);
	ccl_shard_free(&shard);
	for (int j = 0; j < k; j++)
		ccl_agent_free(&models[j]);
	ccl_agent_free(&next);
	ccl_agent_free(&merged);
	ccl_agent_free(&state);
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: verify_iteration DIR AGENTS LR LAMBDA_M LAMBDA_D GAMMA BATCH\n");
		return 2;
	}
	snprintf(dir, sizeof dir, "%s", argv[1]);
	agents = atoi(argv[2]);
	lr = atof(argv[3]);
	lambda_m = atof(argv[4]);
	lambda_d = atof(argv[5]);
	gamma_rate = atof(argv[6]);
	batch = atoi(argv[7]);
	for (int i = 0; i < agents; i++)
		check_agent(i);
	return unit_report();
}
