#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE, sbrk */
#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "cli.h"
#include "error.h"
#include "profile.h"

#define CONFIG_MAX (1 << 20)

/* Values read from a config file, kept for the life of the process. */
static char *kept[256];
static int nkept;

const char *const ccl_format_names[] = {"table", "yaml", "json", NULL};

/*
 * A tool's whole life is one short step: a few MiB of buffers (the network's
 * activations and gradients, the state it updates), each page of which is
 * touched for the first time during the step.  On the machines measured a
 * fresh 4 KiB page costs about 1.5 us to fault in, and the ~600 such faults
 * were a fifth of a one-step call; a 2 MiB transparent huge page costs about
 * as much as 100 small ones.  So malloc is told to serve every allocation
 * below 32 MiB from its one heap, to grow that heap at least 8 MiB at a time
 * and never to give it back, and the heap is marked for huge pages.  Where
 * the kernel has transparent huge pages off, the mark does nothing.  Under a
 * sanitizer malloc is not glibc's and the settings change nothing either.
 */
enum { HEAP_BLOCK = 8 << 20, HUGE_PAGE = 2 << 20 };

static void use_huge_heap(void)
{
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_TOP_PAD, HEAP_BLOCK);
	/* Move the program break to one page below a huge-page boundary.  When
	 * malloc next grows the heap it finds the break moved and starts the new
	 * part there, its bookkeeping in that one page, and the huge-page frames
	 * above stay untouched until they are marked: a frame touched before
	 * would keep its small pages.  (The C library's start-up has already
	 * made a small heap; its remains serve small requests.) */
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), brk_now = (uintptr_t)sbrk(0);
	uintptr_t boundary = (brk_now + page + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	if (sbrk((intptr_t)(boundary - page - brk_now)) == (void *)-1)
		return;
	/* Grow the heap by a block, mark the huge-page frames inside it, and
	 * hand the block back to malloc, which keeps it. */
	char *block = malloc(HEAP_BLOCK);
	if (!block)
		return;
	uintptr_t start = ((uintptr_t)block + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	uintptr_t end = ((uintptr_t)block + HEAP_BLOCK) & ~(uintptr_t)(HUGE_PAGE - 1);
	if (end > start)
		madvise((void *)start, end - start, MADV_HUGEPAGE);
	free(block);
}

/*
 * OpenBLAS sizes its thread pool in its constructor, from
 * OPENBLAS_NUM_THREADS.  A tool runs one small step and uses one thread
 * unless --threads says otherwise, and an idle pool thread spinning on the
 * other core costs the step (and a neighbouring agent's step) time.  The
 * tools link OpenBLAS statically (see the Makefile), so this constructor,
 * with a priority ahead of the default, runs before OpenBLAS's and can set
 * the default; a value the user set is kept.  With LINK=dynamic it runs too
 * late to matter, and only openblas_set_num_threads() applies.
 */
__attribute__((constructor(101))) static void set_up_process(void)
{
	use_huge_heap(); /* first: setenv allocates */
	setenv("OPENBLAS_NUM_THREADS", "1", 0);
}

static void print_help(const struct ccl_option *options, const char *usage, const char *about)
{
	printf("Usage: %s\n\n%s\n\nOptions:\n", usage, about);
	for (const struct ccl_option *o = options; o->name; o++) {
		char left[64], shortform[8] = "    ";
		if (o->short_name)
			snprintf(shortform, sizeof shortform, "-%c, ", o->short_name);
		snprintf(left, sizeof left, "%s--%s%s%s", shortform, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-30s %s\n", left, o->help);
	}
	printf("  %-30s %s\n", "    --config FILE.yaml", "read options from a YAML mapping (command line wins)");
	printf("  %-30s %s\n", "    --help", "show this help and exit");
	printf("  %-30s %s\n", "    --version", "show the version and exit");
	printf("\nExit status: 0 success, 1 runtime failure, 2 usage error, 3 bad input.\n");
}

static int find_option(const struct ccl_option *options, const char *name)
{
	for (int i = 0; options[i].name; i++)
		if (!strcmp(options[i].name, name))
			return i;
	return -1;
}

/* Applies a YAML config file: a mapping from long option names to scalars or
 * lists of scalars.  Aliases are refused and the nesting is fixed, so a
 * hostile file cannot make the parser loop or expand. */
static void apply_config(const char *path, const struct ccl_option *options, ccl_option_handler handler,
                         void *ctx)
{
	FILE *f = fopen(path, "rb");
	yaml_parser_t parser;
	yaml_event_t ev;
	char key[64] = "", seen[64][64];
	int nseen = 0, in_list = 0, depth = 0, done = 0;
	static char buf[CONFIG_MAX + 1];

	if (!f) {
		ccl_fail(CCL_EXIT_INPUT, path, "cannot open: %s", strerror(errno));
		ccl_die();
	}
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	if (len > CONFIG_MAX) {
		ccl_fail(CCL_EXIT_INPUT, path, "config file larger than %d bytes", CONFIG_MAX);
		ccl_die();
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			ccl_fail(CCL_EXIT_INPUT, path, "not valid YAML: %s at line %zu",
			         parser.problem ? parser.problem : "parse error", parser.problem_mark.line + 1);
			ccl_die();
		}
		const char *problem = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
			if (depth++ != 0)
				problem = "options must be a flat mapping";
			break;
		case YAML_SEQUENCE_START_EVENT:
			if (!key[0] || in_list)
				problem = "only option values may be lists";
			in_list = 1;
			break;
		case YAML_SEQUENCE_END_EVENT:
			in_list = 0;
			key[0] = 0;
			break;
		case YAML_ALIAS_EVENT:
			problem = "YAML aliases are not allowed";
			break;
		case YAML_SCALAR_EVENT: {
			const char *v = (const char *)ev.data.scalar.value;
			if (depth != 1) {
				problem = "options must be a mapping";
			} else if (!key[0]) {
				int opt = find_option(options, v);
				if (opt < 0 || strlen(v) >= sizeof key) {
					ccl_fail(CCL_EXIT_USAGE, path, "unknown option '%s'", v);
					ccl_die();
				}
				for (int i = 0; i < nseen; i++)
					if (!strcmp(seen[i], v))
						problem = "an option is given twice";
				if (nseen < 64)
					strcpy(seen[nseen++], v);
				strcpy(key, v);
			} else {
				int opt = find_option(options, key);
				if (!options[opt].arg) {
					if (strcmp(v, "true") && strcmp(v, "false"))
						problem = "a flag takes true or false";
					else if (!strcmp(v, "true"))
						handler(opt, NULL, ctx);
				} else {
					/* Handlers keep value pointers, as they do for argv:
					 * give them a copy that outlives the parser. */
					if (nkept == (int)(sizeof kept / sizeof *kept))
						problem = "too many values";
					else
						handler(opt, kept[nkept++] = ccl_xstrdup(v), ctx);
				}
				if (!in_list)
					key[0] = 0;
			}
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (problem) {
			ccl_fail(CCL_EXIT_USAGE, path, "%s", problem);
			yaml_parser_delete(&parser);
			ccl_die();
		}
	}
	yaml_parser_delete(&parser);
}

int ccl_cli_parse(int argc, char **argv, const struct ccl_option *options, const char *usage,
                  const char *about, ccl_option_handler handler, void *ctx)
{
	enum { OPT_HELP = 1000, OPT_VERSION, OPT_CONFIG };
	struct option longopts[64];
	char shortopts[128] = "";
	int n = 0;

	ccl_set_progname(argv[0]);
	for (; options[n].name; n++) {
		longopts[n] = (struct option){options[n].name, options[n].arg ? required_argument : no_argument,
		                              NULL, options[n].short_name ? options[n].short_name : 2000 + n};
		if (options[n].short_name) {
			size_t l = strlen(shortopts);
			shortopts[l] = (char)options[n].short_name;
			shortopts[l + 1] = options[n].arg ? ':' : 0;
			shortopts[l + 2] = 0;
		}
	}
	longopts[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
	longopts[n++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	longopts[n++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
	longopts[n] = (struct option){0};

	/* First pass: --help, --version and --config, so that the file's values
	 * are applied before (and overridden by) the command line's.  optind 0
	 * restarts getopt, so that a process can parse several command lines
	 * (ccl-batch). */
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == OPT_HELP) {
			print_help(options, usage, about);
			exit(0);
		}
		if (c == OPT_VERSION) {
			printf("%s (ccl) %s\n", ccl_progname(), CCL_VERSION);
			exit(0);
		}
		if (c == OPT_CONFIG)
			apply_config(optarg, options, handler, ctx);
	}
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == OPT_CONFIG)
			continue;
		if (c == '?' || c == ':') {
			if (optopt)
				ccl_usage_error("option -%c %s", optopt, c == ':' ? "needs a value" : "is unknown");
			ccl_usage_error("option '%s' is unknown or needs a value", argv[optind - 1]);
		}
		int opt = c >= 2000 ? c - 2000 : -1;
		for (int i = 0; opt < 0 && options[i].name; i++)
			if (options[i].short_name == c)
				opt = i;
		handler(opt, options[opt].arg ? optarg : NULL, ctx);
	}
	return optind;
}

void ccl_cli_append(const char **list, int *n, int max, const char *option, const char *value)
{
	if (*n == max)
		ccl_usage_error("--%s: at most %d may be given", option, max);
	list[(*n)++] = value;
}

int ccl_cli_await_inputs(const char **paths, int n, double seconds, int drop_missing, int *present)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	double start = ccl_clock();
	for (int i = 0; i < n; i++)
		while (access(paths[i], F_OK) != 0 && errno == ENOENT && ccl_clock() - start < seconds)
			nanosleep(&pause, NULL);
	int kept = 0;
	for (int i = 0; i < n; i++) {
		int here = !drop_missing || access(paths[i], F_OK) == 0 || errno != ENOENT;
		if (present)
			present[i] = here;
		if (here)
			paths[kept++] = paths[i];
		else
			fprintf(stderr, "%s: %s: missing%s; going on without it\n", ccl_progname(), paths[i],
			        seconds > 0 ? " after waiting" : "");
	}
	return kept;
}

