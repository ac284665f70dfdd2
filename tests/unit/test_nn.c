/* Tests of the layers in nn.c, each against an independent reference:
 *   - forward passes against naive loops written here (a direct six-loop
 *     convolution, a window-by-window max-pool, ...);
 *   - every backward pass against central finite differences of the scalar
 *     L = sum(out * R) for a fixed random R, so that dout = R;
 *   - softmax cross-entropy against a case worked by hand.
 * The group normalisations are smooth, not piecewise linear, away from
 * hardsigmoid's kinks at +-3; with the same step their differences carry
 * an error of order EPS^2 (about 1e-4), within the same tolerance.
 *
 * Every layer here is linear or piecewise linear in each of its inputs, so a
 * central difference is exact up to float rounding, provided the step does
 * not cross a kink; inputs are drawn away from the kinks (ReLU at 0, ties in
 * a max-pool).  With EPS = 1e-2 and sums of a few hundred terms of order 1,
 * rounding puts about 1e-4 of noise on a difference: the tolerance is
 * 2e-3 * max(1, |gradient|).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "rng.h"
#include "unit.h"

#define EPS 1e-2f
#define TOL 2e-3

static ccl_rng rng;

static float *random_floats(size_t n, float lo, float hi)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		p[i] = lo + (hi - lo) * (float)ccl_rng_uniform(&rng);
	return p;
}

/* Uniform in +-[0.1, 1]: never near ReLU's kink. */
static float *away_from_zero(size_t n)
{
	float *p = malloc(sizeof(float) * n);
	for (size_t i = 0; i < n; i++) {
		float v = 0.1f + 0.9f * (float)ccl_rng_uniform(&rng);
		p[i] = ccl_rng_u32(&rng) & 1 ? v : -v;
	}
	return p;
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

/* The layer under test, as a scalar function of its arguments:
 * L = sum(out * R), recomputed for each finite difference. */
typedef double (*loss_fn)(void *ctx);

/* Checks grad[i] against (L(x + EPS) - L(x - EPS)) / 2 EPS for every
 * element of x, and prints the first few mismatches under `what`. */
static void check_gradient(const char *what, loss_fn loss, void *ctx,
                           float *x, const float *grad, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		float keep = x[i];
		x[i] = keep + EPS;
		double up = loss(ctx);
		x[i] = keep - EPS;
		double down = loss(ctx);
		x[i] = keep;
		double fd = (up - down) / (2.0 * EPS);
		double scale = fabs(fd) > 1.0 ? fabs(fd) : 1.0;
		if (fabs(fd - grad[i]) > TOL * scale) {
			if (bad < 5)
				fprintf(stderr, "%s[%zu]: analytic %.6g, finite difference %.6g\n",
				        what, i, grad[i], fd);
			bad++;
		}
	}
	CHECK_MSG(bad == 0, "%s: %d of %zu gradients off", what, bad, n);
}

/* ---- linear ---- */

struct linear_case {
	int batch, in_dim, out_dim;
	float *in, *w, *b, *r, *out;
};

static double linear_loss(void *ctx)
{
	struct linear_case *t = ctx;
	ccl_linear_forward(t->out, t->in, t->w, t->b, t->batch, t->in_dim, t->out_dim);
	return dot(t->out, t->r, (size_t)t->batch * t->out_dim);
}

