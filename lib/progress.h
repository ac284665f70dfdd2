/*
 * progress.h - progress reports on the standard error, when it is a
 * terminal (ccl(7), "Messages"): one line, rewritten in place at most four
 * times a second, with the work done, its share and the time left, and
 * cleared at the end.  Run by a script or a scheduler, a tool prints none.
 */
#ifndef CCL_PROGRESS_H
#define CCL_PROGRESS_H

struct ccl_progress {
	int on;             /* standard error is a terminal and there is enough to report */
	const char *what;   /* "step", "model", ... */
	long total;
	double start, shown;
};

/* Starts a report of `total` units of `what`; on only for a terminal and
 * more than one unit. */
void ccl_progress_begin(struct ccl_progress *p, const char *what, long total);
/* `done` units are done (p may be NULL). */
void ccl_progress_update(struct ccl_progress *p, long done);
/* Clears the line, for output to the same terminal, which the next update
 * writes again. */
void ccl_progress_clear(struct ccl_progress *p);
/* Clears the line and ends the report. */
void ccl_progress_end(struct ccl_progress *p);

#endif
