/* Private feature statistics (featstat.h) and their accountant
 * (privacy.h): clipping bounds every row, the noise has the stated standard
 * deviation, suppression withholds exactly the classes below k, a release
 * replays bit for bit and only then, and the accountant matches values
 * worked by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "featstat.h"
#include "privacy.h"
#include "rng.h"
#include "unit.h"

enum { CLASSES = 10, DIM = 84 };

static double row_norm(const float *row, int dim)
{
	double s = 0;
	for (int f = 0; f < dim; f++)
		s += (double)row[f] * row[f];
	return sqrt(s);
}

static void test_clipping(void)
{
	enum { ROWS = 200 };
	float z[ROWS * DIM], before[ROWS * DIM];
	ccl_rng rng;
	ccl_rng_init(&rng, 7, 0, 0, 0);
	/* Rows of norms from about 0.01 to about 100 (scaled normal vectors). */
	for (int b = 0; b < ROWS; b++) {
		double scale = pow(10, -2 + 4.0 * b / ROWS) / sqrt(DIM);
		for (int f = 0; f < DIM; f++)
			z[b * DIM + f] = (float)(scale * ccl_rng_normal(&rng));
	}
	memcpy(before, z, sizeof z);
	const double clip = 1.5;
	ccl_clip_rows(z, ROWS, DIM, clip);
	int clipped = 0;
	for (int b = 0; b < ROWS; b++) {
		double was = row_norm(before + b * DIM, DIM), now = row_norm(z + b * DIM, DIM);
		CHECK_MSG(now <= clip, "row %d has norm %.9g after clipping to %g", b, now, clip);
		if (was <= clip) {
			CHECK(!memcmp(z + b * DIM, before + b * DIM, DIM * sizeof *z));
		} else {
			clipped++;
			CHECK_NEAR(now, clip, 1e-5);
			/* Same direction: each coordinate scaled by now / was. */
			for (int f = 0; f < DIM; f++)
				CHECK_NEAR(z[b * DIM + f], before[b * DIM + f] * now / was, 1e-6);
		}
	}
	CHECK(clipped > 50 && clipped < 150);
	/* clip 0 leaves rows alone. */
	memcpy(z, before, sizeof z);
	ccl_clip_rows(z, ROWS, DIM, 0);
	CHECK(!memcmp(z, before, sizeof z));
}

/* A model to key releases with. */
static void make_model(ccl_agent *m, long agent, uint64_t seed)
{
	CHECK(!ccl_agent_init(m, "lenet5", CLASSES, 1, 28, 28, seed, agent, CCL_ORDER_SHARED));
}

/* Noise on a statistic of zero sums and counts of 1000: over many
 * releases the sums' noise divided by sigma C must look N(0, 1), and the
 * counts' noise (rounded) N(0, sigma^2) plus rounding's variance 1/12.
 * With n draws the sample mean's standard error is sd / sqrt(n) and the
 * sample variance's is about var sqrt(2 / n) (normal data); the bounds are
 * five standard errors, which a correct generator misses with
 * probability below 1e-6 and a wrong scale (a factor of C or sigma off, or
 * no noise) misses by far. */
static void test_noise_scale(void)
{
	enum { RELEASES = 1000 };
	const double sigma = 2.0, clip = 0.5;
	struct ccl_privacy p = {.clip = clip, .noise = sigma, .min_count = 0, .key = 0x1234567890abcdefu};
	ccl_agent model;
	make_model(&model, 3, 1);
	double s1 = 0, s2 = 0, c1 = 0, c2 = 0;
	long n = 0, nc = 0;
	struct ccl_featstat fs;
	ccl_featstat_init(&fs, CLASSES, DIM);
	for (int k = 0; k < RELEASES; k++) {
		ccl_featstat_clear(&fs);
		for (int c = 0; c < CLASSES; c++)
			fs.counts[c] = 1000;
		struct ccl_release r = {.data_agent = 5, .epoch = k / 100, .step = k % 100, .batch = 32, .model = &model};
		ccl_featstat_privatize(&fs, &p, &r);
		for (long i = 0; i < CLASSES * DIM; i++, n++) {
			double u = fs.sums[i] / (sigma * clip);
			s1 += u;
			s2 += u * u;
		}
		for (int c = 0; c < CLASSES; c++, nc++) {
			double d = fs.counts[c] - 1000;
			CHECK(d == floor(d));
			c1 += d;
			c2 += d * d;
		}
	}
	double mean = s1 / n, var = s2 / n - mean * mean;
	CHECK_MSG(fabs(mean) < 5 / sqrt((double)n), "sum noise mean %g over %ld draws", mean, n);
	CHECK_MSG(fabs(var - 1) < 5 * sqrt(2.0 / n), "sum noise variance %g (sigma C)^2 over %ld draws", var, n);
	double cvar_expected = sigma * sigma + 1.0 / 12, cmean = c1 / nc, cvar = c2 / nc - cmean * cmean;
	CHECK_MSG(fabs(cmean) < 5 * sqrt(cvar_expected / nc), "count noise mean %g", cmean);
	CHECK_MSG(fabs(cvar - cvar_expected) < 5 * cvar_expected * sqrt(2.0 / nc), "count noise variance %g, expected %g",
	          cvar, cvar_expected);
	ccl_featstat_free(&fs);
	ccl_agent_free(&model);
}

