/*
 * shard.h - an agent's private data as an artifact, and its batches.
 *
 * A shard artifact holds the images (u8, N x C x H x W), labels (u8, N) and
 * the samples' indices in the original data set (i32, N), plus what a tool
 * needs to use them alone: data set name, split, class count, image shape,
 * and the input transform: pixels are scaled to [0, 1], then normalised per
 * channel as (x - mean) / std.  By default mean and std are the fixed
 * constants the paper's experiments use per data set (ALGORITHM.md, "Input
 * transforms"; 0.5 and 0.5 for Fashion-MNIST, so inputs lie in [-1, 1]);
 * the variant takes the training split's own statistics.  The shard records
 * which ("normalize") and the numbers.  The test set is written as a shard
 * too, with the training set's transform, so no later tool needs the data
 * set's path.
 *
 * Training augmentation (ALGORITHM.md): CIFAR training shards record
 * "augment: flip-crop4", and every training batch drawn from them (by
 * ccl-train-step and, for the same batch, ccl-featstat) is flipped
 * horizontally with probability 1/2, then cropped to its size from the
 * image zero-padded by 4 on every side (zero before normalisation).  The
 * draws come from the stream (subkey(seed, CCL_KEY_AUGMENT), agent, epoch,
 * step), one flip bit and two offsets per sample in batch order, so a step
 * replays bit for bit.  Test sets and the other data sets: "none".
 *
 * Batches: in epoch e an agent visits its samples in the order of a
 * permutation of its positions 0..N-1; step s of the epoch takes positions
 * [s * B, min((s + 1) * B, N)).  The last batch of an epoch may be short; it
 * is never dropped.  Under the shared order (the paper's runs, the default)
 * the permutation is drawn from the stream (seed, CCL_STREAM_SHARED_ORDER,
 * e, 0), so every agent of a run uses the same permutation of its own
 * positions; under the independent order (a variant) from (seed, agent, e,
 * 0).  Every tool that asks for (seed, order, agent, epoch, step) gets the
 * same samples.
 */
#ifndef CCL_SHARD_H
#define CCL_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "artifact.h"
#include "dataset.h"
#include "rng.h"

#define CCL_MAX_CHANNELS 3

typedef struct ccl_shard {
	ccl_artifact *artifact;
	int n, c, h, w, classes;
	long agent; /* -1 for the test set */
	const uint8_t *images;
	const uint8_t *labels;
	const int32_t *index;
	float mean[CCL_MAX_CHANNELS], std[CCL_MAX_CHANNELS];
	int augment; /* training batches are flipped and cropped */
} ccl_shard;

/* How inputs are normalised after scaling to [0, 1]: with the paper's
 * constants for the data set, or with the training split's statistics. */
enum ccl_normalize { CCL_NORMALIZE_PAPER, CCL_NORMALIZE_DATA };
extern const char *const ccl_normalize_names[]; /* "paper", "data", NULL */

struct ccl_transform {
	enum ccl_normalize kind;
	float mean[CCL_MAX_CHANNELS], std[CCL_MAX_CHANNELS];
	int augment; /* training shards get the flip and crop (CIFAR, unless turned off) */
};

/* The transform of a data set, given its training split: its
 * normalisation and, for CIFAR, the training augmentation.  Fails for
 * CCL_NORMALIZE_PAPER on a data set without published constants. */
int ccl_transform_make(struct ccl_transform *t, const ccl_dataset *train, enum ccl_normalize kind);

/* Builds the artifact of the samples `idx` of `ds`.  agent < 0 marks a test set. */
ccl_artifact *ccl_shard_build(const ccl_dataset *ds, const uint32_t *idx, size_t count, long agent,
                              const struct ccl_transform *t);

int ccl_shard_load(ccl_shard *s, const char *path);
/* The same checks and fields for an artifact already read (ccl-info); the
 * shard then points into `a` and does not own it. */
int ccl_shard_view(ccl_shard *s, const ccl_artifact *a, const char *path);
void ccl_shard_free(ccl_shard *s);

/* The shard's samples of each class, into counts[0 .. s->classes - 1].
 * Every label indexes that array: loading a shard checks each one to be
 * below its class count. */
void ccl_shard_class_counts(const ccl_shard *s, size_t *counts);

/* Fails, naming `path`, unless the shard is agent `agent`'s training shard
 * (not the test set, not another agent's). */
int ccl_shard_check_owner(const ccl_shard *s, const char *path, long agent);
/* Fails, naming `path`, unless the shard is a test set. */
int ccl_shard_check_test(const ccl_shard *s, const char *path);

/* Fails, naming `path`, when a mini-batch of `batch` does not fit the shard. */
int ccl_shard_check_batch(const ccl_shard *s, const char *path, int batch);

/* Steps in one epoch: ceil(n / batch). */
long ccl_steps_per_epoch(long n, long batch);

/* Which permutation an agent walks its shard in each epoch. */
enum ccl_batch_order { CCL_ORDER_SHARED, CCL_ORDER_INDEPENDENT };
extern const char *const ccl_batch_order_names[]; /* "shared", "independent", NULL */

/* The visiting order of epoch `epoch` for an agent: a permutation of 0..n-1. */
void ccl_epoch_order(uint64_t seed, enum ccl_batch_order kind, long agent, long epoch, uint32_t *order, size_t n);

/* Copies the normalised images (float, B x C x H x W) and labels of the
 * given shard rows. */
void ccl_shard_batch(const ccl_shard *s, const uint32_t *rows, int batch, float *images, int32_t *labels);

/* The training augmentation, in place, on `batch` normalised images of the
 * shard's shape, with draws from `rng` (see above). */
void ccl_shard_augment(const ccl_shard *s, float *images, int batch, ccl_rng *rng);

#endif
