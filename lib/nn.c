/*
 * nn.c - layer forward and backward passes (see nn.h for the conventions).
 *
 * The products go to OpenBLAS; what remains here is data movement (im2col,
 * col2im, pooling), and is written so that every output element is stored
 * exactly once where possible, instead of clearing a buffer and then adding
 * into it: at LeNet sizes the layers are cheap enough that extra passes over
 * memory show up in the step time.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "nn.h"

/* ---- helpers ----
 *
 * The build uses -O2, at which GCC only vectorizes a loop whose trip count
 * it knows; it does vectorize straight-line code.  The loops below therefore
 * work in fixed blocks of eight, which the compiler turns into SIMD
 * instructions, and finish the remainder one element at a time. */

/* Sum of n floats.  The eight partial sums also break the dependency chain
 * of one long running sum. */
static inline float sum_floats(const float *x, int n)
{
	float part[8] = { 0 };
	int i = 0;
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			part[j] += x[i + j];
	float s = 0.0f;
	for (; i < n; i++)
		s += x[i];
	for (int j = 0; j < 8; j++)
		s += part[j];
	return s;
}

// dst (N) += src (N)
static inline void add_floats(float *restrict dst, const float *restrict src, int n)
{
	int i = 0;
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			dst[i + j] += src[i + j];
	for (; i < n; i++)
		dst[i] += src[i];
}

// dst (N) = src (N) + bias
static inline void add_bias(float *restrict dst, const float *restrict src, float bias, int n)
{
	int i = 0;
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			dst[i + j] = src[i + j] + bias;
	for (; i < n; i++)
		dst[i] = src[i] + bias;
}

/* ---- fully connected ---- */

// in (B,IN), w (OUT,IN), b (OUT) -> out (B,OUT)
void ccl_linear_forward(float *out, const float *in, const float *w, const float *b,
                        int batch, int in_dim, int out_dim)
{
	/* Start from the bias so that the product can accumulate onto it
	 * (beta = 1) instead of needing a second pass to add it. */
	float beta = 0.0f;
	if (b) {
		for (int i = 0; i < batch; i++)
			memcpy(out + (size_t)i * out_dim, b, sizeof(float) * (size_t)out_dim);
		beta = 1.0f;
	}
	// out (B,OUT) = in (B,IN) . w^T (IN,OUT)
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out_dim, in_dim,
	            1.0f, in, in_dim, w, in_dim, beta, out, out_dim);
}

// dout (B,OUT) -> din (B,IN), dw (OUT,IN), db (OUT)
void ccl_linear_backward(float *din, float *dw, float *db, const float *dout,
                         const float *in, const float *w,
                         int batch, int in_dim, int out_dim)
{
	// dw (OUT,IN) = dout^T (OUT,B) . in (B,IN)
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out_dim, in_dim, batch,
	            1.0f, dout, out_dim, in, in_dim, 0.0f, dw, in_dim);
	if (db) {
		memcpy(db, dout, sizeof(float) * (size_t)out_dim);
		for (int i = 1; i < batch; i++) {
			const float *row = dout + (size_t)i * out_dim;
			for (int o = 0; o < out_dim; o++)
				db[o] += row[o];
		}
	}
	// din (B,IN) = dout (B,OUT) . w (OUT,IN)
	if (din)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, in_dim, out_dim,
		            1.0f, dout, out_dim, w, in_dim, 0.0f, din, in_dim);
}

/* ---- 2-D convolution ----
 *
 * Both passes turn the convolution into matrix products, one sample at a
 * time, over one of two layouts of the column matrix.
 *
 * The classic im2col matrix is (C*K*K, OH*OW): row (ci,ki,kj), column (y,x)
 * holds input pixel (ci, y*stride - pad + ki, x*stride - pad + kj), zero in
 * the padding.  Building it takes C*K*K*OH short copies of OW floats.
 *
 * The "wide" layout, for stride 1, first copies the sample into a
 * zero-padded buffer xp of PH x PW = (H + 2 pad) x (W + 2 pad) per channel
 * and computes the output on an OH x PW grid, as if it were as wide as the
 * padded input; the last PW - OW columns of each output row are meaningless
 * and dropped.  Row (ci,ki,kj) of its column matrix is then one contiguous
 * run of OH*PW floats of xp, a single copy.  It wins when the short copies
 * cost more than the (PW - OW) / OW extra work in the products: measured on
 * LeNet-5, for conv1 (28 -> 32 columns, 14% more) but not for conv2 (10 -> 14,
 * 40% more), hence the 25% threshold below.
 *
 * The weight gradient is computed transposed, dwT (CKK,OC) = col . gT with
 * gT the transposed output gradient (N,OC), and transposed once at the end:
 * OpenBLAS runs that shape about twice as fast as dout . col^T at these
 * sizes (4.4 against 8.6 us per sample for conv2).
 */

