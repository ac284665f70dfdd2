#include "crossfeat.h"

/* Sum of squared differences between z and target over `count` elements;
 * adds scale * 2 (z - target) into dz. */
static double squared_error_into(const float *z, const float *target, long count, double scale, float *dz)
{
	double sum = 0;
	for (long i = 0; i < count; i++) {
		double d = (double)z[i] - target[i];
		sum += d * d;
		dz[i] += (float)(2.0 * scale * d);
	}
	return sum;
}

double ccl_model_variant_loss(const float *z, const float *const *cross, int k, int batch, int dim, float lambda,
                              float *dz)
{
	long count = (long)batch * dim;
	double sum = 0;
	for (int j = 0; j < k; j++)
		sum += squared_error_into(z, cross[j], count, lambda / (double)count, dz);
	return sum / (double)count;
}

double ccl_data_variant_loss(const float *z, const int32_t *labels, const float *mu, int batch, int dim, float lambda,
                             float *dz)
{
	long count = (long)batch * dim;
	double sum = 0;
	for (int b = 0; b < batch; b++)
		sum += squared_error_into(z + (long)b * dim, mu + (long)labels[b] * dim, dim, lambda / (double)count,
		                          dz + (long)b * dim);
	return sum / (double)count;
}
