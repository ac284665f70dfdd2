/*
 * ccl-batch - run many tool calls, read as lines, in one process.
 *
 * Each line of the input (standard input, or the files given) is one call of
 * a ccl tool, written as a shell would take it: the tool's name (a path is
 * fine; only its last component counts), then its arguments, separated by
 * blanks, with backslashes, 'single' and "double" quotes as in sh.  Blank
 * lines and lines whose first non-blank character is '#' are skipped.  `CCL_PRINT=1
 * examples/agent-step.sh` prints exactly such lines.
 *
 * Every line runs the tool's own main function, so it reads and writes the
 * same artifacts, byte for byte, as the tool run on its own; what is saved
 * is the start of a process per call (and, in the scripts, of a shell per
 * agent-step).  The first line that fails ends the batch with that tool's
 * message and exit status, preceded by one line naming the line that
 * stopped it; the lines after it do not run.
 *
 * The tools' main functions are compiled a second time under other names
 * (the Makefile builds cmd/ccl-X.c with -Dmain=ccl_X_main for this program),
 * so their code is the tools' own, unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "profile.h"

#define MAX_WORDS 512

int ccl_eval_main(int argc, char **argv);
int ccl_featstat_main(int argc, char **argv);
int ccl_info_main(int argc, char **argv);
int ccl_init_main(int argc, char **argv);
int ccl_merge_main(int argc, char **argv);
int ccl_npz_main(int argc, char **argv);
int ccl_partition_main(int argc, char **argv);
int ccl_privacy_main(int argc, char **argv);
int ccl_topology_main(int argc, char **argv);
int ccl_train_step_main(int argc, char **argv);

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} tools[] = {
	{"ccl-eval", ccl_eval_main},         {"ccl-featstat", ccl_featstat_main},
	{"ccl-info", ccl_info_main},         {"ccl-init", ccl_init_main},
	{"ccl-merge", ccl_merge_main},       {"ccl-partition", ccl_partition_main},
	{"ccl-npz", ccl_npz_main},           {"ccl-privacy", ccl_privacy_main},
	{"ccl-topology", ccl_topology_main}, {"ccl-train-step", ccl_train_step_main},
};

static const struct ccl_option options[] = {{0}};

/* Time in the tools' main functions and calls made, for CCL_PROFILE. */
static double in_tools;
static long calls;

/* Where the batch is, for the note printed if a tool exits during a line. */
static const char *current_file;
static long current_line;
static char *current_text;

static void note_stopping_line(void)
{
	if (current_text)
		fprintf(stderr, "ccl-batch: %s: stopped at line %ld: %s\n", current_file, current_line, current_text);
}

static void handle(int opt, const char *v, void *ctx)
{
	(void)opt, (void)v, (void)ctx;
}

/* Splits `line` in place into words, sh-style; returns the count, or -1
 * with a message recorded. */
static int split_words(char *line, char **words, const char *file, long lineno)
{
	char *in = line, *out = line;
	int n = 0;

	for (;;) {
		while (*in == ' ' || *in == '\t')
			in++;
		if (!*in)
			return n;
		if (n == MAX_WORDS - 1)
			return ccl_fail(CCL_EXIT_INPUT, file, "line %ld: more than %d words", lineno, MAX_WORDS - 1);
		words[n++] = out;
		while (*in && *in != ' ' && *in != '\t') {
			if (*in == '\\' && in[1]) {
				*out++ = in[1];
				in += 2;
			} else if (*in == '\'') {
				char *end = strchr(in + 1, '\'');
				if (!end)
					return ccl_fail(CCL_EXIT_INPUT, file, "line %ld: unterminated quote", lineno);
				memmove(out, in + 1, (size_t)(end - in - 1));
				out += end - in - 1;
				in = end + 1;
			} else if (*in == '"') {
				for (in++; *in && *in != '"'; in++) {
					if (*in == '\\' && strchr("\"\\$`", in[1]))
						in++;
					*out++ = *in;
				}
				if (!*in)
					return ccl_fail(CCL_EXIT_INPUT, file, "line %ld: unterminated quote", lineno);
				in++;
			} else if (*in == '$' && in[1] == '\'') {
				return ccl_fail(CCL_EXIT_INPUT, file, "line %ld: $'...' quoting is not supported", lineno);
			} else {
				*out++ = *in++;
			}
		}
		if (*in)
			in++;
		*out++ = 0;
	}
}

