#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static char message[1024];
static enum ccl_status status = CCL_EXIT_OK;
static const char *progname = "ccl";

int ccl_fail(enum ccl_status st, const char *file, const char *fmt, ...)
{
	char text[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (file)
		snprintf(message, sizeof message, "%s: %s", strcmp(file, "-") ? file : "<stdin>", text);
	else
		snprintf(message, sizeof message, "%s", text);
	status = st;
	return -1;
}

const char *ccl_error_message(void) { return message; }
enum ccl_status ccl_error_status(void) { return status; }

void ccl_set_progname(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	progname = slash ? slash + 1 : argv0;
}

const char *ccl_progname(void) { return progname; }

_Noreturn void ccl_die(void)
{
	fprintf(stderr, "%s: %s\n", progname, message[0] ? message : "unknown failure");
	exit(status == CCL_EXIT_OK ? CCL_EXIT_FAILURE : (int)status);
}

_Noreturn void ccl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try '%s --help')\n", progname);
	exit(CCL_EXIT_USAGE);
}

void ccl_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *checked(void *p, size_t n)
{
	if (!p && n) {
		fprintf(stderr, "%s: out of memory (%zu bytes)\n", progname, n);
		exit(CCL_EXIT_FAILURE);
	}
	return p;
}

void *ccl_xmalloc(size_t n) { return checked(malloc(n ? n : 1), n); }
void *ccl_xcalloc(size_t c, size_t s) { return checked(calloc(c ? c : 1, s ? s : 1), c * s); }
void *ccl_xrealloc(void *p, size_t n) { return checked(realloc(p, n ? n : 1), n); }
char *ccl_xstrdup(const char *s) { return checked(strdup(s), strlen(s) + 1); }