static void test_linear(void)
{
	struct linear_case t = { .batch = 3, .in_dim = 7, .out_dim = 5 };
	size_t ni = (size_t)t.batch * t.in_dim, nw = (size_t)t.out_dim * t.in_dim;
	size_t no = (size_t)t.batch * t.out_dim;
	t.in = random_floats(ni, -1, 1);
	t.w = random_floats(nw, -1, 1);
	t.b = random_floats((size_t)t.out_dim, -1, 1);
	t.r = random_floats(no, -1, 1);
	t.out = malloc(sizeof(float) * no);

	/* Forward against the definition out = in w^T + b. */
	ccl_linear_forward(t.out, t.in, t.w, t.b, t.batch, t.in_dim, t.out_dim);
	double worst = 0.0;
	for (int i = 0; i < t.batch; i++)
		for (int o = 0; o < t.out_dim; o++) {
			double s = t.b[o];
			for (int j = 0; j < t.in_dim; j++)
				s += (double)t.in[i * t.in_dim + j] * t.w[o * t.in_dim + j];
			worst = fmax(worst, fabs(s - t.out[i * t.out_dim + o]));
		}
	CHECK_NEAR(worst, 0.0, 1e-5);

	/* No bias. */
	ccl_linear_forward(t.out, t.in, t.w, NULL, t.batch, t.in_dim, t.out_dim);
	CHECK_NEAR(t.out[0], dot(t.in, t.w, (size_t)t.in_dim), 1e-5);

	float *din = malloc(sizeof(float) * ni), *dw = malloc(sizeof(float) * nw);
	float *db = malloc(sizeof(float) * (size_t)t.out_dim);
	/* dw and db are overwritten, not accumulated: start from garbage. */
	for (size_t i = 0; i < nw; i++)
		dw[i] = 1e6f;
	ccl_linear_backward(din, dw, db, t.r, t.in, t.w, t.batch, t.in_dim, t.out_dim);
	check_gradient("linear din", linear_loss, &t, t.in, din, ni);
	check_gradient("linear dw", linear_loss, &t, t.w, dw, nw);
	check_gradient("linear db", linear_loss, &t, t.b, db, (size_t)t.out_dim);

	/* din may be NULL; dw must come out the same. */
	float *dw2 = malloc(sizeof(float) * nw);
	ccl_linear_backward(NULL, dw2, NULL, t.r, t.in, t.w, t.batch, t.in_dim, t.out_dim);
	CHECK(memcmp(dw, dw2, sizeof(float) * nw) == 0);

	free(t.in); free(t.w); free(t.b); free(t.r); free(t.out);
	free(din); free(dw); free(db); free(dw2);
}

/* ---- convolution ---- */

struct conv_case {
	int batch, c, h, w, oc, k, stride, pad;
	int oh, ow;
	float *in, *wt, *b, *r, *out, *col;
};

/* The definition, six loops deep (plus batch), in double. */
static void conv_naive(const struct conv_case *t, const float *b, double *out)
{
	for (int i = 0; i < t->batch; i++)
		for (int o = 0; o < t->oc; o++)
			for (int y = 0; y < t->oh; y++)
				for (int x = 0; x < t->ow; x++) {
					double s = b ? b[o] : 0.0;
					for (int ci = 0; ci < t->c; ci++)
						for (int ki = 0; ki < t->k; ki++)
							for (int kj = 0; kj < t->k; kj++) {
								int iy = y * t->stride - t->pad + ki;
								int ix = x * t->stride - t->pad + kj;
								if (iy < 0 || iy >= t->h || ix < 0 || ix >= t->w)
									continue;
								s += (double)t->in[((i * t->c + ci) * t->h + iy) * t->w + ix] *
								     t->wt[((o * t->c + ci) * t->k + ki) * t->k + kj];
							}
					out[((i * t->oc + o) * t->oh + y) * t->ow + x] = s;
				}
}

static double conv_loss(void *ctx)
{
	struct conv_case *t = ctx;
	ccl_conv2d_forward(t->out, t->in, t->wt, t->b, t->col, t->batch, t->c, t->h, t->w,
	                   t->oc, t->k, t->stride, t->pad);
	return dot(t->out, t->r, (size_t)t->batch * t->oc * t->oh * t->ow);
}

