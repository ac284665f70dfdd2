#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "error.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE)

const char *ccl_dataset_default_path(const char *name)
{
	if (!strcmp(name, "fashion-mnist"))
		return "/usr/share/datasets/fashion-mnist";
	return NULL;
}

void ccl_dataset_free(ccl_dataset *ds)
{
	free(ds->images);
	free(ds->labels);
	ds->images = ds->labels = NULL;
}

/* The largest files the readers take, decompressed: a few bytes of gzip
 * can expand to gigabytes, so a file is refused as soon as it grows past
 * what any real file of its kind holds (the 60,000 training images of
 * MNIST and Fashion-MNIST; CIFAR-100's 50,000 training records). */
#define IDX_IMAGES_MAX (16 + 60000 * 28 * 28)
#define IDX_LABELS_MAX (8 + 60000)
#define CIFAR_FILE_MAX (50000 * 3074)

/* Appends everything the current entry holds to a growing buffer, refusing
 * more than `limit` bytes in all. */
static int slurp_entry(struct archive *ar, const char *path, uint8_t **data, size_t *size, size_t limit)
{
	size_t cap = *size + (1 << 20);
	*data = ccl_xrealloc(*data, cap);
	for (;;) {
		if (cap - *size < (1 << 16)) {
			cap *= 2;
			*data = ccl_xrealloc(*data, cap);
		}
		la_ssize_t n = archive_read_data(ar, *data + *size, cap - *size);
		if (n < 0)
			return ccl_fail(CCL_EXIT_INPUT, path, "truncated or corrupted (%s)", archive_error_string(ar));
		if (n == 0)
			return 0;
		*size += (size_t)n;
		if (*size > limit)
			return ccl_fail(CCL_EXIT_INPUT, path, "decompresses to more than %zu bytes, more than any file "
			                "of its kind holds", limit);
	}
}

static int open_fd(const char *path)
{
	struct stat st;
	/* O_NONBLOCK: opening a FIFO would otherwise wait for a writer. */
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return ccl_fail(CCL_EXIT_INPUT, path, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		close(fd);
		return ccl_fail(CCL_EXIT_INPUT, path, "not a regular file");
	}
	if (st.st_size == 0) {
		close(fd);
		return ccl_fail(CCL_EXIT_INPUT, path, "file is empty");
	}
	return fd;
}

