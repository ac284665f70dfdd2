#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "rng.h"
#include "shard.h"

const char *const ccl_normalize_names[] = {"paper", "data", NULL};
const char *const ccl_batch_order_names[] = {"shared", "independent", NULL};

/* Per-channel mean and standard deviation of a data set's pixels in [0, 1]. */
static void channel_stats(const ccl_dataset *ds, float *mean, float *std)
{
	size_t plane = (size_t)ds->h * ds->w;
	for (int ch = 0; ch < ds->c; ch++) {
		double s = 0, s2 = 0;
		for (int i = 0; i < ds->n; i++) {
			const uint8_t *p = ds->images + ((size_t)i * ds->c + ch) * plane;
			uint64_t a = 0, a2 = 0;
			for (size_t k = 0; k < plane; k++) {
				a += p[k];
				a2 += (uint64_t)p[k] * p[k];
			}
			s += (double)a;
			s2 += (double)a2;
		}
		double count = (double)ds->n * (double)plane;
		double m = s / count / 255.0, var = s2 / count / (255.0 * 255.0) - m * m;
		mean[ch] = (float)m;
		std[ch] = (float)sqrt(var > 1e-12 ? var : 1e-12);
	}
}

/* The constants of the paper's data loaders (ALGORITHM.md, "Input
 * transforms"). */
static const struct {
	const char *dataset;
	float mean[CCL_MAX_CHANNELS], std[CCL_MAX_CHANNELS];
} paper_constants[] = {
	{"fashion-mnist", {0.5f}, {0.5f}},
	{"mnist", {0.5f}, {0.5f}},
	{"cifar10", {0.4914f, 0.4822f, 0.4465f}, {0.2023f, 0.1994f, 0.2010f}},
	{"cifar100", {0.5071f, 0.4867f, 0.4408f}, {0.2675f, 0.2565f, 0.2761f}},
};

int ccl_transform_make(struct ccl_transform *t, const ccl_dataset *train, enum ccl_normalize kind)
{
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->augment = !strncmp(train->name, "cifar", 5);
	if (kind == CCL_NORMALIZE_DATA) {
		channel_stats(train, t->mean, t->std);
		return 0;
	}
	for (size_t i = 0; i < sizeof paper_constants / sizeof *paper_constants; i++)
		if (!strcmp(paper_constants[i].dataset, train->name)) {
			memcpy(t->mean, paper_constants[i].mean, sizeof t->mean);
			memcpy(t->std, paper_constants[i].std, sizeof t->std);
			return 0;
		}
	return ccl_fail(CCL_EXIT_USAGE, NULL, "no published input constants for data set '%s'", train->name);
}

/* Comma-separated, each value in the fewest digits that read back as the
 * same float (0.5, 0.4914), so the manifest shows the constants as
 * published. */
static void format_floats(char *out, size_t outsz, const float *v, int n)
{
	size_t at = 0;
	out[0] = 0;
	for (int i = 0; i < n && at < outsz; i++) {
		char digits[32];
		for (int precision = 6; precision <= 9; precision++) {
			snprintf(digits, sizeof digits, "%.*g", precision, v[i]);
			if (strtof(digits, NULL) == v[i])
				break;
		}
		at += (size_t)snprintf(out + at, outsz - at, "%s%s", i ? "," : "", digits);
	}
}

static int parse_floats(const ccl_artifact *a, const char *path, const char *key, float *v, int n)
{
	const char *s = ccl_artifact_get(a, key);
	char *end;
	if (!s)
		return ccl_fail(CCL_EXIT_INPUT, path, "manifest has no '%s'", key);
	for (int i = 0; i < n; i++) {
		v[i] = strtof(s, &end);
		if (end == s || !isfinite(v[i]) || (i < n - 1 ? *end != ',' : *end != 0))
			return ccl_fail(CCL_EXIT_INPUT, path, "manifest '%s' is not %d numbers", key, n);
		s = end + 1;
	}
	return 0;
}

