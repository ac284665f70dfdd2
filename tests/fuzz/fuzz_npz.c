/*
 * fuzz_npz - the .npz reader (ccl-npz --like), for a LeNet-5: the input is
 * the file.
 */
#include "fuzz.h"
#include "model.h"
#include "npz.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static ccl_net *net;
	static float *params;
	if (!net) {
		net = ccl_net_create("lenet5", 10, 1, 28, 28);
		params = malloc(ccl_net_param_count(net) * sizeof *params);
	}
	ccl_npz_read(net, params, fuzz_file("model.npz", data, size));
	return 0;
}