int ccl_read_file_decompressed(const char *path, uint8_t **data, size_t *size, size_t limit)
{
	struct archive_entry *e;
	int fd = open_fd(path), rc;

	if (fd < 0)
		return -1;
	struct archive *ar = archive_read_new();
	archive_read_support_filter_gzip(ar);
	archive_read_support_format_raw(ar);
	*data = NULL;
	*size = 0;
	if (archive_read_open_fd(ar, fd, 1 << 16) != ARCHIVE_OK || archive_read_next_header(ar, &e) != ARCHIVE_OK)
		rc = ccl_fail(CCL_EXIT_INPUT, path, "cannot read (%s)", archive_error_string(ar));
	else
		rc = slurp_entry(ar, path, data, size, limit);
	archive_read_free(ar);
	close(fd);
	if (rc) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Finds "<dir>/<base>" or "<dir>/<base>.gz". */
static int find_idx_file(const char *dir, const char *base, char *out, size_t outsz)
{
	struct stat st;
	snprintf(out, outsz, "%s/%s.gz", dir, base);
	if (stat(out, &st) == 0)
		return 0;
	snprintf(out, outsz, "%s/%s", dir, base);
	if (stat(out, &st) == 0)
		return 0;
	return ccl_fail(CCL_EXIT_INPUT, dir, "no %s or %s.gz here", base, base);
}

static int load_idx(ccl_dataset *ds, const char *dir, enum ccl_split split)
{
	const char *prefix = split == CCL_TRAIN ? "train" : "t10k";
	char ipath[4096], lpath[4096], base[64];
	uint8_t *img = NULL, *lab = NULL;
	size_t isize, lsize;
	int rc = -1;

	snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
	if (find_idx_file(dir, base, ipath, sizeof ipath))
		return -1;
	snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
	if (find_idx_file(dir, base, lpath, sizeof lpath))
		return -1;
	if (ccl_read_file_decompressed(ipath, &img, &isize, IDX_IMAGES_MAX) ||
	    ccl_read_file_decompressed(lpath, &lab, &lsize, IDX_LABELS_MAX))
		goto out;
	if (isize < 16 || be32(img) != IDX_IMAGES_MAGIC) {
		ccl_fail(CCL_EXIT_INPUT, ipath, "not an IDX image file (wrong magic number)");
		goto out;
	}
	if (lsize < 8 || be32(lab) != IDX_LABELS_MAGIC) {
		ccl_fail(CCL_EXIT_INPUT, lpath, "not an IDX label file (wrong magic number)");
		goto out;
	}
	uint32_t n = be32(img + 4), rows = be32(img + 8), cols = be32(img + 12);
	if (!n || !rows || !cols || rows > 4096 || cols > 4096 ||
	    (uint64_t)n * rows * cols + 16 != isize) {
		ccl_fail(CCL_EXIT_INPUT, ipath, "IDX header says %u images of %ux%u but the file holds %zu bytes",
		         n, rows, cols, isize);
		goto out;
	}
	if ((uint64_t)be32(lab + 4) + 8 != lsize) {
		ccl_fail(CCL_EXIT_INPUT, lpath, "IDX header says %u labels but the file holds %zu bytes",
		         be32(lab + 4), lsize);
		goto out;
	}
	if (be32(lab + 4) != n) {
		ccl_fail(CCL_EXIT_INPUT, lpath, "%u labels for %u images in %s", be32(lab + 4), n, ipath);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		if (lab[8 + i] >= ds->classes) {
			ccl_fail(CCL_EXIT_INPUT, lpath, "label %u of sample %u is not below %d", lab[8 + i], i, ds->classes);
			goto out;
		}
	ds->n = (int)n;
	ds->c = 1;
	ds->h = (int)rows;
	ds->w = (int)cols;
	ds->images = ccl_xmalloc((size_t)n * rows * cols);
	memcpy(ds->images, img + 16, (size_t)n * rows * cols);
	ds->labels = ccl_xmalloc(n);
	memcpy(ds->labels, lab + 8, n);
	rc = 0;
out:
	free(img);
	free(lab);
	return rc;
}

/* CIFAR binary records: [coarse label,] label, 3072 pixel bytes (R, G, B planes). */
static int add_cifar_records(ccl_dataset *ds, const char *where, const uint8_t *buf, size_t size,
                             int label_bytes, int label_index)
{
	size_t rec = (size_t)label_bytes + CIFAR_PIXELS;
	if (size == 0 || size % rec)
		return ccl_fail(CCL_EXIT_INPUT, where, "%zu bytes is not a whole number of %zu-byte CIFAR records",
		                size, rec);
	size_t count = size / rec;
	ds->images = ccl_xrealloc(ds->images, ((size_t)ds->n + count) * CIFAR_PIXELS);
	ds->labels = ccl_xrealloc(ds->labels, (size_t)ds->n + count);
	for (size_t i = 0; i < count; i++) {
		const uint8_t *r = buf + i * rec;
		if (r[label_index] >= ds->classes)
			return ccl_fail(CCL_EXIT_INPUT, where, "record %zu has label %u, not below %d", i,
			                r[label_index], ds->classes);
		ds->labels[ds->n] = r[label_index];
		memcpy(ds->images + (size_t)ds->n * CIFAR_PIXELS, r + label_bytes, CIFAR_PIXELS);
		ds->n++;
	}
	return 0;
}

/* The members of a split, in the order the data set defines them. */
static int cifar_member_rank(const char *name, int cifar100, enum ccl_split split)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (cifar100)
		return !strcmp(base, split == CCL_TRAIN ? "train.bin" : "test.bin") ? 0 : -1;
	if (split == CCL_TEST)
		return !strcmp(base, "test_batch.bin") ? 0 : -1;
	if (!strncmp(base, "data_batch_", 11) && base[11] >= '1' && base[11] <= '5' && !strcmp(base + 12, ".bin"))
		return base[11] - '1';
	return -1;
}

static int load_cifar(ccl_dataset *ds, const char *path, enum ccl_split split, int coarse)
{
	int cifar100 = !strcmp(ds->name, "cifar100");
	int members = cifar100 || split == CCL_TEST ? 1 : 5;
	int label_bytes = cifar100 ? 2 : 1, label_index = cifar100 && !coarse ? 1 : 0;
	uint8_t *parts[5] = {0};
	size_t sizes[5] = {0};
	struct stat st;
	int rc = -1;

	ds->c = 3;
	ds->h = ds->w = CIFAR_SIDE;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* An extracted copy: the batch files directly in the directory. */
		for (int m = 0; m < members; m++) {
			char file[4096];
			if (cifar100)
				snprintf(file, sizeof file, "%s/%s", path, split == CCL_TRAIN ? "train.bin" : "test.bin");
			else if (split == CCL_TEST)
				snprintf(file, sizeof file, "%s/test_batch.bin", path);
			else
				snprintf(file, sizeof file, "%s/data_batch_%d.bin", path, m + 1);
			if (ccl_read_file_decompressed(file, &parts[m], &sizes[m], CIFAR_FILE_MAX))
				goto out;
		}
	} else {
		struct archive_entry *e;
		int fd = open_fd(path), recorded = 0, pickled = 0;
		if (fd < 0)
			return -1;
		struct archive *ar = archive_read_new();
		archive_read_support_filter_gzip(ar);
		archive_read_support_format_tar(ar);
		int r = archive_read_open_fd(ar, fd, 1 << 16);
		while (r == ARCHIVE_OK && (r = archive_read_next_header(ar, &e)) == ARCHIVE_OK) {
			const char *member = archive_entry_pathname(e);
			int rank = cifar_member_rank(member, cifar100, split);
			pickled |= strstr(member, "-batches-py/") || strstr(member, "cifar-100-python/");
			if (rank < 0 || parts[rank])
				continue;
			if (slurp_entry(ar, path, &parts[rank], &sizes[rank], CIFAR_FILE_MAX)) {
				r = ARCHIVE_FATAL;
				recorded = 1;
				break;
			}
		}
		if (r != ARCHIVE_EOF && !recorded)
			ccl_fail(CCL_EXIT_INPUT, path, "not a readable CIFAR archive (%s)", archive_error_string(ar));
		archive_read_free(ar);
		close(fd);
		if (r != ARCHIVE_EOF)
			goto out;
		for (int m = 0; m < members; m++)
			if (!parts[m] && pickled) {
				ccl_fail(CCL_EXIT_INPUT, path, "is the Python (pickle) version of %s; use the binary version, "
				         "%s", cifar100 ? "CIFAR-100" : "CIFAR-10",
				         cifar100 ? "cifar-100-binary.tar.gz" : "cifar-10-binary.tar.gz");
				goto out;
			} else if (!parts[m]) {
				ccl_fail(CCL_EXIT_INPUT, path, "archive lacks the %s %s batch%s", ds->name,
				         split == CCL_TRAIN ? "training" : "test", members > 1 ? "es" : "");
				goto out;
			}
	}
	for (int m = 0; m < members; m++)
		if (add_cifar_records(ds, path, parts[m], sizes[m], label_bytes, label_index))
			goto out;
	rc = 0;
out:
	for (int m = 0; m < 5; m++)
		free(parts[m]);
	return rc;
}

int ccl_dataset_load(ccl_dataset *ds, const char *name, const char *path, enum ccl_split split, int coarse)
{
	memset(ds, 0, sizeof *ds);
	snprintf(ds->name, sizeof ds->name, "%s", name);
	if (!strcmp(name, "fashion-mnist") || !strcmp(name, "mnist")) {
		ds->classes = 10;
		return load_idx(ds, path, split);
	}
	if (!strcmp(name, "cifar10") || !strcmp(name, "cifar100")) {
		ds->classes = !strcmp(name, "cifar10") ? 10 : coarse ? 20 : 100;
		if (load_cifar(ds, path, split, coarse)) {
			ccl_dataset_free(ds);
			return -1;
		}
		return 0;
	}
	return ccl_fail(CCL_EXIT_USAGE, NULL, "unknown data set '%s' (fashion-mnist, mnist, cifar10, cifar100)", name);
}
