/*
 * nn.c - layer forward and backward passes (see nn.h for the conventions).
 *
 * The products go to OpenBLAS; what remains here is data movement (strips,
 * im2col, pooling).  At LeNet sizes that movement cost more than the
 * products in a first, straightforward version, so it is written to touch
 * memory as little as possible: every output element is stored once where
 * that can be arranged (rather than cleared and then added to), short rows
 * are copied without a call to memcpy, and data-dependent branches are
 * avoided.  The costs quoted in comments were measured on the 2-vCPU AMD
 * EPYC (Zen 4) machines of PLATFORM.md with OpenBLAS 0.3.21, one thread.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn.h"

/* ---- helpers ----
 *
 * The build uses -O2, at which GCC 12 vectorizes a loop only when no scalar
 * remainder is needed, so hardly ever for a length known at run time; it
 * does vectorize straight-line code.  The loops below therefore work in
 * fixed blocks of eight, which become SIMD instructions, and finish the
 * remainder one element at a time. */

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

// out (N) = a (N) + b (N); out may be a or b (see nn.h)
void ccl_add(float *out, const float *a, const float *b, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		float s[8];
		for (int j = 0; j < 8; j++)
			s[j] = a[i + j] + b[i + j];
		for (int j = 0; j < 8; j++)
			out[i + j] = s[j];
	}
	for (; i < n; i++)
		out[i] = a[i] + b[i];
}

// dst (N) = value
static inline void fill_floats(float *dst, float value, int n)
{
	int i = 0;
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			dst[i + j] = value;
	for (; i < n; i++)
		dst[i] = value;
}

/* ---- fully connected ---- */

// in (B,IN), w (OUT,IN), b (OUT) -> out (B,OUT)
void ccl_linear_forward(float *out, const float *in, const float *w, const float *b,
                        int batch, int in_dim, int out_dim)
{
	/* Start from the bias so that the product can accumulate onto it
	 * (beta = 1) instead of needing a second pass to add it. */
	if (b)
		for (int i = 0; i < batch; i++)
			memcpy(out + (size_t)i * out_dim, b, sizeof(float) * (size_t)out_dim);
	// out (B,OUT) (+)= in (B,IN) . w^T (IN,OUT)
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out_dim, in_dim,
	            1.0f, in, in_dim, w, in_dim, b ? 1.0f : 0.0f, out, out_dim);
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
		for (int i = 1; i < batch; i++)
			ccl_add(db, db, dout + (size_t)i * out_dim, (size_t)out_dim);
	}
	// din (B,IN) = dout (B,OUT) . w (OUT,IN)
	if (din)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, in_dim, out_dim,
		            1.0f, dout, out_dim, w, in_dim, 0.0f, din, in_dim);
}

/* ---- 2-D convolution ----
 *
 * Both passes turn the convolution into matrix products, one sample at a
 * time, over one of two arrangements of the input.
 *
 * Any stride: the classic im2col matrix (C*K*K, OH*OW), whose row (ci,ki,kj),
 * column (y,x) holds input pixel (ci, y*stride - pad + ki, x*stride - pad + kj),
 * zero in the padding; then out = w . col.  Building it takes C*K*K*OH short
 * copies and writes K*K times the input.
 *
 * Stride 1 (all of LeNet-5): "strips".  Strip (ci,kj) is the padded input
 * plane ci shifted left by kj and cut to OW columns, PH x OW floats:
 *     T[(ci,kj)][yy*OW + x] = xp[ci][yy][x + kj]
 * Kernel row ki then needs T's columns ki*OW ... ki*OW + OH*OW - 1: a plain
 * (C*K, OH*OW) submatrix with leading dimension PH*OW, so
 *     out = sum over ki of w_ki . T_ki,    w_ki[oc][(ci,kj)] = w[oc][ci][ki][kj]
 * is K products with no copying in between.  T is K times smaller than the
 * im2col matrix; at LeNet sizes building im2col cost more than the products,
 * and the K smaller products are only about 10% slower than one big one.
 */

struct conv_shape {
	int oh, ow;     /* output size */
	int ph, pw;     /* padded input size */
	int strips;     /* stride 1: use strips */
	int ck;         /* rows of T: C*K */
	int tcols;      /* columns of T: PH*OW */
	int ckk;        /* C*K*K */
	int dw_transposed; /* strips: weight gradient as T . dout^T, see below */
	size_t xp_size; /* the zero-padded input C*PH*PW, when there is padding */
};

static struct conv_shape conv_shape(int c, int h, int wd, int oc, int k, int stride, int pad)
{
	struct conv_shape s;
	s.oh = ccl_conv2d_out_dim(h, k, stride, pad);
	s.ow = ccl_conv2d_out_dim(wd, k, stride, pad);
	s.ph = h + 2 * pad;
	s.pw = wd + 2 * pad;
	s.strips = stride == 1;
	s.ck = c * k;
	s.tcols = s.ph * s.ow;
	s.ckk = c * k * k;
	/* Which way round OpenBLAS 0.3 computes the weight gradient faster
	 * depends on the shape: measured, (C*K, OC) = T . doutT is 1.7 times
	 * faster for conv2 of LeNet (OC 16), (OC, C*K) = dout . T^T twice as
	 * fast for conv1 (OC 6). */
	s.dw_transposed = oc >= 16;
	s.xp_size = pad > 0 ? (size_t)c * s.ph * s.pw : 0;
	return s;
}

