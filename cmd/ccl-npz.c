/*
 * ccl-npz - a model's parameters as a NumPy .npz file, and back (npz.h).
 *
 *   ccl-npz -o OUT.npz MODEL              export: one array per named tensor
 *   ccl-npz --like REF -o OUT.ccl IN.npz  import: REF's architecture and
 *                                         counters, IN's parameters
 */
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "cli.h"
#include "error.h"
#include "npz.h"

enum { OPT_LIKE, OPT_OUTPUT, OPT_VERBOSE };

static const struct ccl_option options[] = {
	[OPT_LIKE] = {"like", 0, "MODEL", "import: the model or state whose architecture and counters to take"},
	[OPT_OUTPUT] = {"output", 'o', "FILE", "the .npz (export) or model artifact (import) to write (required)"},
	[OPT_VERBOSE] = {"verbose", 'v', NULL, "print what was written on stderr"},
	{0},
};

struct args {
	const char *like, *output;
	int verbose;
};

static void handle(int opt, const char *v, void *ctx)
{
	struct args *a = ctx;
	switch (opt) {
	case OPT_LIKE: a->like = v; break;
	case OPT_OUTPUT: a->output = v; break;
	case OPT_VERBOSE: a->verbose = 1; break;
	}
}

int main(int argc, char **argv)
{
	struct args a = {0};
	ccl_agent m;
	long bytes;

	int first = ccl_cli_parse(argc, argv, options,
	                          "ccl-npz -o OUT.npz MODEL\n"
	                          "       ccl-npz --like MODEL -o OUT.ccl IN.npz",
	                          "Export a model's (or state's) parameters as a NumPy .npz file, one float32\n"
	                          "array per named tensor with its real shape, as numpy.load and a PyTorch\n"
	                          "state_dict of the same architecture name them; or import such a file as a\n"
	                          "model of the architecture of --like.",
	                          handle, &a);
	if (!a.output)
		ccl_usage_error("-o/--output is required");
	if (argc - first != 1)
		ccl_usage_error("give exactly one input: a model or state to export, or with --like an .npz to import");
	const char *in = argv[first];

	if (!a.like) {
		if (ccl_npz_is_zip(in))
			ccl_usage_error("%s is a zip file: importing it needs --like MODEL", in);
		if (ccl_agent_load(&m, in, NULL) || (bytes = ccl_npz_write(m.net, m.params, a.output)) < 0)
			ccl_die();
		if (a.verbose)
			fprintf(stderr, "%s: %s: %d arrays of %s, %ld bytes\n", ccl_progname(), a.output,
			        ccl_net_tensor_count(m.net), ccl_net_arch(m.net), bytes);
	} else {
		if (ccl_agent_load(&m, a.like, NULL) || ccl_npz_read(m.net, m.params, in) ||
		    (bytes = ccl_agent_write(&m, "model", a.output)) < 0)
			ccl_die();
		if (a.verbose)
			fprintf(stderr, "%s: %s: %s model from %s, %ld bytes\n", ccl_progname(), a.output, ccl_net_arch(m.net),
			        in, bytes);
	}
	ccl_agent_free(&m);
	return 0;
}