static void test_suppression(void)
{
	/* Counts 0..9 for classes 0..9, sums c + f / 100; k = 4 withholds
	 * classes 0-3 (sums and counts zero) and keeps 4-9 exactly. */
	struct ccl_privacy p = {.min_count = 4};
	struct ccl_featstat fs;
	ccl_agent model;
	make_model(&model, 0, 1);
	ccl_featstat_init(&fs, CLASSES, DIM);
	for (int c = 0; c < CLASSES; c++) {
		fs.counts[c] = c;
		for (int f = 0; f < DIM; f++)
			fs.sums[c * DIM + f] = c + f / 100.0;
	}
	struct ccl_release r = {.data_agent = 0, .epoch = 0, .step = 0, .model = &model};
	ccl_featstat_privatize(&fs, &p, &r);
	for (int c = 0; c < CLASSES; c++) {
		CHECK(fs.counts[c] == (c < 4 ? 0 : c));
		for (int f = 0; f < DIM; f++)
			CHECK(fs.sums[c * DIM + f] == (c < 4 ? 0 : c + f / 100.0));
	}
	/* With noise, a class whose noisy count rounds to 0 or below is
	 * withheld: a true count of 0 with sigma 0.1 always is. */
	struct ccl_privacy q = {.clip = 1, .noise = 0.1, .min_count = 0, .key = 9};
	ccl_featstat_clear(&fs);
	fs.counts[2] = 50;
	ccl_featstat_privatize(&fs, &q, &r);
	for (int c = 0; c < CLASSES; c++) {
		CHECK(c == 2 ? fs.counts[c] >= 49 && fs.counts[c] <= 51 : fs.counts[c] == 0);
		for (int f = 0; c != 2 && f < DIM; f++)
			CHECK(fs.sums[c * DIM + f] == 0);
	}
	ccl_featstat_free(&fs);
	ccl_agent_free(&model);
}

/* The statistic of one release under key `key`, model `m`, at step `step`. */
static void release(struct ccl_featstat *fs, uint64_t key, const ccl_agent *m, long step, double noise, long batch,
                    uint32_t data_crc)
{
	struct ccl_privacy p = {.clip = 1, .noise = noise, .min_count = 2, .key = key};
	struct ccl_release r = {.data_agent = 1, .epoch = 2, .step = step, .batch = batch, .data_crc = data_crc, .model = m};
	ccl_featstat_init(fs, CLASSES, DIM);
	for (int c = 0; c < CLASSES; c++) {
		fs->counts[c] = 3 * c;
		for (int f = 0; f < DIM; f++)
			fs->sums[c * DIM + f] = sin(c * DIM + f);
	}
	ccl_featstat_privatize(fs, &p, &r);
}

static int same(const struct ccl_featstat *a, const struct ccl_featstat *b)
{
	return !memcmp(a->sums, b->sums, CLASSES * DIM * sizeof *a->sums) &&
	       !memcmp(a->counts, b->counts, CLASSES * sizeof *a->counts);
}

