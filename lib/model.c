/*
 * model.c - LeNet-5 and the MLP as a short list of layers over nn.c.
 *
 * A network is a sequence of layers, each either a convolution, a linear
 * layer or a max-pool, optionally followed by a ReLU applied in place to its
 * output.  Forward walks the list keeping every layer's output (the backward
 * pass needs them); backward walks it in reverse with two gradient buffers
 * used in turn.
 *
 * LeNet-5's "conv, ReLU, max-pool" is computed as "conv, max-pool with a
 * fused ReLU" (ccl_maxpool2d_relu_*).  The two are the same function (ReLU
 * is monotone, so it commutes with max) with the same gradients, but the
 * ReLU and its mask then cost nothing beyond the pool.
 *
 * A convolution whose output only a max-pool reads runs together with the
 * pool, CHUNK samples at a time, both ways: its output and the gradient at
 * its output then need room for CHUNK samples rather than the batch.  Those
 * are the largest arrays of LeNet-5 (18.8 KB a sample after conv1); not
 * having them batch-wide keeps a batch of 32 in cache, and a one-step call
 * touches 0.8 MB less fresh memory (each new page costs about 1.5 us).
 *
 * Parameters are never stored here: forward and backward take the vector,
 * and each tensor is found by its offset in the table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "net_internal.h"
#include "nn.h"
#include "rng.h"

#define CHUNK 8 /* samples a convolution and the pool after it take at a time */

int ccl_net_add_tensor(ccl_net *net, const char *layer, const char *what,
                      int ndim, int d0, int d1, int d2, int d3)
{
	struct ccl_param_tensor *t = &net->tensors[net->n_tensors];
	int dims[4] = { d0, d1, d2, d3 };

	snprintf(t->name, sizeof t->name, "%s.%s", layer, what);
	t->ndim = ndim;
	t->size = 1;
	for (int i = 0; i < 4; i++) {
		t->shape[i] = i < ndim ? dims[i] : 0;
		if (i < ndim)
			t->size *= (size_t)dims[i];
	}
	t->offset = net->n_params;
	net->n_params += t->size;
	return net->n_tensors++;
}

/* Appends a layer that takes the previous layer's output (or the input). */
static struct layer *add_layer(ccl_net *net, enum layer_kind kind)
{
	struct layer *l = &net->layers[net->n_layers++];
	memset(l, 0, sizeof *l);
	l->kind = kind;
	l->weight = l->bias = -1;
	if (net->n_layers == 1) {
		l->in_c = net->in_c; l->in_h = net->in_h; l->in_w = net->in_w;
	} else {
		const struct layer *prev = l - 1;
		l->in_c = prev->out_c; l->in_h = prev->out_h; l->in_w = prev->out_w;
	}
	l->in_size = (size_t)l->in_c * l->in_h * l->in_w;
	return l;
}

static void add_conv(ccl_net *net, const char *name, int oc, int k, int stride, int pad, int relu)
{
	struct layer *l = add_layer(net, LAYER_CONV);
	l->k = k; l->stride = stride; l->pad = pad; l->relu = relu;
	l->out_c = oc;
	l->out_h = ccl_conv2d_out_dim(l->in_h, k, stride, pad);
	l->out_w = ccl_conv2d_out_dim(l->in_w, k, stride, pad);
	l->out_size = (size_t)l->out_c * l->out_h * l->out_w;
	l->fan_in = l->in_c * k * k;
	l->weight = ccl_net_add_tensor(net, name, "weight", 4, oc, l->in_c, k, k);
	l->bias = ccl_net_add_tensor(net, name, "bias", 1, oc, 0, 0, 0);
}

static void add_maxpool(ccl_net *net, int k, int relu)
{
	struct layer *l = add_layer(net, LAYER_MAXPOOL);
	l->k = k; l->stride = k; l->relu = relu;
	l->out_c = l->in_c;
	l->out_h = (l->in_h - k) / k + 1;
	l->out_w = (l->in_w - k) / k + 1;
	l->out_size = (size_t)l->out_c * l->out_h * l->out_w;
}

