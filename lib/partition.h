/*
 * partition.h - dividing a training set among agents.
 *
 * CCL_SCHEME_PAPER is the non-IID Dirichlet procedure of the published
 * experiments, step for step (ALGORITHM.md, "Data partition"): shuffle;
 * groups of at most ten agents, each with its own chunk of the shuffled list;
 * per class a Dirichlet(alpha) split among the group's agents, agents already
 * holding their share excluded, repeated until every agent holds at least
 * half its share; then the lists concatenated and cut into equal slices of
 * floor(N / n) samples.  The variants: DIRICHLET keeps the Dirichlet lists
 * as they are (unequal sizes), IID deals out a shuffled list, SHARDS sorts
 * by label and gives every agent two of 2n label shards.
 *
 * All randomness comes from the stream (seed, CCL_STREAM_GLOBAL,
 * CCL_PURPOSE_PARTITION, 0).
 */
#ifndef CCL_PARTITION_H
#define CCL_PARTITION_H

#include <stddef.h>
#include <stdint.h>

enum ccl_scheme { CCL_SCHEME_PAPER, CCL_SCHEME_DIRICHLET, CCL_SCHEME_IID, CCL_SCHEME_SHARDS };

struct ccl_partition {
	int agents;
	uint32_t **indices; /* indices[k]: the sample indices of agent k, in order */
	size_t *counts;
};

int ccl_scheme_from_name(const char *name, enum ccl_scheme *out);
const char *ccl_scheme_name(enum ccl_scheme s);

/* Partitions n samples with the given labels (each below `classes`). */
int ccl_partition_make(struct ccl_partition *p, const uint8_t *labels, size_t n, int classes,
                       int agents, enum ccl_scheme scheme, double alpha, uint64_t seed);
void ccl_partition_free(struct ccl_partition *p);

#endif