static void test_conv(int batch, int c, int h, int w, int oc, int k, int stride, int pad,
                      int check_backward)
{
	struct conv_case t = { batch, c, h, w, oc, k, stride, pad, 0, 0, 0, 0, 0, 0, 0, 0 };
	char what[96];
	t.oh = ccl_conv2d_out_dim(h, k, stride, pad);
	t.ow = ccl_conv2d_out_dim(w, k, stride, pad);
	size_t ni = (size_t)batch * c * h * w, nw = (size_t)oc * c * k * k;
	size_t no = (size_t)batch * oc * t.oh * t.ow;
	t.in = random_floats(ni, -1, 1);
	t.wt = random_floats(nw, -1, 1);
	t.b = random_floats((size_t)oc, -1, 1);
	t.r = random_floats(no, -1, 1);
	t.out = malloc(sizeof(float) * no);
	t.col = malloc(sizeof(float) * ccl_conv2d_col_size(c, h, w, oc, k, stride, pad));
	double *ref = malloc(sizeof(double) * no);

	snprintf(what, sizeof what, "conv %dx%dx%dx%d -> %d, k %d, stride %d, pad %d",
	         batch, c, h, w, oc, k, stride, pad);
	for (int with_bias = 0; with_bias < 2; with_bias++) {
		const float *b = with_bias ? t.b : NULL;
		ccl_conv2d_forward(t.out, t.in, t.wt, b, t.col, batch, c, h, w, oc, k, stride, pad);
		conv_naive(&t, b, ref);
		double worst = 0.0;
		for (size_t i = 0; i < no; i++)
			worst = fmax(worst, fabs(ref[i] - t.out[i]));
		CHECK_MSG(worst < 1e-5, "%s%s: forward off by %g", what,
		          with_bias ? "" : " (no bias)", worst);
	}

	if (check_backward) {
		float *din = malloc(sizeof(float) * ni), *dw = malloc(sizeof(float) * nw);
		float *db = malloc(sizeof(float) * (size_t)oc);
		char name[128];
		for (size_t i = 0; i < ni; i++)
			din[i] = 1e6f; /* overwritten, not accumulated */
		for (size_t i = 0; i < nw; i++)
			dw[i] = 1e6f;
		ccl_conv2d_backward(din, dw, db, t.r, t.in, t.wt, t.col, batch, c, h, w,
		                    oc, k, stride, pad);
		snprintf(name, sizeof name, "%s: din", what);
		check_gradient(name, conv_loss, &t, t.in, din, ni);
		snprintf(name, sizeof name, "%s: dw", what);
		check_gradient(name, conv_loss, &t, t.wt, dw, nw);
		snprintf(name, sizeof name, "%s: db", what);
		check_gradient(name, conv_loss, &t, t.b, db, (size_t)oc);

		/* Without din (a first layer) the weight gradient is the same. */
		float *dw2 = malloc(sizeof(float) * nw);
		ccl_conv2d_backward(NULL, dw2, NULL, t.r, t.in, t.wt, t.col, batch, c, h, w,
		                    oc, k, stride, pad);
		CHECK_MSG(memcmp(dw, dw2, sizeof(float) * nw) == 0, "%s: dw without din", what);
		free(din); free(dw); free(db); free(dw2);
	}
	free(t.in); free(t.wt); free(t.b); free(t.r); free(t.out); free(t.col); free(ref);
}

/* ---- ReLU ---- */

struct relu_case {
	size_t n;
	float *in, *r, *out;
};

static double relu_loss(void *ctx)
{
	struct relu_case *t = ctx;
	ccl_relu_forward(t->out, t->in, t->n);
	return dot(t->out, t->r, t->n);
}

static void test_relu(void)
{
	struct relu_case t = { .n = 37 }; /* not a multiple of 8: the tail runs too */
	t.in = away_from_zero(t.n);
	t.r = random_floats(t.n, -1, 1);
	t.out = malloc(sizeof(float) * t.n);
	float *din = malloc(sizeof(float) * t.n);

	ccl_relu_forward(t.out, t.in, t.n);
	int ok = 1;
	for (size_t i = 0; i < t.n; i++)
		ok &= t.out[i] == (t.in[i] > 0 ? t.in[i] : 0.0f);
	CHECK(ok);
	ccl_relu_backward(din, t.r, t.out, t.n);
	check_gradient("relu din", relu_loss, &t, t.in, din, t.n);

	/* In place, and the mask taken from the input instead of the output
	 * (the finite differences left t.out perturbed: recompute it). */
	ccl_relu_forward(t.out, t.in, t.n);
	float *copy = malloc(sizeof(float) * t.n), *d2 = malloc(sizeof(float) * t.n);
	memcpy(copy, t.in, sizeof(float) * t.n);
	ccl_relu_forward(copy, copy, t.n);
	CHECK(memcmp(copy, t.out, sizeof(float) * t.n) == 0);
	memcpy(d2, t.r, sizeof(float) * t.n);
	ccl_relu_backward(d2, d2, t.in, t.n);
	CHECK(memcmp(d2, din, sizeof(float) * t.n) == 0);
	free(t.in); free(t.r); free(t.out); free(din); free(copy); free(d2);
}

/* The residual addition, into a third buffer and in place on either
 * operand, every element (37: blocks of eight and a remainder). */
