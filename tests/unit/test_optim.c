/* Tests of the optimizer step and the learning-rate schedule against cases
 * worked by hand, and of the vectorised loop against a plain double-precision
 * one. */
#include <stdlib.h>
#include <string.h>

#include "optim.h"
#include "rng.h"
#include "unit.h"

/* Two steps on x = 1, m = 0 with lr 0.1, beta 0.9, wd 0.01 and the
 * gradients 0.5 then -0.2 (given, not depending on x):
 *
 * Nesterov
 *   step 1: g = 0.5 + 0.01 * 1 = 0.51
 *           m = 0.9 * 0 + 0.51 = 0.51
 *           d = 0.51 + 0.9 * 0.51 = 0.969
 *           x = 1 - 0.1 * 0.969 = 0.9031
 *   step 2: g = -0.2 + 0.01 * 0.9031 = -0.190969
 *           m = 0.9 * 0.51 - 0.190969 = 0.268031
 *           d = -0.190969 + 0.9 * 0.268031 = 0.0502589
 *           x = 0.9031 - 0.1 * 0.0502589 = 0.89807411
 *
 * Heavy ball (no Nesterov), same numbers:
 *   step 1: g = 0.51, m = 0.51, x = 1 - 0.051 = 0.949
 *   step 2: g = -0.2 + 0.00949 = -0.19051
 *           m = 0.459 - 0.19051 = 0.26849
 *           x = 0.949 - 0.026849 = 0.922151
 *
 * The vectors have 19 elements, all with this case, so that both the blocks
 * of eight and the remainder are exercised. */
static void test_hand_case(int nesterov, double x1, double m1, double x2, double m2)
{
	enum { N = 19 };
	struct ccl_sgd opt = { .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f,
	                       .nesterov = nesterov };
	float x[N], m[N], g1[N], g2[N];
	for (int i = 0; i < N; i++) {
		x[i] = 1.0f;
		m[i] = 0.0f;
		g1[i] = 0.5f;
		g2[i] = -0.2f;
	}
	ccl_sgd_step(&opt, x, m, g1, N);
	int ok = 1;
	for (int i = 0; i < N; i++)
		ok &= fabs(x[i] - x1) < 1e-6 && fabs(m[i] - m1) < 1e-6;
	CHECK_MSG(ok, "%s step 1: x %.8f m %.8f", nesterov ? "nesterov" : "heavy ball", x[0], m[0]);
	CHECK(g1[0] == 0.5f && g1[N - 1] == 0.5f); /* the gradient is only read */
	ccl_sgd_step(&opt, x, m, g2, N);
	for (int i = 0; i < N; i++)
		ok &= fabs(x[i] - x2) < 1e-6 && fabs(m[i] - m2) < 1e-6;
	CHECK_MSG(ok, "%s step 2: x %.8f m %.8f", nesterov ? "nesterov" : "heavy ball", x[0], m[0]);
}

/* Random vectors, three steps, against the formula in double. */
static void test_against_double(int nesterov)
{
	enum { N = 1003 };
	struct ccl_sgd opt = { .lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-4f,
	                       .nesterov = nesterov };
	float *x = malloc(sizeof(float) * N), *m = calloc(N, sizeof(float));
	float *g = malloc(sizeof(float) * N);
	double *xd = malloc(sizeof(double) * N), *md = calloc(N, sizeof(double));
	ccl_rng r;
	ccl_rng_init(&r, 5, 0, 0, 0);
	for (int i = 0; i < N; i++)
		xd[i] = x[i] = (float)(ccl_rng_uniform(&r) - 0.5);
	double worst = 0.0;
	for (int step = 0; step < 3; step++) {
		for (int i = 0; i < N; i++)
			g[i] = (float)(ccl_rng_uniform(&r) - 0.5);
		ccl_sgd_step(&opt, x, m, g, N);
		for (int i = 0; i < N; i++) {
			double gi = g[i] + (double)opt.weight_decay * xd[i];
			md[i] = (double)opt.momentum * md[i] + gi;
			xd[i] -= (double)opt.lr * (nesterov ? gi + (double)opt.momentum * md[i] : md[i]);
		}
	}
	for (int i = 0; i < N; i++)
		worst = fmax(worst, fmax(fabs(x[i] - xd[i]), fabs(m[i] - md[i])));
	CHECK_MSG(worst < 1e-6, "%s: off by %g", nesterov ? "nesterov" : "heavy ball", worst);
	free(x); free(m); free(g); free(xd); free(md);
}

static void test_multistep(void)
{
	/* The paper's schedule for E = 100: divide by 10 at the start of
	 * epochs 50 and 75. */
	int ms[2] = { 50, 75 };
	CHECK(ccl_lr_multistep(0.1, 0, ms, 2, 0.1) == 0.1);
	CHECK(ccl_lr_multistep(0.1, 49, ms, 2, 0.1) == 0.1);
	CHECK_NEAR(ccl_lr_multistep(0.1, 50, ms, 2, 0.1), 0.01, 1e-9);
	CHECK_NEAR(ccl_lr_multistep(0.1, 74, ms, 2, 0.1), 0.01, 1e-9);
	CHECK_NEAR(ccl_lr_multistep(0.1, 75, ms, 2, 0.1), 0.001, 1e-9);
	CHECK_NEAR(ccl_lr_multistep(0.1, 99, ms, 2, 0.1), 0.001, 1e-9);
	/* Order of the milestones does not matter; none means constant; a
	 * milestone at 0 applies from the start. */
	int rev[2] = { 75, 50 };
	CHECK_NEAR(ccl_lr_multistep(0.1, 60, rev, 2, 0.1), 0.01, 1e-9);
	CHECK(ccl_lr_multistep(0.1, 1000, NULL, 0, 0.1) == 0.1);
	int zero[1] = { 0 };
	CHECK_NEAR(ccl_lr_multistep(0.01, 0, zero, 1, 0.5), 0.005, 1e-15);
	/* The factor is a parameter, not a constant 10 (0.01 x 0.5 x 0.5). */
	CHECK(ccl_lr_multistep(0.01, 80, ms, 2, 0.5) == 0.01 * 0.5 * 0.5);
}

int main(void)
{
	test_hand_case(1, 0.9031, 0.51, 0.89807411, 0.268031);
	test_hand_case(0, 0.949, 0.51, 0.922151, 0.26849);
	test_against_double(1);
	test_against_double(0);
	test_multistep();
	return unit_report();
}
