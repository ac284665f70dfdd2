#include "crossfeat.h"

void ccl_featstat_accumulate(double *sums, double *counts, const float *z, const int32_t *labels, int batch, int dim)
{
	for (int b = 0; b < batch; b++) {
		double *row = sums + (long)labels[b] * dim;
		for (int f = 0; f < dim; f++)
			row[f] += z[(long)b * dim + f];
		counts[labels[b]] += 1;
	}
}

void ccl_class_means(float *mu, const double *sums, const double *counts, int classes, int dim)
{
	for (int c = 0; c < classes; c++)
		for (int f = 0; f < dim; f++)
			mu[(long)c * dim + f] = counts[c] > 0 ? (float)(sums[(long)c * dim + f] / counts[c]) : 0.0f;
}

/* MSE(z, target) and its gradient 2 (z - target) / (batch * dim), scaled. */
static double mse_into(const float *z, const float *target, long count, float lambda, float *dz)
{
	double sum = 0, scale = 2.0 * lambda / (double)count;
	for (long i = 0; i < count; i++) {
		double d = (double)z[i] - target[i];
		sum += d * d;
		dz[i] += (float)(scale * d);
	}
	return sum / (double)count;
}

double ccl_model_variant_loss(const float *z, const float *const *cross, int k, int batch, int dim, float lambda,
                              float *dz)
{
	double loss = 0;
	for (int j = 0; j < k; j++)
		loss += mse_into(z, cross[j], (long)batch * dim, lambda, dz);
	return loss;
}

double ccl_data_variant_loss(const float *z, const int32_t *labels, const float *mu, int batch, int dim, float lambda,
                             float *dz)
{
	double sum = 0, scale = 2.0 * lambda / ((double)batch * dim);
	for (int b = 0; b < batch; b++) {
		const float *target = mu + (long)labels[b] * dim;
		for (int f = 0; f < dim; f++) {
			double d = (double)z[(long)b * dim + f] - target[f];
			sum += d * d;
			dz[(long)b * dim + f] += (float)(scale * d);
		}
	}
	return sum / ((double)batch * dim);
}
