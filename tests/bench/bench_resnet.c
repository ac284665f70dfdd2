/*
 * bench_resnet - ResNet-20's training step on one OpenBLAS thread, beside
 * PyTorch's, and what fraction of the machine's matrix-product speed it
 * reaches.
 *
 * A step is forward, mean softmax cross-entropy, backward and an SGD step
 * with Nesterov momentum and weight decay on a random 3x32x32 batch (the
 * speed does not depend on the values).  The CCL step adds the two
 * forward passes of the model-variant term on a ring (the batch under each
 * neighbour's model) and its feature gradient.  Each case runs a warm-up
 * round and then the fastest of several rounds within the time budget.
 *
 * Effective GFLOP/s counts 3 x the forward's floating-point operations a
 * sample (the backward costs about twice the forward) x samples/s; the
 * forward's are those of the convolutions and the fc, from the shapes.  The
 * machine's rate is the best of single-thread 1024 x 1024 x 1024 sgemm
 * calls, with the same OpenBLAS kernel (printed; see PLATFORM notes on
 * OPENBLAS_CORETYPE).  When /usr/bin/python3 can import torch,
 * tests/bench/torch_resnet.py times the same network and step in PyTorch.
 *
 * Usage: bench_resnet [seconds per case, default 2]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crossfeat.h"
#include "bench.h"
#include "error.h"
#include "model.h"
#include "nn.h"
#include "optim.h"
#include "rng.h"

/* Multiply-adds x 2 of the convolutions and the fc for one 3x32x32 sample:
 * a convolution's tensor (out, in, k, k) runs at its stage's resolution,
 * 32, 16 or 8 (the stem and layer1 at 32). */
static double forward_flops(const ccl_net *net)
{
	double flops = 0;
	for (int i = 0; i < ccl_net_tensor_count(net); i++) {
		const struct ccl_param_tensor *t = ccl_net_tensor(net, i);
		int side = !strncmp(t->name, "layer2", 6) ? 16 : !strncmp(t->name, "layer3", 6) ? 8 : 32;
		if (t->ndim == 4)
			flops += 2.0 * (double)t->size * side * side;
		else if (t->ndim == 2)
			flops += 2.0 * (double)t->size;
	}
	return flops;
}

struct result {
	double rate, flops;
};

/* Samples per second of the plain step (neighbours 0) or the CCL step. */
static struct result bench(const char *arch, int batch, int neighbours, double seconds)
{
	ccl_net *net = ccl_net_create(arch, 10, 3, 32, 32);
	if (!net)
		ccl_die();
	size_t n = ccl_net_param_count(net), image = 3 * 32 * 32;
	int dim = ccl_net_feature_dim(net);
	float *params = ccl_xmalloc(sizeof(float) * n), *grad = ccl_xmalloc(sizeof(float) * n);
	float *momentum = ccl_xcalloc(n, sizeof(float)), *other = ccl_xmalloc(sizeof(float) * n);
	float *input = ccl_xmalloc(sizeof(float) * batch * image), *dlogits = ccl_xmalloc(sizeof(float) * batch * 10);
	float *cross = ccl_xmalloc(sizeof(float) * 2 * batch * dim), *dz = ccl_xmalloc(sizeof(float) * batch * dim);
	int32_t *labels = ccl_xmalloc(sizeof(int32_t) * batch);
	struct ccl_sgd opt = {.lr = 0.01f, .momentum = 0.9f, .weight_decay = 1e-4f, .nesterov = 1};
	ccl_rng r;

	ccl_net_init_params(net, 1, params);
	ccl_net_init_params(net, 2, other);
	ccl_rng_init(&r, 2, 0, 0, 0);
	for (size_t i = 0; i < batch * image; i++)
		input[i] = (float)ccl_rng_normal(&r);
	for (int i = 0; i < batch; i++)
		labels[i] = (int32_t)ccl_rng_below(&r, 10);

	double best = 1e30, start = now();
	for (int round = -1; round < 10; round++) {
		double t0 = now();
		const float *rows[2];
		for (int j = 0; j < neighbours; j++) {
			ccl_net_forward(net, other, input, batch);
			memcpy(cross + (size_t)j * batch * dim, ccl_net_features(net), sizeof(float) * batch * dim);
			rows[j] = cross + (size_t)j * batch * dim;
		}
		ccl_net_forward(net, params, input, batch);
		ccl_softmax_xent(ccl_net_logits(net), labels, batch, 10, dlogits);
		memset(dz, 0, sizeof(float) * batch * dim);
		if (neighbours)
			ccl_model_variant_loss(ccl_net_features(net), rows, neighbours, batch, dim, 0.1f, dz);
		ccl_net_backward(net, params, dlogits, neighbours ? dz : NULL, grad);
		ccl_sgd_step(&opt, params, momentum, grad, n);
		double t = now() - t0;
		if (round >= 0 && t < best)
			best = t;
		if (round >= 2 && now() - start > seconds)
			break;
	}
	struct result res = {batch / best, forward_flops(net)};
	free(params); free(grad); free(momentum); free(other); free(input); free(dlogits); free(cross); free(dz);
	free(labels);
	ccl_net_free(net);
	return res;
}

