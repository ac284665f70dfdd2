/* Tests of the architectures in model.c: shapes and the parameter table,
 * argument checking, initialisation, and the whole network's gradient
 * against finite differences.
 *
 * The gradient test uses the loss the training step will use,
 *     L = mean cross-entropy(logits) + sum(R * features)
 * with a fixed random R, so the feature term's gradient is R and enters
 * through ccl_net_backward's dfeatures.  For a few random coordinates of
 * every tensor it compares the analytic gradient with a central difference
 * of L, recomputed by a full forward pass.
 *
 * The network runs in float and is only piecewise smooth (ReLU, max-pool).
 * The step, 3e-4, is a compromise: float rounding puts about 2e-7 of noise
 * on L, so about 3e-4 on the quotient, while larger steps cross kinks too
 * often (measured: 94 of 400 coordinates at 1e-2, 5 at 3e-4).  Where the
 * forward and backward quotients disagree a kink is within the step and the
 * coordinate is replaced by another; elsewhere |analytic - central| must stay
 * within 2e-3 + 1e-2 * |central|.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "nn.h"
#include "rng.h"
#include "unit.h"

static ccl_rng rng;

static void test_shapes(void)
{
	ccl_net *net = ccl_net_create("lenet5", 10, 1, 28, 28);
	CHECK(net != NULL);
	if (!net)
		return;
	CHECK(ccl_net_param_count(net) == 61706);
	CHECK(ccl_net_feature_dim(net) == 84);
	CHECK(ccl_net_classes(net) == 10);
	CHECK(ccl_net_input_dim(net) == 784);
	CHECK(strcmp(ccl_net_arch(net), "lenet5") == 0);
	CHECK(ccl_net_tensor_count(net) == 10);

	/* The table as PyTorch names and shapes it, back to back in the
	 * vector. */
	static const struct { const char *name; int ndim, shape[4]; } want[10] = {
		{ "conv1.weight", 4, { 6, 1, 5, 5 } }, { "conv1.bias", 1, { 6 } },
		{ "conv2.weight", 4, { 16, 6, 5, 5 } }, { "conv2.bias", 1, { 16 } },
		{ "fc1.weight", 2, { 120, 400 } }, { "fc1.bias", 1, { 120 } },
		{ "fc2.weight", 2, { 84, 120 } }, { "fc2.bias", 1, { 84 } },
		{ "fc3.weight", 2, { 10, 84 } }, { "fc3.bias", 1, { 10 } },
	};
	size_t offset = 0;
	for (int i = 0; i < 10; i++) {
		const struct ccl_param_tensor *t = ccl_net_tensor(net, i);
		size_t size = 1;
		int same = t && strcmp(t->name, want[i].name) == 0 && t->ndim == want[i].ndim;
		for (int d = 0; same && d < t->ndim; d++) {
			same &= t->shape[d] == want[i].shape[d];
			size *= (size_t)want[i].shape[d];
		}
		CHECK_MSG(same && t->offset == offset && t->size == size, "tensor %d (%s)",
		          i, want[i].name);
		offset += size;
	}
	CHECK(offset == 61706);
	CHECK(ccl_net_tensor(net, -1) == NULL && ccl_net_tensor(net, 10) == NULL);
	ccl_net_free(net);

	/* Any number of channels, any number of classes. */
	net = ccl_net_create("lenet5", 7, 3, 28, 28);
	CHECK(net && ccl_net_param_count(net) == 61706 + 2 * 150 - 3 * 85);
	ccl_net_free(net);

	/* MLP: 784*200+200 + 200*200+200 + 200*10+10. */
	net = ccl_net_create("mlp", 10, 1, 28, 28);
	CHECK(net && ccl_net_param_count(net) == 199210 && ccl_net_feature_dim(net) == 200);
	CHECK(net && ccl_net_tensor_count(net) == 6);
	ccl_net_free(net);
	ccl_net_free(NULL);
}

static void test_bad_arguments(void)
{
	CHECK(ccl_net_create("resnet99", 10, 1, 28, 28) == NULL);
	CHECK(ccl_error_status() == CCL_EXIT_INPUT);
	CHECK(strstr(ccl_error_message(), "unknown architecture 'resnet99'") != NULL);
	CHECK(ccl_net_create(NULL, 10, 1, 28, 28) == NULL);
	CHECK(ccl_net_create("lenet5", 10, 3, 32, 32) == NULL);
	CHECK(ccl_error_status() == CCL_EXIT_INPUT);
	CHECK(strstr(ccl_error_message(), "28x28") != NULL);
	CHECK(ccl_net_create("lenet5", 1, 1, 28, 28) == NULL);
	CHECK(ccl_net_create("mlp", 10, 0, 28, 28) == NULL);
	CHECK(ccl_net_create("mlp", 10, 1, -28, 28) == NULL);
}