/* A linear layer flattens whatever comes in: NCHW rows are already the
 * (C*H*W) vectors it needs. */
static void add_linear(ccl_net *net, const char *name, int out_dim, int relu)
{
	struct layer *l = add_layer(net, LAYER_LINEAR);
	int in_dim = (int)l->in_size;
	l->in_c = in_dim; l->in_h = l->in_w = 1;
	l->relu = relu;
	l->out_c = out_dim; l->out_h = l->out_w = 1;
	l->out_size = (size_t)out_dim;
	l->fan_in = in_dim;
	l->weight = ccl_net_add_tensor(net, name, "weight", 2, out_dim, in_dim, 0, 0);
	l->bias = ccl_net_add_tensor(net, name, "bias", 1, out_dim, 0, 0, 0);
}

ccl_net *ccl_net_create(const char *arch, int classes, int in_c, int in_h, int in_w)
{
	/* Sizes past these would overflow the int dimensions BLAS takes long
	 * before they made sense for these networks. */
	if (in_c < 1 || in_h < 1 || in_w < 1 ||
	    (long long)in_c * in_h * in_w > (1 << 24)) {
		ccl_fail(CCL_EXIT_INPUT, NULL, "input shape %dx%dx%d is not usable", in_c, in_h, in_w);
		return NULL;
	}
	if (classes < 2 || classes > (1 << 20)) {
		ccl_fail(CCL_EXIT_INPUT, NULL, "%d classes: need between 2 and %d", classes, 1 << 20);
		return NULL;
	}

	ccl_net *net = ccl_xcalloc(1, sizeof *net);
	net->classes = classes;
	net->in_c = in_c; net->in_h = in_h; net->in_w = in_w;

	if (arch && strcmp(arch, "lenet5") == 0) {
		if (in_h != 28 || in_w != 28) {
			ccl_fail(CCL_EXIT_INPUT, NULL,
			         "lenet5 takes 28x28 images, not %dx%d", in_h, in_w);
			free(net);
			return NULL;
		}
		add_conv(net, "conv1", 6, 5, 1, 2, 0);
		add_maxpool(net, 2, 1);
		add_conv(net, "conv2", 16, 5, 1, 0, 0);
		add_maxpool(net, 2, 1);
		add_linear(net, "fc1", 120, 1);
		add_linear(net, "fc2", 84, 1);
		add_linear(net, "fc3", classes, 0);
	} else if (arch && strcmp(arch, "mlp") == 0) {
		add_linear(net, "fc1", 200, 1);
		add_linear(net, "fc2", 200, 1);
		add_linear(net, "fc3", classes, 0);
	} else if (arch && (!strcmp(arch, "resnet20-evonorm") || !strcmp(arch, "resnet20-groupnorm"))) {
		snprintf(net->arch, sizeof net->arch, "%s", arch);
		if (ccl_resnet_create(net, arch + strlen("resnet20-"))) {
			free(net);
			return NULL;
		}
		return net;
	} else {
		ccl_fail(CCL_EXIT_INPUT, NULL, "unknown architecture '%s' (known: lenet5, mlp, resnet20-evonorm, "
		         "resnet20-groupnorm)", arch ? arch : "(none)");
		free(net);
		return NULL;
	}
	snprintf(net->arch, sizeof net->arch, "%s", arch);
	net->feature_layer = net->n_layers - 2;

	size_t col = 0, grad = 0, chunk_grad = 0, dw_part = 0;
	for (int i = 0; i < net->n_layers; i++) {
		struct layer *l = &net->layers[i];
		l->into_pool = l->kind == LAYER_CONV && !l->relu && i + 1 < net->n_layers &&
		               l[1].kind == LAYER_MAXPOOL;
		if (l->kind == LAYER_CONV) {
			size_t s = ccl_conv2d_col_size(l->in_c, l->in_h, l->in_w, l->out_c, l->k,
			                               l->stride, l->pad);
			if (s > col)
				col = s;
		}
		if (l->into_pool) {
			size_t part = net->tensors[l->weight].size + net->tensors[l->bias].size;
			if (CHUNK * l->out_size > chunk_grad)
				chunk_grad = CHUNK * l->out_size;
			if (part > dw_part)
				dw_part = part;
		}
		/* Batch-wide gradients are needed at every layer boundary but
		 * the one between an into_pool conv and its pool. */
		if (l->in_size > grad && !(i > 0 && l[-1].into_pool))
			grad = l->in_size;
		if (l->out_size > grad && !l->into_pool)
			grad = l->out_size;
	}
	net->col_size = col;
	net->grad_size = grad;
	net->col = col ? ccl_xmalloc(sizeof(float) * col) : NULL;
	if (chunk_grad) {
		net->chunk_grad = ccl_xmalloc(sizeof(float) * chunk_grad);
		net->dw_part = ccl_xmalloc(sizeof(float) * dw_part);
	}
	return net;
}