struct conv_shape {
	int oh, ow;     /* output size */
	int ph, pw;     /* padded input (wide layout) */
	int wide;       /* use the wide layout */
	int n;          /* columns of the column matrix: OH*PW (wide) or OH*OW */
	int ckk;        /* rows of the column matrix */
	size_t xp_size; /* floats of xp: C*PH*PW, plus K-1 so the last rows can overrun */
};

static struct conv_shape conv_shape(int c, int h, int wd, int k, int stride, int pad)
{
	struct conv_shape s;
	s.oh = ccl_conv2d_out_dim(h, k, stride, pad);
	s.ow = ccl_conv2d_out_dim(wd, k, stride, pad);
	s.ph = h + 2 * pad;
	s.pw = wd + 2 * pad;
	s.wide = stride == 1 && 4 * s.pw <= 5 * s.ow;
	s.n = s.wide ? s.oh * s.pw : s.oh * s.ow;
	s.ckk = c * k * k;
	s.xp_size = s.wide ? (size_t)c * s.ph * s.pw + (size_t)(k - 1) : 0;
	return s;
}

int ccl_conv2d_out_dim(int h, int k, int stride, int pad)
{
	return (h + 2 * pad - k) / stride + 1;
}

/* Workspace: the column matrix (CKK,N), the wide product or the transposed
 * output gradient (OC,N), the transposed weight gradient (CKK,OC), xp. */
size_t ccl_conv2d_col_size(int c, int h, int wd, int oc, int k, int stride, int pad)
{
	struct conv_shape s = conv_shape(c, h, wd, k, stride, pad);
	return ((size_t)s.ckk + (size_t)oc) * (size_t)s.n + (size_t)s.ckk * oc + s.xp_size;
}

// in (C,H,W) of one sample -> xp (C,PH,PW) plus K-1 trailing floats, zero
// outside the image
static void pad_input(float *xp, const float *in, int c, int h, int wd, int pad,
                      const struct conv_shape *s)
{
	memset(xp, 0, sizeof(float) * s->xp_size);
	for (int ci = 0; ci < c; ci++)
		for (int y = 0; y < h; y++)
			memcpy(xp + ((size_t)ci * s->ph + y + pad) * s->pw + pad,
			       in + ((size_t)ci * h + y) * wd, sizeof(float) * (size_t)wd);
}

// xp (C,PH,PW) -> col (C*K*K, OH*PW), wide layout
static void im2col_wide(float *col, const float *xp, int c, int k, const struct conv_shape *s)
{
	for (int ci = 0; ci < c; ci++)
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				/* Reads at most K-1 floats past the channel: into the
				 * next channel or xp's tail, and only for dropped
				 * output columns. */
				memcpy(col, xp + ((size_t)ci * s->ph + ki) * s->pw + kj,
				       sizeof(float) * (size_t)s->n);
				col += s->n;
			}
}

// dcol (C*K*K, OH*PW) -> dxp (C,PH,PW), the adjoint of im2col_wide.  The
// dropped columns of dcol must be zero (they are when the output gradient is
// zero there), since they land on real pixels.
static void col2im_wide(float *dxp, const float *dcol, int c, int k, const struct conv_shape *s)
{
	memset(dxp, 0, sizeof(float) * s->xp_size);
	for (int ci = 0; ci < c; ci++)
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				add_floats(dxp + ((size_t)ci * s->ph + ki) * s->pw + kj, dcol, s->n);
				dcol += s->n;
			}
}

