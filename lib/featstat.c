#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "featstat.h"
#include "nn.h"
#include "privacy.h"
#include "rng.h"

void ccl_featstat_init(struct ccl_featstat *fs, int classes, int dim)
{
	fs->classes = classes;
	fs->dim = dim;
	fs->sums = ccl_xcalloc((size_t)classes * dim, sizeof *fs->sums);
	fs->counts = ccl_xcalloc((size_t)classes, sizeof *fs->counts);
}

void ccl_featstat_free(struct ccl_featstat *fs)
{
	free(fs->sums);
	free(fs->counts);
	memset(fs, 0, sizeof *fs);
}

void ccl_featstat_clear(struct ccl_featstat *fs)
{
	memset(fs->sums, 0, (size_t)fs->classes * fs->dim * sizeof *fs->sums);
	memset(fs->counts, 0, (size_t)fs->classes * sizeof *fs->counts);
}

void ccl_featstat_accumulate(double *sums, double *counts, const float *z, const int32_t *labels, int batch, int dim)
{
	for (int b = 0; b < batch; b++) {
		double *row = sums + (long)labels[b] * dim;
		for (int f = 0; f < dim; f++)
			row[f] += z[(long)b * dim + f];
		counts[labels[b]] += 1;
	}
}

void ccl_featstat_add(struct ccl_featstat *into, const struct ccl_featstat *fs)
{
	for (long i = 0; i < (long)into->classes * into->dim; i++)
		into->sums[i] += fs->sums[i];
	for (int c = 0; c < into->classes; c++)
		into->counts[c] += fs->counts[c];
}

void ccl_class_means(float *mu, const double *sums, const double *counts, int classes, int dim)
{
	for (int c = 0; c < classes; c++)
		for (int f = 0; f < dim; f++)
			mu[(long)c * dim + f] = counts[c] > 0 ? (float)(sums[(long)c * dim + f] / counts[c]) : 0.0f;
}

void ccl_clip_rows(float *z, int batch, int dim, double clip)
{
	if (clip <= 0)
		return;
	for (int b = 0; b < batch; b++) {
		float *row = z + (long)b * dim;
		double norm2 = 0;
		for (int f = 0; f < dim; f++)
			norm2 += (double)row[f] * row[f];
		if (norm2 > clip * clip) {
			/* Scaling by slightly less than clip / norm keeps the float
			 * row's norm at most clip despite rounding. */
			double scale = clip / sqrt(norm2) * (1 - 1e-6);
			for (int f = 0; f < dim; f++)
				row[f] = (float)(row[f] * scale);
		}
	}
}

void ccl_featstat_add_images(struct ccl_featstat *fs, ccl_net *net, const float *params, const float *images,
                             const int32_t *labels, int count, double clip)
{
	ccl_net_forward(net, params, images, count);
	const float *z = ccl_net_features(net);
	float *clipped = NULL;
	if (clip > 0) {
		/* The network's features stay as they are: clip a copy. */
		clipped = ccl_xmalloc((size_t)count * fs->dim * sizeof *clipped);
		memcpy(clipped, z, (size_t)count * fs->dim * sizeof *clipped);
		ccl_clip_rows(clipped, count, fs->dim, clip);
		z = clipped;
	}
	ccl_featstat_accumulate(fs->sums, fs->counts, z, labels, count, fs->dim);
	free(clipped);
}

void ccl_featstat_add_rows(struct ccl_featstat *fs, ccl_net *net, const float *params, const ccl_shard *shard,
                           const uint32_t *rows, int count, double clip)
{
	enum { CHUNK = 256 };
	size_t image = (size_t)shard->c * shard->h * shard->w;
	float *x = ccl_xmalloc(CHUNK * image * sizeof *x);
	int32_t labels[CHUNK];
	for (int at = 0; at < count; at += CHUNK) {
		int b = count - at < CHUNK ? count - at : CHUNK;
		ccl_shard_batch(shard, rows + at, b, x, labels);
		ccl_featstat_add_images(fs, net, params, x, labels, b, clip);
	}
	free(x);
}

/* The noise stream of one release: keyed by the secret and the model
 * (agent, iteration, parameters), counted by the data agent and batch. */