static void test_add(void)
{
	enum { N = 37 };
	float *a = random_floats(N, -1, 1), *b = random_floats(N, -1, 1), out[N], x[N], y[N];
	int ok = 1;
	ccl_add(out, a, b, N);
	memcpy(x, a, sizeof x);
	ccl_add(x, x, b, N);
	memcpy(y, b, sizeof y);
	ccl_add(y, a, y, N);
	for (int i = 0; i < N; i++)
		ok &= out[i] == a[i] + b[i] && x[i] == out[i] && y[i] == out[i];
	CHECK(ok);
	free(a); free(b);
}

/* ---- pooling ---- */

struct pool_case {
	int batch, c, h, w, k, stride, relu;
	int oh, ow;
	float *in, *r, *out;
	int32_t *argmax;
};

static double pool_loss(void *ctx)
{
	struct pool_case *t = ctx;
	if (t->relu)
		ccl_maxpool2d_relu_forward(t->out, t->argmax, t->in, t->batch, t->c, t->h, t->w,
		                           t->k, t->stride);
	else
		ccl_maxpool2d_forward(t->out, t->argmax, t->in, t->batch, t->c, t->h, t->w,
		                      t->k, t->stride);
	return dot(t->out, t->r, (size_t)t->batch * t->c * t->oh * t->ow);
}

static void test_maxpool(int batch, int c, int h, int w, int k, int stride, int relu)
{
	struct pool_case t = { batch, c, h, w, k, stride, relu, 0, 0, 0, 0, 0, 0 };
	char what[96];
	t.oh = (h - k) / stride + 1;
	t.ow = (w - k) / stride + 1;
	size_t ni = (size_t)batch * c * h * w, no = (size_t)batch * c * t.oh * t.ow;
	/* Distinct values at least 0.01 apart, half negative, shuffled: no ties
	 * within EPS, no maximum within EPS of ReLU's kink. */
	t.in = malloc(sizeof(float) * ni);
	uint32_t *order = malloc(sizeof(uint32_t) * ni);
	for (size_t i = 0; i < ni; i++)
		order[i] = (uint32_t)i;
	ccl_rng_shuffle_u32(&rng, order, ni);
	for (size_t i = 0; i < ni; i++)
		t.in[i] = 0.05f * ((float)order[i] - (float)ni / 2.0f) + 0.025f;
	free(order);
	t.r = random_floats(no, -1, 1);
	t.out = malloc(sizeof(float) * no);
	t.argmax = malloc(sizeof(int32_t) * no);

	snprintf(what, sizeof what, "maxpool%s %dx%dx%dx%d, k %d, stride %d",
	         relu ? "+relu" : "", batch, c, h, w, k, stride);
	pool_loss(&t);
	int ok = 1;
	for (int pl = 0; pl < batch * c; pl++)
		for (int y = 0; y < t.oh; y++)
			for (int x = 0; x < t.ow; x++) {
				const float *plane = t.in + (size_t)pl * h * w;
				float m = -INFINITY;
				int at = -1;
				for (int ki = 0; ki < k; ki++)
					for (int kj = 0; kj < k; kj++) {
						int idx = (y * stride + ki) * w + x * stride + kj;
						if (plane[idx] > m) {
							m = plane[idx];
							at = idx;
						}
					}
				size_t o = ((size_t)pl * t.oh + y) * t.ow + x;
				if (relu && m < 0)
					m = 0;
				ok &= t.out[o] == m && t.argmax[o] == at;
			}
	CHECK_MSG(ok, "%s: forward", what);

	float *din = malloc(sizeof(float) * ni);
	for (size_t i = 0; i < ni; i++)
		din[i] = 1e6f; /* every element must be written */
	if (relu)
		ccl_maxpool2d_relu_backward(din, t.r, t.out, t.argmax, batch, c, h, w, k, stride);
	else
		ccl_maxpool2d_backward(din, t.r, t.argmax, batch, c, h, w, k, stride);
	check_gradient(what, pool_loss, &t, t.in, din, ni);
	free(t.in); free(t.r); free(t.out); free(t.argmax); free(din);
}

