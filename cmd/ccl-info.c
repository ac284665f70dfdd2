/*
 * ccl-info - verify artifacts and show what they hold.
 *
 * Reads each FILE completely (every checksum is verified on the way) and
 * prints its kind, metadata, tensors and size, and for a shard its samples
 * per class.  A file that fails any check is reported on stderr and makes
 * the exit status non-zero; the others are still shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent.h"
#include "artifact.h"
#include "cli.h"
#include "error.h"
#include "report.h"
#include "shard.h"
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

/* What is shown beyond the manifest, counted from tensors that checking
 * the kind has made safe to read: a shard's class mix, which no manifest
 * records and which scripts would otherwise unpack the labels for. */
struct derived {
	int classes;          /* 0 unless a shard */
	size_t *class_counts; /* a shard's samples per class, `classes` of them */
};

static void print_table(const char *path, const ccl_artifact *a, long bytes, const struct derived *d)
{
	char shown[1024];
	printf("%s: %s artifact", ccl_table_text(path, shown, sizeof shown), a->kind);
	if (bytes >= 0)
		printf(", %ld bytes", bytes);
	putchar('\n');
	for (int i = 0; i < a->nmeta; i++)
		printf("  %-12s %s\n", a->meta[i].key, ccl_table_text(a->meta[i].value, shown, sizeof shown));
	if (d->classes) {
		printf("  %-12s", "class_counts");
		for (int c = 0; c < d->classes; c++)
			printf(" %zu", d->class_counts[c]);
		putchar('\n');
	}
	for (int i = 0; i < a->ntensors; i++) {
		const struct ccl_tensor *t = &a->tensors[i];
		printf("  tensor %-10s %-3s [", t->name, ccl_dtype_name(t->dtype));
		for (int d = 0; d < t->ndim; d++)
			printf("%s%lld", d ? " x " : "", (long long)t->shape[d]);
		printf("]\n");
	}
}

/* The keys this report writes itself.  A manifest may hold any key; one of
 * these would appear twice in a map, which strict YAML readers refuse and
 * JSON readers resolve silently, so the manifest's is left out. */
static int is_own_key(const char *key)
{
	static const char *const own[] = {"file", "kind", "bytes", "class_counts", "tensors"};
	for (size_t i = 0; i < sizeof own / sizeof *own; i++)
		if (!strcmp(key, own[i]))
			return 1;
	return 0;
}

/* One entry of the YAML or JSON list: file, kind, bytes, the metadata as
 * strings, a shard's class counts, and the tensors. */
static void report_artifact(ccl_report *r, const char *path, const ccl_artifact *a, long bytes,
                            const struct derived *d)
{
	ccl_report_map(r, 0);
	ccl_report_key(r, "file");
	ccl_report_str(r, path);
	ccl_report_key(r, "kind");
	ccl_report_str(r, a->kind);
	if (bytes >= 0) {
		ccl_report_key(r, "bytes");
		ccl_report_int(r, bytes);
	}
	for (int i = 0; i < a->nmeta; i++) {
		if (is_own_key(a->meta[i].key))
			continue;
		ccl_report_key(r, a->meta[i].key);
		ccl_report_str(r, a->meta[i].value);
	}
	if (d->classes) {
		ccl_report_key(r, "class_counts");
		ccl_report_list(r, 1);
		for (int c = 0; c < d->classes; c++)
			ccl_report_int(r, (long long)d->class_counts[c]);
		ccl_report_end(r);
	}
	ccl_report_key(r, "tensors");
	ccl_report_list(r, 0);
	for (int i = 0; i < a->ntensors; i++) {
		const struct ccl_tensor *t = &a->tensors[i];
		ccl_report_map(r, 1);
		ccl_report_key(r, "name");
		ccl_report_str(r, t->name);
		ccl_report_key(r, "dtype");
		ccl_report_str(r, ccl_dtype_name(t->dtype));
		ccl_report_key(r, "shape");
		ccl_report_list(r, 1);
		for (int d = 0; d < t->ndim; d++)
			ccl_report_int(r, t->shape[d]);
		ccl_report_end(r);
		ccl_report_end(r);
	}
	ccl_report_end(r);
	ccl_report_end(r);
}

/* The checks the tools that use a kind make: its keys and tensors are
 * there and agree (ccl-artifact(5), KINDS).  Fills `d` from an artifact
 * that passes; the caller frees d->class_counts. */
static int check_kind(ccl_artifact *a, const char *path, struct derived *d)
{
	*d = (struct derived){0};
	if (!strcmp(a->kind, "shard")) {
		ccl_shard s;
		if (ccl_shard_view(&s, a, path))
			return -1;
		d->classes = s.classes;
		d->class_counts = ccl_xmalloc((size_t)s.classes * sizeof *d->class_counts);
		ccl_shard_class_counts(&s, d->class_counts);
		return 0;
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
	int status = 0;

	if (first == argc)
		ccl_usage_error("no FILE given");
	ccl_report *report = NULL;
	if (args.format != CCL_FORMAT_TABLE && !args.quiet) {
		report = ccl_report_begin(args.format);
		ccl_report_list(report, 0);
	}
	for (int i = first; i < argc; i++) {
		ccl_artifact *a = ccl_artifact_read(argv[i], NULL);
		struct derived derived;
		struct stat st;
		if (!a) {
			fprintf(stderr, "%s: %s\n", ccl_progname(), ccl_error_message());
			status = CCL_EXIT_INPUT;
			continue;
		}
		if (check_kind(a, argv[i], &derived)) {
			fprintf(stderr, "%s: %s\n", ccl_progname(), ccl_error_message());
			status = CCL_EXIT_INPUT;
			ccl_artifact_free(a);
			continue;
		}
		long bytes = strcmp(argv[i], "-") && stat(argv[i], &st) == 0 ? (long)st.st_size : -1;
		if (report)
			report_artifact(report, argv[i], a, bytes, &derived);
		else if (!args.quiet)
			print_table(argv[i], a, bytes, &derived);
		free(derived.class_counts);
		ccl_artifact_free(a);
	}
	if (report)
		ccl_report_finish(report);
	ccl_finish_stdout();
	return status;
}