uint32_t ccl_data_checksum(const void *images, size_t image_bytes, const void *labels, size_t label_bytes)
{
	return ccl_crc32c(ccl_crc32c(0, images, image_bytes), labels, label_bytes);
}

static uint64_t bits_of(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	return u;
}

static void release_stream(ccl_rng *rng, const struct ccl_privacy *p, const struct ccl_release *r)
{
	const ccl_agent *m = r->model;
	uint32_t crc = ccl_crc32c(0, m->params, ccl_net_param_count(m->net) * sizeof *m->params);
	uint64_t key = ccl_rng_subkey(p->key, 0x6665617473746174u); /* "featstat" */
	const uint64_t parts[] = {(uint64_t)m->agent, (uint64_t)m->iteration, crc, (uint64_t)r->batch, r->data_crc,
	                          bits_of(p->clip), bits_of(p->noise)};
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
		key = ccl_rng_subkey(key, parts[i]);
	ccl_rng_init(rng, key, (uint32_t)r->data_agent, (uint32_t)r->epoch, (uint32_t)r->step);
}

void ccl_featstat_privatize(struct ccl_featstat *fs, const struct ccl_privacy *p, const struct ccl_release *r)
{
	if (p->noise > 0) {
		ccl_rng rng;
		release_stream(&rng, p, r);
		for (long i = 0; i < (long)fs->classes * fs->dim; i++)
			fs->sums[i] += p->noise * p->clip * ccl_rng_normal(&rng);
		for (int c = 0; c < fs->classes; c++) {
			double n = nearbyint(fs->counts[c] + p->noise * ccl_rng_normal(&rng));
			fs->counts[c] = n > 0 ? n : 0;
		}
	}
	/* Withhold the classes below k, and those whose (noisy) count is 0. */
	for (int c = 0; c < fs->classes; c++)
		if (fs->counts[c] < p->min_count || fs->counts[c] < 1) {
			fs->counts[c] = 0;
			memset(fs->sums + (long)c * fs->dim, 0, (size_t)fs->dim * sizeof *fs->sums);
		}
}

int ccl_featstat_check_finite(const struct ccl_featstat *fs, const char *model_path)
{
	for (long i = 0; i < (long)fs->classes * fs->dim; i++)
		if (!isfinite((float)fs->sums[i]))
			return ccl_fail(CCL_EXIT_FAILURE, model_path, "features under this model are not finite: "
			                "the model diverged (lower the learning rate)");
	return 0;
}

ccl_artifact *ccl_featstat_to_artifact(const struct ccl_featstat *fs, const struct ccl_release *r, int samples,
                                       const struct ccl_privacy *p)
{
	ccl_artifact *a = ccl_artifact_new("featstat");
	int64_t shape[2] = {fs->classes, fs->dim};
	float *sums = ccl_artifact_add(a, "sums", CCL_F32, 2, shape)->data;
	int32_t *counts = ccl_artifact_add(a, "counts", CCL_I32, 1, shape)->data;
	ccl_artifact_set(a, "classes", "%d", fs->classes);
	ccl_artifact_set(a, "features", "%d", fs->dim);
	ccl_artifact_set(a, "blas_kernel", "%s", ccl_blas_kernel());
	ccl_artifact_set(a, "arch", "%s", ccl_net_arch(r->model->net));
	ccl_artifact_set(a, "data_agent", "%ld", r->data_agent);
	ccl_artifact_set(a, "model_agent", "%ld", r->model->agent);
	if (r->epoch >= 0) {
		ccl_artifact_set(a, "epoch", "%ld", r->epoch);
		ccl_artifact_set(a, "step", "%ld", r->step);
	}
	ccl_artifact_set(a, "samples", "%d", samples);
	if (p->clip > 0 || p->min_count > 0) {
		ccl_artifact_set_double(a, "clip", p->clip);
		ccl_artifact_set_double(a, "noise", p->noise);
		ccl_artifact_set(a, "min_count", "%d", p->min_count);
	}
	if (p->noise > 0) {
		ccl_artifact_set_double(a, "privacy_rho", ccl_privacy_rho(p->noise));
		/* The accountant needs the batch size: batches of different sizes
		 * at the same step overlap. */
		if (r->epoch >= 0)
			ccl_artifact_set(a, "batch", "%ld", r->batch);
	}
	for (long i = 0; i < (long)fs->classes * fs->dim; i++)
		sums[i] = (float)fs->sums[i];
	/* A noisy count can exceed any real one; it is clamped, not wrapped. */
	for (int c = 0; c < fs->classes; c++)
		counts[c] = fs->counts[c] < INT32_MAX ? (int32_t)fs->counts[c] : INT32_MAX;
	return a;
}