int ccl_conv2d_out_dim(int h, int k, int stride, int pad)
{
	return (h + 2 * pad - k) / stride + 1;
}

/* Workspace.  Strips: T (C*K, PH*OW), reused for its gradient; xp; the
 * rearranged weights and their gradient, 2 x (K, OC, C*K); the transposed
 * output gradient (OH*OW, OC).  Classic: the im2col matrix. */
size_t ccl_conv2d_col_size(int c, int h, int wd, int oc, int k, int stride, int pad)
{
	struct conv_shape s = conv_shape(c, h, wd, oc, k, stride, pad);
	if (!s.strips)
		return (size_t)s.ckk * (size_t)s.oh * (size_t)s.ow;
	return (size_t)s.ck * (size_t)s.tcols + s.xp_size + 2 * (size_t)s.ckk * (size_t)oc +
	       (size_t)s.oh * (size_t)s.ow * (size_t)oc;
}

/* Copies n floats.  For the short rows of small images a memcpy call costs
 * more than the copy, and GCC turns any copy loop back into that call; up
 * to 32 floats, a few overlapping fixed-size copies do instead, which it
 * inlines as vector moves. */
static inline void copy_row(float *restrict dst, const float *restrict src, int n)
{
	if (n >= 16 && n <= 32) {
		memcpy(dst, src, 8 * sizeof(float));
		memcpy(dst + 8, src + 8, 8 * sizeof(float));
		memcpy(dst + n - 16, src + n - 16, 8 * sizeof(float));
		memcpy(dst + n - 8, src + n - 8, 8 * sizeof(float));
	} else if (n >= 8 && n < 16) {
		memcpy(dst, src, 8 * sizeof(float));
		memcpy(dst + n - 8, src + n - 8, 8 * sizeof(float));
	} else if (n >= 4 && n < 8) {
		memcpy(dst, src, 4 * sizeof(float));
		memcpy(dst + n - 4, src + n - 4, 4 * sizeof(float));
	} else {
		memcpy(dst, src, sizeof(float) * (size_t)n);
	}
}

// in (C,H,W) of one sample -> xp (C,PH,PW), zero outside the image
static void pad_input(float *xp, const float *in, int c, int h, int wd, int pad,
                      const struct conv_shape *s)
{
	memset(xp, 0, sizeof(float) * s->xp_size);
	for (int ci = 0; ci < c; ci++)
		for (int y = 0; y < h; y++)
			copy_row(xp + ((size_t)ci * s->ph + y + pad) * s->pw + pad,
			         in + ((size_t)ci * h + y) * wd, wd);
}

// xp (C,PH,PW) -> T (C*K, PH*OW), T[(ci,kj)][yy*OW + x] = xp[ci][yy][x + kj]
static void build_strips(float *t, const float *xp, int c, int k, const struct conv_shape *s)
{
	for (int ci = 0; ci < c; ci++)
		for (int kj = 0; kj < k; kj++) {
			const float *src = xp + (size_t)ci * s->ph * s->pw + kj;
			for (int yy = 0; yy < s->ph; yy++)
				copy_row(t + (size_t)yy * s->ow, src + (size_t)yy * s->pw, s->ow);
			t += s->tcols;
		}
}

// dT (C*K, PH*OW) -> dxp (C,PH,PW), the adjoint of build_strips
static void strips_backward(float *dxp, const float *dt, int c, int k, const struct conv_shape *s)
{
	memset(dxp, 0, sizeof(float) * (size_t)c * s->ph * s->pw);
	for (int ci = 0; ci < c; ci++)
		for (int kj = 0; kj < k; kj++) {
			float *dst = dxp + (size_t)ci * s->ph * s->pw + kj;
			for (int yy = 0; yy < s->ph; yy++)
				ccl_add(dst + (size_t)yy * s->pw, dst + (size_t)yy * s->pw, dt + (size_t)yy * s->ow,
				        (size_t)s->ow);
			dt += s->tcols;
		}
}

// w (OC,C,K,K) -> wr (K,OC,C*K), wr[ki][oc][ci*K + kj] = w[oc][ci][ki][kj]
static void rearrange_weights(float *wr, const float *w, int c, int oc, int k)
{
	for (int o = 0; o < oc; o++)
		for (int ci = 0; ci < c; ci++)
			for (int ki = 0; ki < k; ki++)
				for (int kj = 0; kj < k; kj++)
					wr[((size_t)ki * oc + o) * c * k + ci * k + kj] =
						w[(((size_t)o * c + ci) * k + ki) * k + kj];
}

// dout_i (OC,P) of one sample -> db (OC), added on (first: overwritten).
// Done sample by sample, while dout_i is in the cache for the products.
static void bias_gradient(float *db, const float *d, int oc, int p, int first)
{
	for (int co = 0; co < oc; co++) {
		float sum = sum_floats(d + (size_t)co * p, p);
		db[co] = first ? sum : db[co] + sum;
	}
}

