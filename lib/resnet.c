/*
 * resnet.c - ResNet-20 (ALGORITHM.md, "Models"), its forward and backward
 * passes written out, in the manner of llm.c, rather than run by a graph
 * of layers: the network has one shape, and written out its data flow
 * (what each block keeps for the backward pass, where the two branches
 * of a residual block meet again) can be read top to bottom.
 *
 *   stem:    conv 3x3 C -> 16, norm
 *   stages:  3 x 3 basic blocks, 16, 32, 64 channels; the first block of
 *            stages 2 and 3 has stride 2
 *   block:   out = norm(conv3x3(norm(conv3x3(x)))) + shortcut(x)
 *            shortcut = x, or norm(conv1x1(x)) with the block's stride
 *            where the stride or the channel count changes
 *   head:    global average pool (8x8 for 32x32 inputs, 7x7 for 28x28)
 *            to the 64 features, fc 64 -> classes
 *
 * Two norms:
 *   evonorm    EvoNorm-S0 with 8 groups (nn.h): its own non-linearity, so
 *              there is no ReLU anywhere and nothing after the addition;
 *   groupnorm  GroupNorm with 2 groups, followed by a ReLU in the stem and
 *              after a block's first norm, and a ReLU after the addition
 *              (none after the block's second norm or the shortcut's, as
 *              in the usual ResNet).
 *
 * Every conv + norm (+ ReLU) is a `unit`, which keeps the convolution's
 * output (the norm's input), the norm's statistics and the unit's output.
 * The tensors are named as a PyTorch module of the same layout names them
 * (conv1.weight, norm1.weight, layer2.0.shortcut.conv.weight, fc.bias), so
 * the parameter vector maps one to one onto its state dict.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "net_internal.h"
#include "nn.h"
#include "rng.h"

#define BLOCKS 9
#define FEATURES 64
#define NORM_EPS 1e-5f

enum norm_kind { EVONORM, GROUPNORM };

struct unit {
	int weight, gamma, beta;   /* tensor indices */
	int in_c, in_h, in_w;      /* per-sample input shape */
	int out_c, out_h, out_w, k, stride, pad;
	int relu;                  /* a ReLU after the norm (groupnorm: stem and first units) */
	float *conv_out;           /* (B, out) the norm's input */
	float *out;                /* (B, out) after the norm (and ReLU) */
	float *stats;              /* (B, groups, 2) */
};

struct block {
	struct unit a, b, shortcut;
	int has_shortcut;
	const float *in;           /* (B, in) the block's input, another's output */
	float *out;                /* (B, out) a.out's branch plus the shortcut (ReLU'd for groupnorm) */
};

struct resnet {
	enum norm_kind norm;
	int groups;
	struct unit stem;
	struct block blocks[BLOCKS];
	int fc_weight, fc_bias;
	int capacity;              /* samples the buffers hold */
	float *input;              /* (B, C, H, W) copy of the forward's input */
	float *features;           /* (B, 64) */
	float *logits;             /* (B, classes) */
	float *col;                /* convolution workspace */
	size_t col_size, largest;  /* floats: workspace, largest activation of a sample */
	float *grad[6];            /* backward buffers, (B, largest) each */
};

static size_t unit_out_size(const struct unit *u) { return (size_t)u->out_c * u->out_h * u->out_w; }

/* A conv (k x k, no bias) + norm unit reading (c, h, w). */
static void make_unit(ccl_net *net, struct unit *u, const char *conv, const char *norm, int c, int h, int w,
                      int out_c, int k, int stride, int relu)
{
	struct resnet *r = net->resnet;
	memset(u, 0, sizeof *u);
	u->in_c = c, u->in_h = h, u->in_w = w;
	u->out_c = out_c, u->k = k, u->stride = stride, u->pad = k / 2, u->relu = relu;
	u->out_h = ccl_conv2d_out_dim(h, k, stride, u->pad);
	u->out_w = ccl_conv2d_out_dim(w, k, stride, u->pad);
	u->weight = ccl_net_add_tensor(net, conv, "weight", 4, out_c, c, k, k);
	u->gamma = ccl_net_add_tensor(net, norm, "weight", 1, out_c, 0, 0, 0);
	u->beta = ccl_net_add_tensor(net, norm, "bias", 1, out_c, 0, 0, 0);
	size_t col = ccl_conv2d_col_size(c, h, w, out_c, k, stride, u->pad);
	if (col > r->col_size)
		r->col_size = col;
	if ((size_t)c * h * w > r->largest)
		r->largest = (size_t)c * h * w;
	if (unit_out_size(u) > r->largest)
		r->largest = unit_out_size(u);
}

