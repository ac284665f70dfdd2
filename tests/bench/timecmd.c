/*
 * timecmd - the median wall time of a command run many times.
 *
 * Times from just before posix_spawn to just after waitpid, so that what is
 * measured is the command's own start, work and exit, without the cost of a
 * shell or of the processes a shell would start to read the clock.  An
 * argument holding "%d" gets the run's number (from 1) put in its place,
 * which gives every run fresh output names.  The command's standard output
 * goes to /dev/null.  A run that fails stops it all.
 *
 * Usage: timecmd RUNS COMMAND [ARG]...
 * Prints: median_ms min_ms
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "error.h"

extern char **environ;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The argument with its first "%d" replaced by `run`. */
static char *with_run(const char *arg, int run)
{
	const char *at = strstr(arg, "%d");
	if (!at)
		return ccl_xstrdup(arg);
	size_t n = strlen(arg) + 16;
	char *s = ccl_xmalloc(n);
	snprintf(s, n, "%.*s%d%s", (int)(at - arg), arg, run, at + 2);
	return s;
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[1]) : 0;
	if (runs < 1) {
		fprintf(stderr, "usage: timecmd RUNS COMMAND [ARG]...\n");
		return 2;
	}
	int nargs = argc - 2;
	double *ms = ccl_xmalloc(sizeof *ms * (size_t)runs);
	char **args = ccl_xcalloc((size_t)nargs + 1, sizeof *args);

	posix_spawn_file_actions_t quiet;
	posix_spawn_file_actions_init(&quiet);
	posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);

	int rc = 0;
	for (int r = 0; r < runs && !rc; r++) {
		for (int i = 0; i < nargs; i++)
			args[i] = with_run(argv[i + 2], r + 1);
		pid_t pid;
		int status;
		double start = now_ms();
		if (posix_spawn(&pid, args[0], &quiet, NULL, args, environ) != 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "timecmd: %s failed\n", args[0]);
			rc = 1;
		}
		ms[r] = now_ms() - start;
		for (int i = 0; i < nargs; i++)
			free(args[i]);
	}
	if (!rc) {
		qsort(ms, (size_t)runs, sizeof *ms, by_value);
		printf("%.3f %.3f\n", ms[runs / 2], ms[0]);
	}
	posix_spawn_file_actions_destroy(&quiet);
	free(ms);
	free(args);
	return rc;
}
