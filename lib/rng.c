#include <math.h>

#include "rng.h"

/* Philox4x32 round constants, from the paper. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
	uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
	uint32_t k0 = key[0], k1 = key[1];

	for (int round = 0; round < 10; round++) {
		uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
		uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
		uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
		uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
		c1 = (uint32_t)p1;
		c3 = (uint32_t)p0;
		c0 = n0;
		c2 = n2;
		k0 += PHILOX_W0;
		k1 += PHILOX_W1;
	}
	out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void ccl_rng_init(ccl_rng *r, uint64_t seed, uint32_t agent, uint32_t epoch, uint32_t step)
{
	r->key[0] = (uint32_t)seed;
	r->key[1] = (uint32_t)(seed >> 32);
	r->counter[0] = 0;
	r->counter[1] = agent;
	r->counter[2] = epoch;
	r->counter[3] = step;
	r->used = 4;
}

uint64_t ccl_rng_subkey(uint64_t key, uint64_t tag)
{
	uint64_t x = key ^ tag;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

uint32_t ccl_rng_u32(ccl_rng *r)
{
	if (r->used == 4) {
		philox4x32_10(r->counter, r->key, r->block);
		r->counter[0]++;
		r->used = 0;
	}
	return r->block[r->used++];
}

double ccl_rng_uniform(ccl_rng *r)
{
	uint64_t hi = ccl_rng_u32(r) >> 5, lo = ccl_rng_u32(r) >> 6; /* 27 + 26 bits */
	return (double)(hi * 67108864u + lo) / 9007199254740992.0;
}

double ccl_rng_uniform_pos(ccl_rng *r)
{
	return 1.0 - ccl_rng_uniform(r);
}

uint32_t ccl_rng_below(ccl_rng *r, uint32_t n)
{
	/* Lemire's multiply-shift with rejection of the biased low range. */
	uint64_t m = (uint64_t)ccl_rng_u32(r) * n;
	uint32_t low = (uint32_t)m;
	if (low < n) {
		uint32_t threshold = (uint32_t)(-n) % n;
		while (low < threshold) {
			m = (uint64_t)ccl_rng_u32(r) * n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

double ccl_rng_normal(ccl_rng *r)
{
	/* Box-Muller; one of the pair is discarded to keep the stream stateless. */
	double u = ccl_rng_uniform_pos(r), v = ccl_rng_uniform(r);
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Marsaglia and Tsang (2000) for shape >= 1, returning the log of the variate. */
static double log_gamma_ge1(ccl_rng *r, double shape)
{
	double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);

	for (;;) {
		double x, v, u;
		do {
			x = ccl_rng_normal(r);
			v = 1.0 + c * x;
		} while (v <= 0.0);
		v = v * v * v;
		u = ccl_rng_uniform_pos(r);
		if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
			return log(d) + log(v);
	}
}

double ccl_rng_log_gamma(ccl_rng *r, double shape)
{
	if (shape >= 1.0)
		return log_gamma_ge1(r, shape);
	return log_gamma_ge1(r, shape + 1.0) + log(ccl_rng_uniform_pos(r)) / shape;
}

void ccl_rng_dirichlet(ccl_rng *r, double alpha, size_t k, double *p)
{
	double max = -INFINITY, sum = 0.0;

	for (size_t i = 0; i < k; i++) {
		p[i] = ccl_rng_log_gamma(r, alpha);
		if (p[i] > max)
			max = p[i];
	}
	for (size_t i = 0; i < k; i++) {
		p[i] = exp(p[i] - max); /* the largest entry becomes exactly 1 */
		sum += p[i];
	}
	for (size_t i = 0; i < k; i++)
		p[i] /= sum;
}

void ccl_rng_shuffle_u32(ccl_rng *r, uint32_t *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = ccl_rng_below(r, (uint32_t)i);
		uint32_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}