int ccl_featstat_from_artifact(struct ccl_featstat *fs, const ccl_artifact *a, const char *path)
{
	struct ccl_tensor *sums = ccl_artifact_tensor(a, path, "sums", CCL_F32), *counts;
	memset(fs, 0, sizeof *fs);
	if (!sums || !(counts = ccl_artifact_tensor(a, path, "counts", CCL_I32)))
		return -1;
	if (a->ntensors != 2 || sums->ndim != 2 || counts->ndim != 1 || counts->shape[0] != sums->shape[0])
		return ccl_fail(CCL_EXIT_INPUT, path, "feature statistic tensors disagree in shape");
	const float *s = sums->data;
	const int32_t *n = counts->data;
	for (long c = 0; c < sums->shape[0]; c++)
		if (n[c] < 0)
			return ccl_fail(CCL_EXIT_INPUT, path, "negative count for class %ld", c);
	ccl_featstat_init(fs, (int)sums->shape[0], (int)sums->shape[1]);
	for (long i = 0; i < (long)fs->classes * fs->dim; i++)
		fs->sums[i] = s[i];
	for (int c = 0; c < fs->classes; c++)
		fs->counts[c] = n[c];
	return 0;
}

int ccl_featstat_load(struct ccl_featstat *fs, const char *path, const ccl_agent *receiver, ccl_ledger *ledger)
{
	ccl_artifact *a = ccl_artifact_read(path, "featstat");
	int classes = ccl_net_classes(receiver->net), dim = ccl_net_feature_dim(receiver->net);
	long model_agent;
	int rc = -1;

	memset(fs, 0, sizeof *fs);
	if (!a)
		return -1;
	if (ccl_artifact_get_long(a, path, "model_agent", &model_agent) || ccl_featstat_from_artifact(fs, a, path))
		goto out;
	if (fs->classes != classes || fs->dim != dim)
		ccl_fail(CCL_EXIT_INPUT, path, "statistic of %d classes x %d features; the model has %d x %d", fs->classes,
		         fs->dim, classes, dim);
	else if (model_agent != receiver->agent)
		ccl_fail(CCL_EXIT_INPUT, path, "was computed with agent %ld's model, not agent %ld's", model_agent,
		         receiver->agent);
	else
		rc = 0;
	if (rc)
		ccl_featstat_free(fs);
	else
		ccl_ledger_note(ledger, path, a);
out:
	ccl_artifact_free(a);
	return rc;
}

int ccl_privacy_read_key(uint64_t *key, const char *path)
{
	unsigned char buf[4096];
	struct stat st;
	ssize_t got;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return ccl_fail(CCL_EXIT_INPUT, path, "cannot open the noise key: %s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return ccl_fail(CCL_EXIT_INPUT, path, "the noise key must be a regular file");
	}
	if (st.st_mode & 077) {
		close(fd);
		return ccl_fail(CCL_EXIT_INPUT, path, "the noise key is readable by others (mode %03o): "
		                "chmod 600 it, and make a new one if others may have read it",
		                (unsigned)(st.st_mode & 0777));
	}
	while (n < sizeof buf && (got = read(fd, buf + n, sizeof buf - n)) > 0)
		n += (size_t)got;
	close(fd);
	if (n < 16)
		return ccl_fail(CCL_EXIT_INPUT, path, "the noise key has %zu bytes; it needs at least 16 "
		                "(head -c 32 /dev/urandom > KEY)", n);
	uint64_t h = 0;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t word = 0;
		memcpy(&word, buf + i, n - i < 8 ? n - i : 8);
		h = ccl_rng_subkey(h, word) + i;
	}
	*key = h;
	return 0;
}
