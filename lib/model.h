/*
 * model.h - the network architectures: LeNet-5, a small MLP and ResNet-20.
 *
 * A network is split, as the method needs it, into a feature extractor and a
 * linear classifier: logits = W z + b, where the features z are the output of
 * the last hidden layer after its ReLU.
 *
 *   lenet5 (C x 28 x 28): conv C->6 5x5 pad 2, ReLU, max-pool 2;
 *                         conv 6->16 5x5, ReLU, max-pool 2;
 *                         fc 400-120, ReLU; fc 120-84, ReLU (= features, 84);
 *                         fc 84-classes.  61,706 parameters for 1x28x28 and
 *                         10 classes.
 *   mlp (any C x H x W):  flatten; fc CHW-200, ReLU; fc 200-200, ReLU
 *                         (= features, 200); fc 200-classes.
 *   resnet20-evonorm, resnet20-groupnorm (C x H x W, H and W at least 8):
 *                         ResNet-20 with EvoNorm-S0 or GroupNorm (resnet.c);
 *                         features: the 64 globally pooled values.
 *                         272,474 parameters for 3x32x32 and 10 classes.
 *
 * The parameters live in ONE float vector owned by the caller, and the
 * gradient in another of the same layout, so averaging, momentum, gossip and
 * checksums are single loops over param_count floats.  The table of tensors
 * (ccl_net_tensor) says where each named tensor sits in that vector; names
 * and shapes follow PyTorch's (conv1.weight is (6,C,5,5), fc1.weight is
 * (120,400), ...), so a vector maps one to one onto a PyTorch state dict of
 * the same architecture.
 *
 * The network object itself holds no parameters, only the description and
 * the activations of the most recent forward pass, so one object can run
 * several parameter vectors in turn (an agent's own model and its
 * neighbours').  Its workspace grows to the largest batch seen and is then
 * reused: no allocation per call once warm.  A network object must not be
 * used by two threads at once; distinct objects are independent.
 *
 * Inputs are float NCHW images taken as they are: no normalisation happens
 * here.
 */
#ifndef CCL_MODEL_H
#define CCL_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ccl_net ccl_net;

/* One named tensor inside the parameter vector. */
struct ccl_param_tensor {
	char name[32];  /* "conv1.weight", "layer3.0.shortcut.norm.bias", ... */
	int ndim;       /* 1 to 4 */
	int shape[4];   /* the first ndim entries are used */
	size_t offset;  /* first float in the parameter vector */
	size_t size;    /* number of floats, the product of the shape */
};

/* arch is one of the names above; the input is in_c x in_h x in_w.  Returns NULL
 * after ccl_fail(CCL_EXIT_INPUT, ...) for an unknown architecture, an input
 * shape it cannot take or fewer than 2 classes. */
ccl_net *ccl_net_create(const char *arch, int classes, int in_c, int in_h, int in_w);
void ccl_net_free(ccl_net *net);

const char *ccl_net_arch(const ccl_net *net);
size_t ccl_net_param_count(const ccl_net *net);
int ccl_net_feature_dim(const ccl_net *net);
int ccl_net_classes(const ccl_net *net);
/* Floats per input sample, in_c * in_h * in_w. */
int ccl_net_input_dim(const ccl_net *net);
void ccl_net_input_shape(const ccl_net *net, int *c, int *h, int *w);

int ccl_net_tensor_count(const ccl_net *net);
/* Tensor i in [0, ccl_net_tensor_count), in the order they lie in the vector
 * (each layer's weight, then its bias); NULL when i is out of range. */
const struct ccl_param_tensor *ccl_net_tensor(const ccl_net *net, int i);

/* LeNet-5 and the MLP: every weight and bias uniform in [-1/sqrt(fan_in),
 * 1/sqrt(fan_in)] (fan_in is in_channels*k*k for a convolution, in_dim for
 * a linear layer; a bias uses its layer's).  ResNet-20: convolutions normal
 * with std sqrt(2 / (k*k*out_channels)), norm scales 1 and shifts 0, the fc
 * as above.  Drawn in tensor order from the stream
 * ccl_rng_init(seed, CCL_STREAM_GLOBAL, CCL_PURPOSE_INIT, 0).  The same seed
 * gives the same vector on every machine. */
void ccl_net_init_params(const ccl_net *net, uint64_t seed, float *params);

/* input (B,C,H,W).  The input is copied, so the caller may reuse its buffer
 * before the backward pass.  Afterwards features and logits are readable. */
void ccl_net_forward(ccl_net *net, const float *params, const float *input, int batch);
// (B,F), the features (after the feature ReLU, or the pool); valid until the next forward
const float *ccl_net_features(const ccl_net *net);
// (B,classes); valid until the next forward
const float *ccl_net_logits(const ccl_net *net);
/* Batch of the most recent forward (0 before the first). */
int ccl_net_batch(const ccl_net *net);

/* Backward pass of the most recent forward, which must have used the same
 * params: any other forward in between (a neighbour's model on the same
 * batch, say) replaces the activations, so run those first or on a second
 * network object.  dlogits (B,classes) is d(loss)/d(logits).  dfeatures
 * (B,F), or NULL, is an extra gradient with respect to the features, added
 * where they leave the feature ReLU: the way loss terms defined on the
 * features enter.  grad (param_count) is OVERWRITTEN with d(loss)/d(params).
 * Neither dlogits nor dfeatures is modified. */
void ccl_net_backward(ccl_net *net, const float *params, const float *dlogits,
                      const float *dfeatures, float *grad);

#endif