int ccl_resnet_create(ccl_net *net, const char *norm)
{
	if (net->in_h < 8 || net->in_w < 8)
		return ccl_fail(CCL_EXIT_INPUT, NULL, "resnet20 takes images of at least 8x8, not %dx%d", net->in_h,
		                net->in_w);
	struct resnet *r = net->resnet = ccl_xcalloc(1, sizeof *r);
	r->norm = strcmp(norm, "groupnorm") ? EVONORM : GROUPNORM;
	r->groups = r->norm == EVONORM ? 8 : 2;
	int relu = r->norm == GROUPNORM;

	make_unit(net, &r->stem, "conv1", "norm1", net->in_c, net->in_h, net->in_w, 16, 3, 1, relu);
	int c = 16, h = r->stem.out_h, w = r->stem.out_w;
	for (int i = 0; i < BLOCKS; i++) {
		struct block *b = &r->blocks[i];
		int stage = i / 3, out_c = 16 << stage, stride = i % 3 == 0 && stage > 0 ? 2 : 1;
		char name[3][32], prefix[16];
		snprintf(prefix, sizeof prefix, "layer%d.%d", stage + 1, i % 3);
		snprintf(name[0], sizeof name[0], "%s.conv1", prefix);
		snprintf(name[1], sizeof name[1], "%s.norm1", prefix);
		make_unit(net, &b->a, name[0], name[1], c, h, w, out_c, 3, stride, relu);
		snprintf(name[0], sizeof name[0], "%s.conv2", prefix);
		snprintf(name[1], sizeof name[1], "%s.norm2", prefix);
		make_unit(net, &b->b, name[0], name[1], out_c, b->a.out_h, b->a.out_w, out_c, 3, 1, 0);
		b->has_shortcut = stride != 1 || c != out_c;
		if (b->has_shortcut) {
			snprintf(name[0], sizeof name[0], "%s.shortcut.conv", prefix);
			snprintf(name[1], sizeof name[1], "%s.shortcut.norm", prefix);
			make_unit(net, &b->shortcut, name[0], name[1], c, h, w, out_c, 1, stride, 0);
		}
		c = out_c, h = b->a.out_h, w = b->a.out_w;
	}
	r->fc_weight = ccl_net_add_tensor(net, "fc", "weight", 2, net->classes, FEATURES, 0, 0);
	r->fc_bias = ccl_net_add_tensor(net, "fc", "bias", 1, net->classes, 0, 0, 0);
	r->col = ccl_xmalloc(sizeof(float) * r->col_size);
	return 0;
}

static void free_unit(struct unit *u)
{
	free(u->conv_out);
	free(u->out);
	free(u->stats);
}

void ccl_resnet_free(struct resnet *r)
{
	if (!r)
		return;
	free_unit(&r->stem);
	for (int i = 0; i < BLOCKS; i++) {
		free_unit(&r->blocks[i].a);
		free_unit(&r->blocks[i].b);
		free_unit(&r->blocks[i].shortcut);
		free(r->blocks[i].out);
	}
	for (int i = 0; i < 6; i++)
		free(r->grad[i]);
	free(r->input);
	free(r->features);
	free(r->logits);
	free(r->col);
	free(r);
}

/* Convolutions: normal with std sqrt(2 / (k k out_channels)); norms: scale
 * 1, shift 0; fc: uniform +-1/sqrt(64), weight and bias.  Drawn in tensor
 * order from the initialisation stream. */
void ccl_resnet_init_params(const ccl_net *net, uint64_t seed, float *params)
{
	const struct resnet *r = net->resnet;
	ccl_rng rng;
	ccl_rng_init(&rng, seed, CCL_STREAM_GLOBAL, CCL_PURPOSE_INIT, 0);
	for (int i = 0; i < net->n_tensors; i++) {
		const struct ccl_param_tensor *t = &net->tensors[i];
		float *p = params + t->offset;
		if (i == r->fc_weight || i == r->fc_bias) {
			for (size_t e = 0; e < t->size; e++)
				p[e] = (float)((2.0 * ccl_rng_uniform(&rng) - 1.0) / sqrt((double)FEATURES));
		} else if (t->ndim == 4) {
			double std = sqrt(2.0 / ((double)t->shape[2] * t->shape[3] * t->shape[0]));
			for (size_t e = 0; e < t->size; e++)
				p[e] = (float)(std * ccl_rng_normal(&rng));
		} else {
			/* A norm's weight (gamma) precedes its bias (beta). */
			float v = strstr(t->name, ".weight") ? 1.0f : 0.0f;
			for (size_t e = 0; e < t->size; e++)
				p[e] = v;
		}
	}
}

