/*
 * nn.h - the layers of the small networks the toolkit trains.
 *
 * Every layer is a forward/backward pair over plain float arrays with the
 * sizes passed explicitly; nothing here allocates, keeps state or prints.
 * Tensors are row-major, images NCHW: element (b, c, y, x) of a (B,C,H,W)
 * tensor is at ((b * C + c) * H + y) * W + x.
 *
 * Conventions shared by every backward function:
 *   - parameter gradients (dw, db) are OVERWRITTEN, never accumulated, so a
 *     gradient vector needs no clearing between steps;
 *   - the input gradient din is overwritten too, and may be NULL where nobody
 *     needs it (the first layer of a network), which skips its computation;
 *   - dout is the gradient of the loss with respect to the layer's output.
 *
 * Matrix products go to OpenBLAS (cblas_sgemm); the caller chooses its thread
 * count (one per process is what the toolkit uses).  Convolutions are matrix
 * products one sample at a time: for LeNet-sized images a sample's
 * rearranged input stays in the cache between being written and being
 * multiplied, which measured faster than one large product over the whole
 * batch (104 against 35 GFLOP/s for the first LeNet convolution), and the
 * per-sample product is already in NCHW order.  See nn.c for the layouts.
 *
 * Left out on purpose: dilation, groups, non-square kernels, anything
 * stateful (dropout, batch statistics).  Every function is reentrant: the
 * only scratch memory is the caller's workspace.
 */
#ifndef CCL_NN_H
#define CCL_NN_H

#include <stddef.h>
#include <stdint.h>

/* ---- fully connected ---- */

// in (B,IN), w (OUT,IN), b (OUT) or NULL -> out (B,OUT)
void ccl_linear_forward(float *out, const float *in, const float *w, const float *b,
                        int batch, int in_dim, int out_dim);
// dout (B,OUT) -> din (B,IN) or NULL, dw (OUT,IN), db (OUT) or NULL
void ccl_linear_backward(float *din, float *dw, float *db, const float *dout,
                         const float *in, const float *w,
                         int batch, int in_dim, int out_dim);

/* ---- 2-D convolution, square kernel k, equal stride and zero padding on both axes ---- */

/* Output side length: (h + 2 pad - k) / stride + 1 (0 or less: no output). */
int ccl_conv2d_out_dim(int h, int k, int stride, int pad);
/* Floats of workspace ("col") that ccl_conv2d_forward/backward need for
 * these sizes; it holds one sample's rearranged input at a time, so it does
 * not grow with the batch (about 10,600 floats for either LeNet convolution).
 * Its contents on entry do not matter. */
size_t ccl_conv2d_col_size(int c, int h, int wd, int oc, int k, int stride, int pad);

// in (B,C,H,W), w (OC,C,K,K), b (OC) or NULL -> out (B,OC,OH,OW); col is workspace
void ccl_conv2d_forward(float *out, const float *in, const float *w, const float *b,
                        float *col, int batch, int c, int h, int wd,
                        int oc, int k, int stride, int pad);
// dout (B,OC,OH,OW) -> din (B,C,H,W) or NULL, dw (OC,C,K,K), db (OC) or NULL
void ccl_conv2d_backward(float *din, float *dw, float *db, const float *dout,
                         const float *in, const float *w, float *col,
                         int batch, int c, int h, int wd,
                         int oc, int k, int stride, int pad);

/* ---- activations ---- */

// in (N) -> out (N); out may equal in
void ccl_relu_forward(float *out, const float *in, size_t n);
// dout (N) -> din (N); y is the forward input or output (both are > 0 at the
// same places); din may equal dout
void ccl_relu_backward(float *din, const float *dout, const float *y, size_t n);

/* ---- elementwise sum ---- */

// a (N) + b (N) -> out (N); out may equal a or b.  The residual addition
// (whose backward pass hands dout to both branches), and every gradient
// added onto another.
void ccl_add(float *out, const float *a, const float *b, size_t n);

/* ---- pooling ---- */

// in (B,C,H,W) -> out (B,C,OH,OW) with OH = (H - K) / stride + 1 (no padding);
// argmax (B,C,OH,OW) holds the index within its (H,W) plane of each maximum
void ccl_maxpool2d_forward(float *out, int32_t *argmax, const float *in,
                           int batch, int c, int h, int w, int k, int stride);
