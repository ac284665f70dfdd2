/*
 * fuzz_artifact - the artifact reader and, behind it, the loader of the
 * kind the input says it is: any file an agent might be handed.
 */
#include "agent.h"
#include "fuzz.h"
#include "train.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *path = fuzz_file("input.ccl", data, size);
	ccl_artifact *a = ccl_artifact_read(path, NULL);
	if (!a)
		return 0;
	if (!strcmp(a->kind, "shard")) {
		ccl_shard s;
		if (!ccl_shard_view(&s, a, path) && s.n > 0 && s.labels[s.n - 1] >= s.classes)
			abort(); /* the view promised labels below the class count */
	} else if (!strcmp(a->kind, "featstat")) {
		struct ccl_featstat fs;
		if (!ccl_featstat_from_artifact(&fs, a, path))
			ccl_featstat_free(&fs);
	} else {
		ccl_agent agent;
		if (!ccl_agent_view(&agent, a, path)) {
			/* Use what was loaded: a forward pass on a zero image. */
			int c, h, w;
			ccl_net_input_shape(agent.net, &c, &h, &w);
			if ((size_t)c * h * w <= 4096) {
				float *x = calloc((size_t)c * h * w, sizeof *x);
				ccl_net_forward(agent.net, agent.params, x, 1);
				free(x);
			}
			ccl_agent_free(&agent);
		}
	}
	ccl_artifact_free(a);
	return 0;
}
