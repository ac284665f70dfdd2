/* Tests of the generator and the samplers against known facts: reproducibility,
 * stream independence, and the moments of Gamma and Dirichlet variates. */
#include <math.h>
#include <string.h>

#include "rng.h"
#include "unit.h"

int main(void)
{
	ccl_rng a, b;

	/* Known-answer test from the Random123 distribution: Philox4x32-10 with
	 * counter 0 and key 0 gives 6627e8d5 e169c58d bc57ac4c 9b00dbd8. */
	ccl_rng_init(&a, 0, 0, 0, 0);
	CHECK(ccl_rng_u32(&a) == 0x6627e8d5u);
	CHECK(ccl_rng_u32(&a) == 0xe169c58du);
	CHECK(ccl_rng_u32(&a) == 0xbc57ac4cu);
	CHECK(ccl_rng_u32(&a) == 0x9b00dbd8u);

	/* Same stream, same numbers; another step, other numbers. */
	ccl_rng_init(&a, 123, 3, 4, 5);
	ccl_rng_init(&b, 123, 3, 4, 5);
	int same = 1;
	for (int i = 0; i < 1000; i++)
		same &= ccl_rng_u32(&a) == ccl_rng_u32(&b);
	CHECK(same);
	ccl_rng_init(&a, 123, 3, 4, 5);
	ccl_rng_init(&b, 123, 3, 4, 6);
	int equal = 0;
	for (int i = 0; i < 1000; i++)
		equal += ccl_rng_u32(&a) == ccl_rng_u32(&b);
	CHECK(equal < 3);

	/* Uniform: mean 1/2, variance 1/12. */
	ccl_rng_init(&a, 7, 0, 0, 0);
	double s = 0, s2 = 0;
	int n = 200000;
	for (int i = 0; i < n; i++) {
		double u = ccl_rng_uniform(&a);
		CHECK(u >= 0.0 && u < 1.0);
		s += u;
		s2 += u * u;
	}
	CHECK_NEAR(s / n, 0.5, 0.005);
	CHECK_NEAR(s2 / n - (s / n) * (s / n), 1.0 / 12, 0.003);

	/* ccl_rng_below stays in range and hits every value. */
	int hits[7] = {0};
	for (int i = 0; i < 7000; i++)
		hits[ccl_rng_below(&a, 7)]++;
	for (int i = 0; i < 7; i++)
		CHECK(hits[i] > 850 && hits[i] < 1150);

	/* Gamma(k, 1) has mean k and variance k, for shapes below and above 1. */
	const double shapes[] = {0.3, 1.0, 2.5};
	for (int t = 0; t < 3; t++) {
		double k = shapes[t];
		s = s2 = 0;
		for (int i = 0; i < n; i++) {
			double g = exp(ccl_rng_log_gamma(&a, k));
			s += g;
			s2 += g * g;
		}
		double mean = s / n, var = s2 / n - mean * mean;
		CHECK_NEAR(mean, k, 0.02);
		CHECK_NEAR(var, k, 0.05);
	}

	/* Dirichlet: sums to one, mean 1/k per entry, and at alpha = 0.01 it is
	 * finite instead of 0/0.  NumPy's Generator.dirichlet([0.01] * 10) puts
	 * more than 0.99 on one entry in 66.3% of 200,000 draws. */
	double p[10], mean0 = 0;
	int onehot = 0;
	for (int i = 0; i < 20000; i++) {
		ccl_rng_dirichlet(&a, 0.01, 10, p);
		double sum = 0, max = 0;
		for (int j = 0; j < 10; j++) {
			CHECK(isfinite(p[j]) && p[j] >= 0);
			sum += p[j];
			if (p[j] > max)
				max = p[j];
		}
		CHECK_NEAR(sum, 1.0, 1e-12);
		onehot += max > 0.99;
		mean0 += p[0];
	}
	CHECK_NEAR(mean0 / 20000, 0.1, 0.01);
	CHECK_NEAR(onehot / 20000.0, 0.663, 0.015);

	/* Shuffle is a permutation. */
	uint32_t v[100], seen[100] = {0};
	for (int i = 0; i < 100; i++)
		v[i] = (uint32_t)i;
	ccl_rng_shuffle_u32(&a, v, 100);
	for (int i = 0; i < 100; i++)
		seen[v[i]]++;
	int perm = 1;
	for (int i = 0; i < 100; i++)
		perm &= seen[i] == 1;
	CHECK(perm);
	return unit_report();
}
