#define _GNU_SOURCE
/* The artifact format: round trip, checksums, and every kind of damage a
 * reader must catch. */
#include <dirent.h>
#include <float.h>
#include <signal.h>
#include <sys/resource.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "artifact.h"
#include "error.h"
#include "unit.h"

static char dir[] = "/tmp/ccl-test-artifact-XXXXXX";

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	rewind(f);
	char *b = malloc(*n);
	if (fread(b, 1, *n, f) != *n)
		*n = 0;
	fclose(f);
	return b;
}

static void spit(const char *path, const char *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(b, 1, n, f);
	fclose(f);
}

/* A model artifact written by hand: its manifest says `kind`, has `extra`
 * lines before the tensor list (after a second document's marker, they
 * hold the checksum line too) and gives params (3 floats, zero) the
 * `shape`; the checksum line is right. */
static void write_raw_sized(const char *path, const char *kind, const char *extra, const char *shape,
                           long long bytes);

static void write_raw(const char *path, const char *kind, const char *extra, const char *shape)
{
	write_raw_sized(path, kind, extra, shape, 12);
}

/* The same, with the byte count the manifest declares for params given. */
static void write_raw_sized(const char *path, const char *kind, const char *extra, const char *shape,
                           long long bytes)
{
	char text[1024];
	float zeros[3] = {0};
	int n = snprintf(text, sizeof text,
	                 "format: ccl-artifact\nversion: 1\nkind: %s\n%stensors:\n  - name: params\n"
	                 "    dtype: f32\n    shape: %s\n    bytes: %lld\n    crc32c: 0x%08x\n",
	                 kind, extra, shape, bytes, ccl_crc32c(0, zeros, sizeof zeros));
	n += snprintf(text + n, sizeof text - (size_t)n, "manifest_crc32c: 0x%08x\n", ccl_crc32c(0, text, (size_t)n));
	struct archive *ar = archive_write_new();
	archive_write_set_format_ustar(ar);
	archive_write_set_bytes_per_block(ar, 0);
	archive_write_open_filename(ar, path);
	const char *names[2] = {"manifest.yaml", "params.bin"};
	const void *data[2] = {text, zeros};
	size_t sizes[2] = {(size_t)n, sizeof zeros};
	for (int m = 0; m < 2; m++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, names[m]);
		archive_entry_set_size(e, (la_int64_t)sizes[m]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_write_header(ar, e);
		archive_write_data(ar, data[m], sizes[m]);
		archive_entry_free(e);
	}
	archive_write_close(ar);
	archive_write_free(ar);
}

static ccl_artifact *sample(void)
{
	ccl_artifact *a = ccl_artifact_new("model");
	int64_t shape[2] = {3, 4};
	ccl_artifact_set(a, "arch", "lenet5");
	ccl_artifact_set(a, "note", "needs: \"quoting\"");
	float *w = ccl_artifact_add(a, "params", CCL_F32, 2, shape)->data;
	for (int i = 0; i < 12; i++)
		w[i] = 0.5f * (float)i - 1.0f;
	int64_t n1[1] = {5};
	uint8_t *u = ccl_artifact_add(a, "bytes", CCL_U8, 1, n1)->data;
	memcpy(u, "hello", 5);
	return a;
}

/* Reads path and expects failure whose message contains `want`. */
static int fails_with(const char *path, const char *kind, const char *want)
{
	ccl_artifact *a = ccl_artifact_read(path, kind);
	if (a) {
		ccl_artifact_free(a);
		fprintf(stderr, "  %s read without error, expected '%s'\n", path, want);
		return 0;
	}
	if (!strstr(ccl_error_message(), want)) {
		fprintf(stderr, "  message '%s' lacks '%s'\n", ccl_error_message(), want);
		return 0;
	}
	return ccl_error_status() == CCL_EXIT_INPUT;
}

