/*
 * fuzz_cifar - the CIFAR reader: the input is a CIFAR-10 or, by its first
 * byte's low bit, CIFAR-100 archive (tar, gzip or not) as distributed.
 */
#include "dataset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *name = data[0] & 1 ? "cifar100" : "cifar10";
	const char *path = fuzz_file("cifar.tar.gz", data + 1, size - 1);
	ccl_dataset ds;
	if (!ccl_dataset_load(&ds, name, path, CCL_TEST, data[0] & 2)) {
		for (int i = 0; i < ds.n; i++)
			if (ds.labels[i] >= ds.classes)
				abort();
		ccl_dataset_free(&ds);
	}
	return 0;
}
