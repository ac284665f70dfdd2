/*
 * gossip.h - what neighbours do with each other's parameters.
 *
 * Step 1 of an iteration (ALGORITHM.md): mixing with weights w_j and
 * averaging rate gamma, x_i <- x_i + gamma * sum_j w_j (x_j - x_i), and the
 * quasi-global momentum correction m_i <- m_i - (x_after - x_before) / lr_prev.
 * Also the plain or weighted average of several models and the consensus
 * distance that evaluation reports.  Sums are taken in double precision and
 * in a fixed order, so results do not depend on anything but the inputs.
 */
#ifndef CCL_GOSSIP_H
#define CCL_GOSSIP_H

#include <stddef.h>

/* x (n) is mixed in place with k neighbour vectors. */
void ccl_mix(float *x, const float *const *neighbours, const double *weights, int k, double gamma, size_t n);

/* momentum (n) corrected by the change mixing made to the parameters:
 * m -= scale * (x_after - x_before) / lr_prev.  ALGORITHM.md's QGM is
 * scale 1; smaller scales are a variant (ccl-merge --qgm-scale). */
void ccl_qgm_correct(float *momentum, const float *x_before, const float *x_after, double lr_prev, double scale,
                     size_t n);

/* out = sum_j weights[j] * models[j]; weights NULL means 1/k each. */
void ccl_average(float *out, const float *const *models, const double *weights, int k, size_t n);

/* Mean over the k models of the squared distance to their average. */
double ccl_consensus_distance(const float *const *models, int k, size_t n);

#endif
