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

#include "agent.h"

/* x (n) is mixed in place with k neighbour vectors. */
void ccl_mix(float *x, const float *const *neighbours, const double *weights, int k, double gamma, size_t n);

/* momentum (n) corrected by the change mixing made to the parameters:
 * m -= scale * (x_after - x_before) / lr_prev.  ALGORITHM.md's QGM is
 * scale 1; smaller scales are a variant (ccl-merge --qgm-scale). */
void ccl_qgm_correct(float *momentum, const float *x_before, const float *x_after, double lr_prev, double scale,
                     size_t n);

/* The gossip step of agent `state` (ALGORITHM.md step 1): its parameters
 * mixed with the k neighbour models with weights w (one per neighbour) and
 * rate gamma, then, with qgm, its momentum corrected by scale times the
 * change over its last learning rate.  Before its first local step (lr 0)
 * there is no previous rate and every agent still holds the common initial
 * parameters, so the correction is skipped.  Returns whether it was made. */
int ccl_gossip_step(ccl_agent *state, const ccl_agent *neighbours, const double *w, int k, double gamma, int qgm,
                    double qgm_scale);

/* When inputs are missing: keeps the weights of the n inputs present
 * (present[i]), in order at the front of w, and scales them, together with
 * `fixed` (the agent's own weight, or 0), to sum to 1.  Returns the factor
 * applied, for the agent's own weight. */
double ccl_renormalise_weights(double *w, const int *present, int n, double fixed);

/* out = sum_j weights[j] * models[j]; weights NULL means 1/k each. */
void ccl_average(float *out, const float *const *models, const double *weights, int k, size_t n);

/* Mean over the k models of the squared distance to their average. */
double ccl_consensus_distance(const float *const *models, int k, size_t n);

#endif