// a (R,C) -> t (C,R).  In 8 x 8 tiles: a column-at-a-time copy stores
// every element to a different cache line, and was half the convolution's
// own time in ResNet-20's backward pass.
static void transpose(float *restrict t, const float *restrict a, int rows, int cols)
{
	for (int r0 = 0; r0 < rows; r0 += 8)
		for (int c0 = 0; c0 < cols; c0 += 8) {
			int r1 = r0 + 8 < rows ? r0 + 8 : rows, c1 = c0 + 8 < cols ? c0 + 8 : cols;
			for (int c = c0; c < c1; c++)
				for (int r = r0; r < r1; r++)
					t[(size_t)c * rows + r] = a[(size_t)r * cols + c];
		}
}

// in (B,C,H,W), w (OC,C,K,K), b (OC) -> out (B,OC,OH,OW), stride 1
static void conv2d_forward_strips(float *out, const float *in, const float *w, const float *b,
                                  float *work, int batch, int c, int h, int wd, int oc, int k,
                                  int pad, const struct conv_shape *s)
{
	int p = s->oh * s->ow;
	size_t in_size = (size_t)c * h * wd, out_size = (size_t)oc * p;
	float *t = work, *xp = t + (size_t)s->ck * s->tcols, *wr = xp + s->xp_size;

	rearrange_weights(wr, w, c, oc, k);
	for (int i = 0; i < batch; i++) {
		const float *src = in + i * in_size;
		float *o = out + i * out_size;
		if (pad > 0) {
			pad_input(xp, src, c, h, wd, pad, s);
			src = xp;
		}
		build_strips(t, src, c, k, s);
		/* The bias goes in first and the products accumulate onto it. */
		if (b)
			for (int co = 0; co < oc; co++)
				fill_floats(o + (size_t)co * p, b[co], p);
		for (int ki = 0; ki < k; ki++) {
			// out_i (OC,P) += w_ki (OC,C*K) . T_ki (C*K,P)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, oc, p, s->ck,
			            1.0f, wr + (size_t)ki * oc * s->ck, s->ck, t + (size_t)ki * s->ow,
			            s->tcols, b || ki > 0 ? 1.0f : 0.0f, o, p);
		}
	}
}

// dout (B,OC,OH,OW) -> din (B,C,H,W) or NULL, dw (OC,C,K,K), db (OC) or NULL;
// stride 1
static void conv2d_backward_strips(float *din, float *dw, float *db, const float *dout,
                                   const float *in,
                                   const float *w, float *work, int batch, int c, int h, int wd,
                                   int oc, int k, int pad, const struct conv_shape *s)
{
	int p = s->oh * s->ow;
	size_t in_size = (size_t)c * h * wd, out_size = (size_t)oc * p;
	size_t wr_size = (size_t)s->ckk * oc;
	float *t = work, *xp = t + (size_t)s->ck * s->tcols, *wr = xp + s->xp_size;
	float *dwr = wr + wr_size, *gT = dwr + wr_size;

	rearrange_weights(wr, w, c, oc, k);
	for (int i = 0; i < batch; i++) {
		const float *src = in + i * in_size, *d = dout + i * out_size;
		float beta = i == 0 ? 0.0f : 1.0f; /* the first sample overwrites */
		if (db)
			bias_gradient(db, d, oc, p, i == 0);
		if (pad > 0) {
			pad_input(xp, src, c, h, wd, pad, s);
			src = xp;
		}
		build_strips(t, src, c, k, s);
		if (s->dw_transposed) {
			transpose(gT, d, oc, p);
			for (int ki = 0; ki < k; ki++) {
				// dwr_ki (C*K,OC) += T_ki (C*K,P) . doutT (P,OC)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->ck, oc, p,
				            1.0f, t + (size_t)ki * s->ow, s->tcols, gT, oc,
				            beta, dwr + (size_t)ki * s->ck * oc, oc);
			}
		} else {
			for (int ki = 0; ki < k; ki++) {
				// dwr_ki (OC,C*K) += dout_i (OC,P) . T_ki^T (P,C*K)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, oc, s->ck, p,
				            1.0f, d, p, t + (size_t)ki * s->ow, s->tcols,
				            beta, dwr + (size_t)ki * oc * s->ck, s->ck);
			}
		}
		if (!din)
			continue;
		/* T is done with for this sample: its space takes dT.  Product ki
		 * covers columns ki*OW ... ki*OW + P - 1 of dT's rows, so they
		 * overlap: the first overwrites columns 0 ... P - 1, the others
		 * add on, and only the columns past P, which the first does not
		 * reach, are cleared beforehand. */
		for (int r = 0; r < s->ck; r++)
			fill_floats(t + (size_t)r * s->tcols + p, 0.0f, s->tcols - p);
		for (int ki = 0; ki < k; ki++) {
			// dT_ki (C*K,P) (+)= w_ki^T (C*K,OC) . dout_i (OC,P)
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s->ck, p, oc,
			            1.0f, wr + (size_t)ki * oc * s->ck, s->ck, d, p,
			            ki > 0 ? 1.0f : 0.0f, t + (size_t)ki * s->ow, s->tcols);
		}
		float *di = din + i * in_size;
		if (pad > 0) {
			strips_backward(xp, t, c, k, s);
			for (int ci = 0; ci < c; ci++)
				for (int y = 0; y < h; y++)
					copy_row(di + ((size_t)ci * h + y) * wd,
					         xp + ((size_t)ci * s->ph + y + pad) * s->pw + pad, wd);
		} else {
			strips_backward(di, t, c, k, s);
		}
	}
	/* Back from the (K, ...) arrangement to (OC,C,K,K). */
	for (int o = 0; o < oc; o++)
		for (int ci = 0; ci < c; ci++)
			for (int ki = 0; ki < k; ki++)
				for (int kj = 0; kj < k; kj++) {
					size_t r = (size_t)ci * k + kj;
					size_t from = s->dw_transposed
						? ((size_t)ki * s->ck + r) * oc + o
						: ((size_t)ki * oc + o) * s->ck + r;
					dw[(((size_t)o * c + ci) * k + ki) * k + kj] = dwr[from];
				}
}