/* Ties: the first maximum in row-major order wins, in both paths. */
static void test_maxpool_ties(void)
{
	float in[2 * 16] = { 0 }, out[4 * 2];
	int32_t am[4 * 2];
	ccl_maxpool2d_forward(out, am, in, 1, 2, 4, 4, 2, 2);
	CHECK(am[0] == 0 && am[1] == 2 && am[2] == 8 && am[3] == 10);
	ccl_maxpool2d_forward(out, am, in, 1, 1, 4, 4, 3, 1);
	CHECK(am[0] == 0 && am[1] == 1 && am[2] == 4 && am[3] == 5);
}

struct gap_case {
	int batch, c, h, w;
	float *in, *r, *out;
};

static double gap_loss(void *ctx)
{
	struct gap_case *t = ctx;
	ccl_global_avgpool_forward(t->out, t->in, t->batch, t->c, t->h, t->w);
	return dot(t->out, t->r, (size_t)t->batch * t->c);
}

static void test_global_avgpool(void)
{
	struct gap_case t = { 2, 3, 4, 5, 0, 0, 0 };
	size_t ni = 2 * 3 * 4 * 5;
	t.in = random_floats(ni, -1, 1);
	t.r = random_floats(6, -1, 1);
	t.out = malloc(sizeof(float) * 6);
	gap_loss(&t);
	double s = 0;
	for (int i = 0; i < 20; i++)
		s += t.in[20 + i]; /* sample 0, channel 1 */
	CHECK_NEAR(t.out[1], s / 20, 1e-6);
	float *din = malloc(sizeof(float) * ni);
	ccl_global_avgpool_backward(din, t.r, 2, 3, 4, 5);
	check_gradient("global avgpool", gap_loss, &t, t.in, din, ni);
	free(t.in); free(t.r); free(t.out); free(din);
}

/* ---- group normalisations ---- */

struct norm_case {
	int evo, batch, c, hw, groups;
	float *in, *gamma, *beta, *r, *out, *stats;
};

static void norm_forward(struct norm_case *t)
{
	if (t->evo)
		ccl_evonorm_s0_forward(t->out, t->stats, t->in, t->gamma, t->beta, t->batch, t->c, t->hw, t->groups,
		                       1e-5f);
	else
		ccl_groupnorm_forward(t->out, t->stats, t->in, t->gamma, t->beta, t->batch, t->c, t->hw, t->groups,
		                      1e-5f);
}

static double norm_loss(void *ctx)
{
	struct norm_case *t = ctx;
	norm_forward(t);
	return dot(t->out, t->r, (size_t)t->batch * t->c * t->hw);
}

/* The definitions (nn.h), one group at a time, in double. */
static void norm_naive(const struct norm_case *t, double *out)
{
	int cg = t->c / t->groups, n = cg * t->hw;
	for (int b = 0; b < t->batch; b++)
		for (int g = 0; g < t->groups; g++) {
			const float *x = t->in + ((size_t)b * t->c + (size_t)g * cg) * t->hw;
			double mean = 0, var = 0;
			for (int i = 0; i < n; i++)
				mean += x[i];
			mean /= n;
			for (int i = 0; i < n; i++)
				var += (x[i] - mean) * (x[i] - mean);
			var /= n;
			for (int i = 0; i < n; i++) {
				int ch = g * cg + i / t->hw;
				double hs = fmin(1.0, fmax(0.0, x[i] / 6.0 + 0.5));
				double v = t->evo ? x[i] * hs : x[i] - mean;
				out[((size_t)b * t->c + (size_t)g * cg) * t->hw + i] =
					v / sqrt(var + 1e-5) * t->gamma[ch] + t->beta[ch];
			}
		}
}

/* Inputs mostly inside (-2.5, 2.5), where hardsigmoid is linear, and some
 * beyond +-3.5, where it is flat: never within the step of its kinks. */