void ccl_net_free(ccl_net *net)
{
	if (!net)
		return;
	ccl_resnet_free(net->resnet);
	for (int i = 0; i < net->n_layers; i++) {
		free(net->layers[i].out);
		free(net->layers[i].argmax);
	}
	free(net->input);
	free(net->col);
	free(net->chunk_grad);
	free(net->dw_part);
	free(net->grad[0]);
	free(net->grad[1]);
	free(net);
}

const char *ccl_net_arch(const ccl_net *net) { return net->arch; }
size_t ccl_net_param_count(const ccl_net *net) { return net->n_params; }
int ccl_net_classes(const ccl_net *net) { return net->classes; }
int ccl_net_batch(const ccl_net *net) { return net->batch; }
int ccl_net_tensor_count(const ccl_net *net) { return net->n_tensors; }

int ccl_net_feature_dim(const ccl_net *net)
{
	if (net->resnet)
		return 64;
	return (int)net->layers[net->feature_layer].out_size;
}

int ccl_net_input_dim(const ccl_net *net)
{
	return net->in_c * net->in_h * net->in_w;
}

void ccl_net_input_shape(const ccl_net *net, int *c, int *h, int *w)
{
	*c = net->in_c;
	*h = net->in_h;
	*w = net->in_w;
}

const struct ccl_param_tensor *ccl_net_tensor(const ccl_net *net, int i)
{
	return i >= 0 && i < net->n_tensors ? &net->tensors[i] : NULL;
}

void ccl_net_init_params(const ccl_net *net, uint64_t seed, float *params)
{
	if (net->resnet) {
		ccl_resnet_init_params(net, seed, params);
		return;
	}
	ccl_rng r;
	ccl_rng_init(&r, seed, CCL_STREAM_GLOBAL, CCL_PURPOSE_INIT, 0);
	/* Layers hold their tensors in vector order, weight before bias, so
	 * walking the layers draws in tensor order. */
	for (int i = 0; i < net->n_layers; i++) {
		const struct layer *l = &net->layers[i];
		double bound = 1.0 / sqrt((double)l->fan_in);
		int ts[2] = { l->weight, l->bias };
		for (int j = 0; j < 2; j++) {
			if (ts[j] < 0)
				continue;
			const struct ccl_param_tensor *t = &net->tensors[ts[j]];
			for (size_t e = 0; e < t->size; e++)
				params[t->offset + e] = (float)((2.0 * ccl_rng_uniform(&r) - 1.0) * bound);
		}
	}
}

/* Grows every per-sample buffer to hold `batch` samples.  Growth only: a
 * smaller batch reuses the buffers as they are. */
