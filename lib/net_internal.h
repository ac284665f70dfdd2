/*
 * net_internal.h - what model.c and resnet.c share of a network object:
 * its description, its table of named tensors and, for the chain networks
 * (LeNet-5, the MLP), their layers.  Not part of the library's interface.
 */
#ifndef CCL_NET_INTERNAL_H
#define CCL_NET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define MAX_LAYERS 8
#define MAX_TENSORS 72 /* ResNet-20: 21 convolutions, 21 norms of 2, fc 2 */

enum layer_kind { LAYER_CONV, LAYER_LINEAR, LAYER_MAXPOOL };

struct layer {
	enum layer_kind kind;
	int in_c, in_h, in_w;    /* per-sample input shape; linear: (in_dim, 1, 1) */
	int out_c, out_h, out_w; /* per-sample output shape; linear: (out_dim, 1, 1) */
	int k, stride, pad;      /* conv and max-pool */
	int relu;                /* a ReLU follows (in place on out; fused into a pool) */
	int into_pool;           /* conv read only by the max-pool after it: out holds CHUNK samples */
	int weight, bias;        /* tensor indices, -1 for none */
	int fan_in;              /* for initialisation */
	size_t in_size, out_size; /* floats per sample */
	float *out;              /* (B, out_size), after the ReLU if any */
	int32_t *argmax;         /* max-pool: (B, out_size) */
};

struct resnet;

struct ccl_net {
	char arch[24];
	struct resnet *resnet; /* resnet.c's network, or NULL for a chain of layers */
	int classes, in_c, in_h, in_w;
	int feature_layer; /* the layer whose output (after its ReLU) is z */
	int n_layers, n_tensors;
	struct layer layers[MAX_LAYERS];
	struct ccl_param_tensor tensors[MAX_TENSORS];
	size_t n_params;

	/* Workspace, sized for `capacity` samples. */
	int capacity, batch;
	float *input;            /* copy of the last forward's input (B, in_dim) */
	float *col;              /* convolution workspace, shared by the layers */
	float *grad[2];          /* backward ping-pong, (B, largest layer boundary) */
	float *chunk_grad;       /* gradient at an into_pool conv's output, (CHUNK, out_size) */
	float *dw_part;          /* a later chunk's weight and bias gradient, to add on */
	size_t col_size, grad_size;
};

/* Appends the tensor "<layer>.<what>" of the given shape to the vector
 * and returns its index. */
int ccl_net_add_tensor(ccl_net *net, const char *layer, const char *what, int ndim, int d0, int d1, int d2, int d3);

/* resnet.c: a ResNet-20 for net (whose arch, classes and input are set)
 * with the named norm; 0, or -1 after ccl_fail. */
int ccl_resnet_create(ccl_net *net, const char *norm);
void ccl_resnet_free(struct resnet *r);
void ccl_resnet_init_params(const ccl_net *net, uint64_t seed, float *params);
void ccl_resnet_forward(ccl_net *net, const float *params, const float *input, int batch);
const float *ccl_resnet_features(const ccl_net *net);
const float *ccl_resnet_logits(const ccl_net *net);
void ccl_resnet_backward(ccl_net *net, const float *params, const float *dlogits, const float *dfeatures,
                         float *grad);

#endif