static void test_norm(int evo, int batch, int c, int hw, int groups)
{
	struct norm_case t = {evo, batch, c, hw, groups, 0, 0, 0, 0, 0, 0};
	size_t n = (size_t)batch * c * hw;
	char what[96];
	t.in = random_floats(n, -2.5f, 2.5f);
	for (size_t i = 0; i < n; i += 5)
		t.in[i] = (t.in[i] > 0 ? 3.5f : -3.5f) + t.in[i] / 2.5f;
	t.gamma = random_floats((size_t)c, 0.5f, 1.5f);
	t.beta = random_floats((size_t)c, -0.5f, 0.5f);
	t.r = random_floats(n, -1, 1);
	t.out = malloc(sizeof(float) * n);
	t.stats = malloc(sizeof(float) * (size_t)batch * groups * 2);
	double *ref = malloc(sizeof(double) * n);
	snprintf(what, sizeof what, "%s %dx%dx%d, %d groups", evo ? "evonorm-s0" : "groupnorm", batch, c, hw, groups);

	norm_forward(&t);
	norm_naive(&t, ref);
	double worst = 0.0;
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, fabs(ref[i] - t.out[i]));
	CHECK_MSG(worst < 1e-5, "%s: forward off by %g", what, worst);

	float *din = malloc(sizeof(float) * n), *dg = malloc(sizeof(float) * (size_t)c);
	float *db = malloc(sizeof(float) * (size_t)c);
	for (int i = 0; i < c; i++)
		dg[i] = db[i] = 1e6f; /* overwritten, not accumulated */
	norm_forward(&t);
	if (evo)
		ccl_evonorm_s0_backward(din, dg, db, t.r, t.in, t.stats, t.gamma, batch, c, hw, groups);
	else
		ccl_groupnorm_backward(din, dg, db, t.r, t.in, t.stats, t.gamma, batch, c, hw, groups);
	char name[128];
	snprintf(name, sizeof name, "%s: din", what);
	check_gradient(name, norm_loss, &t, t.in, din, n);
	snprintf(name, sizeof name, "%s: dgamma", what);
	check_gradient(name, norm_loss, &t, t.gamma, dg, (size_t)c);
	snprintf(name, sizeof name, "%s: dbeta", what);
	check_gradient(name, norm_loss, &t, t.beta, db, (size_t)c);
	free(t.in); free(t.gamma); free(t.beta); free(t.r); free(t.out); free(t.stats); free(ref);
	free(din); free(dg); free(db);
}

/* ---- loss ---- */

struct xent_case {
	int batch, classes;
	float *logits;
	int32_t *labels;
};

static double xent_loss(void *ctx)
{
	struct xent_case *t = ctx;
	return ccl_softmax_xent(t->logits, t->labels, t->batch, t->classes, NULL);
}

static void test_softmax_xent(void)
{
	/* By hand: logits (1, 2, 3), label 2.  log(e + e^2 + e^3) - 3
	 * = log(2.718282 + 7.389056 + 20.085537) - 3 = log(30.192875) - 3
	 * = 3.40760596 - 3 = 0.40760596.  The gradient is softmax - onehot:
	 * softmax = (0.09003057, 0.24472847, 0.66524096). */
	float logits[3] = { 1, 2, 3 }, d[3];
	int32_t label = 2;
	CHECK_NEAR(ccl_softmax_xent(logits, &label, 1, 3, d), 0.40760596, 1e-6);
	CHECK_NEAR(d[0], 0.09003057, 1e-6);
	CHECK_NEAR(d[1], 0.24472847, 1e-6);
	CHECK_NEAR(d[2], 0.66524096 - 1.0, 1e-6);

	/* The mean over the batch: add a row with label 0, loss
	 * log(e + e^2 + e^3) - 1 = 2.40760596; mean 1.40760596, and every
	 * gradient is halved. */
	float two[6] = { 1, 2, 3, 1, 2, 3 }, d2[6];
	int32_t labels[2] = { 2, 0 };
	CHECK_NEAR(ccl_softmax_xent(two, labels, 2, 3, d2), 1.40760596, 1e-6);
	CHECK_NEAR(d2[2], (0.66524096 - 1.0) / 2, 1e-6);
	CHECK_NEAR(d2[3], (0.09003057 - 1.0) / 2, 1e-6);

	/* Numerically stable: shifting all logits by 1000 changes nothing, and
	 * a huge gap gives a finite loss. */
	float shifted[3] = { 1001, 1002, 1003 };
	CHECK_NEAR(ccl_softmax_xent(shifted, &label, 1, 3, d), 0.40760596, 1e-6);
	float wide[3] = { 1000, 0, -1000 };
	int32_t last = 2;
	float big = ccl_softmax_xent(wide, &last, 1, 3, d);
	CHECK(isfinite(big) && fabs(big - 2000.0) < 1e-3);
	CHECK(isfinite(d[0]) && fabs(d[0] - 1.0) < 1e-6 && fabs(d[2] + 1.0) < 1e-6);

	/* Finite differences on a random case. */
	struct xent_case t = { 4, 5, random_floats(20, -3, 3), malloc(sizeof(int32_t) * 4) };
	for (int i = 0; i < 4; i++)
		t.labels[i] = (int32_t)ccl_rng_below(&rng, 5);
	float dl[20];
	ccl_softmax_xent(t.logits, t.labels, 4, 5, dl);
	check_gradient("softmax xent", xent_loss, &t, t.logits, dl, 20);

	/* count_correct: row maxima at 2, 0 (tie with 1: the first wins), 1. */
	float rows[9] = { 0, 1, 5, 3, 3, 0, -1, 2, 1 };
	int32_t lab[3] = { 2, 0, 1 }, wrong[3] = { 0, 1, 2 };
	CHECK(ccl_count_correct(rows, lab, 3, 3) == 3);
	CHECK(ccl_count_correct(rows, wrong, 3, 3) == 0);
	free(t.logits); free(t.labels);
}

