#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "partition.h"
#include "rng.h"

static const char *const scheme_names[] = {"paper", "dirichlet", "iid", "shards"};

int ccl_scheme_from_name(const char *name, enum ccl_scheme *out)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, scheme_names[i])) {
			*out = (enum ccl_scheme)i;
			return 0;
		}
	return -1;
}

const char *ccl_scheme_name(enum ccl_scheme s) { return scheme_names[s]; }

/* A growable list of sample indices. */
struct list {
	uint32_t *v;
	size_t len, cap;
};

static void list_append(struct list *l, const uint32_t *v, size_t n)
{
	if (n == 0)
		return;
	if (l->len + n > l->cap) {
		l->cap = 2 * (l->len + n) + 16;
		l->v = ccl_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	memcpy(l->v + l->len, v, n * sizeof *v);
	l->len += n;
}

/*
 * Step 3 for one group of m agents and its chunk of T samples (in shuffled
 * order).  Appends agent j's list to lists[j].
 */
static void dirichlet_group(ccl_rng *rng, const uint8_t *labels, const uint32_t *chunk, size_t T,
                            int classes, int m, double alpha, struct list *lists)
{
	size_t min_size = (size_t)floor(0.5 * (double)T / m);
	double share = (double)T / m;
	uint32_t *by_class = ccl_xmalloc(T * sizeof *by_class);
	size_t *class_start = ccl_xcalloc((size_t)classes + 1, sizeof *class_start);
	double *p = ccl_xmalloc((size_t)m * sizeof *p);
	struct list *trial = ccl_xcalloc((size_t)m, sizeof *trial);

	/* The chunk's samples grouped by class, each class in chunk order. */
	for (size_t i = 0; i < T; i++)
		class_start[labels[chunk[i]] + 1]++;
	for (int c = 0; c < classes; c++)
		class_start[c + 1] += class_start[c];
	size_t *fill = ccl_xmalloc((size_t)classes * sizeof *fill);
	memcpy(fill, class_start, (size_t)classes * sizeof *fill);
	for (size_t i = 0; i < T; i++)
		by_class[fill[labels[chunk[i]]]++] = chunk[i];
	free(fill);

	for (;;) {
		for (int j = 0; j < m; j++)
			trial[j].len = 0;
		for (int c = 0; c < classes; c++) {
			size_t count = class_start[c + 1] - class_start[c];
			const uint32_t *members = by_class + class_start[c];
			double sum = 0;

			ccl_rng_dirichlet(rng, alpha, (size_t)m, p);
			for (int j = 0; j < m; j++) {
				if ((double)trial[j].len >= share)
					p[j] = 0;
				sum += p[j];
			}
			/* Every remaining weight can underflow to zero at tiny alpha;
			 * then split evenly among the agents still below their share
			 * instead of dividing by zero. */
			if (sum == 0) {
				for (int j = 0; j < m; j++)
					p[j] = (double)trial[j].len >= share ? 0 : 1;
				for (int j = 0; j < m; j++)
					sum += p[j];
			}
			if (sum == 0) /* every agent full: cannot happen, shares sum to T */
				sum = 1, p[m - 1] = 1;
			double cum = 0;
			size_t prev = 0;
			for (int j = 0; j < m; j++) {
				cum += p[j] / sum;
				size_t cut = j == m - 1 ? count : (size_t)floor(cum * (double)count);
				if (cut > count)
					cut = count;
				if (cut < prev)
					cut = prev;
				list_append(&trial[j], members + prev, cut - prev);
				prev = cut;
			}
		}
		size_t smallest = SIZE_MAX;
		for (int j = 0; j < m; j++)
			if (trial[j].len < smallest)
				smallest = trial[j].len;
		if (smallest >= min_size)
			break;
	}
	for (int j = 0; j < m; j++) {
		list_append(&lists[j], trial[j].v, trial[j].len);
		free(trial[j].v);
	}
	free(trial);
	free(p);
	free(class_start);
	free(by_class);
}

static void take_slices(struct ccl_partition *p, const uint32_t *all, size_t per_agent)
{
	for (int k = 0; k < p->agents; k++) {
		p->counts[k] = per_agent;
		p->indices[k] = ccl_xmalloc(per_agent * sizeof(uint32_t));
		memcpy(p->indices[k], all + (size_t)k * per_agent, per_agent * sizeof(uint32_t));
	}
}

int ccl_partition_make(struct ccl_partition *p, const uint8_t *labels, size_t n, int classes,
                       int agents, enum ccl_scheme scheme, double alpha, uint64_t seed)
{
	ccl_rng rng;
	uint32_t *order;

	if (agents < 1 || (size_t)agents > n)
		return ccl_fail(CCL_EXIT_USAGE, NULL, "cannot split %zu samples among %d agents", n, agents);
	if (scheme == CCL_SCHEME_SHARDS && (size_t)agents * 2 > n)
		return ccl_fail(CCL_EXIT_USAGE, NULL, "cannot cut %zu samples into %d label shards", n, 2 * agents);
	p->agents = agents;
	p->indices = ccl_xcalloc((size_t)agents, sizeof *p->indices);
	p->counts = ccl_xcalloc((size_t)agents, sizeof *p->counts);
	ccl_rng_init(&rng, seed, CCL_STREAM_GLOBAL, CCL_PURPOSE_PARTITION, 0);

	order = ccl_xmalloc(n * sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;

	if (scheme == CCL_SCHEME_SHARDS) {
		/* Sort by label (stable), cut 2n shards, deal two random ones each. */
		size_t at = 0, shard = n / (2 * (size_t)agents);
		uint32_t *sorted = ccl_xmalloc(n * sizeof *sorted), *ids = ccl_xmalloc(2 * (size_t)agents * sizeof *ids);
		for (int c = 0; c < classes; c++)
			for (size_t i = 0; i < n; i++)
				if (labels[i] == c)
					sorted[at++] = (uint32_t)i;
		for (int s = 0; s < 2 * agents; s++)
			ids[s] = (uint32_t)s;
		ccl_rng_shuffle_u32(&rng, ids, 2 * (size_t)agents);
		for (int k = 0; k < agents; k++) {
			p->counts[k] = 2 * shard;
			p->indices[k] = ccl_xmalloc(2 * shard * sizeof(uint32_t));
			memcpy(p->indices[k], sorted + ids[2 * k] * shard, shard * sizeof(uint32_t));
			memcpy(p->indices[k] + shard, sorted + ids[2 * k + 1] * shard, shard * sizeof(uint32_t));
		}
		free(ids);
		free(sorted);
		free(order);
		return 0;
	}

	/* Step 1. */
	ccl_rng_shuffle_u32(&rng, order, n);
	if (scheme == CCL_SCHEME_IID) {
		take_slices(p, order, n / (size_t)agents);
		free(order);
		return 0;
	}

	/* Steps 2 and 3: groups of at most ten agents, one chunk each. */
	struct list *lists = ccl_xcalloc((size_t)agents, sizeof *lists);
	size_t chunk = (size_t)floor(10.0 / agents * (double)n), start = 0;
	for (int first = 0; first < agents; first += 10) {
		int m = agents - first < 10 ? agents - first : 10;
		size_t len = first + m == agents || start + chunk > n ? n - start : chunk;
		dirichlet_group(&rng, labels, order + start, len, classes, m, alpha, lists + first);
		start += len;
	}

	if (scheme == CCL_SCHEME_DIRICHLET) {
		for (int k = 0; k < agents; k++) {
			p->indices[k] = lists[k].v ? lists[k].v : ccl_xmalloc(sizeof(uint32_t));
			p->counts[k] = lists[k].len;
		}
	} else {
		/* Step 4: concatenate and cut equal consecutive slices. */
		size_t at = 0;
		for (int k = 0; k < agents; k++) {
			if (lists[k].len)
				memcpy(order + at, lists[k].v, lists[k].len * sizeof(uint32_t));
			at += lists[k].len;
			free(lists[k].v);
		}
		take_slices(p, order, n / (size_t)agents);
	}
	free(lists);
	free(order);
	return 0;
}

void ccl_partition_free(struct ccl_partition *p)
{
	for (int k = 0; k < p->agents; k++)
		free(p->indices[k]);
	free(p->indices);
	free(p->counts);
	memset(p, 0, sizeof *p);
}