static void run_line(char *text, const char *file, long lineno)
{
	const char *first = text + strspn(text, " \t");
	if (!*first || *first == '#')
		return;
	char *words[MAX_WORDS], *copy = ccl_xstrdup(text);
	int n = split_words(copy, words, file, lineno);
	if (n < 0)
		ccl_die();
	words[n] = NULL;
	const char *slash = strrchr(words[0], '/'), *name = slash ? slash + 1 : words[0];
	for (size_t t = 0; t < sizeof tools / sizeof *tools; t++) {
		if (strcmp(tools[t].name, name))
			continue;
		current_file = file, current_line = lineno, current_text = text;
		double start = ccl_clock();
		int status = tools[t].main(n, words);
		in_tools += ccl_clock() - start;
		calls++;
		current_text = NULL;
		ccl_set_progname("ccl-batch");
		fflush(stdout);
		if (status != 0) {
			fprintf(stderr, "ccl-batch: %s: stopped at line %ld: %s\n", file, lineno, text);
			exit(status);
		}
		free(copy);
		return;
	}
	ccl_fail(CCL_EXIT_INPUT, file, "line %ld: '%s' is not a ccl tool", lineno, name);
	ccl_die();
}

static void run_file(const char *path)
{
	int is_stdin = !strcmp(path, "-");
	FILE *f = is_stdin ? stdin : fopen(path, "r");
	const char *name = is_stdin ? "<stdin>" : path;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;

	if (!f) {
		ccl_fail(CCL_EXIT_INPUT, path, "cannot open: %s", strerror(errno));
		ccl_die();
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = 0;
		if ((size_t)len != strlen(line)) {
			ccl_fail(CCL_EXIT_INPUT, name, "line %ld holds a NUL byte", lineno);
			ccl_die();
		}
		run_line(line, name, lineno);
	}
	if (ferror(f)) {
		ccl_fail(CCL_EXIT_INPUT, name, "cannot read: %s", strerror(errno));
		ccl_die();
	}
	free(line);
	if (!is_stdin)
		fclose(f);
}

/* With CCL_PROFILE=FILE (for the benchmarks), appends one line to FILE:
 * "calls main_seconds tools_seconds read verify write artifacts_read
 * artifacts_written", the read time including verification and the
 * main seconds this process's own, from main to exit. */
static void write_profile(const char *path, double main_seconds)
{
	if (!path || !*path)
		return;
	FILE *f = fopen(path, "a");
	if (!f) {
		ccl_fail(CCL_EXIT_FAILURE, path, "cannot open the profile: %s", strerror(errno));
		return;
	}
	fprintf(f, "%ld %.6f %.6f %.6f %.6f %.6f %ld %ld\n", calls, main_seconds, in_tools, ccl_profile.read,
	        ccl_profile.verify, ccl_profile.write, ccl_profile.artifacts_read, ccl_profile.artifacts_written);
	fclose(f);
}

int main(int argc, char **argv)
{
	double started = ccl_clock();
	int first = ccl_cli_parse(argc, argv, options, "ccl-batch [FILE]...",
	                          "Run ccl tool calls read as lines from each FILE (default: standard input),\n"
	                          "one after another in this one process; stop at the first that fails.",
	                          handle, NULL);
	atexit(note_stopping_line);
	if (first == argc)
		run_file("-");
	for (int i = first; i < argc; i++)
		run_file(argv[i]);
	ccl_finish_stdout();
	write_profile(getenv("CCL_PROFILE"), ccl_clock() - started);
	return 0;
}
