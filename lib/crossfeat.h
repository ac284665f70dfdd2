/*
 * crossfeat.h - the pieces that make CCL more than gossip: class-wise
 * feature statistics and the two cross-feature loss terms.
 *
 * With MSE(a, b) the mean of squared differences over all batch x feature
 * elements and every target held constant (ALGORITHM.md, step 4):
 *   L_m = sum_j MSE(z, z_j)   z_j = the batch's features under neighbour j's model
 *   L_d = MSE(z, mu_y)        mu_c = pooled class mean of own and received statistics
 * The loss functions return the term's value and add lambda times its
 * gradient with respect to z into dz, which then flows back through the
 * network (ccl_net_backward's dfeatures).
 */
#ifndef CCL_CROSSFEAT_H
#define CCL_CROSSFEAT_H

#include <stdint.h>

/* Adds the class-wise sums (classes x dim) and counts (classes) of the
 * features z (batch x dim) with the given labels. */
void ccl_featstat_accumulate(double *sums, double *counts, const float *z, const int32_t *labels, int batch,
                             int dim);

/* mu (classes x dim) = sums / counts, zero where the count is zero. */
void ccl_class_means(float *mu, const double *sums, const double *counts, int classes, int dim);

/* L_m over k neighbours' cross-features (each batch x dim). */
double ccl_model_variant_loss(const float *z, const float *const *cross, int k, int batch, int dim, float lambda,
                              float *dz);

/* L_d against the class means mu (classes x dim). */
double ccl_data_variant_loss(const float *z, const int32_t *labels, const float *mu, int batch, int dim, float lambda,
                             float *dz);

#endif
