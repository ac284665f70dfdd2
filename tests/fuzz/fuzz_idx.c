/*
 * fuzz_idx - the IDX reader (MNIST, Fashion-MNIST), plain or gzip: the
 * input is a 4-byte little-endian length N, then N bytes of the images
 * file and the rest, the labels file, of a training split.
 */
#include "dataset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 4)
		return 0;
	size_t n = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
	if (n > size - 4)
		n = size - 4;
	fuzz_file("train-images-idx3-ubyte", data + 4, n);
	fuzz_file("train-labels-idx1-ubyte", data + 4 + n, size - 4 - n);
	ccl_dataset ds;
	if (!ccl_dataset_load(&ds, "mnist", fuzz_dir(), CCL_TRAIN, 0)) {
		for (int i = 0; i < ds.n; i++)
			if (ds.labels[i] >= ds.classes)
				abort();
		ccl_dataset_free(&ds);
	}
	return 0;
}