/* The output columns x whose input column x*stride - pad + kj lies in the
 * image: [*lo, *hi). */
static void inside_columns(int kj, int stride, int pad, int wd, int ow, int *lo, int *hi)
{
	int first = pad - kj, last = wd - 1 + pad - kj; /* x*stride must lie in [first, last] */
	*lo = first <= 0 ? 0 : (first + stride - 1) / stride;
	*hi = last < 0 ? 0 : last / stride + 1;
	if (*hi > ow)
		*hi = ow;
	if (*lo > *hi)
		*lo = *hi;
}

// in (C,H,W) of one sample -> col (C*K*K, OH*OW), classic layout
static void im2col(float *col, const float *in, int c, int h, int wd, int k,
                   int stride, int pad, int oh, int ow)
{
	for (int ci = 0; ci < c; ci++)
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				int lo, hi;
				inside_columns(kj, stride, pad, wd, ow, &lo, &hi);
				for (int y = 0; y < oh; y++) {
					int iy = y * stride - pad + ki;
					float *dst = col + (size_t)y * ow;
					if (iy < 0 || iy >= h) {
						fill_floats(dst, 0.0f, ow);
						continue;
					}
					const float *row = in + ((size_t)ci * h + iy) * wd;
					fill_floats(dst, 0.0f, lo);
					for (int x = lo; x < hi; x++)
						dst[x] = row[x * stride - pad + kj];
					fill_floats(dst + hi, 0.0f, ow - hi);
				}
				col += (size_t)oh * ow;
			}
}

// col (C*K*K, OH*OW) -> din (C,H,W) of one sample, the adjoint of im2col:
// every column entry is added back to the input pixel it was copied from
static void col2im(float *din, const float *col, int c, int h, int wd, int k,
                   int stride, int pad, int oh, int ow)
{
	memset(din, 0, sizeof(float) * (size_t)c * h * wd);
	for (int ci = 0; ci < c; ci++)
		for (int ki = 0; ki < k; ki++)
			for (int kj = 0; kj < k; kj++) {
				int lo, hi;
				inside_columns(kj, stride, pad, wd, ow, &lo, &hi);
				for (int y = 0; y < oh; y++) {
					int iy = y * stride - pad + ki;
					if (iy < 0 || iy >= h)
						continue;
					float *row = din + ((size_t)ci * h + iy) * wd;
					const float *src = col + (size_t)y * ow;
					for (int x = lo; x < hi; x++)
						row[x * stride - pad + kj] += src[x];
				}
				col += (size_t)oh * ow;
			}
}

// in (B,C,H,W), w (OC,C,K,K), b (OC) -> out (B,OC,OH,OW)
void ccl_conv2d_forward(float *out, const float *in, const float *w, const float *b,
                        float *col, int batch, int c, int h, int wd,
                        int oc, int k, int stride, int pad)
{
	struct conv_shape s = conv_shape(c, h, wd, oc, k, stride, pad);
	int p = s.oh * s.ow;
	size_t in_size = (size_t)c * h * wd, out_size = (size_t)oc * p;

	if (s.strips) {
		conv2d_forward_strips(out, in, w, b, col, batch, c, h, wd, oc, k, pad, &s);
		return;
	}
	for (int i = 0; i < batch; i++) {
		float *o = out + i * out_size;
		im2col(col, in + i * in_size, c, h, wd, k, stride, pad, s.oh, s.ow);
		if (b)
			for (int co = 0; co < oc; co++)
				fill_floats(o + (size_t)co * p, b[co], p);
		// out_i (OC,P) (+)= w (OC,CKK) . col (CKK,P)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, oc, p, s.ckk,
		            1.0f, w, s.ckk, col, p, b ? 1.0f : 0.0f, o, p);
	}
}

// dout (B,OC,OH,OW) -> din (B,C,H,W), dw (OC,C,K,K), db (OC)
void ccl_conv2d_backward(float *din, float *dw, float *db, const float *dout,
                         const float *in, const float *w, float *col,
                         int batch, int c, int h, int wd,
                         int oc, int k, int stride, int pad)
{
	struct conv_shape s = conv_shape(c, h, wd, oc, k, stride, pad);
	int p = s.oh * s.ow;
	size_t in_size = (size_t)c * h * wd, out_size = (size_t)oc * p;

	if (batch <= 0) {
		memset(dw, 0, sizeof(float) * (size_t)oc * s.ckk);
		if (db)
			memset(db, 0, sizeof(float) * (size_t)oc);
		return;
	}
	if (s.strips) {
		conv2d_backward_strips(din, dw, db, dout, in, w, col, batch, c, h, wd, oc, k, pad, &s);
		return;
	}
	for (int i = 0; i < batch; i++) {
		const float *d = dout + i * out_size;
		if (db)
			bias_gradient(db, d, oc, p, i == 0);
		im2col(col, in + i * in_size, c, h, wd, k, stride, pad, s.oh, s.ow);
		// dw (OC,CKK) += dout_i (OC,P) . col^T (P,CKK); the first sample overwrites
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, oc, s.ckk, p,
		            1.0f, d, p, col, p, i == 0 ? 0.0f : 1.0f, dw, s.ckk);
		if (din) {
			// dcol (CKK,P) = w^T (CKK,OC) . dout_i (OC,P), into the same workspace
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.ckk, p, oc,
			            1.0f, w, s.ckk, d, p, 0.0f, col, p);
			col2im(din + i * in_size, col, c, h, wd, k, stride, pad, s.oh, s.ow);
		}
	}
}