static void reserve_unit(struct unit *u, size_t b, int groups)
{
	u->conv_out = ccl_xrealloc(u->conv_out, sizeof(float) * b * unit_out_size(u));
	u->out = ccl_xrealloc(u->out, sizeof(float) * b * unit_out_size(u));
	u->stats = ccl_xrealloc(u->stats, sizeof(float) * b * (size_t)groups * 2);
}

/* Grows the buffers to `batch` samples (growth only). */
static void reserve(ccl_net *net, int batch)
{
	struct resnet *r = net->resnet;
	if (batch <= r->capacity)
		return;
	size_t b = (size_t)batch;
	reserve_unit(&r->stem, b, r->groups);
	for (int i = 0; i < BLOCKS; i++) {
		struct block *bl = &r->blocks[i];
		reserve_unit(&bl->a, b, r->groups);
		reserve_unit(&bl->b, b, r->groups);
		if (bl->has_shortcut)
			reserve_unit(&bl->shortcut, b, r->groups);
		bl->out = ccl_xrealloc(bl->out, sizeof(float) * b * unit_out_size(&bl->b));
	}
	for (int i = 0; i < 6; i++)
		r->grad[i] = ccl_xrealloc(r->grad[i], sizeof(float) * b * r->largest);
	r->input = ccl_xrealloc(r->input, sizeof(float) * b * (size_t)ccl_net_input_dim(net));
	r->features = ccl_xrealloc(r->features, sizeof(float) * b * FEATURES);
	r->logits = ccl_xrealloc(r->logits, sizeof(float) * b * (size_t)net->classes);
	r->capacity = batch;
}

static const float *tensor(const ccl_net *net, const float *params, int i)
{
	return params + net->tensors[i].offset;
}

// in (B, unit input) -> u->out (B, unit output), keeping conv_out and stats
static void unit_forward(const ccl_net *net, struct unit *u, const float *params, const float *in, int batch)
{
	const struct resnet *r = net->resnet;
	int hw = u->out_h * u->out_w;
	ccl_conv2d_forward(u->conv_out, in, tensor(net, params, u->weight), NULL, r->col, batch, u->in_c, u->in_h,
	                   u->in_w, u->out_c, u->k, u->stride, u->pad);
	const float *gamma = tensor(net, params, u->gamma), *beta = tensor(net, params, u->beta);
	if (r->norm == EVONORM)
		ccl_evonorm_s0_forward(u->out, u->stats, u->conv_out, gamma, beta, batch, u->out_c, hw, r->groups,
		                       NORM_EPS);
	else
		ccl_groupnorm_forward(u->out, u->stats, u->conv_out, gamma, beta, batch, u->out_c, hw, r->groups,
		                      NORM_EPS);
	if (u->relu)
		ccl_relu_forward(u->out, u->out, (size_t)batch * unit_out_size(u));
}

void ccl_resnet_forward(ccl_net *net, const float *params, const float *input, int batch)
{
	struct resnet *r = net->resnet;
	reserve(net, batch > 0 ? batch : 1);
	net->batch = batch;
	if (batch == 0)
		return;
	memcpy(r->input, input, sizeof(float) * (size_t)batch * (size_t)ccl_net_input_dim(net));

	unit_forward(net, &r->stem, params, r->input, batch);
	const float *x = r->stem.out;
	for (int i = 0; i < BLOCKS; i++) {
		struct block *b = &r->blocks[i];
		size_t n = (size_t)batch * unit_out_size(&b->b);
		b->in = x;
		unit_forward(net, &b->a, params, x, batch);
		unit_forward(net, &b->b, params, b->a.out, batch);
		const float *skip = x;
		if (b->has_shortcut) {
			unit_forward(net, &b->shortcut, params, x, batch);
			skip = b->shortcut.out;
		}
		ccl_add(b->out, b->b.out, skip, n);
		if (r->norm == GROUPNORM)
			ccl_relu_forward(b->out, b->out, n);
		x = b->out;
	}
	const struct unit *last = &r->blocks[BLOCKS - 1].b;
	ccl_global_avgpool_forward(r->features, x, batch, FEATURES, last->out_h, last->out_w);
	ccl_linear_forward(r->logits, r->features, tensor(net, params, r->fc_weight),
	                   tensor(net, params, r->fc_bias), batch, FEATURES, net->classes);
}