ccl_artifact *ccl_shard_build(const ccl_dataset *ds, const uint32_t *idx, size_t count, long agent,
                              const struct ccl_transform *t)
{
	ccl_artifact *a = ccl_artifact_new("shard");
	size_t image = (size_t)ds->c * ds->h * ds->w;
	char text[128];

	ccl_artifact_set(a, "dataset", "%s", ds->name);
	ccl_artifact_set(a, "split", "%s", agent < 0 ? "test" : "train");
	if (agent >= 0)
		ccl_artifact_set(a, "agent", "%ld", agent);
	ccl_artifact_set(a, "classes", "%d", ds->classes);
	ccl_artifact_set(a, "samples", "%zu", count);
	ccl_artifact_set(a, "normalize", "%s", ccl_normalize_names[t->kind]);
	format_floats(text, sizeof text, t->mean, ds->c);
	ccl_artifact_set(a, "mean", "%s", text);
	format_floats(text, sizeof text, t->std, ds->c);
	ccl_artifact_set(a, "std", "%s", text);
	ccl_artifact_set(a, "augment", "%s", agent >= 0 && t->augment ? "flip-crop4" : "none");

	int64_t ishape[4] = {(int64_t)count, ds->c, ds->h, ds->w}, n1[1] = {(int64_t)count};
	uint8_t *images = ccl_artifact_add(a, "images", CCL_U8, 4, ishape)->data;
	uint8_t *labels = ccl_artifact_add(a, "labels", CCL_U8, 1, n1)->data;
	int32_t *index = ccl_artifact_add(a, "index", CCL_I32, 1, n1)->data;
	for (size_t i = 0; i < count; i++) {
		memcpy(images + i * image, ds->images + (size_t)idx[i] * image, image);
		labels[i] = ds->labels[idx[i]];
		index[i] = (int32_t)idx[i];
	}
	return a;
}

int ccl_shard_load(ccl_shard *s, const char *path)
{
	ccl_artifact *a = ccl_artifact_read(path, "shard");
	if (!a)
		return -1;
	if (ccl_shard_view(s, a, path)) {
		ccl_artifact_free(a);
		return -1;
	}
	s->artifact = a;
	return 0;
}

int ccl_shard_view(ccl_shard *s, const ccl_artifact *a, const char *path)
{
	long classes, samples;

	memset(s, 0, sizeof *s);
	struct ccl_tensor *images = ccl_artifact_tensor(a, path, "images", CCL_U8), *labels, *index;
	if (!images || !(labels = ccl_artifact_tensor(a, path, "labels", CCL_U8)) ||
	    !(index = ccl_artifact_tensor(a, path, "index", CCL_I32)) ||
	    ccl_artifact_get_long(a, path, "classes", &classes) ||
	    ccl_artifact_get_long(a, path, "samples", &samples))
		return -1;
	if (a->ntensors != 3)
		return ccl_fail(CCL_EXIT_INPUT, path, "shard holds %d tensors, not images, labels and index", a->ntensors);
	if (images->ndim != 4 || images->shape[1] < 1 || images->shape[1] > CCL_MAX_CHANNELS ||
	    images->shape[0] != samples || labels->count != (size_t)samples || index->count != (size_t)samples)
		return ccl_fail(CCL_EXIT_INPUT, path, "shard tensors disagree on the number of samples");
	if (classes < 2 || classes > 256)
		return ccl_fail(CCL_EXIT_INPUT, path, "implausible class count %ld", classes);
	s->n = (int)samples;
	s->c = (int)images->shape[1];
	s->h = (int)images->shape[2];
	s->w = (int)images->shape[3];
	s->classes = (int)classes;
	s->images = images->data;
	s->labels = labels->data;
	s->index = index->data;
	for (int i = 0; i < s->n; i++)
		if (s->labels[i] >= classes)
			return ccl_fail(CCL_EXIT_INPUT, path, "label %u of sample %d is not below %ld", s->labels[i], i,
			                classes);
	if (parse_floats(a, path, "mean", s->mean, s->c) || parse_floats(a, path, "std", s->std, s->c))
		return -1;
	s->agent = -1;
	if (ccl_artifact_get(a, "agent") && ccl_artifact_get_long(a, path, "agent", &s->agent))
		return -1;
	/* Shards written before augmentation existed have no key: none. */
	const char *augment = ccl_artifact_get(a, "augment");
	if (augment && strcmp(augment, "none") && strcmp(augment, "flip-crop4"))
		return ccl_fail(CCL_EXIT_INPUT, path, "unknown augmentation '%s'", augment);
	s->augment = augment && !strcmp(augment, "flip-crop4");
	if (s->augment && s->agent < 0)
		return ccl_fail(CCL_EXIT_INPUT, path, "a test set is never augmented");
	return 0;
}