/* ---- activations ---- */

/* In place is allowed (out == in, din == dout): each block of eight is
 * loaded before any of it is stored, which also lets the compiler use SIMD
 * compares and masks for the whole block. */

void ccl_relu_forward(float *out, const float *in, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		float v[8];
		for (int j = 0; j < 8; j++)
			v[j] = in[i + j];
		for (int j = 0; j < 8; j++)
			out[i + j] = v[j] > 0.0f ? v[j] : 0.0f;
	}
	for (; i < n; i++)
		out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void ccl_relu_backward(float *din, const float *dout, const float *y, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		float g[8], m[8];
		for (int j = 0; j < 8; j++) {
			g[j] = dout[i + j];
			m[j] = y[i + j];
		}
		for (int j = 0; j < 8; j++)
			din[i + j] = m[j] > 0.0f ? g[j] : 0.0f;
	}
	for (; i < n; i++)
		din[i] = y[i] > 0.0f ? dout[i] : 0.0f;
}

/* ---- pooling ---- */

/* The common 2x2, stride 2 pool gets its own code.  Which pixel of a window
 * wins is unpredictable, so there are no data-dependent branches: maxima are
 * selects, the winner's index is arithmetic on comparison results, and the
 * backward pass masks bit patterns.  Ties go to the first pixel in row-major
 * order, as in PyTorch.  With relu the output is max(0, maximum). */
static inline void pool2x2_window(const float *r0, const float *r1, int x, int base, int w,
                                  int relu, float *dst, int32_t *am)
{
	float a0 = r0[2 * x], a1 = r0[2 * x + 1];
	float a2 = r1[2 * x], a3 = r1[2 * x + 1];
	int right0 = a1 > a0, right1 = a3 > a2;
	float m0 = a1 > a0 ? a1 : a0, m1 = a3 > a2 ? a3 : a2;
	int lower = m1 > m0;
	float m = m1 > m0 ? m1 : m0;
	dst[x] = relu && !(m > 0.0f) ? 0.0f : m;
	am[x] = base + 2 * x + right0 + lower * (w + right1 - right0);
}

/* One output row from input rows r0 and r1 (plane index of r0[0]: base).
 * In blocks of four windows, and with restrict promising that the rows do
 * not overlap, GCC compiles it to SIMD code at -O2 (a third faster); kept
 * out of line because inlining drops the restrict promise. */
__attribute__((noinline))
static void pool2x2_row(float *restrict dst, int32_t *restrict am, const float *restrict r0,
                        const float *restrict r1, int ow, int base, int w, int relu)
{
	int x = 0;
	for (; x + 4 <= ow; x += 4)
		for (int j = 0; j < 4; j++)
			pool2x2_window(r0, r1, x + j, base, w, relu, dst, am);
	for (; x < ow; x++)
		pool2x2_window(r0, r1, x, base, w, relu, dst, am);
}

static void maxpool2x2_forward(float *out, int32_t *argmax, const float *in,
                               size_t planes, int h, int w, int relu)
{
	int oh = h / 2, ow = w / 2;
	for (size_t pl = 0; pl < planes; pl++) {
		const float *src = in + pl * h * w;
		for (int y = 0; y < oh; y++) {
			const float *r0 = src + (size_t)(2 * y) * w;
			size_t row = (pl * oh + y) * ow;
			pool2x2_row(out + row, argmax + row, r0, r0 + w, ow, 2 * y * w, w, relu);
		}
	}
}

/* g where keep is true, else +0, through the bit pattern. */
static inline float keep_if(float g, int keep)
{
	uint32_t u;
	memcpy(&u, &g, sizeof u);
	u &= -(uint32_t)(keep != 0);
	memcpy(&g, &u, sizeof g);
	return g;
}

/* Every pixel of din is written, the gradient at its window's maximum and
 * zero elsewhere, so din needs no clearing first.  With out (the fused
 * forward's output) the gradient passes only where out is positive. */