int main(void)
{
	ccl_rng_init(&rng, 2024, 0, 0, 0);

	test_linear();

	/* Stride 1, the strip layout: LeNet-like padding 2 and 0, the
	 * weight gradient both ways round (OC below 16 and 16), H != W. */
	test_conv(2, 1, 7, 9, 3, 5, 1, 2, 1);
	test_conv(2, 3, 8, 6, 4, 3, 1, 0, 1);
	test_conv(2, 2, 5, 6, 16, 3, 1, 1, 1);
	test_conv(1, 2, 6, 5, 17, 5, 1, 2, 1);
	/* Stride 2, the im2col layout, padding 1 and 2, H != W. */
	test_conv(2, 3, 7, 9, 4, 3, 2, 1, 1);
	test_conv(2, 2, 9, 6, 3, 5, 2, 2, 1);
	test_conv(1, 2, 8, 8, 16, 3, 2, 0, 1);
	/* Stride 3 with padding 2: some rows and columns of the 5x5 window
	 * fall wholly outside the image. */
	test_conv(2, 2, 10, 11, 3, 5, 3, 2, 1);
	/* ResNet-20's: 3x3 without bias at stride 1 and 2, the 1x1 shortcut at
	 * stride 2 (test_conv checks with and without a bias either way). */
	test_conv(2, 16, 8, 8, 16, 3, 1, 1, 1);
	test_conv(2, 16, 8, 7, 32, 3, 2, 1, 1);
	test_conv(2, 16, 7, 7, 32, 1, 2, 0, 1);
	/* Forward only, at LeNet-5's own sizes. */
	test_conv(3, 1, 28, 28, 6, 5, 1, 2, 0);
	test_conv(3, 6, 14, 14, 16, 5, 1, 0, 0);

	test_relu();
	test_add();

	test_maxpool(2, 3, 6, 8, 2, 2, 0);  /* the 2x2 fast path */
	test_maxpool(2, 3, 6, 8, 2, 2, 1);  /* ... with the fused ReLU */
	test_maxpool(1, 2, 7, 5, 2, 2, 0);  /* odd sizes: a row and a column left over */
	test_maxpool(1, 2, 7, 5, 2, 2, 1);
	test_maxpool(1, 2, 7, 9, 3, 2, 0);  /* overlapping windows */
	test_maxpool(1, 2, 7, 9, 3, 2, 1);
	test_maxpool(2, 1, 6, 6, 3, 3, 0);  /* tiling windows other than 2x2 */
	test_maxpool_ties();
	test_global_avgpool();

	test_norm(1, 2, 16, 9, 8);  /* EvoNorm-S0, 2 channels a group, as ResNet-20's first stage */
	test_norm(1, 3, 12, 5, 3);
	test_norm(0, 2, 16, 9, 2);  /* GroupNorm, 8 channels a group */
	test_norm(0, 2, 6, 7, 3);
	test_norm(1, 2, 16, 49, 8); /* 7x7: blocks of eight, of four and a remainder */
	test_norm(1, 2, 6, 6, 3);   /* remainders of 2 and 3 values, and fewer than four */
	test_norm(0, 2, 4, 2, 2);
	test_norm(1, 1, 4, 3, 2);

	test_softmax_xent();
	return unit_report();
}