void ccl_shard_free(ccl_shard *s)
{
	ccl_artifact_free(s->artifact);
	memset(s, 0, sizeof *s);
}

void ccl_shard_class_counts(const ccl_shard *s, size_t *counts)
{
	memset(counts, 0, (size_t)s->classes * sizeof *counts);
	for (int i = 0; i < s->n; i++)
		counts[s->labels[i]]++;
}

int ccl_shard_check_owner(const ccl_shard *s, const char *path, long agent)
{
	if (s->agent < 0)
		return ccl_fail(CCL_EXIT_INPUT, path, "is the test set, not agent %ld's training shard", agent);
	if (s->agent != agent)
		return ccl_fail(CCL_EXIT_INPUT, path, "is agent %ld's shard; the state is agent %ld's", s->agent, agent);
	return 0;
}

int ccl_shard_check_test(const ccl_shard *s, const char *path)
{
	if (s->agent >= 0)
		return ccl_fail(CCL_EXIT_INPUT, path, "is agent %ld's training shard, not the test set", s->agent);
	return 0;
}

int ccl_shard_check_batch(const ccl_shard *s, const char *path, int batch)
{
	if (batch > s->n)
		return ccl_fail(CCL_EXIT_INPUT, path, "batch %d is larger than the shard's %d samples", batch, s->n);
	return 0;
}

long ccl_steps_per_epoch(long n, long batch) { return (n + batch - 1) / batch; }

void ccl_epoch_order(uint64_t seed, enum ccl_batch_order kind, long agent, long epoch, uint32_t *order, size_t n)
{
	uint32_t stream = kind == CCL_ORDER_SHARED ? CCL_STREAM_SHARED_ORDER : (uint32_t)agent;
	ccl_rng rng;
	ccl_rng_init(&rng, seed, stream, (uint32_t)epoch, 0);
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	ccl_rng_shuffle_u32(&rng, order, n);
}

void ccl_shard_batch(const ccl_shard *s, const uint32_t *rows, int batch, float *images, int32_t *labels)
{
	size_t plane = (size_t)s->h * s->w, image = (size_t)s->c * plane;
	for (int b = 0; b < batch; b++) {
		const uint8_t *src = s->images + rows[b] * image;
		float *dst = images + (size_t)b * image;
		for (int ch = 0; ch < s->c; ch++) {
			float scale = 1.0f / (255.0f * s->std[ch]), shift = s->mean[ch] / s->std[ch];
			for (size_t k = 0; k < plane; k++)
				dst[ch * plane + k] = (float)src[ch * plane + k] * scale - shift;
		}
		labels[b] = s->labels[rows[b]];
	}
}

void ccl_shard_augment(const ccl_shard *s, float *images, int batch, ccl_rng *rng)
{
	enum { PAD = 4 };
	int h = s->h, w = s->w;
	size_t plane = (size_t)h * w;
	float *copy = ccl_xmalloc(plane * sizeof *copy);
	for (int b = 0; b < batch; b++) {
		int flip = (int)(ccl_rng_u32(rng) & 1);
		int dy = (int)ccl_rng_below(rng, 2 * PAD + 1) - PAD, dx = (int)ccl_rng_below(rng, 2 * PAD + 1) - PAD;
		for (int ch = 0; ch < s->c; ch++) {
			float *img = images + ((size_t)b * s->c + ch) * plane;
			float zero = -s->mean[ch] / s->std[ch]; /* a raw 0 pixel, normalised */
			memcpy(copy, img, plane * sizeof *copy);
			/* Output (y, x) is pixel (y + dy, x + dx) of the flipped image,
			 * or padding outside it. */
			for (int y = 0; y < h; y++)
				for (int x = 0; x < w; x++) {
					int sy = y + dy, sx = x + dx;
					float v = zero;
					if (sy >= 0 && sy < h && sx >= 0 && sx < w)
						v = copy[(size_t)sy * w + (flip ? w - 1 - sx : sx)];
					img[(size_t)y * w + x] = v;
				}
		}
	}
	free(copy);
}
