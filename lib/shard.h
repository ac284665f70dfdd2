/*
 * shard.h - an agent's private data as an artifact, and its batches.
 *
 * A shard artifact holds the images (u8, N x C x H x W), labels (u8, N) and
 * the samples' indices in the original data set (i32, N), plus what a tool
 * needs to use them alone: data set name, split, class count, image shape,
 * and the training set's per-channel mean and standard deviation used to
 * normalise inputs.  The test set is written as a shard too, so no later
 * tool needs the data set's path.
 *
 * Batches: in epoch e an agent visits its samples in the order of a shuffle
 * drawn from the stream (seed, agent, e, 0); step s of the epoch takes
 * positions [s * B, min((s + 1) * B, N)).  The last batch of an epoch may be
 * short; it is never dropped.  Every tool that asks for (seed, agent, epoch,
 * step) gets the same samples.
 */
#ifndef CCL_SHARD_H
#define CCL_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "artifact.h"
#include "dataset.h"

#define CCL_MAX_CHANNELS 3

typedef struct ccl_shard {
	ccl_artifact *artifact;
	int n, c, h, w, classes;
	long agent; /* -1 for the test set */
	const uint8_t *images;
	const uint8_t *labels;
	const int32_t *index;
	float mean[CCL_MAX_CHANNELS], std[CCL_MAX_CHANNELS];
} ccl_shard;

/* Per-channel mean and standard deviation of a data set's pixels in [0, 1]. */
void ccl_dataset_channel_stats(const ccl_dataset *ds, float *mean, float *std);

/* Builds the artifact of the samples `idx` of `ds`.  agent < 0 marks a test set. */
ccl_artifact *ccl_shard_build(const ccl_dataset *ds, const uint32_t *idx, size_t count, long agent,
                              const float *mean, const float *std);

int ccl_shard_load(ccl_shard *s, const char *path);
void ccl_shard_free(ccl_shard *s);

/* Fails, naming `path`, when a mini-batch of `batch` does not fit the shard. */
int ccl_shard_check_batch(const ccl_shard *s, const char *path, int batch);

/* Steps in one epoch: ceil(n / batch). */
long ccl_steps_per_epoch(long n, long batch);

/* The visiting order of epoch `epoch` for an agent: a permutation of 0..n-1. */
void ccl_epoch_order(uint64_t seed, uint32_t agent, uint32_t epoch, uint32_t *order, size_t n);

/* Copies the normalised images (float, B x C x H x W) and labels of the
 * given shard rows. */
void ccl_shard_batch(const ccl_shard *s, const uint32_t *rows, int batch, float *images, int32_t *labels);

#endif
