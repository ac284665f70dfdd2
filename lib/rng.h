/*
 * rng.h - seeded random numbers with independent streams.
 *
 * The generator is Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel
 * random numbers: as easy as 1, 2, 3", SC 2011), a counter-based generator:
 * output block k of a stream is a keyed bijection of the counter, so streams
 * never overlap and any draw can be recomputed without replaying the others.
 *
 *   key     = the user's 64-bit seed
 *   counter = (block index, agent, epoch, step)
 *
 * Each (seed, agent, epoch, step) therefore names its own stream of 2^32
 * blocks of four 32-bit words.  Tools that must agree (the batch order seen
 * by ccl-train-step and ccl-featstat, for example) open the same stream.
 * Non-agent work (partitioning, initial parameters) uses the agent number
 * CCL_STREAM_GLOBAL and a purpose code in place of the epoch.  The batch
 * order all agents share (shard.h) uses the agent number
 * CCL_STREAM_SHARED_ORDER with the real epoch.
 */
#ifndef CCL_RNG_H
#define CCL_RNG_H

#include <stddef.h>
#include <stdint.h>

#define CCL_STREAM_GLOBAL 0xffffffffu
#define CCL_STREAM_SHARED_ORDER 0xfffffffeu

/* Purpose codes, used as the "epoch" word of global streams. */
enum ccl_stream_purpose {
	CCL_PURPOSE_PARTITION = 1,
	CCL_PURPOSE_INIT = 2,
};

typedef struct ccl_rng {
	uint32_t key[2];
	uint32_t counter[4];
	uint32_t block[4];
	int used; /* words of block already handed out */
} ccl_rng;

void ccl_rng_init(ccl_rng *r, uint64_t seed, uint32_t agent, uint32_t epoch, uint32_t step);

/* A key derived from `key` and `tag` (the splitmix64 finaliser of their
 * exclusive or): streams that would share (agent, epoch, step) with
 * another purpose's take their own key instead, for example the training
 * augmentation (CCL_KEY_AUGMENT) beside the batch order. */
uint64_t ccl_rng_subkey(uint64_t key, uint64_t tag);
#define CCL_KEY_AUGMENT 0x6175676d656e74u /* "augment" */

uint32_t ccl_rng_u32(ccl_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double ccl_rng_uniform(ccl_rng *r);
/* Uniform in (0, 1]: safe to take the logarithm of. */
double ccl_rng_uniform_pos(ccl_rng *r);
/* Uniform integer in [0, n), without modulo bias. */
uint32_t ccl_rng_below(ccl_rng *r, uint32_t n);
double ccl_rng_normal(ccl_rng *r);

/* log of a Gamma(shape, 1) variate.  Working in logs keeps tiny shapes
 * (alpha = 0.01) from underflowing to zero: for shape < 1 it uses
 * log G(a) = log G(a + 1) + log(U) / a. */
double ccl_rng_log_gamma(ccl_rng *r, double shape);
/* p ~ Dirichlet(alpha, ..., alpha) over k entries; normalised from the logs,
 * so the result always sums to 1 and never holds NaN. */
void ccl_rng_dirichlet(ccl_rng *r, double alpha, size_t k, double *p);

/* Fisher-Yates shuffle of n 32-bit integers. */
void ccl_rng_shuffle_u32(ccl_rng *r, uint32_t *v, size_t n);

#endif