static void reserve(ccl_net *net, int batch)
{
	if (batch <= net->capacity)
		return;
	size_t b = (size_t)batch;
	for (int i = 0; i < net->n_layers; i++) {
		struct layer *l = &net->layers[i];
		size_t rows = l->into_pool && b > CHUNK ? CHUNK : b;
		l->out = ccl_xrealloc(l->out, sizeof(float) * rows * l->out_size);
		if (l->kind == LAYER_MAXPOOL)
			l->argmax = ccl_xrealloc(l->argmax, sizeof(int32_t) * b * l->out_size);
	}
	net->input = ccl_xrealloc(net->input, sizeof(float) * b * (size_t)ccl_net_input_dim(net));
	net->grad[0] = ccl_xrealloc(net->grad[0], sizeof(float) * b * net->grad_size);
	net->grad[1] = ccl_xrealloc(net->grad[1], sizeof(float) * b * net->grad_size);
	net->capacity = batch;
}

/* Max-pool layer l of samples first ... first + n - 1, from `in` (theirs). */
static void pool_forward(struct layer *l, const float *in, int first, int n)
{
	float *out = l->out + (size_t)first * l->out_size;
	int32_t *argmax = l->argmax + (size_t)first * l->out_size;
	if (l->relu)
		ccl_maxpool2d_relu_forward(out, argmax, in, n, l->in_c, l->in_h, l->in_w, l->k, l->stride);
	else
		ccl_maxpool2d_forward(out, argmax, in, n, l->in_c, l->in_h, l->in_w, l->k, l->stride);
}

/* The gradient at the input of max-pool l for samples first ... first + n - 1,
 * from the gradient at their outputs. */
static void pool_backward(const struct layer *l, float *din, const float *dout, int first, int n)
{
	size_t at = (size_t)first * l->out_size;
	if (l->relu)
		ccl_maxpool2d_relu_backward(din, dout + at, l->out + at, l->argmax + at, n, l->in_c, l->in_h,
		                            l->in_w, l->k, l->stride);
	else
		ccl_maxpool2d_backward(din, dout + at, l->argmax + at, n, l->in_c, l->in_h, l->in_w, l->k,
		                       l->stride);
}

void ccl_net_forward(ccl_net *net, const float *params, const float *input, int batch)
{
	if (batch < 0)
		batch = 0;
	if (net->resnet) {
		ccl_resnet_forward(net, params, input, batch);
		return;
	}
	reserve(net, batch > 0 ? batch : 1);
	net->batch = batch;
	if (batch == 0)
		return;
	memcpy(net->input, input, sizeof(float) * (size_t)batch * (size_t)ccl_net_input_dim(net));

	const float *x = net->input;
	for (int i = 0; i < net->n_layers; i++) {
		struct layer *l = &net->layers[i];
		const float *w = l->weight >= 0 ? params + net->tensors[l->weight].offset : NULL;
		const float *b = l->bias >= 0 ? params + net->tensors[l->bias].offset : NULL;
		if (l->into_pool) {
			/* The convolution and its pool, a chunk of samples at a time. */
			for (int s = 0; s < batch; s += CHUNK) {
				int n = batch - s < CHUNK ? batch - s : CHUNK;
				ccl_conv2d_forward(l->out, x + (size_t)s * l->in_size, w, b, net->col, n, l->in_c,
				                   l->in_h, l->in_w, l->out_c, l->k, l->stride, l->pad);
				pool_forward(l + 1, l->out, s, n);
			}
			x = net->layers[++i].out;
			continue;
		}
		switch (l->kind) {
		case LAYER_CONV:
			ccl_conv2d_forward(l->out, x, w, b, net->col, batch, l->in_c, l->in_h, l->in_w,
			                   l->out_c, l->k, l->stride, l->pad);
			break;
		case LAYER_LINEAR:
			ccl_linear_forward(l->out, x, w, b, batch, (int)l->in_size, l->out_c);
			break;
		case LAYER_MAXPOOL:
			pool_forward(l, x, 0, batch);
			break;
		}
		if (l->relu && l->kind != LAYER_MAXPOOL)
			ccl_relu_forward(l->out, l->out, (size_t)batch * l->out_size);
		x = l->out;
	}
}

const float *ccl_net_features(const ccl_net *net)
{
	if (net->resnet)
		return ccl_resnet_features(net);
	return net->layers[net->feature_layer].out;
}

