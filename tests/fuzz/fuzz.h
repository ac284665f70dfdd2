/*
 * fuzz.h - what the libFuzzer harnesses share: each input is written to a
 * file (the readers take paths, as the tools do), in a directory of the
 * process's own.
 *
 * The harnesses are built by `make fuzz` with clang's -fsanitize=fuzzer and
 * with -DCCL_FUZZ_SKIP_CHECKSUMS, so that mutated inputs get past the
 * checksums to the parsers; the tools are never built that way.
 */
#ifndef CCL_FUZZ_H
#define CCL_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A private directory under $TMPDIR (make fuzz points it into its build
 * directory), made once per process. */
static const char *fuzz_dir(void)
{
	static char dir[512];
	if (!dir[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/ccl-fuzz-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
		char command[600];
		snprintf(command, sizeof command, "mkdir -p %s", dir);
		if (system(command) != 0)
			abort();
	}
	return dir;
}

/* Writes `size` bytes to DIR/NAME and returns the path (static storage). */
static const char *fuzz_file(const char *name, const unsigned char *data, size_t size)
{
	static char path[4][128];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof path[0], "%s/%s", fuzz_dir(), name);
	FILE *f = fopen(p, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f))
		abort();
	return p;
}

#endif
