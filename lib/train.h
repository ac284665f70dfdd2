/*
 * train.h - what an agent computes: local steps with the CCL terms, feature
 * statistics of a batch, and evaluation on a test set.
 *
 * One local step (ALGORITHM.md steps 2, 4 and 5) on the batch the state's
 * counters name (shard.h):
 *   - cross-features z_ij = f(x_j; batch) under each neighbour model x_j
 *     given, when lambda_m > 0;
 *   - own features z_i and logits under the live parameters;
 *   - L = L_ce + lambda_m * L_m + lambda_d * L_d, where L_d pools the
 *     statistic of z_i on this batch with the statistics received;
 *   - g = dL/dx + wd x, m = beta m + g, x -= lr (g + beta m) (Nesterov).
 * With lambda_m = lambda_d = 0 it is plain local SGD.
 */
#ifndef CCL_TRAIN_H
#define CCL_TRAIN_H

#include "agent.h"
#include "featstat.h"
#include "optim.h"
#include "progress.h"
#include "shard.h"

#define CCL_MAX_MILESTONES 8

struct ccl_train_config {
	int batch;
	long steps;
	double lr;                        /* base learning rate */
	int milestones[CCL_MAX_MILESTONES]; /* epochs at which lr is multiplied by lr_factor */
	int n_milestones;
	double lr_factor;
	double momentum, weight_decay;
	int nesterov;
	double lambda_m, lambda_d;
	const ccl_agent *neighbours;      /* neighbour models as received (before mixing) */
	int n_neighbours;
	const struct ccl_featstat *received; /* statistics received from neighbours */
	int n_received;
	struct ccl_progress *progress;    /* told of every step done, or NULL */
};

struct ccl_train_report {
	double loss_ce, loss_m, loss_d; /* means over the steps run */
	long correct, samples;
	double lr;                      /* learning rate of the last step */
};

/* Runs config->steps local steps on `state`, advancing its counters. */
int ccl_train(ccl_agent *state, const ccl_shard *shard, const struct ccl_train_config *config,
              struct ccl_train_report *report);

/* The learning rate of an epoch under the multi-step schedule. */
double ccl_train_lr(const struct ccl_train_config *config, long epoch);

/* Where the agent's next step is: its (epoch, step), except that a step
 * counter past the end of an epoch (the batch size changed) starts the next
 * epoch. */
void ccl_next_batch_position(const ccl_agent *a, long n, int batch, long *epoch, long *step);

/* An epoch's visiting order, kept between the batches of that epoch so
 * that K local steps shuffle the shard once, not K times.  Start with
 * {-1, NULL} and free `order` when done. */
struct ccl_order_cache {
	long epoch;
	uint32_t *order;
};

/* The shard rows of the agent's next mini-batch (its seed, batch order,
 * agent number and next position); returns how many.  The one place a
 * batch is decided: ccl_train and ccl-featstat both take it from here.
 * `cache` (for one shard and agent) may be NULL. */
int ccl_next_batch(const ccl_agent *a, const ccl_shard *shard, int batch, struct ccl_order_cache *cache,
                   uint32_t *rows);

/* The agent's next mini-batch itself: the rows ccl_next_batch names (into
 * rows, batch entries), normalised into images (B x C x H x W) and labels,
 * and augmented when the shard says so, with the draws of the agent's
 * (seed, agent, epoch, step).  What ccl_train trains on and ccl-featstat -S
 * summarises.  Returns the batch's size. */
int ccl_training_batch(const ccl_agent *a, const ccl_shard *shard, int batch, struct ccl_order_cache *cache,
                       uint32_t *rows, float *images, int32_t *labels);

struct ccl_eval_result {
	double accuracy, loss;
	long correct, samples;
	long *class_correct, *class_total; /* per class, allocated */
};

/* Accuracy and mean cross-entropy of params on the whole shard. */
void ccl_evaluate(ccl_net *net, const float *params, const ccl_shard *test, struct ccl_eval_result *r);
void ccl_eval_result_free(struct ccl_eval_result *r);

#endif