static void maxpool2x2_backward(float *din, const float *dout, const float *out,
                                const int32_t *argmax, size_t planes, int h, int w)
{
	int oh = h / 2, ow = w / 2;
	for (size_t pl = 0; pl < planes; pl++) {
		float *dst = din + pl * h * w;
		const float *d = dout + pl * oh * ow;
		const float *o = out ? out + pl * oh * ow : NULL;
		const int32_t *am = argmax + pl * oh * ow;
		for (int y = 0; y < oh; y++) {
			float *r0 = dst + (size_t)(2 * y) * w, *r1 = r0 + w;
			for (int x = 0; x < ow; x++) {
				int j = y * ow + x;
				float g = o ? keep_if(d[j], o[j] > 0.0f) : d[j];
				/* Clear the window, then store at its maximum. */
				r0[2 * x] = r0[2 * x + 1] = r1[2 * x] = r1[2 * x + 1] = 0.0f;
				dst[am[j]] = g;
			}
			if (w & 1) { /* the column no window covers */
				r0[w - 1] = 0.0f;
				r1[w - 1] = 0.0f;
			}
		}
		if (h & 1) /* the row no window covers */
			memset(dst + (size_t)(h - 1) * w, 0, sizeof(float) * (size_t)w);
	}
}

static void maxpool_forward(float *out, int32_t *argmax, const float *in,
                            int batch, int c, int h, int w, int k, int stride, int relu)
{
	int oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
	size_t planes = (size_t)batch * c;

	if (k == 2 && stride == 2) {
		maxpool2x2_forward(out, argmax, in, planes, h, w, relu);
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
				dst[y * ow + x] = relu && !(m > 0.0f) ? 0.0f : m;
				am[y * ow + x] = best;
			}
		}
	}
}

/* out, when not NULL, is the fused forward's output: the gradient passes
 * only where it is positive (the ReLU's mask). */
static void maxpool_backward(float *din, const float *dout, const float *out,
                             const int32_t *argmax, int batch, int c, int h, int w,
                             int k, int stride)
{
	int oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
	size_t planes = (size_t)batch * c;

	if (k == 2 && stride == 2) {
		maxpool2x2_backward(din, dout, out, argmax, planes, h, w);
		return;
	}
	memset(din, 0, sizeof(float) * planes * h * w);
	for (size_t pl = 0; pl < planes; pl++) {
		float *dst = din + pl * h * w;
		const float *d = dout + pl * oh * ow;
		const float *o = out ? out + pl * oh * ow : NULL;
		const int32_t *am = argmax + pl * oh * ow;
		/* Adding, not storing: overlapping windows can share a maximum. */
		for (int j = 0; j < oh * ow; j++)
			if (!o || o[j] > 0.0f)
				dst[am[j]] += d[j];
	}
}

// in (B,C,H,W) -> out (B,C,OH,OW), argmax (B,C,OH,OW)
void ccl_maxpool2d_forward(float *out, int32_t *argmax, const float *in,
                           int batch, int c, int h, int w, int k, int stride)
{
	maxpool_forward(out, argmax, in, batch, c, h, w, k, stride, 0);
}

// dout (B,C,OH,OW) -> din (B,C,H,W)
void ccl_maxpool2d_backward(float *din, const float *dout, const int32_t *argmax,
                            int batch, int c, int h, int w, int k, int stride)
{
	maxpool_backward(din, dout, NULL, argmax, batch, c, h, w, k, stride);
}

// in (B,C,H,W) -> out (B,C,OH,OW) = relu(maxpool(in)), argmax (B,C,OH,OW)
void ccl_maxpool2d_relu_forward(float *out, int32_t *argmax, const float *in,
                                int batch, int c, int h, int w, int k, int stride)
{
	maxpool_forward(out, argmax, in, batch, c, h, w, k, stride, 1);
}