/* GFLOP/s of the best of several 1024^3 single-precision products. */
static double sgemm_rate(void)
{
	enum { N = 1024 };
	float *a = ccl_xmalloc(sizeof(float) * N * N), *b = ccl_xmalloc(sizeof(float) * N * N);
	float *c = ccl_xmalloc(sizeof(float) * N * N);
	for (int i = 0; i < N * N; i++)
		a[i] = (float)(i % 7) - 3, b[i] = (float)(i % 5) - 2;
	double best = 1e30;
	for (int round = 0; round < 6; round++) {
		double t0 = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
		double t = now() - t0;
		if (round > 0 && t < best)
			best = t;
	}
	free(a); free(b); free(c);
	return 2.0 * N * N * N / best / 1e9;
}

int main(int argc, char **argv)
{
	static const struct { const char *norm; int batch; } cases[] = {
		{"evonorm", 32}, {"evonorm", 128}, {"groupnorm", 32},
	};
	enum { CASES = sizeof cases / sizeof *cases };
	double seconds = argc > 1 ? atof(argv[1]) : 2.0, ours[CASES], theirs[CASES] = {0};
	char script[4096], cmd[4400], line[512];

	ccl_set_progname(argv[0]);
	if (seconds <= 0)
		seconds = 2.0;
	openblas_set_num_threads(1);
	double peak = sgemm_rate();
	printf("sgemm 1024^3, one thread, OpenBLAS kernel %s: %.1f GFLOP/s\n", ccl_blas_kernel(), peak);
	for (int i = 0; i < CASES; i++) {
		char arch[32];
		snprintf(arch, sizeof arch, "resnet20-%s", cases[i].norm);
		struct result r = bench(arch, cases[i].batch, 0, seconds);
		ours[i] = r.rate;
		printf("%s train batch %d: %.0f samples/s (%.1f ms/step), %.1f effective GFLOP/s, %.0f%% of sgemm\n", arch,
		       cases[i].batch, r.rate, 1e3 * cases[i].batch / r.rate, 3 * r.flops * r.rate / 1e9,
		       100 * 3 * r.flops * r.rate / 1e9 / peak);
		fflush(stdout);
	}
	struct result ccl = bench("resnet20-evonorm", 32, 2, seconds);
	printf("resnet20-evonorm CCL step (2 neighbours' forwards) batch 32: %.0f samples/s (%.1f ms/step)\n", ccl.rate,
	       1e3 * 32 / ccl.rate);

	if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
		printf("torch comparison skipped: /usr/bin/python3 cannot import torch (apt-get install python3-torch)\n");
		return 0;
	}
	if (find_script(script, sizeof script, argv[0], "torch_resnet.py") != 0) {
		printf("torch comparison skipped: tests/bench/torch_resnet.py not found\n");
		return 0;
	}
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %g", script, seconds);
	for (int i = 0; i < CASES; i++) {
		size_t at = strlen(cmd);
		snprintf(cmd + at, sizeof cmd - at, " %s:%d", cases[i].norm, cases[i].batch);
	}
	FILE *p = popen(cmd, "r");
	if (!p) {
		printf("torch comparison skipped: cannot run %s\n", script);
		return 0;
	}
	while (fgets(line, sizeof line, p)) {
		char norm[32];
		int b;
		double rate;
		fputs(line, stdout);
		if (sscanf(line, "torch resnet20-%31[a-z] train batch %d: %lf samples/s", norm, &b, &rate) == 3)
			for (int i = 0; i < CASES; i++)
				if (b == cases[i].batch && !strcmp(norm, cases[i].norm))
					theirs[i] = rate;
	}
	pclose(p);
	for (int i = 0; i < CASES; i++)
		if (theirs[i] > 0)
			printf("speedup vs torch, resnet20-%s batch %d: %.2f\n", cases[i].norm, cases[i].batch,
			       ours[i] / theirs[i]);
	return 0;
}