/* For kernel offset kj, the output columns x whose input column
 * x * stride - pad + kj lies inside [0, wd): [*x0, *x1).  Everything outside
 * is padding. */
static void valid_range(int kj, int wd, int ow, int stride, int pad, int *x0, int *x1)
{
	int lo = pad - kj; /* need x * stride >= lo */
	int hi = wd + pad - kj; /* need x * stride < hi */
	int a = lo <= 0 ? 0 : (lo + stride - 1) / stride;
	int b = hi <= 0 ? 0 : (hi + stride - 1) / stride;
	if (a > ow) a = ow;
	if (b > ow) b = ow;
	if (b < a) b = a;
	*x0 = a;
	*x1 = b;
}

// in (C,H,W) of one sample -> col (C*K*K, OH*OW), classic layout
static void im2col(float *col, const float *in, int c, int h, int wd, int k,
                   int stride, int pad, int oh, int ow)
{
	for (int ci = 0; ci < c; ci++) {
		const float *plane = in + (size_t)ci * h * wd;
		for (int ki = 0; ki < k; ki++) {
			for (int kj = 0; kj < k; kj++) {
				int x0, x1;
				valid_range(kj, wd, ow, stride, pad, &x0, &x1);
				for (int y = 0; y < oh; y++) {
					int iy = y * stride - pad + ki;
					float *dst = col + (size_t)y * ow;
					if (iy < 0 || iy >= h) {
						memset(dst, 0, sizeof(float) * (size_t)ow);
						continue;
					}
					const float *src = plane + (size_t)iy * wd - pad + kj;
					for (int x = 0; x < x0; x++)
						dst[x] = 0.0f;
					if (stride == 1) {
						/* Adding zero stops the compiler from
						 * making this a memcpy call, which for
						 * rows of ten floats costs more than
						 * the copy. */
						add_bias(dst + x0, src + x0, 0.0f, x1 - x0);
					} else {
						for (int x = x0; x < x1; x++)
							dst[x] = src[x * stride];
					}
					for (int x = x1; x < ow; x++)
						dst[x] = 0.0f;
				}
				col += (size_t)oh * ow;
			}
		}
	}
}

// col (C*K*K, OH*OW) -> din (C,H,W) of one sample, the adjoint of im2col:
// every column entry is added back to the input pixel it was copied from
static void col2im(float *din, const float *col, int c, int h, int wd, int k,
                   int stride, int pad, int oh, int ow)
{
	memset(din, 0, sizeof(float) * (size_t)c * h * wd);
	for (int ci = 0; ci < c; ci++) {
		float *plane = din + (size_t)ci * h * wd;
		for (int ki = 0; ki < k; ki++) {
			for (int kj = 0; kj < k; kj++) {
				int x0, x1;
				valid_range(kj, wd, ow, stride, pad, &x0, &x1);
				for (int y = 0; y < oh; y++) {
					int iy = y * stride - pad + ki;
					if (iy < 0 || iy >= h)
						continue;
					const float *src = col + (size_t)y * ow;
					float *dst = plane + (size_t)iy * wd - pad + kj;
					if (stride == 1) {
						add_floats(dst + x0, src + x0, x1 - x0);
					} else {
						for (int x = x0; x < x1; x++)
							dst[x * stride] += src[x];
					}
				}
				col += (size_t)oh * ow;
			}
		}
	}
}