// dout (B,C,OH,OW) -> din (B,C,H,W), overwritten (zero where nothing was the max)
void ccl_maxpool2d_backward(float *din, const float *dout, const int32_t *argmax,
                            int batch, int c, int h, int w, int k, int stride);

/* Max-pool followed by ReLU, fused: relu(maxpool(x)) equals
 * maxpool(relu(x)) because ReLU is monotone, and so do the gradients (a
 * window's gradient goes to its maximum and is cut exactly when that maximum
 * is <= 0), but the ReLU then touches a k*k-th of the elements and needs no
 * pass of its own.  Same shapes as the plain max-pool; the backward pass
 * takes the forward's out for the ReLU mask. */
void ccl_maxpool2d_relu_forward(float *out, int32_t *argmax, const float *in,
                                int batch, int c, int h, int w, int k, int stride);
void ccl_maxpool2d_relu_backward(float *din, const float *dout, const float *out,
                                 const int32_t *argmax, int batch, int c, int h, int w,
                                 int k, int stride);

// in (B,C,H,W) -> out (B,C), the mean over each plane
void ccl_global_avgpool_forward(float *out, const float *in, int batch, int c, int h, int w);
// dout (B,C) -> din (B,C,H,W)
void ccl_global_avgpool_backward(float *din, const float *dout, int batch, int c, int h, int w);

/* ---- group normalisations (per sample; G groups of C / G channels) ----
 *
 * Both normalise each (sample, group) by the group's statistics over its
 * channels and pixels (biased variance, eps added inside the root) and
 * then scale and shift per channel with gamma and beta.  stats (B,G,2)
 * keeps each group's mean and 1 / sqrt(var + eps) for the backward pass.
 *
 *   GroupNorm:    y = (x - mean) * rstd * gamma[c] + beta[c]
 *   EvoNorm-S0:   y = x * hardsigmoid(x) * rstd * gamma[c] + beta[c],
 *                 hardsigmoid(x) = clamp(x / 6 + 1/2, 0, 1)
 *                 (its own non-linearity: no ReLU goes with it)
 *
 * The backward functions overwrite dgamma and dbeta (C) and din (B,C,H,W),
 * which may not alias dout.  C must be a multiple of G. */

// in (B,C,H,W), gamma, beta (C) -> out (B,C,H,W), stats (B,G,2)
void ccl_groupnorm_forward(float *out, float *stats, const float *in, const float *gamma, const float *beta,
                           int batch, int c, int hw, int groups, float eps);
// dout (B,C,H,W) -> din (B,C,H,W), dgamma, dbeta (C)
void ccl_groupnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                            const float *stats, const float *gamma, int batch, int c, int hw, int groups);

// in (B,C,H,W), gamma, beta (C) -> out (B,C,H,W), stats (B,G,2)
void ccl_evonorm_s0_forward(float *out, float *stats, const float *in, const float *gamma, const float *beta,
                            int batch, int c, int hw, int groups, float eps);
// dout (B,C,H,W) -> din (B,C,H,W), dgamma, dbeta (C)
void ccl_evonorm_s0_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                             const float *stats, const float *gamma, int batch, int c, int hw, int groups);

/* ---- loss ---- */

/* Mean cross-entropy of softmax(logits) against labels over the batch.
 * logits (B,K), labels (B) in [0, K).  When dlogits is not NULL it receives
 * d(mean loss)/dlogits (B,K) = (softmax - onehot) / B.  The maximum logit is
 * subtracted before exponentiating, so huge logits neither overflow nor give
 * NaN. */
float ccl_softmax_xent(const float *logits, const int32_t *labels, int batch, int classes,
                       float *dlogits);
/* How many rows have their largest logit (the first one on ties) at the label. */
int ccl_count_correct(const float *logits, const int32_t *labels, int batch, int classes);

/* ---- the BLAS kernel ---- */

/* The name of the kernel set OpenBLAS runs in this process ("SkylakeX",
 * "Haswell", ...): chosen for the CPU, or forced by OPENBLAS_CORETYPE.
 * Different kernels round differently, so results are byte-identical only
 * between processes that run the same kernel; the artifacts a computation
 * writes record it as "blas_kernel". */
const char *ccl_blas_kernel(void);

#endif
