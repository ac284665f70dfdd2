/*
 * featstat.h - the feature statistic CCL agents send each other, and its
 * privacy mechanism: the one owner of both.
 *
 * Agent i's statistic for neighbour j holds, for each class c, the sum S_c
 * of the features of i's batch samples of class c under j's model and
 * their count n_c (ALGORITHM.md, step 3).  The receiver pools it with its
 * own batch's statistic into class means mu_c = sum S_c / sum n_c.
 *
 * A statistic can be released privately (struct ccl_privacy):
 *   1. clipping: every feature vector is scaled to L2 norm at most C before
 *      it enters a sum, so adding or removing one sample moves the sums by
 *      at most C and the counts by 1 (both in L2);
 *   2. the Gaussian mechanism: N(0, (sigma C)^2) on every coordinate of
 *      every class sum and N(0, sigma^2) on every count; the noisy count is
 *      rounded to an integer;
 *   3. suppression: a class whose released (noisy, when noise is on) count
 *      is below max(k, 1) is withheld, sum and count zero.  Deciding on the
 *      noisy count is post-processing of the mechanism, so it costs no
 *      privacy; deciding on the true count would leak which classes are
 *      rare.  Withholding classes of count 0 means a received count is never
 *      a pure-noise denominator; the receiver's own batch adds at least 1 to
 *      the pooled count of every class it uses, so no mean divides by zero.
 * The noise is drawn from a Philox stream keyed by the sender's secret
 * (never the experiment's seed, which neighbours know and could use to
 * regenerate and subtract the noise) and by everything the release depends
 * on: the data agent, the batch's epoch, step and size, a checksum of its
 * samples, the model's agent, iteration and a checksum of its parameters,
 * and the exact clipping bound and noise multiplier.  The same release
 * therefore replays bit for bit for whoever holds the secret, and two
 * releases that differ in anything draw independent noise (two that shared
 * it would give away their difference exactly).  privacy.h accounts for
 * what releases cost.
 */
#ifndef CCL_FEATSTAT_H
#define CCL_FEATSTAT_H

#include <stdint.h>

#include "agent.h"
#include "artifact.h"
#include "ledger.h"
#include "shard.h"

struct ccl_featstat {
	int classes, dim;
	double *sums;   /* classes x dim */
	double *counts; /* classes */
};

struct ccl_privacy {
	double clip;   /* L2 bound C on each feature vector; 0: no clipping */
	double noise;  /* noise multiplier sigma; 0: no noise (needs clip > 0 otherwise) */
	int min_count; /* k: classes with a released count below k are withheld */
	uint64_t key;  /* the sender's secret (ccl_privacy_read_key) */
};

void ccl_featstat_init(struct ccl_featstat *fs, int classes, int dim);
void ccl_featstat_free(struct ccl_featstat *fs);
void ccl_featstat_clear(struct ccl_featstat *fs);

/* Adds the class-wise sums (classes x dim) and counts (classes) of the
 * features z (batch x dim) with the given labels. */
void ccl_featstat_accumulate(double *sums, double *counts, const float *z, const int32_t *labels, int batch,
                             int dim);

/* Adds one statistic into another of the same shape. */
void ccl_featstat_add(struct ccl_featstat *into, const struct ccl_featstat *fs);

/* mu (classes x dim) = sums / counts, zero where the count is zero. */
void ccl_class_means(float *mu, const double *sums, const double *counts, int classes, int dim);

/* Scales each of the batch rows of z (batch x dim) whose L2 norm exceeds
 * clip down to norm clip; clip 0 leaves z alone. */
void ccl_clip_rows(float *z, int batch, int dim, double clip);

/* Adds the features of `count` images (with their labels) under the model
 * `params` of `net`, each feature vector clipped to norm `clip` first (0:
 * not clipped). */
void ccl_featstat_add_images(struct ccl_featstat *fs, ccl_net *net, const float *params, const float *images,
                             const int32_t *labels, int count, double clip);

/* The same for the given shard rows, as they are (no augmentation). */
void ccl_featstat_add_rows(struct ccl_featstat *fs, ccl_net *net, const float *params, const ccl_shard *shard,
                           const uint32_t *rows, int count, double clip);

/* Identifies one release for its noise stream: everything it depends on.
 * epoch and step are -1 and batch 0 for a statistic of the whole shard;
 * data_crc is a CRC-32C of the samples summarised (ccl_data_checksum). */
struct ccl_release {
	long data_agent, epoch, step, batch;
	uint32_t data_crc;
	const ccl_agent *model;
};

/* The CRC-32C of `count` samples: their images (n floats each, or raw
 * bytes when bytes is set) and labels. */
uint32_t ccl_data_checksum(const void *images, size_t image_bytes, const void *labels, size_t label_bytes);

/* Steps 2 and 3 above on a clipped statistic (a no-op when p->noise and
 * p->min_count are 0). */
void ccl_featstat_privatize(struct ccl_featstat *fs, const struct ccl_privacy *p, const struct ccl_release *r);

/* Fails, naming the model at `model_path`, when a sum does not fit a float
 * (the model's features have blown up: the model diverged), so that no
 * statistic a reader would refuse is ever written. */
int ccl_featstat_check_finite(const struct ccl_featstat *fs, const char *model_path);

/* The artifact of a released statistic: its tensors, its release's
 * identity (arch, data and model agents, epoch and step when known,
 * samples) and, when private, the mechanism's parameters and the zCDP
 * privacy loss rho of this release (privacy.h). */
ccl_artifact *ccl_featstat_to_artifact(const struct ccl_featstat *fs, const struct ccl_release *r, int samples,
                                       const struct ccl_privacy *p);

/* The statistic an artifact already read holds (shapes and counts checked). */
int ccl_featstat_from_artifact(struct ccl_featstat *fs, const ccl_artifact *a, const char *path);

/* Reads a statistic for the agent `receiver`: it must have been computed
 * under the receiver's model (model_agent) and match its classes and
 * feature dimension.  The receiver's ledger, if not NULL, notes the file. */
int ccl_featstat_load(struct ccl_featstat *fs, const char *path, const ccl_agent *receiver, ccl_ledger *ledger);

/* Reads the sender's secret from `path`: at least 16 bytes (for example
 * `head -c 32 /dev/urandom`), readable by its owner only, hashed to the
 * 64-bit Philox key. */
int ccl_privacy_read_key(uint64_t *key, const char *path);

#endif