// in (B,C,H,W), w (OC,C,K,K), b (OC) -> out (B,OC,OH,OW)
void ccl_conv2d_forward(float *out, const float *in, const float *w, const float *b,
                        float *col, int batch, int c, int h, int wd,
                        int oc, int k, int stride, int pad)
{
	struct conv_shape s = conv_shape(c, h, wd, k, stride, pad);
	int p = s.oh * s.ow;
	size_t in_size = (size_t)c * h * wd, out_size = (size_t)oc * p;
	float *prod = col + (size_t)s.ckk * s.n;
	float *xp = prod + (size_t)oc * s.n + (size_t)s.ckk * oc;

	for (int i = 0; i < batch; i++) {
		float *o = out + i * out_size;
		if (s.wide) {
			pad_input(xp, in + i * in_size, c, h, wd, pad, &s);
			im2col_wide(col, xp, c, k, &s);
			// prod (OC,OH*PW) = w (OC,CKK) . col (CKK,OH*PW)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, oc, s.n, s.ckk,
			            1.0f, w, s.ckk, col, s.n, 0.0f, prod, s.n);
			/* Keep the first OW columns of each row, adding the bias
			 * on the way. */
			for (int co = 0; co < oc; co++)
				for (int y = 0; y < s.oh; y++)
					add_bias(o + ((size_t)co * s.oh + y) * s.ow,
					         prod + (size_t)co * s.n + (size_t)y * s.pw,
					         b ? b[co] : 0.0f, s.ow);
			continue;
		}
		float beta = 0.0f;
		im2col(col, in + i * in_size, c, h, wd, k, stride, pad, s.oh, s.ow);
		if (b) {
			/* The bias goes in first and the product accumulates onto
			 * it, which saves a pass over the output. */
			for (int co = 0; co < oc; co++)
				for (int j = 0; j < p; j++)
					o[(size_t)co * p + j] = b[co];
			beta = 1.0f;
		}
		// out_i (OC,P) = w (OC,CKK) . col (CKK,P)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, oc, p, s.ckk,
		            1.0f, w, s.ckk, col, p, beta, o, p);
	}
}

// dout (B,OC,OH,OW) -> din (B,C,H,W), dw (OC,C,K,K), db (OC)
void ccl_conv2d_backward(float *din, float *dw, float *db, const float *dout,
                         const float *in, const float *w, float *col,
                         int batch, int c, int h, int wd,
                         int oc, int k, int stride, int pad)
{
	struct conv_shape s = conv_shape(c, h, wd, k, stride, pad);
	int p = s.oh * s.ow;
	size_t in_size = (size_t)c * h * wd, out_size = (size_t)oc * p;
	float *gT = col + (size_t)s.ckk * s.n, *dwT = gT + (size_t)oc * s.n;
	float *xp = dwT + (size_t)s.ckk * oc;
	/* Row of gT for output pixel (y, x): y*PW + x in the wide layout. */
	int row_stride = s.wide ? s.pw : s.ow;

	if (db) {
		for (int co = 0; co < oc; co++) {
			/* Summed in double across samples: a batch of planes
			 * holds tens of thousands of terms. */
			double sum = 0.0;
			for (int i = 0; i < batch; i++)
				sum += sum_floats(dout + i * out_size + (size_t)co * p, p);
			db[co] = (float)sum;
		}
	}
	if (batch <= 0) {
		memset(dw, 0, sizeof(float) * (size_t)oc * s.ckk);
		return;
	}
	/* In the wide layout the rows of gT for dropped output columns stay
	 * zero for the whole batch, so they add nothing to either product:
	 * clear them once. */
	if (s.wide)
		memset(gT, 0, sizeof(float) * (size_t)oc * s.n);

	for (int i = 0; i < batch; i++) {
		const float *d = dout + i * out_size;
		if (s.wide) {
			pad_input(xp, in + i * in_size, c, h, wd, pad, &s);
			im2col_wide(col, xp, c, k, &s);
		} else {
			im2col(col, in + i * in_size, c, h, wd, k, stride, pad, s.oh, s.ow);
		}
		for (int co = 0; co < oc; co++)
			for (int y = 0; y < s.oh; y++) {
				const float *src = d + ((size_t)co * s.oh + y) * s.ow;
				float *dst = gT + (size_t)y * row_stride * oc + co;
				for (int x = 0; x < s.ow; x++)
					dst[(size_t)x * oc] = src[x];
			}
		// dwT (CKK,OC) += col (CKK,N) . gT (N,OC); the first sample overwrites
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.ckk, oc, s.n,
		            1.0f, col, s.n, gT, oc, i == 0 ? 0.0f : 1.0f, dwT, oc);
		if (!din)
			continue;
		float *di = din + i * in_size;
		if (s.wide) {
			// dcol (CKK,N) = w^T (CKK,OC) . gT^T (OC,N), into the same workspace
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, s.ckk, s.n, oc,
			            1.0f, w, s.ckk, gT, oc, 0.0f, col, s.n);
			col2im_wide(xp, col, c, k, &s);
			for (int ci = 0; ci < c; ci++)
				for (int y = 0; y < h; y++)
					memcpy(di + ((size_t)ci * h + y) * wd,
					       xp + ((size_t)ci * s.ph + y + pad) * s.pw + pad,
					       sizeof(float) * (size_t)wd);
		} else {
			// dcol (CKK,P) = w^T (CKK,OC) . dout_i (OC,P), into the same workspace
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.ckk, p, oc,
			            1.0f, w, s.ckk, d, p, 0.0f, col, p);
			col2im(di, col, c, h, wd, k, stride, pad, s.oh, s.ow);
		}
	}
	for (int co = 0; co < oc; co++)
		for (int r = 0; r < s.ckk; r++)
			dw[(size_t)co * s.ckk + r] = dwT[(size_t)r * oc + co];
}

