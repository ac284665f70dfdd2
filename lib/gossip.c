#include <stdlib.h>

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