static void test_replay(void)
{
	ccl_agent m, other;
	make_model(&m, 4, 1);
	make_model(&other, 4, 2); /* same agent and iteration, other parameters */
	struct ccl_featstat a, b, v[6];
	release(&a, 42, &m, 7, 1, 32, 5);
	release(&b, 42, &m, 7, 1, 32, 5);
	CHECK(same(&a, &b));
	/* Any other key, step, model, batch size, samples or noise level: other
	 * noise.  (Releases sharing noise would give their difference away.) */
	release(&v[0], 43, &m, 7, 1, 32, 5);
	release(&v[1], 42, &m, 8, 1, 32, 5);
	release(&v[2], 42, &other, 7, 1, 32, 5);
	release(&v[3], 42, &m, 7, 1, 16, 5);
	release(&v[4], 42, &m, 7, 1, 32, 6);
	release(&v[5], 42, &m, 7, 1.5, 32, 5);
	/* Noise 1.5 on the same draws as noise 1 would put every sum 1.5 times
	 * as far from the true one (sin of its index): it must not. */
	int scaled = 1;
	for (int i = 0; i < CLASSES * DIM; i++)
		if (a.counts[i / DIM] > 0 && v[5].counts[i / DIM] > 0)
			scaled &= fabs((v[5].sums[i] - sin(i)) - 1.5 * (a.sums[i] - sin(i))) < 1e-9;
	CHECK(!scaled);
	for (int i = 0; i < 6; i++) {
		CHECK_MSG(!same(&a, &v[i]), "release variant %d shares the noise", i);
		ccl_featstat_free(&v[i]);
	}
	ccl_featstat_free(&a);
	ccl_featstat_free(&b);
	ccl_agent_free(&m);
	ccl_agent_free(&other);
}

static void test_accountant(void)
{
	/* sigma 2: rho = 1/4 (two mechanisms of 1/(2 sigma^2) = 1/8 each).
	 * At delta 1e-5, log(1/delta) = 11.512925465; rho log = 2.878231366,
	 * its root 1.696535106, epsilon = 0.25 + 3.393070212 = 3.643070212. */
	CHECK_NEAR(ccl_privacy_rho(2), 0.25, 1e-15);
	CHECK_NEAR(ccl_privacy_epsilon(0.25, 1e-5), 3.643070212, 1e-9);
	/* sigma 10, 40 releases: rho = 40 / 100 = 0.4.  At delta 1e-6,
	 * log(1/delta) = 13.815510558; rho log = 5.526204223, its root
	 * 2.350788000, epsilon = 0.4 + 4.701576001 = 5.101576001. */
	CHECK_NEAR(40 * ccl_privacy_rho(10), 0.4, 1e-15);
	CHECK_NEAR(ccl_privacy_epsilon(0.4, 1e-6), 5.101576001, 1e-9);
	/* The inverse gives the noise back. */
	CHECK_NEAR(ccl_privacy_noise_for(5.101576001, 1e-6, 40), 10, 1e-8);
	CHECK_NEAR(ccl_privacy_noise_for(3.643070212, 1e-5, 1), 2, 1e-8);

	/* Agent 0: epoch 0 step 0 released twice (rho 1 each), step 1 once;
	 * epoch 1 step 5 twice; one whole-shard release of 0.5: its worst
	 * sample pays max(2, 1) + 2 + 0.5 = 4.5 over 6 releases, 2 epochs.
	 * Agent 1: one release of 0.25.  (Given out of order.) */
	struct ccl_release_record r[] = {
		{0, 1, 5, 32, 1}, {1, 0, 3, 16, 0.25}, {0, 0, 0, 32, 1}, {0, -1, -1, 0, 0.5}, {0, 0, 1, 32, 1},
		{0, 0, 0, 32, 1}, {0, 1, 5, 32, 1},
	};
	struct ccl_privacy_account acc[7];
	long bad = -1;
	int n = ccl_privacy_account(r, 7, acc, &bad);
	CHECK(n == 2);
	CHECK(acc[0].data_agent == 0 && acc[0].releases == 6 && acc[0].epochs == 2);
	CHECK_NEAR(acc[0].rho, 4.5, 1e-15);
	CHECK(acc[1].data_agent == 1 && acc[1].releases == 1 && acc[1].epochs == 1);
	CHECK_NEAR(acc[1].rho, 0.25, 1e-15);
	/* Agent 1 again with a batch of 8 beside its 16: refused. */
	struct ccl_release_record mixed[] = {{1, 0, 3, 16, 0.25}, {1, 1, 0, 8, 0.25}};
	CHECK(ccl_privacy_account(mixed, 2, acc, &bad) == -1 && bad == 1);
}

int main(void)
{
	test_clipping();
	test_noise_scale();
	test_suppression();
	test_replay();
	test_accountant();
	return unit_report();
}