const float *ccl_net_logits(const ccl_net *net)
{
	if (net->resnet)
		return ccl_resnet_logits(net);
	return net->layers[net->n_layers - 1].out;
}

/* Backward through into_pool convolution c and the pool after it, a chunk
 * of samples at a time: dout is the gradient at the pool's output, din (or
 * NULL) gets the gradient at the convolution's input.  The first chunk
 * writes the weight and bias gradients; later ones are added on. */
static void conv_pool_backward(ccl_net *net, const struct layer *c, float *din, float *dw, float *db,
                               const float *dout, const float *x, const float *w)
{
	size_t nw = net->tensors[c->weight].size;
	float *dw_part = net->dw_part, *db_part = net->dw_part + nw;
	int batch = net->batch;

	for (int s = 0; s < batch; s += CHUNK) {
		int n = batch - s < CHUNK ? batch - s : CHUNK;
		int first = s == 0;
		pool_backward(c + 1, net->chunk_grad, dout, s, n);
		ccl_conv2d_backward(din ? din + (size_t)s * c->in_size : NULL, first ? dw : dw_part,
		                    first ? db : db_part, net->chunk_grad, x + (size_t)s * c->in_size, w, net->col, n,
		                    c->in_c, c->in_h, c->in_w, c->out_c, c->k, c->stride, c->pad);
		if (!first) {
			ccl_add(dw, dw, dw_part, nw);
			ccl_add(db, db, db_part, (size_t)c->out_c);
		}
	}
}

void ccl_net_backward(ccl_net *net, const float *params, const float *dlogits,
                      const float *dfeatures, float *grad)
{
	int batch = net->batch;
	const float *dout = dlogits; /* gradient at the current layer's output */
	float *own = NULL;           /* the same, once it lives in a buffer of ours */
	int next = 0;                /* which ping-pong buffer is free */

	if (net->resnet) {
		ccl_resnet_backward(net, params, dlogits, dfeatures, grad);
		return;
	}
	if (batch == 0) {
		memset(grad, 0, sizeof(float) * net->n_params);
		return;
	}
	for (int i = net->n_layers - 1; i >= 0; i--) {
		struct layer *l = &net->layers[i];
		size_t n = (size_t)batch * l->out_size;
		int add_features = i == net->feature_layer && dfeatures;
		int relu_mask = l->relu && l->kind != LAYER_MAXPOOL; /* the pool masks by itself */

		if ((relu_mask || add_features) && !own) {
			/* The caller's gradient is read-only: work on a copy. */
			own = net->grad[next];
			memcpy(own, dout, sizeof(float) * n);
			dout = own;
			next ^= 1;
		}
		if (add_features)
			ccl_add(own, own, dfeatures, n);
		if (relu_mask)
			ccl_relu_backward(own, own, l->out, n);

		if (i > 0 && l[-1].into_pool) {
			/* This pool and the convolution before it, together. */
			l--;
			i--;
		}
		const float *x = i > 0 ? net->layers[i - 1].out : net->input;
		float *din = i > 0 ? net->grad[next] : NULL; /* the first layer's is not needed */
		const float *w = l->weight >= 0 ? params + net->tensors[l->weight].offset : NULL;
		float *dw = l->weight >= 0 ? grad + net->tensors[l->weight].offset : NULL;
		float *db = l->bias >= 0 ? grad + net->tensors[l->bias].offset : NULL;
		if (l->into_pool) {
			conv_pool_backward(net, l, din, dw, db, dout, x, w);
		} else {
			switch (l->kind) {
			case LAYER_CONV:
				ccl_conv2d_backward(din, dw, db, dout, x, w, net->col, batch, l->in_c, l->in_h,
				                    l->in_w, l->out_c, l->k, l->stride, l->pad);
				break;
			case LAYER_LINEAR:
				ccl_linear_backward(din, dw, db, dout, x, w, batch, (int)l->in_size, l->out_c);
				break;
			case LAYER_MAXPOOL:
				if (din)
					pool_backward(l, din, dout, 0, batch);
				break;
			}
		}
		dout = own = din;
		next ^= 1;
	}
}
