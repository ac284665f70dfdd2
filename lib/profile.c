/* profile.c - the counters of profile.h. */
#include "profile.h"

#include <time.h>

struct ccl_profile ccl_profile;

double ccl_clock(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
