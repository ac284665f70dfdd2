/*
 * profile.h - where a tool's time goes, for the benchmarks: the wall time
 * spent reading artifacts (of which verifying their checksums and values)
 * and writing them.  The rest of a call is its computation.  The counts
 * cost two clock reads per artifact and are always kept; ccl-batch(1)
 * reports them, with the time in the tools' main functions, when the
 * environment's CCL_PROFILE names a file (tests/bench/epoch.sh).
 */
#ifndef CCL_PROFILE_H
#define CCL_PROFILE_H

struct ccl_profile {
	double read;   /* in ccl_artifact_read, verification included */
	double verify; /* CRC-32C and finiteness checks of the tensors read */
	double write;  /* writing artifacts, renames included */
	long artifacts_read, artifacts_written;
};

extern struct ccl_profile ccl_profile;

/* Seconds on the monotonic clock: the one clock the library reads (the
 * counters here, progress reports, waiting for inputs). */
double ccl_clock(void);

#endif