// dout (B,C,OH,OW), out (B,C,OH,OW) of the forward -> din (B,C,H,W)
void ccl_maxpool2d_relu_backward(float *din, const float *dout, const float *out,
                                 const int32_t *argmax, int batch, int c, int h, int w,
                                 int k, int stride)
{
	maxpool_backward(din, dout, out, argmax, batch, c, h, w, k, stride);
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

/* ---- group normalisations ---- */

/* Mean and 1 / sqrt(biased variance + eps) of n floats, in two passes
 * (a float sum of squares minus the squared mean would lose the variance
 * of a large-mean group).  Eight float partial sums make the loops
 * vectorise; a group holds at most 16 x 1024 values, so each partial sum
 * adds up at most 2048, and they are combined in double. */
static void group_stats(const float *x, size_t n, float eps, float *stats)
{
	float part[8] = {0};
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			part[j] += x[i + j];
	double sum = 0;
	for (; i < n; i++)
		sum += x[i];
	for (int j = 0; j < 8; j++)
		sum += part[j];
	float mean = (float)(sum / (double)n);
	for (int j = 0; j < 8; j++)
		part[j] = 0;
	for (i = 0; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++) {
			float d = x[i + j] - mean;
			part[j] += d * d;
		}
	double sq = 0;
	for (; i < n; i++)
		sq += (double)(x[i] - mean) * (x[i] - mean);
	for (int j = 0; j < 8; j++)
		sq += part[j];
	stats[0] = mean;
	stats[1] = (float)(1.0 / sqrt(sq / (double)n + eps));
}

/* The norms' per-channel loops work on four floats at a time through
 * GCC's (and Clang's) vector extension: EvoNorm-S0 needs selects, which
 * GCC 12 at -O2 does not vectorise from scalar code, and the sums need
 * several partial sums to avoid one long chain of dependent additions.
 * Written as scalar loops, both norms ran one element per instruction and
 * were a fifth of a ResNet-20 step.  A channel's last n % 4 values go
 * through the same arithmetic, padded with zeros that are never stored (a
 * padded dy of 0 adds nothing to the sums); they are loaded and stored
 * apart because a copy of variable length, from or into a vector, goes
 * through memory a byte at a time. */
typedef float f4 __attribute__((vector_size(16)));
typedef int32_t i4 __attribute__((vector_size(16)));

static inline f4 load4(const float *p)
{
	f4 v;
	memcpy(&v, p, sizeof v);
	return v;
}

static inline void store4(float *p, f4 v)
{
	memcpy(p, &v, sizeof v);
}

// the last n < 4 floats, zero-padded
static inline f4 load_tail(const float *p, int n)
{
	f4 v = {0};
	for (int j = 0; j < n; j++)
		v[j] = p[j];
	return v;
}

static inline void store_tail(float *p, f4 v, int n)
{
	for (int j = 0; j < n; j++)
		p[j] = v[j];
}

// mask ? a : b, lane by lane (mask lanes all ones or all zeros)
static inline f4 select4(i4 mask, f4 a, f4 b)
{
	return (f4)((mask & (i4)a) | (~mask & (i4)b));
}

static inline float sum_lanes(f4 v)
{
	return v[0] + v[1] + v[2] + v[3];
}

/* EvoNorm-S0's non-linearity u(x) = x hardsigmoid(x), hardsigmoid(x) =
 * min(max(x / 6 + 1/2, 0), 1), and its derivative u'(x) = hardsigmoid(x) +
 * x / 6 where -3 < x < 3, else hardsigmoid(x). */
static inline f4 hardsigmoid4(f4 x)
{
	f4 zero = {0}, one = zero + 1.0f, h = x * (1.0f / 6.0f) + 0.5f;
	h = select4(h > zero, h, zero);
	return select4(h < one, h, one);
}

static inline f4 evo_u4(f4 x)
{
	return x * hardsigmoid4(x);
}

static inline f4 evo_du4(f4 x)
{
	f4 h = hardsigmoid4(x);
	return select4((x > -3.0f) & (x < 3.0f), h + x * (1.0f / 6.0f), h);
}

static inline f4 norm_forward4(f4 x, float scale, float shift, int evo)
{
	return (evo ? evo_u4(x) : x) * scale + shift;
}

// y (N) = u(x) scale + shift (EvoNorm-S0) or x scale + shift (GroupNorm)
static inline void norm_channel_forward(float *y, const float *x, int n, float scale, float shift, int evo)
{
	int i = 0;
	for (; i + 4 <= n; i += 4)
		store4(y + i, norm_forward4(load4(x + i), scale, shift, evo));
	if (i < n)
		store_tail(y + i, norm_forward4(load_tail(x + i, n - i), scale, shift, evo), n - i);
}

/* Both forward passes: per (sample, group) statistics, then per channel
 * either GroupNorm's affine map or EvoNorm-S0's. */
static void group_norm_forward(float *out, float *stats, const float *in, const float *gamma, const float *beta,
                               int batch, int c, int hw, int groups, float eps, int evo)
{
	int cg = c / groups;
	size_t n = (size_t)cg * hw;
	for (int b = 0; b < batch; b++)
		for (int g = 0; g < groups; g++) {
			size_t at = ((size_t)b * c + (size_t)g * cg) * hw;
			float *st = stats + ((size_t)b * groups + g) * 2;
			group_stats(in + at, n, eps, st);
			for (int k = 0; k < cg; k++) {
				int ch = g * cg + k;
				float scale = st[1] * gamma[ch], shift = evo ? beta[ch] : beta[ch] - st[0] * scale;
				float *y = out + at + (size_t)k * hw;
				const float *x = in + at + (size_t)k * hw;
				if (evo) /* a constant in each call: two specialised loops */
					norm_channel_forward(y, x, hw, scale, shift, 1);
				else
					norm_channel_forward(y, x, hw, scale, shift, 0);
			}
		}
}

void ccl_groupnorm_forward(float *out, float *stats, const float *in, const float *gamma, const float *beta,
                           int batch, int c, int hw, int groups, float eps)
{
	group_norm_forward(out, stats, in, gamma, beta, batch, c, hw, groups, eps, 0);
}

/* The two sums of one channel a norm's backward pass needs: sum(dy) and
 * sum(dy v) with v = (x - mean) rstd (GroupNorm) or u(x) (EvoNorm-S0). */
static inline void norm_channel_sums(const float *dy, const float *x, int n, float mean, float rstd, int evo,
                                     float *sum_dy, float *sum_dy_v)
{
	f4 s[2] = {{0}}, sv[2] = {{0}};
	int i = 0;
	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 2; k++) {
			f4 g = load4(dy + i + 4 * k), v = load4(x + i + 4 * k);
			s[k] += g;
			sv[k] += g * (evo ? evo_u4(v) : (v - mean) * rstd);
		}
	for (; i < n; i += 4) {
		f4 g = n - i >= 4 ? load4(dy + i) : load_tail(dy + i, n - i);
		f4 v = n - i >= 4 ? load4(x + i) : load_tail(x + i, n - i);
		s[0] += g;
		sv[0] += g * (evo ? evo_u4(v) : (v - mean) * rstd);
	}
	*sum_dy = sum_lanes(s[0] + s[1]);
	*sum_dy_v = sum_lanes(sv[0] + sv[1]);
}