const float *ccl_resnet_features(const ccl_net *net) { return net->resnet->features; }
const float *ccl_resnet_logits(const ccl_net *net) { return net->resnet->logits; }

/* dout (B, unit output) -> din (B, unit input) or NULL, and the unit's
 * weight, gamma and beta gradients.  s1 and s2 are scratch; none of the
 * four buffers may alias. */
static void unit_backward(const ccl_net *net, const struct unit *u, const float *params, const float *in,
                          const float *dout, float *din, float *grad, float *s1, float *s2, int batch)
{
	const struct resnet *r = net->resnet;
	int hw = u->out_h * u->out_w;
	if (u->relu) {
		ccl_relu_backward(s1, dout, u->out, (size_t)batch * unit_out_size(u));
		dout = s1;
	}
	const float *gamma = tensor(net, params, u->gamma);
	float *dgamma = grad + net->tensors[u->gamma].offset, *dbeta = grad + net->tensors[u->beta].offset;
	if (r->norm == EVONORM)
		ccl_evonorm_s0_backward(s2, dgamma, dbeta, dout, u->conv_out, u->stats, gamma, batch, u->out_c, hw,
		                        r->groups);
	else
		ccl_groupnorm_backward(s2, dgamma, dbeta, dout, u->conv_out, u->stats, gamma, batch, u->out_c, hw,
		                       r->groups);
	ccl_conv2d_backward(din, grad + net->tensors[u->weight].offset, NULL, s2, in, tensor(net, params, u->weight),
	                    r->col, batch, u->in_c, u->in_h, u->in_w, u->out_c, u->k, u->stride, u->pad);
}

void ccl_resnet_backward(ccl_net *net, const float *params, const float *dlogits, const float *dfeatures,
                         float *grad)
{
	struct resnet *r = net->resnet;
	int batch = net->batch;
	if (batch == 0) {
		memset(grad, 0, sizeof(float) * net->n_params);
		return;
	}
	/* grad[0]: the gradient at the current block's output; grad[1]: at its
	 * input (then swapped); grad[2]: at the shortcut's input; grad[3]: at
	 * the first unit's output; grad[4], grad[5]: the units' scratch. */
	float *dout = r->grad[0], *din = r->grad[1], *dskip = r->grad[2], *dmid = r->grad[3];
	float *dfeat = r->grad[4];
	ccl_linear_backward(dfeat, grad + net->tensors[r->fc_weight].offset, grad + net->tensors[r->fc_bias].offset,
	                    dlogits, r->features, tensor(net, params, r->fc_weight), batch, FEATURES, net->classes);
	if (dfeatures)
		ccl_add(dfeat, dfeat, dfeatures, (size_t)batch * FEATURES);
	const struct unit *last = &r->blocks[BLOCKS - 1].b;
	ccl_global_avgpool_backward(dout, dfeat, batch, FEATURES, last->out_h, last->out_w);

	for (int i = BLOCKS - 1; i >= 0; i--) {
		const struct block *b = &r->blocks[i];
		size_t n_in = (size_t)batch * b->a.in_c * b->a.in_h * b->a.in_w;
		if (r->norm == GROUPNORM)
			ccl_relu_backward(dout, dout, b->out, (size_t)batch * unit_out_size(&b->b));
		/* Both branches start from dout; their input gradients add up. */
		unit_backward(net, &b->b, params, b->a.out, dout, dmid, grad, r->grad[4], r->grad[5], batch);
		unit_backward(net, &b->a, params, b->in, dmid, din, grad, r->grad[4], r->grad[5], batch);
		const float *skip = dout;
		if (b->has_shortcut) {
			unit_backward(net, &b->shortcut, params, b->in, dout, dskip, grad, r->grad[4], r->grad[5], batch);
			skip = dskip;
		}
		ccl_add(din, din, skip, n_in);
		float *t = dout;
		dout = din, din = t;
	}
	unit_backward(net, &r->stem, params, r->input, dout, NULL, grad, r->grad[4], r->grad[5], batch);
}
