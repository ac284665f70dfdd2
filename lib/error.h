/*
 * error.h - the one way problems are reported.
 *
 * A library function that fails records a single line describing the problem
 * (naming the file when there is one) with ccl_fail() and returns -1 or NULL.
 * The tool then calls ccl_die(), which prints "<tool>: <line>" on stderr and
 * exits with the status recorded for that kind of failure.  Nothing in the
 * library prints or exits on its own.
 *
 * Exit statuses, the same for every tool (documented in ccl(7)):
 *   0  success
 *   1  runtime failure (out of memory, cannot write, numerical breakdown)
 *   2  usage error (unknown option, nonsense option value)
 *   3  bad input (missing, truncated, corrupted or mismatched file)
 */
#ifndef CCL_ERROR_H
#define CCL_ERROR_H

#include <stddef.h>

enum ccl_status {
	CCL_EXIT_OK = 0,
	CCL_EXIT_FAILURE = 1,
	CCL_EXIT_USAGE = 2,
	CCL_EXIT_INPUT = 3,
};

/* Records "<file>: <message>" (or just the message when file is NULL) with the
 * exit status that fits it; always returns -1 so callers can `return ccl_fail(...)`. */
int ccl_fail(enum ccl_status status, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

const char *ccl_error_message(void);
enum ccl_status ccl_error_status(void);

/* Program name for messages, taken from argv[0] once at start. */
void ccl_set_progname(const char *argv0);
const char *ccl_progname(void);

/* Prints the recorded failure and exits with its status. */
_Noreturn void ccl_die(void);
/* Prints "<tool>: <message>" plus a hint to run --help, exits with status 2. */
_Noreturn void ccl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "<tool>: <message>" on stderr and goes on. */
void ccl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Out-of-memory is not recoverable in a one-step tool: these die with status 1. */
void *ccl_xmalloc(size_t n);
void *ccl_xcalloc(size_t count, size_t size);
void *ccl_xrealloc(void *p, size_t n);
char *ccl_xstrdup(const char *s);

#endif