/* With xh = (x - mean) rstd and gy = dy gamma, over a group of n values:
 *   dx = rstd (gy - mean(gy) - xh mean(gy xh)). */
static inline f4 groupnorm_backward4(f4 dy, f4 x, float mean, float rstd, float gamma, float mean_gy,
                                     float mean_gy_xh)
{
	return rstd * (dy * gamma - mean_gy - (x - mean) * rstd * mean_gy_xh);
}

static void groupnorm_channel_backward(float *dx, const float *dy, const float *x, int n, float mean, float rstd,
                                       float gamma, float mean_gy, float mean_gy_xh)
{
	int i = 0;
	for (; i + 4 <= n; i += 4)
		store4(dx + i, groupnorm_backward4(load4(dy + i), load4(x + i), mean, rstd, gamma, mean_gy, mean_gy_xh));
	if (i < n)
		store_tail(dx + i,
		           groupnorm_backward4(load_tail(dy + i, n - i), load_tail(x + i, n - i), mean, rstd, gamma,
		                               mean_gy, mean_gy_xh),
		           n - i);
}

void ccl_groupnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                            const float *stats, const float *gamma, int batch, int c, int hw, int groups)
{
	int cg = c / groups;
	size_t n = (size_t)cg * hw;
	memset(dgamma, 0, sizeof(float) * (size_t)c);
	memset(dbeta, 0, sizeof(float) * (size_t)c);
	for (int b = 0; b < batch; b++)
		for (int g = 0; g < groups; g++) {
			size_t at = ((size_t)b * c + (size_t)g * cg) * hw;
			const float *st = stats + ((size_t)b * groups + g) * 2;
			double sum_gy = 0, sum_gy_xh = 0;
			for (int k = 0; k < cg; k++) {
				int ch = g * cg + k;
				float db, dg;
				norm_channel_sums(dout + at + (size_t)k * hw, in + at + (size_t)k * hw, hw, st[0], st[1], 0,
				                  &db, &dg);
				dgamma[ch] += dg;
				dbeta[ch] += db;
				sum_gy += (double)db * gamma[ch];
				sum_gy_xh += (double)dg * gamma[ch];
			}
			float mean_gy = (float)(sum_gy / (double)n), mean_gy_xh = (float)(sum_gy_xh / (double)n);
			for (int k = 0; k < cg; k++) {
				size_t ch = (size_t)g * cg + k, off = at + (size_t)k * hw;
				groupnorm_channel_backward(din + off, dout + off, in + off, hw, st[0], st[1], gamma[ch],
				                           mean_gy, mean_gy_xh);
			}
		}
}

void ccl_evonorm_s0_forward(float *out, float *stats, const float *in, const float *gamma, const float *beta,
                            int batch, int c, int hw, int groups, float eps)
{
	group_norm_forward(out, stats, in, gamma, beta, batch, c, hw, groups, eps, 1);
}

// dx = gr dy u'(x) - coef (x - mean), gr = gamma rstd (see below)
static inline f4 evonorm_backward4(f4 dy, f4 x, float gr, float coef, float mean)
{
	return gr * dy * evo_du4(x) - coef * (x - mean);
}

static void evonorm_channel_backward(float *dx, const float *dy, const float *x, int n, float gr, float coef,
                                     float mean)
{
	int i = 0;
	for (; i + 4 <= n; i += 4)
		store4(dx + i, evonorm_backward4(load4(dy + i), load4(x + i), gr, coef, mean));
	if (i < n)
		store_tail(dx + i, evonorm_backward4(load_tail(dy + i, n - i), load_tail(x + i, n - i), gr, coef, mean),
		           n - i);
}

/* With u = x hardsigmoid(x), y = u rstd gamma + beta and rstd depending on
 * every x of the group through the variance:
 *   dx_i = gamma_i rstd dy_i u'(x_i) - rstd^3 (x_i - mean) S / n,
 *   S = sum over the group of gamma_j dy_j u_j. */
void ccl_evonorm_s0_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                             const float *stats, const float *gamma, int batch, int c, int hw, int groups)
{
	int cg = c / groups;
	size_t n = (size_t)cg * hw;
	memset(dgamma, 0, sizeof(float) * (size_t)c);
	memset(dbeta, 0, sizeof(float) * (size_t)c);
	for (int b = 0; b < batch; b++)
		for (int g = 0; g < groups; g++) {
			size_t at = ((size_t)b * c + (size_t)g * cg) * hw;
			const float *st = stats + ((size_t)b * groups + g) * 2;
			double s = 0;
			for (int k = 0; k < cg; k++) {
				int ch = g * cg + k;
				float db, dyu;
				norm_channel_sums(dout + at + (size_t)k * hw, in + at + (size_t)k * hw, hw, 0, 0, 1, &db,
				                  &dyu);
				dgamma[ch] += dyu * st[1];
				dbeta[ch] += db;
				s += (double)dyu * gamma[ch];
			}
			float r = st[1], coef = (float)(s * (double)r * r * r / (double)n);
			for (int k = 0; k < cg; k++) {
				size_t ch = (size_t)g * cg + k, off = at + (size_t)k * hw;
				evonorm_channel_backward(din + off, dout + off, in + off, hw, gamma[ch] * r, coef, st[0]);
			}
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

const char *ccl_blas_kernel(void)
{
	return openblas_get_corename();
}
