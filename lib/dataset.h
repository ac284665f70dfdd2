/*
 * dataset.h - labelled image sets, as read from the files people download.
 *
 * Readers:
 *   - IDX (MNIST and Fashion-MNIST): a directory holding
 *     {train,t10k}-{images-idx3,labels-idx1}-ubyte, plain or ".gz".
 *   - CIFAR-10 and CIFAR-100 binary versions, straight out of the archives as
 *     distributed (cifar-10-binary.tar.gz, cifar-100-binary.tar.gz), or out
 *     of a directory holding the extracted batch files.  CIFAR-100 gives the
 *     fine labels (100 classes) unless coarse labels (20) are asked for.
 * All files go through libarchive, which undoes gzip on the way.
 *
 * Images stay as the bytes of the files (NCHW, 0..255); the conversion to
 * floats normalised by the training set's per-channel mean and standard
 * deviation happens per batch (ccl_batch_images in shard.h).
 */
#ifndef CCL_DATASET_H
#define CCL_DATASET_H

#include <stddef.h>
#include <stdint.h>

typedef struct ccl_dataset {
	char name[32];  /* "fashion-mnist", "mnist", "cifar10", "cifar100" */
	int n, c, h, w; /* samples and image shape */
	int classes;
	uint8_t *images; /* n * c * h * w */
	uint8_t *labels; /* n */
} ccl_dataset;

enum ccl_split { CCL_TRAIN, CCL_TEST };

/* Loads one split.  `name` is the data set's name; `path` is the IDX
 * directory, the CIFAR archive or the CIFAR directory.  `coarse` selects
 * CIFAR-100's 20 coarse labels. */
int ccl_dataset_load(ccl_dataset *ds, const char *name, const char *path, enum ccl_split split, int coarse);
void ccl_dataset_free(ccl_dataset *ds);

/* The path a data set is found at when none is given, or NULL. */
const char *ccl_dataset_default_path(const char *name);

/* Reads a whole file through libarchive (gzip or not) into memory; more
 * than `limit` bytes after decompression is an error. */
int ccl_read_file_decompressed(const char *path, uint8_t **data, size_t *size, size_t limit);

#endif