long ccl_parse_long(const char *option, const char *value, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || end == value || *end)
		ccl_usage_error("--%s: '%s' is not an integer", option, value);
	if (v < min || v > max)
		ccl_usage_error("--%s: %ld is out of range [%ld, %ld]", option, v, min, max);
	return v;
}

uint64_t ccl_parse_seed(const char *option, const char *value)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-')
		ccl_usage_error("--%s: '%s' is not a non-negative integer", option, value);
	return v;
}

double ccl_parse_double(const char *option, const char *value, double min, double max, int min_open)
{
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	if (errno || end == value || *end || !isfinite(v))
		ccl_usage_error("--%s: '%s' is not a number", option, value);
	if (v < min || (min_open && v == min) || v > max) {
		if (isfinite(max))
			ccl_usage_error("--%s: %s is outside %c%g, %g]", option, value, min_open ? '(' : '[', min, max);
		ccl_usage_error("--%s: %s must be %s %g", option, value, min_open ? "greater than" : "at least", min);
	}
	return v;
}

int ccl_parse_choice(const char *option, const char *value, const char *const *choices)
{
	char list[256] = "";
	for (int i = 0; choices[i]; i++) {
		if (!strcmp(value, choices[i]))
			return i;
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", choices[i]);
	}
	ccl_usage_error("--%s: unknown value '%s' (one of %s)", option, value, list);
}

void ccl_finish_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ccl_fail(CCL_EXIT_FAILURE, "<stdout>", "write error: %s", strerror(errno));
		ccl_die();
	}
}

void ccl_set_threads(int threads)
{
	openblas_set_num_threads(threads);
}
