/*
 * ccl-info - verify artifacts and show what they hold.
 *
 * Reads each FILE completely (every checksum is verified on the way) and
 * prints its kind, metadata, tensors and size.  A file that fails any check
 * is reported on stderr and makes the exit status non-zero; the others are
 * still shown.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agent.h"
#include "artifact.h"
#include "cli.h"
#include "error.h"
#include "train.h"

enum { OPT_FORMAT, OPT_QUIET };

static const struct ccl_option options[] = {
	[OPT_FORMAT] = {"format", 0, "FMT", "table (default), yaml or json"},
	[OPT_QUIET] = {"quiet", 'q', NULL, "only verify: print nothing, set the exit status"},
	{0},
};

struct args {
	int format, quiet;
};

static void handle(int opt, const char *v, void *ctx)
{
	struct args *a = ctx;
	if (opt == OPT_FORMAT)
		a->format = ccl_parse_choice("format", v, ccl_format_names);
	else
		a->quiet = 1;
}

static void print_artifact(const struct args *args, const char *path, const ccl_artifact *a, long bytes, int first)
{
	int json = args->format == CCL_FORMAT_JSON;
	if (args->format == CCL_FORMAT_TABLE) {
		if (bytes >= 0)
			printf("%s: %s artifact, %ld bytes\n", path, a->kind, bytes);
		else
			printf("%s: %s artifact\n", path, a->kind);
		for (int i = 0; i < a->nmeta; i++)
			printf("  %-12s %s\n", a->meta[i].key, a->meta[i].value);
		for (int i = 0; i < a->ntensors; i++) {
			const struct ccl_tensor *t = &a->tensors[i];
			printf("  tensor %-10s %-3s [", t->name, ccl_dtype_name(t->dtype));
			for (int d = 0; d < t->ndim; d++)
				printf("%s%lld", d ? " x " : "", (long long)t->shape[d]);
			printf("]\n");
		}
		return;
	}
	printf(json ? "%s  {\"file\": \"%s\", \"kind\": \"%s\"" : "%s- file: \"%s\"\n  kind: %s\n", json && !first ? ",\n" : "",
	       path, a->kind);
	if (bytes >= 0)
		printf(json ? ", \"bytes\": %ld" : "  bytes: %ld\n", bytes);
	for (int i = 0; i < a->nmeta; i++)
		printf(json ? ", \"%s\": \"%s\"" : "  %s: \"%s\"\n", a->meta[i].key, a->meta[i].value);
	printf(json ? ", \"tensors\": [" : "  tensors:\n");
	for (int i = 0; i < a->ntensors; i++) {
		const struct ccl_tensor *t = &a->tensors[i];
		printf(json ? "%s{\"name\": \"%s\", \"dtype\": \"%s\", \"shape\": [" : "%s    - {name: %s, dtype: %s, shape: [",
		       json && i ? ", " : "", t->name, ccl_dtype_name(t->dtype));
		for (int d = 0; d < t->ndim; d++)
			printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
		printf(json ? "]}" : "]}\n");
	}
	if (json)
		printf("]}");
}

/* The checks the tools that use a kind make: its keys and tensors are
 * there and agree (ccl-artifact(5), KINDS). */
static int check_kind(ccl_artifact *a, const char *path)
{
	if (!strcmp(a->kind, "shard")) {
		ccl_shard s;
		return ccl_shard_view(&s, a, path);
	}
	if (!strcmp(a->kind, "featstat")) {
		struct ccl_featstat fs;
		if (ccl_featstat_from_artifact(&fs, a, path))
			return -1;
		ccl_featstat_free(&fs);
		return 0;
	}
	ccl_agent agent;
	if (ccl_agent_view(&agent, a, path))
		return -1;
	ccl_agent_free(&agent);
	return 0;
}

int main(int argc, char **argv)
{
	struct args args = {0};
	int first = ccl_cli_parse(argc, argv, options, "ccl-info [--format table|yaml|json] [-q] FILE...",
	                          "Verify each artifact completely (manifest and tensor checksums, structure,\n"
	                          "finite values) and print its kind, metadata and tensors.  '-' reads stdin.",
	                          handle, &args);
	int status = 0, shown = 0;

	if (first == argc)
		ccl_usage_error("no FILE given");
	if (args.format == CCL_FORMAT_JSON && !args.quiet)
		printf("[\n");
	for (int i = first; i < argc; i++) {
		ccl_artifact *a = ccl_artifact_read(argv[i], NULL);
		struct stat st;
		if (!a) {
			fprintf(stderr, "%s: %s\n", ccl_progname(), ccl_error_message());
			status = CCL_EXIT_INPUT;
			continue;
		}
		if (check_kind(a, argv[i])) {
			fprintf(stderr, "%s: %s\n", ccl_progname(), ccl_error_message());
			status = CCL_EXIT_INPUT;
			ccl_artifact_free(a);
			continue;
		}
		long bytes = strcmp(argv[i], "-") && stat(argv[i], &st) == 0 ? (long)st.st_size : -1;
		if (!args.quiet)
			print_artifact(&args, argv[i], a, bytes, !shown++);
		ccl_artifact_free(a);
	}
	if (args.format == CCL_FORMAT_JSON && !args.quiet)
		printf("%s]\n", shown ? "\n" : "");
	ccl_finish_stdout();
	return status;
}
