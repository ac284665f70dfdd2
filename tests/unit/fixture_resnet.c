/* fixture_resnet MODEL DIR BATCH: runs one forward and backward pass of the
 * model artifact MODEL (a ResNet-20 from ccl-init) on a seeded random batch
 * and writes what tests/peer/resnet20_torch.py compares with PyTorch:
 *   meta.txt       ARCH NORM CLASSES IN_C IN_H IN_W BATCH
 *   table.txt      NAME NDIM D0 D1 D2 D3 OFFSET SIZE, one line per tensor
 *   params.f32     the parameter vector
 *   input.f32      (B, C, H, W), labels.i32 (B), dfeatures.f32 (B, 64)
 *   logits.f32, features.f32, grad.f32   what the C code computed for
 *                  L = mean cross-entropy + sum(features * dfeatures)
 * Everything little-endian, as the machine writes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "error.h"
#include "nn.h"
#include "rng.h"

static void write_file(const char *dir, const char *name, const void *data, size_t bytes)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, bytes, f) != bytes || fclose(f)) {
		fprintf(stderr, "fixture_resnet: cannot write %s\n", path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: fixture_resnet MODEL DIR BATCH\n");
		return 2;
	}
	ccl_agent m;
	if (ccl_agent_load(&m, argv[1], NULL))
		ccl_die();
	int batch = atoi(argv[3]), c, h, w;
	ccl_net *net = m.net;
	ccl_net_input_shape(net, &c, &h, &w);
	int classes = ccl_net_classes(net), nf = ccl_net_feature_dim(net);
	size_t np = ccl_net_param_count(net), ni = (size_t)batch * c * h * w;
	float *input = malloc(ni * sizeof *input), *dfeat = malloc((size_t)batch * nf * sizeof *dfeat);
	float *dlogits = malloc((size_t)batch * classes * sizeof *dlogits), *grad = malloc(np * sizeof *grad);
	int32_t *labels = malloc((size_t)batch * sizeof *labels);

	/* Inputs about as normalised images are; a feature gradient about as
	 * large as the cross-entropy's. */
	ccl_rng rng;
	ccl_rng_init(&rng, 2024, 0, 0, 0);
	for (size_t i = 0; i < ni; i++)
		input[i] = (float)ccl_rng_normal(&rng);
	for (int i = 0; i < batch; i++)
		labels[i] = (int32_t)ccl_rng_below(&rng, (uint32_t)classes);
	for (int i = 0; i < batch * nf; i++)
		dfeat[i] = (float)(ccl_rng_uniform(&rng) - 0.5) / (float)batch;

	ccl_net_forward(net, m.params, input, batch);
	ccl_softmax_xent(ccl_net_logits(net), labels, batch, classes, dlogits);
	ccl_net_backward(net, m.params, dlogits, dfeat, grad);

	const char *dir = argv[2], *arch = ccl_net_arch(net), *dash = strchr(arch, '-');
	char text[256];
	snprintf(text, sizeof text, "%.*s %s %d %d %d %d %d\n", dash ? (int)(dash - arch) : (int)strlen(arch), arch,
	         dash ? dash + 1 : "none", classes, c, h, w, batch);
	write_file(dir, "meta.txt", text, strlen(text));
	/* A line is a name of at most 31 characters and seven numbers. */
	size_t size = (size_t)ccl_net_tensor_count(net) * 160;
	char *table = malloc(size), *at = table;
	for (int i = 0; i < ccl_net_tensor_count(net); i++) {
		const struct ccl_param_tensor *t = ccl_net_tensor(net, i);
		at += snprintf(at, size - (size_t)(at - table), "%s %d %d %d %d %d %zu %zu\n", t->name, t->ndim,
		               t->shape[0], t->shape[1], t->shape[2], t->shape[3], t->offset, t->size);
	}
	write_file(dir, "table.txt", table, (size_t)(at - table));
	write_file(dir, "params.f32", m.params, np * sizeof(float));
	write_file(dir, "input.f32", input, ni * sizeof(float));
	write_file(dir, "labels.i32", labels, (size_t)batch * sizeof(int32_t));
	write_file(dir, "dfeatures.f32", dfeat, (size_t)batch * nf * sizeof(float));
	write_file(dir, "logits.f32", ccl_net_logits(net), (size_t)batch * classes * sizeof(float));
	write_file(dir, "features.f32", ccl_net_features(net), (size_t)batch * nf * sizeof(float));
	write_file(dir, "grad.f32", grad, np * sizeof(float));
	free(table);
	free(input);
	free(dfeat);
	free(dlogits);
	free(grad);
	free(labels);
	ccl_agent_free(&m);
	return 0;
}
