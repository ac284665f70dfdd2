#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gossip.h"

void ccl_mix(float *x, const float *const *neighbours, const double *weights, int k, double gamma, size_t n)
{
	for (size_t p = 0; p < n; p++) {
		double xi = x[p], pull = 0;
		for (int j = 0; j < k; j++)
			pull += weights[j] * ((double)neighbours[j][p] - xi);
		x[p] = (float)(xi + gamma * pull);
	}
}

void ccl_qgm_correct(float *momentum, const float *x_before, const float *x_after, double lr_prev, double scale,
                     size_t n)
{
	double factor = scale / lr_prev;
	for (size_t p = 0; p < n; p++)
		momentum[p] = (float)((double)momentum[p] - factor * ((double)x_after[p] - (double)x_before[p]));
}

void ccl_average(float *out, const float *const *models, const double *weights, int k, size_t n)
{
	for (size_t p = 0; p < n; p++) {
		double s = 0;
		for (int j = 0; j < k; j++)
			s += (weights ? weights[j] : 1.0 / k) * models[j][p];
		out[p] = (float)s;
	}
}

double ccl_consensus_distance(const float *const *models, int k, size_t n)
{
	double total = 0;
	for (size_t p = 0; p < n; p++) {
		double mean = 0;
		for (int j = 0; j < k; j++)
			mean += models[j][p];
		mean /= k;
		for (int j = 0; j < k; j++)
			total += (models[j][p] - mean) * (models[j][p] - mean);
	}
	return total / k;
}

int ccl_gossip_step(ccl_agent *state, const ccl_agent *neighbours, const double *w, int k, double gamma, int qgm,
                    double qgm_scale)
{
	size_t np = ccl_net_param_count(state->net);
	const float **vecs = ccl_xmalloc((size_t)(k > 0 ? k : 1) * sizeof *vecs);
	float *before = ccl_xmalloc(np * sizeof *before);
	for (int j = 0; j < k; j++)
		vecs[j] = neighbours[j].params;
	memcpy(before, state->params, np * sizeof *before);
	ccl_mix(state->params, vecs, w, k, gamma, np);
	int corrected = qgm && state->lr > 0;
	if (corrected)
		ccl_qgm_correct(state->momentum, before, state->params, state->lr, qgm_scale, np);
	free(before);
	free(vecs);
	return corrected;
}

double ccl_renormalise_weights(double *w, const int *present, int n, double fixed)
{
	int kept = 0;
	double sum = fixed;
	for (int i = 0; i < n; i++)
		if (present[i]) {
			w[kept] = w[i];
			sum += w[kept++];
		}
	for (int i = 0; i < kept; i++)
		w[i] /= sum;
	return 1.0 / sum;
}