static void test_init(void)
{
	ccl_net *net = ccl_net_create("lenet5", 10, 1, 28, 28);
	size_t n = ccl_net_param_count(net);
	float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);

	ccl_net_init_params(net, 42, a);
	ccl_net_init_params(net, 42, b);
	CHECK(memcmp(a, b, sizeof(float) * n) == 0);
	ccl_net_init_params(net, 43, b);
	size_t same = 0;
	for (size_t i = 0; i < n; i++)
		same += a[i] == b[i];
	CHECK(same < 10);

	/* Every tensor stays inside +-1/sqrt(fan_in) and, being uniform,
	 * reaches close to it and averages near zero.  fan_in: 25, 150, 400,
	 * 120, 84 for the five layers; a bias shares its layer's. */
	static const int fan_in[10] = { 25, 25, 150, 150, 400, 400, 120, 120, 84, 84 };
	for (int i = 0; i < 10; i++) {
		const struct ccl_param_tensor *t = ccl_net_tensor(net, i);
		double bound = 1.0 / sqrt(fan_in[i]), biggest = 0.0, sum = 0.0;
		for (size_t e = 0; e < t->size; e++) {
			biggest = fmax(biggest, fabs(a[t->offset + e]));
			sum += a[t->offset + e];
		}
		CHECK_MSG(biggest <= bound, "%s: |x| up to %g, bound %g", t->name, biggest, bound);
		if (t->size >= 100) {
			CHECK_MSG(biggest > 0.95 * bound, "%s: |x| only up to %g of %g", t->name,
			          biggest, bound);
			CHECK_MSG(fabs(sum / t->size) < 0.2 * bound, "%s: mean %g", t->name,
			          sum / t->size);
		}
	}
	free(a); free(b);
	ccl_net_free(net);
}

/* L = mean CE + sum(R * features), with the forward pass it needs. */
static double full_loss(ccl_net *net, const float *params, const float *input, int batch,
                        const int32_t *labels, const float *r)
{
	ccl_net_forward(net, params, input, batch);
	double loss = ccl_softmax_xent(ccl_net_logits(net), labels, batch,
	                               ccl_net_classes(net), NULL);
	const float *z = ccl_net_features(net);
	size_t nf = (size_t)batch * ccl_net_feature_dim(net);
	for (size_t i = 0; i < nf; i++)
		loss += (double)r[i] * z[i];
	return loss;
}

/* A network, its parameters, a random batch and feature gradient R, and
 * the analytic gradient of L at them, for the gradient tests. */
struct grad_case {
	ccl_net *net;
	size_t n;
	int batch, classes;
	float *params, *grad, *input, *r, *dlogits;
	int32_t *labels;
};

static struct grad_case grad_case_make(const char *arch, int c, int h, int w, int classes, int batch,
                                       int normal_input)
{
	struct grad_case g = {.net = ccl_net_create(arch, classes, c, h, w), .batch = batch, .classes = classes};
	size_t ni = (size_t)batch * c * h * w, nf = (size_t)batch * ccl_net_feature_dim(g.net);
	g.n = ccl_net_param_count(g.net);
	g.params = malloc(sizeof(float) * g.n);
	g.grad = malloc(sizeof(float) * g.n);
	g.input = malloc(sizeof(float) * ni);
	g.r = malloc(sizeof(float) * nf);
	g.dlogits = malloc(sizeof(float) * (size_t)batch * classes);
	g.labels = malloc(sizeof(int32_t) * (size_t)batch);
	ccl_net_init_params(g.net, 7, g.params);
	for (size_t i = 0; i < ni; i++)
		g.input[i] = (float)(normal_input ? ccl_rng_normal(&rng) : ccl_rng_uniform(&rng));
	/* Scaled so that the feature term weighs about as much as the CE. */
	for (size_t i = 0; i < nf; i++)
		g.r[i] = (float)(ccl_rng_uniform(&rng) - 0.5) / (float)batch;
	for (int i = 0; i < batch; i++)
		g.labels[i] = (int32_t)ccl_rng_below(&rng, (uint32_t)classes);
	ccl_net_forward(g.net, g.params, g.input, batch);
	ccl_softmax_xent(ccl_net_logits(g.net), g.labels, batch, classes, g.dlogits);
	for (size_t i = 0; i < g.n; i++)
		g.grad[i] = NAN; /* backward must overwrite every element */
	ccl_net_backward(g.net, g.params, g.dlogits, g.r, g.grad);
	return g;
}

