/* Partition schemes checked against the properties ALGORITHM.md states, on
 * the real Fashion-MNIST training labels. */
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "partition.h"
#include "unit.h"

#define FMNIST "/usr/share/datasets/fashion-mnist"

/* Every index below n appears at most once; returns how many appear. */
static size_t distinct(const struct ccl_partition *p, size_t n, int *duplicates)
{
	char *seen = calloc(n, 1);
	size_t count = 0;
	*duplicates = 0;
	for (int k = 0; k < p->agents; k++)
		for (size_t i = 0; i < p->counts[k]; i++) {
			uint32_t v = p->indices[k][i];
			if (v >= n || seen[v])
				(*duplicates)++;
			else
				seen[v] = 1, count++;
		}
	free(seen);
	return count;
}

static int classes_held(const struct ccl_partition *p, int k, const uint8_t *labels, size_t min_count)
{
	size_t hist[256] = {0};
	int held = 0;
	for (size_t i = 0; i < p->counts[k]; i++)
		hist[labels[p->indices[k][i]]]++;
	for (int c = 0; c < 256; c++)
		held += hist[c] >= min_count;
	return held;
}

int main(void)
{
	ccl_dataset ds;
	struct ccl_partition p, q;
	int dup;

	CHECK(ccl_dataset_load(&ds, "fashion-mnist", FMNIST, CCL_TRAIN, 0) == 0);
	CHECK(ds.n == 60000 && ds.classes == 10);

	/* The paper's scheme, 16 agents, alpha 0.01, seed 123: equal slices of
	 * floor(60000 / 16) = 3750, disjoint, covering the whole set. */
	CHECK(ccl_partition_make(&p, ds.labels, 60000, 10, 16, CCL_SCHEME_PAPER, 0.01, 123) == 0);
	for (int k = 0; k < 16; k++)
		CHECK(p.counts[k] == 3750);
	CHECK(distinct(&p, 60000, &dup) == 60000);
	CHECK(dup == 0);
	/* At alpha 0.01 the first group's agents (slices inside the 10-agent
	 * group's lists) hold few classes: none holds more than 3 classes with
	 * 100 samples or more. */
	int few = 1;
	for (int k = 0; k < 10; k++)
		few &= classes_held(&p, k, ds.labels, 100) <= 3;
	CHECK(few);

	/* Same seed, same partition; another seed, another one. */
	CHECK(ccl_partition_make(&q, ds.labels, 60000, 10, 16, CCL_SCHEME_PAPER, 0.01, 123) == 0);
	int same = 1;
	for (int k = 0; k < 16; k++)
		same &= !memcmp(p.indices[k], q.indices[k], 3750 * sizeof(uint32_t));
	CHECK(same);
	ccl_partition_free(&q);
	CHECK(ccl_partition_make(&q, ds.labels, 60000, 10, 16, CCL_SCHEME_PAPER, 0.01, 124) == 0);
	same = 1;
	for (int k = 0; k < 16; k++)
		same &= !memcmp(p.indices[k], q.indices[k], 3750 * sizeof(uint32_t));
	CHECK(!same);
	ccl_partition_free(&q);
	ccl_partition_free(&p);

	/* Plain Dirichlet lists (no final slicing): groups of 10 and 6 agents
	 * with chunks of floor(10/16 * 60000) = 37500 and 22500 samples; every
	 * agent holds at least floor(0.5 * T / m) = 1875. */
	CHECK(ccl_partition_make(&p, ds.labels, 60000, 10, 16, CCL_SCHEME_DIRICHLET, 0.01, 123) == 0);
	size_t group1 = 0, group2 = 0, smallest = SIZE_MAX;
	for (int k = 0; k < 16; k++) {
		*(k < 10 ? &group1 : &group2) += p.counts[k];
		if (p.counts[k] < smallest)
			smallest = p.counts[k];
	}
	CHECK(group1 == 37500 && group2 == 22500);
	CHECK(smallest >= 1875);
	CHECK(distinct(&p, 60000, &dup) == 60000 && dup == 0);
	ccl_partition_free(&p);

	/* Large alpha is close to IID: every agent holds all ten classes. */
	CHECK(ccl_partition_make(&p, ds.labels, 60000, 10, 16, CCL_SCHEME_PAPER, 1000, 5) == 0);
	int all = 1;
	for (int k = 0; k < 16; k++)
		all &= classes_held(&p, k, ds.labels, 200) == 10;
	CHECK(all);
	ccl_partition_free(&p);

	/* IID: equal sizes, every class near 10%. */
	CHECK(ccl_partition_make(&p, ds.labels, 60000, 10, 7, CCL_SCHEME_IID, 1, 9) == 0);
	CHECK(p.counts[0] == 60000 / 7 && distinct(&p, 60000, &dup) == 7 * (60000 / 7) && dup == 0);
	all = 1;
	for (int k = 0; k < 7; k++)
		all &= classes_held(&p, k, ds.labels, 700) == 10;
	CHECK(all);
	ccl_partition_free(&p);

	/* Label shards: 2n shards of 60000 / 2n samples, two per agent; a
	 * shard of 1875 sorted samples spans at most 2 classes, so an agent
	 * holds at most 4. */
	CHECK(ccl_partition_make(&p, ds.labels, 60000, 10, 16, CCL_SCHEME_SHARDS, 1, 9) == 0);
	int narrow = 1;
	for (int k = 0; k < 16; k++)
		narrow &= p.counts[k] == 3750 && classes_held(&p, k, ds.labels, 1) <= 4;
	CHECK(narrow);
	CHECK(distinct(&p, 60000, &dup) == 60000 && dup == 0);
	ccl_partition_free(&p);

	/* Fewer than ten agents form one group holding everything. */
	CHECK(ccl_partition_make(&p, ds.labels, 60000, 10, 4, CCL_SCHEME_PAPER, 0.01, 1) == 0);
	CHECK(p.counts[3] == 15000 && distinct(&p, 60000, &dup) == 60000 && dup == 0);
	ccl_partition_free(&p);

	/* More agents than samples is refused. */
	CHECK(ccl_partition_make(&p, ds.labels, 10, 10, 11, CCL_SCHEME_PAPER, 0.01, 1) != 0);

	ccl_dataset_free(&ds);
	return unit_report();
}
