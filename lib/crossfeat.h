/*
 * crossfeat.h - the two cross-feature loss terms that make CCL more than
 * gossip (the feature statistics they use are featstat.h's).
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

/* L_m over k neighbours' cross-features (each batch x dim). */
double ccl_model_variant_loss(const float *z, const float *const *cross, int k, int batch, int dim, float lambda,
                              float *dz);

/* L_d against the class means mu (classes x dim). */
double ccl_data_variant_loss(const float *z, const int32_t *labels, const float *mu, int batch, int dim, float lambda,
                             float *dz);

#endif