static void grad_case_free(struct grad_case *g)
{
	free(g->params); free(g->grad); free(g->input); free(g->r); free(g->dlogits); free(g->labels);
	ccl_net_free(g->net);
}

static void test_gradient(const char *arch, int c, int h, int w, int classes, int batch,
                          int per_tensor)
{
	struct grad_case g = grad_case_make(arch, c, h, w, classes, batch, 0);
	ccl_net *net = g.net;
	size_t n = g.n, nf = (size_t)batch * ccl_net_feature_dim(net);
	float *params = g.params, *grad = g.grad, *input = g.input, *r = g.r, *dlogits = g.dlogits;
	int32_t *labels = g.labels;
	const float eps = 3e-4f;

	int finite = 1;
	for (size_t i = 0; i < n; i++)
		finite &= isfinite(grad[i]);
	CHECK_MSG(finite, "%s: gradient not fully written", arch);

	for (int ti = 0; ti < ccl_net_tensor_count(net); ti++) {
		const struct ccl_param_tensor *t = ccl_net_tensor(net, ti);
		int bad = 0, checked = 0, tries = 0;
		while (checked < per_tensor && tries++ < 4 * per_tensor) {
			size_t i = t->offset + ccl_rng_below(&rng, (uint32_t)t->size);
			float keep = params[i];
			double mid = full_loss(net, params, input, batch, labels, r);
			params[i] = keep + eps;
			double up = full_loss(net, params, input, batch, labels, r);
			params[i] = keep - eps;
			double down = full_loss(net, params, input, batch, labels, r);
			params[i] = keep;
			double central = (up - down) / (2.0 * eps);
			double forward = (up - mid) / eps, backward = (mid - down) / eps;
			/* With a ReLU or max-pool kink within eps, the slopes on the
			 * two sides differ and no difference quotient means anything:
			 * take another coordinate. */
			if (fabs(forward - backward) > 3e-3 + 5e-2 * fabs(central))
				continue;
			checked++;
			if (fabs(central - grad[i]) > 2e-3 + 1e-2 * fabs(central)) {
				fprintf(stderr, "%s %s[%zu]: analytic %.6g, finite difference %.6g\n",
				        arch, t->name, i - t->offset, grad[i], central);
				bad++;
			}
		}
		CHECK_MSG(checked == per_tensor, "%s %s: only %d coordinates away from kinks",
		          arch, t->name, checked);
		CHECK_MSG(bad == 0, "%s %s: %d of %d coordinates off", arch, t->name, bad, checked);
	}

	/* dfeatures NULL is the same as zero. */
	float *g0 = malloc(sizeof(float) * n), *g1 = malloc(sizeof(float) * n);
	float *zero = calloc(nf, sizeof(float));
	ccl_net_forward(net, params, input, batch);
	ccl_softmax_xent(ccl_net_logits(net), labels, batch, classes, dlogits);
	ccl_net_backward(net, params, dlogits, NULL, g0);
	ccl_net_backward(net, params, dlogits, zero, g1);
	CHECK_MSG(memcmp(g0, g1, sizeof(float) * n) == 0, "%s: dfeatures NULL vs 0", arch);

	free(g0); free(g1); free(zero);
	grad_case_free(&g);
}

/* The same loss for a ResNet-20, whose twenty float layers put enough
 * rounding noise on L that a one-coordinate difference quotient is off by
 * a few percent whatever its step.  So each tensor is moved as a whole,
 * by a step along a unit direction d inside it, which changes L by about
 * step |g_t| and drowns the noise:
 *   along d = g_t / |g_t|, the quotient must equal |g_t|;
 *   along a random unit d, it must equal g_t . d;
 * both within 2% of |g_t|.  The step is 5e-4: at 1e-2 the GroupNorm
 * network's ReLUs bend the quotient by up to 5% (measured), at 1e-3 and
 * below both networks agree.  A gradient a few percent off in any tensor,
 * in size or direction, fails one of the two. */
