/*
 * test_batch - which shard rows an agent's mini-batch takes (ALGORITHM.md,
 * "Batch order").
 *
 * Under the shared order every agent of a run walks the same permutation of
 * its own positions in a given epoch: the rows depend on (seed, epoch, step)
 * only.  Under the independent order each agent draws its own.  Either way
 * an epoch visits every row once, the last batch may be short, and a step
 * counter past the end of an epoch starts the next one.
 */
#include <stdlib.h>
#include <string.h>

#include "train.h"
#include "unit.h"

enum { N = 103, B = 16 };

static ccl_agent agent_at(long agent, enum ccl_batch_order order, uint64_t seed, long epoch, long step)
{
	ccl_agent a;
	memset(&a, 0, sizeof a);
	a.agent = agent;
	a.order = order;
	a.seed = seed;
	a.epoch = epoch;
	a.step = step;
	return a;
}

/* The rows of a batch; the shard is only consulted for its size. */
static int rows_of(const ccl_agent *a, uint32_t *rows)
{
	ccl_shard shard;
	memset(&shard, 0, sizeof shard);
	shard.n = N;
	return ccl_next_batch(a, &shard, B, NULL, rows);
}

static int same_rows(long agent1, long agent2, enum ccl_batch_order order, uint64_t seed, long epoch, long step)
{
	uint32_t r1[B], r2[B];
	ccl_agent a1 = agent_at(agent1, order, seed, epoch, step), a2 = agent_at(agent2, order, seed, epoch, step);
	int n1 = rows_of(&a1, r1), n2 = rows_of(&a2, r2);
	return n1 == n2 && !memcmp(r1, r2, (size_t)n1 * sizeof *r1);
}

static void test_shared_and_independent(void)
{
	/* Two agents, same (seed, epoch, step). */
	for (long epoch = 0; epoch < 3; epoch++)
		for (long step = 0; step < 7; step += 3) {
			CHECK_MSG(same_rows(0, 5, CCL_ORDER_SHARED, 123, epoch, step),
			          "shared order, epoch %ld step %ld: agents 0 and 5 got different rows", epoch, step);
			CHECK_MSG(!same_rows(0, 5, CCL_ORDER_INDEPENDENT, 123, epoch, step),
			          "independent order, epoch %ld step %ld: agents 0 and 5 got the same rows", epoch, step);
		}
	/* The shared permutation still changes with the epoch and the seed. */
	uint32_t e0[B], e1[B], s2[B];
	ccl_agent a = agent_at(3, CCL_ORDER_SHARED, 123, 0, 0), b = agent_at(3, CCL_ORDER_SHARED, 123, 1, 0),
		  c = agent_at(3, CCL_ORDER_SHARED, 124, 0, 0);
	rows_of(&a, e0);
	rows_of(&b, e1);
	rows_of(&c, s2);
	CHECK(memcmp(e0, e1, sizeof e0) != 0);
	CHECK(memcmp(e0, s2, sizeof e0) != 0);
}

/* An epoch visits every row exactly once, in ceil(N / B) batches, the last
 * one short. */
static void test_epoch_covers_shard(enum ccl_batch_order order)
{
	int seen[N] = {0}, total = 0;
	long steps = ccl_steps_per_epoch(N, B);
	for (long step = 0; step < steps; step++) {
		uint32_t rows[B];
		ccl_agent a = agent_at(2, order, 99, 4, step);
		int n = rows_of(&a, rows);
		CHECK(n == (step + 1 < steps ? B : N - (steps - 1) * B));
		for (int i = 0; i < n; i++)
			if (rows[i] < N)
				seen[rows[i]]++;
		total += n;
	}
	CHECK(total == N);
	for (int r = 0; r < N; r++)
		CHECK_MSG(seen[r] == 1, "row %d visited %d times", r, seen[r]);
}

/* A step counter at the end of an epoch (the batch size was larger before)
 * means the first batch of the next epoch. */
static void test_position_wraps(void)
{
	uint32_t late[B], next[B];
	ccl_agent a = agent_at(1, CCL_ORDER_SHARED, 7, 2, ccl_steps_per_epoch(N, B)),
		  b = agent_at(1, CCL_ORDER_SHARED, 7, 3, 0);
	CHECK(rows_of(&a, late) == B && rows_of(&b, next) == B);
	CHECK(!memcmp(late, next, sizeof late));
}

int main(void)
{
	test_shared_and_independent();
	test_epoch_covers_shard(CCL_ORDER_SHARED);
	test_epoch_covers_shard(CCL_ORDER_INDEPENDENT);
	test_position_wraps();
	return unit_report();
}
