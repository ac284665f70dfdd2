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
#include <math.h>
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

/* The training augmentation (shard.h) against its definition, pixel by
 * pixel: a 2-channel 6x5 image whose raw pixel (c, y, x) is 10 c + 3 y +
 * x + 1 (never 0, so padding stands out), normalised with mean 0.5 and std
 * 0.25 per channel; the flip and offsets are re-drawn from the same stream. */
static void test_augment(void)
{
	enum { C = 2, H = 6, W = 5, IMAGES = 400 };
	uint8_t raw[C * H * W];
	for (int c = 0; c < C; c++)
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++)
				raw[(c * H + y) * W + x] = (uint8_t)(10 * c + 3 * y + x + 1);
	ccl_shard s;
	memset(&s, 0, sizeof s);
	s.n = 1, s.c = C, s.h = H, s.w = W, s.classes = 2, s.agent = 0, s.augment = 1;
	s.images = raw;
	uint8_t label = 0;
	s.labels = &label;
	for (int c = 0; c < C; c++)
		s.mean[c] = 0.5f, s.std[c] = 0.25f;
	float *batch = malloc(sizeof(float) * IMAGES * C * H * W);
	int32_t labels[IMAGES];
	uint32_t rows[IMAGES] = {0};
	ccl_shard_batch(&s, rows, IMAGES, batch, labels);
	ccl_rng rng, again;
	ccl_rng_init(&rng, 5, 1, 2, 3);
	again = rng;
	ccl_shard_augment(&s, batch, IMAGES, &rng);
	int flips = 0, offsets[9] = {0}, bad = 0;
	for (int b = 0; b < IMAGES; b++) {
		int flip = (int)(ccl_rng_u32(&again) & 1);
		int dy = (int)ccl_rng_below(&again, 9) - 4, dx = (int)ccl_rng_below(&again, 9) - 4;
		flips += flip;
		offsets[dy + 4]++;
		offsets[dx + 4]++;
		for (int c = 0; c < C; c++)
			for (int y = 0; y < H; y++)
				for (int x = 0; x < W; x++) {
					/* Flip the image, pad it by 4 with raw zeros, crop at (4 + dy, 4 + dx). */
					int sy = y + dy, sx = x + dx, value = 0;
					if (sy >= 0 && sy < H && sx >= 0 && sx < W)
						value = raw[(c * H + sy) * W + (flip ? W - 1 - sx : sx)];
					float want = ((float)value / 255.0f - 0.5f) / 0.25f;
					bad += fabsf(batch[((b * C + c) * H + y) * W + x] - want) > 1e-6f;
				}
	}
	CHECK_MSG(bad == 0, "%d augmented pixels differ from the definition", bad);
	/* Both ways and every offset from -4 to 4 occur (400 images: each of
	 * the 9 offsets is expected 89 times among 800 draws). */
	CHECK(flips > 150 && flips < 250);
	for (int k = 0; k < 9; k++)
		CHECK_MSG(offsets[k] > 40, "offset %d drawn %d times", k - 4, offsets[k]);
	free(batch);
}

/* A training batch replays from (seed, agent, epoch, step) and only the
 * augmented shard's batch is changed. */
static void test_training_batch_augmented(void)
{
	enum { C = 1, H = 8, W = 8 };
	uint8_t raw[N * H * W], labels_raw[N];
	for (int i = 0; i < N * H * W; i++)
		raw[i] = (uint8_t)(i * 7 + 1);
	for (int i = 0; i < N; i++)
		labels_raw[i] = (uint8_t)(i % 3);
	ccl_shard s;
	memset(&s, 0, sizeof s);
	s.n = N, s.c = C, s.h = H, s.w = W, s.classes = 3, s.agent = 2;
	s.images = raw, s.labels = labels_raw, s.mean[0] = 0.5f, s.std[0] = 0.5f;
	ccl_agent a = agent_at(2, CCL_ORDER_SHARED, 9, 1, 3);
	float plain[B * H * W], one[B * H * W], two[B * H * W];
	uint32_t rows[B];
	int32_t l0[B], l1[B], l2[B];
	ccl_training_batch(&a, &s, B, NULL, rows, plain, l0);
	s.augment = 1;
	ccl_training_batch(&a, &s, B, NULL, rows, one, l1);
	ccl_training_batch(&a, &s, B, NULL, rows, two, l2);
	CHECK(!memcmp(one, two, sizeof one) && !memcmp(l1, l2, sizeof l1));
	CHECK(!memcmp(l0, l1, sizeof l0));
	CHECK(memcmp(plain, one, sizeof one) != 0);
	a.step = 4;
	ccl_training_batch(&a, &s, B, NULL, rows, two, l2);
	CHECK(memcmp(one, two, sizeof one) != 0);
}

int main(void)
{
	test_shared_and_independent();
	test_epoch_covers_shard(CCL_ORDER_SHARED);
	test_epoch_covers_shard(CCL_ORDER_INDEPENDENT);
	test_position_wraps();
	test_augment();
	test_training_batch_augmented();
	return unit_report();
}