static void test_gradient_directional(const char *arch, int c, int h, int w, int classes, int batch)
{
	struct grad_case gc = grad_case_make(arch, c, h, w, classes, batch, 1);
	ccl_net *net = gc.net;
	size_t n = gc.n;
	float *params = gc.params, *grad = gc.grad, *moved = malloc(sizeof(float) * n);
	const double step = 5e-4;

	for (int ti = 0; ti < ccl_net_tensor_count(net); ti++) {
		const struct ccl_param_tensor *t = ccl_net_tensor(net, ti);
		const float *g = grad + t->offset;
		double *d = malloc(sizeof(double) * t->size), norm = 0;
		for (size_t e = 0; e < t->size; e++)
			norm += (double)g[e] * g[e];
		norm = sqrt(norm);
		CHECK_MSG(isfinite(norm) && norm > 0, "%s %s: gradient norm %g", arch, t->name, norm);
		for (int kind = 0; kind < 2 && norm > 0; kind++) {
			double dn = 0, expect = 0;
			for (size_t e = 0; e < t->size; e++) {
				d[e] = kind == 0 ? g[e] : ccl_rng_normal(&rng);
				dn += d[e] * d[e];
			}
			for (size_t e = 0; e < t->size; e++) {
				d[e] /= sqrt(dn);
				expect += d[e] * g[e];
			}
			double loss[2];
			for (int side = 0; side < 2; side++) {
				memcpy(moved, params, sizeof(float) * n);
				for (size_t e = 0; e < t->size; e++)
					moved[t->offset + e] += (float)((side ? -step : step) * d[e]);
				loss[side] = full_loss(net, moved, gc.input, batch, gc.labels, gc.r);
			}
			double quotient = (loss[0] - loss[1]) / (2 * step);
			CHECK_MSG(fabs(quotient - expect) <= 2e-2 * norm, "%s %s, %s direction: analytic %.6g, quotient %.6g",
			          arch, t->name, kind ? "a random" : "the gradient's", expect, quotient);
		}
		free(d);
	}
	free(moved);
	grad_case_free(&gc);
}

/* Batches of different sizes in any order (the workspace grows and is
 * reused) give every sample the logits and features it gets alone; 19
 * samples take LeNet-5's convolutions three chunks. */
static void test_batches(const char *arch)
{
	ccl_net *net = ccl_net_create(arch, 10, 1, 28, 28);
	size_t n = ccl_net_param_count(net);
	int nf = ccl_net_feature_dim(net);
	float *params = malloc(sizeof(float) * n), *input = malloc(sizeof(float) * 19 * 784);
	float *alone = malloc(sizeof(float) * 19 * 10), *feat = malloc(sizeof(float) * 19 * (size_t)nf);

	ccl_net_init_params(net, 3, params);
	for (int i = 0; i < 19 * 784; i++)
		input[i] = (float)ccl_rng_uniform(&rng);
	for (int i = 0; i < 19; i++) {
		ccl_net_forward(net, params, input + i * 784, 1);
		memcpy(alone + i * 10, ccl_net_logits(net), sizeof(float) * 10);
		memcpy(feat + i * nf, ccl_net_features(net), sizeof(float) * (size_t)nf);
	}
	static const int sizes[4] = { 5, 2, 19, 7 };
	for (int s = 0; s < 4; s++) {
		int b = sizes[s];
		ccl_net_forward(net, params, input, b);
		CHECK(ccl_net_batch(net) == b);
		double worst = 0.0;
		for (int i = 0; i < b * 10; i++)
			worst = fmax(worst, fabs(ccl_net_logits(net)[i] - alone[i]));
		for (int i = 0; i < b * nf; i++)
			worst = fmax(worst, fabs(ccl_net_features(net)[i] - feat[i]));
		CHECK_MSG(worst < 1e-5, "%s batch %d: off by %g", arch, b, worst);
	}
	free(params); free(input); free(alone); free(feat);
	ccl_net_free(net);
}

int main(void)
{
	ccl_rng_init(&rng, 99, 0, 0, 0);
	test_shapes();
	test_bad_arguments();
	test_init();
	test_gradient("lenet5", 1, 28, 28, 10, 4, 12);
	test_gradient("lenet5", 2, 28, 28, 5, 3, 6);
	test_gradient("lenet5", 1, 28, 28, 10, 19, 6); /* three chunks of the convolutions */
	test_gradient("mlp", 1, 8, 9, 10, 4, 12);
	test_gradient_directional("resnet20-evonorm", 3, 8, 8, 10, 2);
	test_gradient_directional("resnet20-groupnorm", 3, 8, 8, 10, 2);
	test_gradient_directional("resnet20-evonorm", 1, 28, 28, 7, 2);
	test_gradient_directional("resnet20-groupnorm", 1, 12, 12, 100, 3);
	test_batches("lenet5");
	test_batches("mlp");
	test_batches("resnet20-evonorm");
	test_batches("resnet20-groupnorm");
	return unit_report();
}
