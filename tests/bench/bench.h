/*
 * bench.h - what the benchmark programs share: a monotonic clock and
 * finding their PyTorch counterpart script.
 */
#ifndef CCL_BENCH_H
#define CCL_BENCH_H

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Finds tests/bench/NAME: next to the sources when run from the top of the
 * tree (as `make bench` does), else relative to this program in build/bench. */
static int find_script(char *path, size_t size, const char *argv0, const char *name)
{
	snprintf(path, size, "tests/bench/%s", name);
	if (access(path, R_OK) == 0)
		return 0;
	const char *slash = strrchr(argv0, '/');
	if (slash) {
		snprintf(path, size, "%.*s/../../tests/bench/%s", (int)(slash - argv0), argv0, name);
		if (access(path, R_OK) == 0)
			return 0;
	}
	return -1;
}

#endif