int main(void)
{
	char good[256], bad[256];
	size_t n;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(good, sizeof good, "%s/good.ccl", dir);
	snprintf(bad, sizeof bad, "%s/bad.ccl", dir);

	/* The standard check value of CRC-32C (iSCSI), in one piece and split. */
	CHECK(ccl_crc32c(0, "123456789", 9) == 0xE3069283u);
	CHECK(ccl_crc32c(ccl_crc32c(0, "12345", 5), "6789", 4) == 0xE3069283u);
	CHECK(ccl_crc32c_portable(0, "123456789", 9) == 0xE3069283u);
	/* The hardware path agrees with the bytewise one at every length and
	 * alignment up to 64, and on a long buffer. */
	unsigned char noise[4096 + 8];
	for (size_t i = 0; i < sizeof noise; i++)
		noise[i] = (unsigned char)(i * 2654435761u >> 13);
	int agree = 1;
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 64; len++)
			agree &= ccl_crc32c(7, noise + off, len) == ccl_crc32c_portable(7, noise + off, len);
	agree &= ccl_crc32c(0, noise, 4096) == ccl_crc32c_portable(0, noise, 4096);
	CHECK(agree);

	/* Long buffers take three interleaved runs joined by polynomial
	 * arithmetic: they must agree with the bytewise CRC at every offset and
	 * at lengths around where the interleaving starts and thirds change. */
	size_t big = 200001;
	unsigned char *long_noise = ccl_xmalloc(big + 8);
	for (size_t i = 0; i < big + 8; i++)
		long_noise[i] = (unsigned char)(i * 2246822519u >> 17);
	size_t lengths[] = {12287, 12288, 12289, 12295, 12296, 12311, 65536, 99999, 200001};
	agree = 1;
	for (size_t off = 0; off < 8; off++)
		for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++)
			agree &= ccl_crc32c(0x1234567u, long_noise + off, lengths[k]) ==
			         ccl_crc32c_portable(0x1234567u, long_noise + off, lengths[k]);
	/* Continuing a CRC across two long pieces gives the whole one. */
	agree &= ccl_crc32c(ccl_crc32c(0, long_noise, 70000), long_noise + 70000, big - 70000) ==
	         ccl_crc32c_portable(0, long_noise, big);
	CHECK(agree);
	free(long_noise);

	ccl_artifact *a = sample();
	long bytes = ccl_artifact_write(a, good);
	CHECK(bytes > 0);
	ccl_artifact *b = ccl_artifact_read(good, "model");
	CHECK(b != NULL);
	if (b) {
		CHECK(!strcmp(b->kind, "model"));
		CHECK(!strcmp(ccl_artifact_get(b, "arch"), "lenet5"));
		CHECK(!strcmp(ccl_artifact_get(b, "note"), "needs: \"quoting\""));
		struct ccl_tensor *t = ccl_artifact_tensor(b, good, "params", CCL_F32);
		CHECK(t && t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == 4);
		CHECK(t && !memcmp(t->data, a->tensors[0].data, 12 * sizeof(float)));
		CHECK(ccl_artifact_tensor(b, good, "params", CCL_U8) == NULL);
		CHECK(strstr(ccl_error_message(), "is f32, expected u8") != NULL);
		CHECK(ccl_artifact_tensor(b, good, "momentum", CCL_F32) == NULL);
		ccl_artifact_free(b);
	}
	/* Same content, same bytes. */
	char *g = slurp(good, &n);
	CHECK((long)n == bytes);
	ccl_artifact_write(a, bad);
	size_t n2;
	char *g2 = slurp(bad, &n2);
	CHECK(n2 == n && !memcmp(g, g2, n));
	free(g2);

	CHECK(fails_with(good, "state", "is a model artifact, expected a state"));
	CHECK(fails_with("/nonexistent/x.ccl", NULL, "cannot open"));

	/* One flipped bit anywhere in a tensor's bytes. */
	char *text = memmem(g, n, "hello", 5);
	CHECK(text != NULL);
	char *c = malloc(n);
	memcpy(c, g, n);
	c[text - g] ^= 1;
	spit(bad, c, n);
	CHECK(fails_with(bad, NULL, "fails its CRC-32C check"));

	/* One changed byte in the manifest: the class count, say. */
	memcpy(c, g, n);
	char *arch = memmem(c, n, "lenet5", 6);
	arch[0] = 'L';
	spit(bad, c, n);
	CHECK(fails_with(bad, NULL, "manifest checksum mismatch"));

	/* Truncation, at many lengths. */
	int all_caught = 1;
	for (size_t cut = 0; cut < n - 1024; cut += 97) {
		spit(bad, g, cut);
		ccl_artifact *t = ccl_artifact_read(bad, NULL);
		if (t) {
			all_caught = 0;
			fprintf(stderr, "  truncation at %zu not caught\n", cut);
			ccl_artifact_free(t);
		}
	}
	CHECK(all_caught);

	/* The checksum of nothing, with no buffer at all, is the starting
	 * value (no arithmetic on the null pointer: UBSan watches in
	 * make check-asan). */
	CHECK(ccl_crc32c(0, NULL, 0) == 0);
	CHECK(ccl_crc32c(0x12345678, NULL, 0) == 0x12345678);

	/* A shape whose element count overflows: 4 x 2^60 floats are 2^64
	 * bytes, which wraps to the 0 the manifest declares.  The writer is
	 * made to write exactly that (an empty member, a valid checksum). */
	{
		ccl_artifact *lying = ccl_artifact_new("model");
		int64_t one[1] = {1};
		struct ccl_tensor *t = ccl_artifact_add(lying, "params", CCL_F32, 1, one);
		int64_t huge[4] = {4, 1, (int64_t)1 << 30, (int64_t)1 << 30};
		t->ndim = 4;
		memcpy(t->shape, huge, sizeof huge);
		t->count = 0;
		CHECK(ccl_artifact_write(lying, bad) > 0);
		t->ndim = 1, t->shape[0] = 1, t->count = 1;
		ccl_artifact_free(lying);
		CHECK(fails_with(bad, NULL, "manifest: tensor 'params' is too large"));
	}

	/* What ccl-artifact(5) does not allow, though a lenient tar and YAML
	 * reader would take it: missing end blocks, bytes after them, a second
	 * YAML document, a NUL escaped into a value, an unknown or over-long
	 * kind, a dimension of zero.  The manifests are rewritten through the
	 * writer, so their checksums are right. */
	{
		size_t len;
		char *whole = slurp(good, &len);
		spit(bad, whole, len - 1024);
		CHECK(fails_with(bad, NULL, "truncated: the archive's end blocks are missing"));
		char *longer = malloc(len + 512);
		memcpy(longer, whole, len);
		memset(longer + len, 0, 512);
		spit(bad, longer, len + 512);
		CHECK(fails_with(bad, NULL, "garbage after the archive's end"));
		free(longer);
		free(whole);

		struct { const char *kind, *extra, *shape, *want; } cases[] = {
			{"model", "", "[3]", NULL}, /* the template itself is fine */
			{"model", "arch: \"lenet5\\x00junk\"\n", "[3]", "a value holds a NUL byte"},
			{"model", "---\nother: 1\n", "[3]", "one document only"},
			{"modelmodelmodelmodel", "", "[3]", "unknown kind 'modelmodelmodelmodel'"},
			{"banana", "", "[3]", "unknown kind 'banana'"},
			{"model", "", "[3, 0]", "bad shape of tensor 'params'"},
		};
		/* More than the kind can hold is refused before anything is
		 * allocated (the member itself is only 12 bytes). */
		write_raw_sized(bad, "model", "", "[400000000]", 1600000000);
		CHECK(fails_with(bad, NULL, "declares 1600000000 bytes of tensors; a model artifact holds at most 67108864"));
		for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
			write_raw(bad, cases[k].kind, cases[k].extra, cases[k].shape);
			if (!cases[k].want) {
				ccl_artifact *fine = ccl_artifact_read(bad, NULL);
				CHECK_MSG(fine != NULL, "template refused: %s", ccl_error_message());
				ccl_artifact_free(fine);
			} else {
				CHECK_MSG(fails_with(bad, NULL, cases[k].want), "case %zu", k);
			}
		}
	}

	/* NaN in a float tensor. */
	((float *)a->tensors[0].data)[7] = NAN;
	ccl_artifact_write(a, bad);
	CHECK(fails_with(bad, NULL, "tensor 'params' holds NaN at index 7"));
	((float *)a->tensors[0].data)[7] = 0;

	/* A long tensor is checked in blocks, then value by value: the first
	 * value that is not finite is named wherever it lies, and the largest
	 * finite values and subnormals pass. */
	{
		ccl_artifact *big_one = ccl_artifact_new("model");
		int64_t len[1] = {5000};
		float *v = ccl_artifact_add(big_one, "params", CCL_F32, 1, len)->data;
		for (int i = 0; i < 5000; i++)
			v[i] = i % 3 == 0 ? FLT_MAX : i % 3 == 1 ? -FLT_MAX : FLT_TRUE_MIN;
		ccl_artifact_write(big_one, bad);
		ccl_artifact *ok = ccl_artifact_read(bad, "model");
		CHECK(ok != NULL);
		ccl_artifact_free(ok);
		struct { int at; float value; const char *want; } cases[] = {
			{1023, NAN, "holds NaN at index 1023"},       /* last of the first block */
			{1024, -INFINITY, "holds infinity at index 1024"},
			{3000, INFINITY, "holds infinity at index 3000"},
			{4999, NAN, "holds NaN at index 4999"},       /* in the tail */
		};
		for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
			float kept = v[cases[k].at];
			v[cases[k].at] = cases[k].value;
			ccl_artifact_write(big_one, bad);
			CHECK(fails_with(bad, NULL, cases[k].want));
			v[cases[k].at] = kept;
		}
		v[2500] = NAN, v[2000] = INFINITY; /* two: the first is named */
		ccl_artifact_write(big_one, bad);
		CHECK(fails_with(bad, NULL, "holds infinity at index 2000"));
		ccl_artifact_free(big_one);
	}

	/* A tensor lying in the file mapping, given a copy of its own, keeps
	 * its values and no longer points into the mapping. */
	b = ccl_artifact_read(good, "model");
	CHECK(b != NULL);
	if (b) {
		struct ccl_tensor *t = ccl_artifact_tensor(b, good, "params", CCL_F32);
		CHECK(t && t->borrowed);
		if (t) {
			float before[12];
			memcpy(before, t->data, sizeof before);
			ccl_tensor_own(t);
			CHECK(!t->borrowed && !memcmp(t->data, before, sizeof before));
			CHECK((char *)t->data < (char *)b->mapping ||
			      (char *)t->data >= (char *)b->mapping + b->mapping_size);
		}
		ccl_artifact_free(b);
	}

	/* A file that is not a tar archive at all. */
	spit(bad, "format: ccl-artifact\n", 21);
	CHECK(fails_with(bad, NULL, "not a ccl artifact"));

	/* Round trip through stdout and stdin. */
	fflush(stdout);
	int saved = dup(1);
	FILE *f = fopen(bad, "wb");
	dup2(fileno(f), 1);
	CHECK(ccl_artifact_write(a, "-") == bytes);
	dup2(saved, 1);
	fclose(f);
	close(saved);
	saved = dup(0);
	f = fopen(bad, "rb");
	dup2(fileno(f), 0);
	b = ccl_artifact_read("-", "model");
	CHECK(b != NULL);
	ccl_artifact_free(b);
	dup2(saved, 0);
	fclose(f);
	close(saved);

	/* A failed write leaves the previous file intact and no temporary behind:
	 * a file size limit makes the write of a larger artifact fail midway. */
	{
		char missing[300];
		snprintf(missing, sizeof missing, "%s/no/such/dir.ccl", dir);
		CHECK(ccl_artifact_write(a, missing) < 0);

		char target[300];
		snprintf(target, sizeof target, "%s/kept.ccl", dir);
		spit(target, "previous contents", 17);
		ccl_artifact *big_one = ccl_artifact_new("model");
		int64_t len[1] = {100000};
		ccl_artifact_add(big_one, "params", CCL_F32, 1, len);
		struct rlimit old, small = {.rlim_cur = 64 * 1024, .rlim_max = RLIM_INFINITY};
		getrlimit(RLIMIT_FSIZE, &old);
		small.rlim_max = old.rlim_max;
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &small);
		CHECK(ccl_artifact_write(big_one, target) < 0);
		setrlimit(RLIMIT_FSIZE, &old);
		signal(SIGXFSZ, SIG_DFL);
		CHECK(strstr(ccl_error_message(), "kept.ccl: cannot write") != NULL);
		size_t kept_size;
		char *kept = slurp(target, &kept_size);
		CHECK(kept_size == 17 && !memcmp(kept, "previous contents", 17));
		free(kept);
		unlink(target);
		ccl_artifact_free(big_one);
		DIR *d = opendir(dir);
		struct dirent *e;
		int temporaries = 0;
		while ((e = readdir(d)))
			temporaries += strstr(e->d_name, ".tmp.") != NULL;
		closedir(d);
		CHECK(temporaries == 0);
	}

	free(c);
	free(g);
	ccl_artifact_free(a);
	unlink(good);
	unlink(bad);
	rmdir(dir);
	return unit_report();
}
