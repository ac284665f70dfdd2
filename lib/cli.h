/*
 * cli.h - the command-line conventions every tool shares.
 *
 * A tool declares its options once, in a table that also produces --help.
 * ccl_cli_parse() handles --help, --version and --config FILE.yaml (a YAML
 * mapping whose keys are long option names; a list value gives the option
 * once per item; options on the command line win because they are applied
 * after the file).  Every other option goes to the tool's handler, which
 * checks values with the ccl_parse_* helpers: a bad value is a usage error
 * (exit status 2) naming the option.
 */
#ifndef CCL_CLI_H
#define CCL_CLI_H

#include <stdint.h>

struct ccl_option {
	const char *name;  /* long name, without the dashes */
	int short_name;    /* or 0 */
	const char *arg;   /* placeholder for the value, NULL for a flag */
	const char *help;
};

/* Called once per option occurrence, with its index in the table and its
 * value (NULL for flags). */
typedef void (*ccl_option_handler)(int option, const char *value, void *ctx);

/* Parses argv and returns the index of the first operand.  `usage` is the
 * synopsis line(s) and `about` one paragraph on what the tool does. */
int ccl_cli_parse(int argc, char **argv, const struct ccl_option *options, const char *usage,
                  const char *about, ccl_option_handler handler, void *ctx);

/* Appends the value of a repeatable option to list (n entries, at most max). */
void ccl_cli_append(const char **list, int *n, int max, const char *option, const char *value);

/* Waits up to `seconds` (0: not at all) for each of the n input files to
 * exist; a peer's artifact appears all at once, since every tool writes by
 * rename.  With `drop_missing` set, files still absent are then removed from
 * paths (order kept) with one warning each on stderr, and present[i] (if not
 * NULL, n entries) says whether the i-th file was kept.  Returns how many
 * paths are left.  Without `drop_missing` nothing is removed: loading a
 * missing file fails as usual. */
int ccl_cli_await_inputs(const char **paths, int n, double seconds, int drop_missing, int *present);

long ccl_parse_long(const char *option, const char *value, long min, long max);
uint64_t ccl_parse_seed(const char *option, const char *value);
/* A finite number in [min, max]; with min_open the minimum itself is refused. */
double ccl_parse_double(const char *option, const char *value, double min, double max, int min_open);
/* One of the NULL-terminated `choices`; returns its index. */
int ccl_parse_choice(const char *option, const char *value, const char *const *choices);

enum ccl_format { CCL_FORMAT_TABLE, CCL_FORMAT_YAML, CCL_FORMAT_JSON };
extern const char *const ccl_format_names[];

/* Flushes standard output and dies with status 1 if anything written to it
 * was lost (a full disk, a closed pipe): a report must not end silently. */
void ccl_finish_stdout(void);

/* Sets the number of OpenBLAS threads (the tools default to 1). */
void ccl_set_threads(int threads);

#endif