/* ---- activations ---- */

void ccl_relu_forward(float *out, const float *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void ccl_relu_backward(float *din, const float *dout, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		din[i] = y[i] > 0.0f ? dout[i] : 0.0f;
}

/* ---- pooling ---- */

/* The common 2x2, stride 2 pool.  Which pixel of a window wins is
 * unpredictable, so the code avoids branches: the maxima are maxss-style
 * selects and the winner's index is computed with arithmetic on the
 * comparison results.  Ties go to the first pixel in row-major order. */
static void maxpool2x2_forward(float *out, int32_t *argmax, const float *in,
                               size_t planes, int h, int w)
{
	int oh = h / 2, ow = w / 2;
	for (size_t pl = 0; pl < planes; pl++) {
		const float *src = in + pl * h * w;
		float *dst = out + pl * oh * ow;
		int32_t *am = argmax + pl * oh * ow;
		for (int y = 0; y < oh; y++) {
			const float *r0 = src + (size_t)(2 * y) * w, *r1 = r0 + w;
			for (int x = 0; x < ow; x++) {
				float a0 = r0[2 * x], a1 = r0[2 * x + 1];
				float a2 = r1[2 * x], a3 = r1[2 * x + 1];
				int right0 = a1 > a0, right1 = a3 > a2;
				float m0 = a1 > a0 ? a1 : a0, m1 = a3 > a2 ? a3 : a2;
				int lower = m1 > m0;
				dst[y * ow + x] = m1 > m0 ? m1 : m0;
				am[y * ow + x] = 2 * y * w + 2 * x + right0 + lower * (w + right1 - right0);
			}
		}
	}
}

// in (B,C,H,W) -> out (B,C,OH,OW), argmax (B,C,OH,OW)
void ccl_maxpool2d_forward(float *out, int32_t *argmax, const float *in,
                           int batch, int c, int h, int w, int k, int stride)
{
	int oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
	size_t planes = (size_t)batch * c;

	if (k == 2 && stride == 2) {
		maxpool2x2_forward(out, argmax, in, planes, h, w);
		return;
	}
	for (size_t pl = 0; pl < planes; pl++) {
		const float *src = in + pl * h * w;
		float *dst = out + pl * oh * ow;
		int32_t *am = argmax + pl * oh * ow;
		for (int y = 0; y < oh; y++) {
			for (int x = 0; x < ow; x++) {
				int best = y * stride * w + x * stride;
				float m = src[best];
				for (int ki = 0; ki < k; ki++) {
					const float *row = src + (size_t)(y * stride + ki) * w + x * stride;
					for (int kj = 0; kj < k; kj++) {
						/* Strictly greater: on ties the first maximum
						 * wins, as in PyTorch. */
						if (row[kj] > m) {
							m = row[kj];
							best = (y * stride + ki) * w + x * stride + kj;
						}
					}
				}
				dst[y * ow + x] = m;
				am[y * ow + x] = best;
			}
		}
	}
}

static void maxpool2x2_backward(float *din, const float *dout, const int32_t *argmax,
                                size_t planes, int h, int w)
{
	int oh = h / 2, ow = w / 2;
	for (size_t pl = 0; pl < planes; pl++) {
		float *dst = din + pl * h * w;
		const float *d = dout + pl * oh * ow;
		const int32_t *am = argmax + pl * oh * ow;
		for (int y = 0; y < oh; y++) {
			float *r0 = dst + (size_t)(2 * y) * w, *r1 = r0 + w;
			for (int x = 0; x < ow; x++) {
				/* Clear the window, then store at its maximum: no
				 * data-dependent branch. */
				r0[2 * x] = r0[2 * x + 1] = r1[2 * x] = r1[2 * x + 1] = 0.0f;
				dst[am[y * ow + x]] = d[y * ow + x];
			}
			if (w & 1) { /* the column no window covers */
				r0[w - 1] = 0.0f;
				r1[w - 1] = 0.0f;
			}
		}
		if (h & 1)
			memset(dst + (size_t)(h - 1) * w, 0, sizeof(float) * (size_t)w);
	}
}

// dout (B,C,OH,OW) -> din (B,C,H,W)
void ccl_maxpool2d_backward(float *din, const float *dout, const int32_t *argmax,
                            int batch, int c, int h, int w, int k, int stride)
{
	int oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
	size_t planes = (size_t)batch * c;

	if (k == 2 && stride == 2) {
		/* Windows tile the plane: write each pixel once, the gradient at
		 * the window's maximum and zero elsewhere, which saves clearing
		 * din first. */
		maxpool2x2_backward(din, dout, argmax, planes, h, w);
		return;
	}
	memset(din, 0, sizeof(float) * planes * h * w);
	for (size_t pl = 0; pl < planes; pl++) {
		float *dst = din + pl * h * w;
		const float *d = dout + pl * oh * ow;
		const int32_t *am = argmax + pl * oh * ow;
		/* Adding, not storing: overlapping windows can share a maximum. */
		for (int j = 0; j < oh * ow; j++)
			dst[am[j]] += d[j];
	}
}

// in (B,C,H,W) -> out (B,C)
void ccl_global_avgpool_forward(float *out, const float *in, int batch, int c, int h, int w)
{
	size_t planes = (size_t)batch * c, n = (size_t)h * w;
	for (size_t pl = 0; pl < planes; pl++) {
		const float *src = in + pl * n;
		float s = 0.0f;
		for (size_t j = 0; j < n; j++)
			s += src[j];
		out[pl] = s / (float)n;
	}
}

// dout (B,C) -> din (B,C,H,W)
void ccl_global_avgpool_backward(float *din, const float *dout, int batch, int c, int h, int w)
{
	size_t planes = (size_t)batch * c, n = (size_t)h * w;
	for (size_t pl = 0; pl < planes; pl++) {
		float g = dout[pl] / (float)n;
		float *dst = din + pl * n;
		for (size_t j = 0; j < n; j++)
			dst[j] = g;
	}
}

/* ---- loss ---- */

// logits (B,K), labels (B) -> mean loss; dlogits (B,K)
float ccl_softmax_xent(const float *logits, const int32_t *labels, int batch, int classes,
                       float *dlogits)
{
	double total = 0.0;
	for (int i = 0; i < batch; i++) {
		const float *z = logits + (size_t)i * classes;
		float m = z[0];
		for (int j = 1; j < classes; j++)
			if (z[j] > m)
				m = z[j];
		/* After subtracting the maximum every exponent is <= 0 and one of
		 * them is exactly 0, so the sum lies in [1, K]: no overflow, and
		 * its logarithm is safe. */
		double sum = 0.0;
		for (int j = 0; j < classes; j++)
			sum += exp((double)(z[j] - m));
		double log_sum = log(sum);
		total += log_sum - (double)(z[labels[i]] - m);
		if (dlogits) {
			float *d = dlogits + (size_t)i * classes;
			double scale = 1.0 / (sum * batch);
			for (int j = 0; j < classes; j++)
				d[j] = (float)(exp((double)(z[j] - m)) * scale);
			d[labels[i]] -= 1.0f / (float)batch;
		}
	}
	return batch > 0 ? (float)(total / batch) : 0.0f;
}

int ccl_count_correct(const float *logits, const int32_t *labels, int batch, int classes)
{
	int correct = 0;
	for (int i = 0; i < batch; i++) {
		const float *z = logits + (size_t)i * classes;
		int best = 0;
		for (int j = 1; j < classes; j++)
			if (z[j] > z[best])
				best = j;
		correct += best == labels[i];
	}
	return correct;
}
