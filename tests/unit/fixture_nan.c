/*
 * fixture_nan IN TENSOR INDEX OUT
 *
 * Test fixture: copies artifact IN to OUT with element INDEX of the f32
 * tensor TENSOR set to NaN.  OUT is written by the library, so every
 * checksum is valid and only the finite-value check can object.  The reader
 * refuses NaN, so IN is read with that check still passing (IN is finite).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "artifact.h"
#include "error.h"

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: fixture_nan IN TENSOR INDEX OUT\n");
		return 2;
	}
	ccl_artifact *a = ccl_artifact_read(argv[1], NULL);
	struct ccl_tensor *t = a ? ccl_artifact_tensor(a, argv[1], argv[2], CCL_F32) : NULL;
	size_t index = strtoul(argv[3], NULL, 10);
	if (!t || index >= t->count) {
		fprintf(stderr, "fixture_nan: %s\n", t ? "index out of range" : ccl_error_message());
		return 1;
	}
	((float *)t->data)[index] = NAN;
	int rc = ccl_artifact_write(a, argv[4]) < 0;
	ccl_artifact_free(a);
	return rc;
}
